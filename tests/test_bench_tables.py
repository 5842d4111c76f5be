"""docs/benchmarks.md's tables are bench/tables.py's output from the run log, and the bench
harness reads nothing from outside the repository (a clone can rerun it). No benchmark runs."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "bench"
sys.path.insert(0, str(BENCH))

import harness  # noqa: E402
import runlog  # noqa: E402
import tables  # noqa: E402
import targets  # noqa: E402
import tools  # noqa: E402


def test_the_docs_tables_are_generated_from_the_run_log() -> None:
    doc = (ROOT / "docs" / "benchmarks.md").read_text()
    assert len(tables.MARKED.findall(doc)) >= 5
    assert tables.render(doc, runlog.load(ROOT / "bench" / "results" / "runs.jsonl")) == doc


def test_a_table_follows_the_log_and_says_when_a_session_is_missing() -> None:
    doc = "a\n<!-- table:demos session=S -->\nstale\n<!-- /table -->\nb\n"
    line = {"session": "S", "workload": "demo:quiz", "tool": "horde", "figures": {
        "wall_s": 10.05, "tool_cpu_s": 1.0, "tool_peak_rss_mb": 60.0, "server_cpu_s": 0.5,
        "server_peak_rss_mb": 50.0, "passed": True}}
    out = tables.render(doc, [line])
    assert "| `quiz` | 20 players + admin, 3 rounds | 10.1 s | 1.00 s | 60.0 MB |" in out
    assert "`tasks` | 50 connections, a task per connection, 10 s | not measured" in out
    assert out.startswith("a\n<!-- table:demos session=S -->\n| demo |")
    assert out.endswith("<!-- /table -->\nb\n") and "stale" not in out


def test_the_run_log_is_only_appended_to(tmp_path: Path) -> None:
    log = tmp_path / "runs.jsonl"
    runlog.append([{"session": "a"}], log)
    runlog.append([{"session": "b"}], log)
    assert [x["session"] for x in runlog.load(log)] == ["a", "b"]


def test_every_imported_result_file_is_in_the_log() -> None:
    sources = {x["source"] for x in runlog.load(ROOT / "bench" / "results" / "runs.jsonl")}
    files = {f"bench/results/{p.name}" for p in (BENCH / "results").glob("*.json")}
    assert files <= sources


def _commands(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> list[tools.Command]:
    """Every tool's command for every workload, as if every peer were installed."""
    node = tmp_path / "node"
    (node / "node_modules" / "socket.io-client").mkdir(parents=True)
    monkeypatch.setattr(tools, "NODE_DIR", node)
    monkeypatch.setattr(tools, "ARTILLERY", Path(sys.executable))
    monkeypatch.setattr(tools, "LOCUST", sys.executable)
    monkeypatch.setattr(tools.shutil, "which", lambda name: f"/usr/bin/{name}")
    monkeypatch.setattr(tools.tempfile, "tempdir", str(tmp_path))

    class Placeholder(targets.Target):
        port = 1

    commands = []
    for workload in harness.WORKLOADS.values():
        for tool in workload.tools:
            cmd = tools.TOOLS[tool](workload, Placeholder(), workload.conns, 1.0)
            assert cmd is not None, (workload.name, tool)
            commands.append(cmd)
    return commands


def test_the_harness_runs_only_files_inside_the_repository(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    scripts = re.compile(r"\.(py|yml|xml|js|conf)$")
    seen = set()
    for cmd in _commands(monkeypatch, tmp_path):
        for arg in [*cmd.argv, cmd.cwd or ""]:
            path = Path(arg)
            if path.is_absolute() and scripts.search(arg) and tmp_path not in path.parents:
                assert path.is_relative_to(ROOT), arg
                assert path.exists(), arg
                seen.add(path.relative_to(ROOT).parts[1])
    assert {"scenarios", "peers", "raw"} <= seen
    for target in (targets.PicowsEcho, targets.NginxTarget, targets.SocketIOEcho):
        assert target.script.is_relative_to(BENCH / "servers") and target.script.exists()


def test_no_bench_script_names_a_folder_outside_the_repository() -> None:
    tracked = subprocess.run(["git", "-C", str(ROOT), "ls-files", "bench/*.py"],
                             capture_output=True, text=True, check=True).stdout.split()
    assert "bench/harness.py" in tracked
    for path in (ROOT / name for name in tracked if name.count("/") == 1):
        text = path.read_text()
        assert "shared" not in text.replace("_SHARED_", ""), path.name
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.Attribute) and node.attr == "parent":
                assert not (isinstance(node.value, ast.Name) and node.value.id == "ROOT"), path
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                assert "../" not in node.value, (path.name, node.value)


def test_a_versus_table_shows_each_run_its_median_and_a_session_not_in_the_log() -> None:
    def line(session: str, commit: str, opens: float, cpu: float) -> dict:
        return {"session": session, "workload": "w2_10k", "tool": "horde", "commit": commit,
                "figures": {"opens_per_s": opens},
                "runs": [{"cpu_s": cpu, "max_rss_kb": 1024 * 100}]}

    lines = [line("before", "aaaaaaa1", 2000.0, 6.0), line("before", "aaaaaaa1", 2600.0, 6.2),
             line("before", "aaaaaaa1", 2400.0, 6.1)]
    out = tables.versus_table(tables.Log(lines), "w2_10k", "before,after", "opens,cpu")
    assert out[0] == "| | `before` (`aaaaaaa`) | `after`: not in the log |"
    assert out[2] == "| opens/s, server-counted | 2,000 / 2,600 / 2,400 (median 2,400) | — |"
    assert out[3] == "| CPU-s for the whole run | 6.00 / 6.20 / 6.10 (median 6.10) | — |"
