"""The run history as a user meets it: runs are listed, rebuilt into reports, compared
for CI — and a run killed with SIGKILL is still there."""

import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from tests.support import horde_cli, read_results

# one xdist worker runs the whole module, so its module fixture (three runs) runs once
pytestmark = pytest.mark.xdist_group("history")

DELAY_SCENARIO = """
import horde

NAME = "delay"


class Params(horde.Params):
    delay_ms: int = 50


@horde.behaviour
async def slow(user):
    await user.http.get(f"/delay/{user.params.delay_ms}", name="delay")
"""


def _run(scenario: Path, url: str, history: Path, out: Path, *flags: str) -> None:
    result = horde_cli("run", str(scenario), "--target", url, "--users", "4", "--duration", "7s",
                       "--history", str(history), "--out", str(out), "--quiet", *flags)
    assert result.returncode == 0, result.stderr
    assert re.search(r"history: run \d+ in ", result.stderr), result.stderr


def _line(text: str, start: str) -> str:
    """The table line whose first cell starts with ``start``."""
    return next(line for line in text.splitlines() if line.lstrip("│┃ ").startswith(start))


@pytest.fixture(scope="module")
def three_runs(echo_server, tmp_path_factory) -> tuple[Path, Path]:
    """Runs 1 and 3 against /delay/100, run 2 against /delay/200 — a server twice as slow.

    7 s each: compare judges each run's seconds, and needs 5 of them under load (the first
    and last are not). 100 ms, not 5: on a loaded 2-core machine the event loops of horde
    and the server are late by milliseconds, and the unchanged rerun must stay within the
    default 10 % of the first — in its median second, which one slow second cannot move."""
    tmp = tmp_path_factory.mktemp("history-e2e")
    history = tmp / "runs.sqlite"
    scenario = tmp / "delay.py"
    scenario.write_text(DELAY_SCENARIO)
    for i, delay in enumerate((100, 200, 100), start=1):
        _run(scenario, echo_server, history, tmp / f"out{i}", "--param", f"delay_ms={delay}")
    return history, tmp


def test_compare_flags_the_2x_slower_server_and_exits_1(three_runs) -> None:
    history, _ = three_runs
    result = horde_cli("compare", "1", "2", "--history", str(history))
    assert result.returncode == 1, result.stdout + result.stderr
    for figure in ("http_req:delay p50", "http_req:delay p95", "throughput"):
        line = _line(result.stdout, figure)
        assert "regression" in line, result.stdout
        assert _p_value(line) < 0.01, result.stdout
    assert re.search(r"\d+ regressions beyond 10% at 99% confidence: .*http_req:delay p95",
                     result.stdout)
    assert result.stderr == ""  # same scenario, target and load: nothing to warn about


def test_compare_passes_an_unchanged_rerun_with_the_defaults(three_runs) -> None:
    history, _ = three_runs
    result = horde_cli("compare", "-3", "latest", "--history", str(history))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no regression beyond 10% at 99% confidence" in result.stdout
    for figure in ("http_req:delay p50", "http_req:delay p95", "throughput"):
        assert "ok" in _line(result.stdout, figure), result.stdout
    # four connects in all: too few a second to judge, never a regression
    assert "few samples" in _line(result.stdout, "http_connect p95")


def _p_value(line: str) -> float:
    """The p-value cell of a compare table line (``<0.001`` counts as 0.001)."""
    cells = [c.strip() for c in line.split("│")]
    return float(cells[-3].lstrip("<"))


def test_compare_refuses_an_unknown_run_in_one_line(three_runs) -> None:
    history, _ = three_runs
    result = horde_cli("compare", "1", "42", "--history", str(history))
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"horde: error: no run '42' in {history} (see 'horde runs')"]


@pytest.fixture(scope="module")
def mixed_runs(echo_server, tmp_path_factory) -> Path:
    """Short runs: 1 and 2 of scenario ``delay`` with 1 and 2 users, 3 of ``other``."""
    tmp = tmp_path_factory.mktemp("history-mixed")
    history = tmp / "runs.sqlite"
    for name, users in (("delay", "1"), ("delay", "2"), ("other", "1")):
        scenario = tmp / f"{name}.py"
        scenario.write_text(DELAY_SCENARIO.replace('NAME = "delay"', f'NAME = "{name}"'))
        result = horde_cli("run", str(scenario), "--target", echo_server, "--users", users,
                           "--iterations", "2", "--history", str(history), "--quiet")
        assert result.returncode == 0, result.stderr
    return history


def test_compare_refuses_runs_of_different_scenarios_unless_forced(mixed_runs) -> None:
    refused = horde_cli("compare", "1", "3", "--history", str(mixed_runs))
    assert refused.returncode == 2
    assert refused.stderr.strip().splitlines() == [
        "horde: error: runs 1 and 3 are of different scenarios (scenario 'delay' vs 'other'); "
        "--force compares them anyway"]
    assert refused.stdout == ""
    forced = horde_cli("compare", "1", "3", "--history", str(mixed_runs), "--force")
    assert forced.returncode == 0, forced.stdout + forced.stderr
    assert forced.stderr.strip().splitlines() == [
        "horde: warning: runs 1 and 3 differ in scenario 'delay' vs 'other'"]
    assert "run 1 (A) → run 3 (B)" in forced.stdout


def test_compare_warns_in_one_line_when_the_load_differs(mixed_runs) -> None:
    result = horde_cli("compare", "1", "2", "--history", str(mixed_runs))
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stderr.strip().splitlines() == [
        "horde: warning: runs 1 and 2 differ in users 1 vs 2"]
    # two iterations a user: no figure has seconds enough to judge, and the line says so
    assert "few samples" in _line(result.stdout, "http_req:delay p95")
    assert "not judged: too few samples" in result.stdout


def test_runs_lists_every_run_newest_first(three_runs) -> None:
    history, _ = three_runs
    result = horde_cli("runs", "--history", str(history))
    assert result.returncode == 0, result.stderr
    ids = [int(m) for m in re.findall(r"^│\s+(\d+) │", result.stdout, re.MULTILINE)]
    assert ids == [3, 2, 1]
    for i in ids:
        line = _line(result.stdout, str(i))
        assert "delay" in line and "completed" in line and "7.0s" in line


def test_report_rebuilds_the_stored_results(three_runs, tmp_path) -> None:
    history, tmp = three_runs
    result = horde_cli("report", "2", "--format", "json,md", "--out", str(tmp_path),
                       "--history", str(history))
    assert result.returncode == 0, result.stderr
    original = read_results(tmp / "out2")
    assert read_results(tmp_path) == {**original, "run_id": 2}
    count = original["metrics"]["http_req:delay"]["count"]
    assert f"| delay | {count} |" in (tmp_path / "report.md").read_text()


def test_a_run_killed_with_sigkill_is_listed_and_reportable(echo_server, tmp_path) -> None:
    history = tmp_path / "runs.sqlite"
    scenario = tmp_path / "delay.py"
    scenario.write_text(DELAY_SCENARIO)
    proc = subprocess.Popen(
        [sys.executable, "-m", "horde", "run", str(scenario), "--target", echo_server,
         "--users", "4", "--duration", "6s", "--history", str(history), "--quiet"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        _wait_for_rows(history, 3, proc)
        os.kill(proc.pid, signal.SIGKILL)  # halfway through the 6 s: no chance to write
    finally:
        proc.kill()
        proc.wait()
    assert proc.returncode == -signal.SIGKILL

    stored = _row_count(history)
    assert stored in (3, 4)  # a fourth second may land between the poll and the kill
    listing = horde_cli("runs", "--history", str(history))
    assert listing.returncode == 0, listing.stderr
    assert f"incomplete ({stored} s stored)" in _line(listing.stdout, "1")

    out = tmp_path / "report"
    report = horde_cli("report", "latest", "--format", "json,md", "--out", str(out),
                       "--history", str(history))
    assert report.returncode == 0, report.stderr
    assert "incomplete" in report.stdout
    results = read_results(out)
    assert results["incomplete"] is True and results["status"] == "incomplete"
    assert len(results["timeseries"]) == stored
    assert results["operations"]["finished"] == sum(
        r["operations"] for r in results["timeseries"]) > 0
    assert results["metrics"]["http_req:delay"]["approximate"] is True
    assert "INCOMPLETE" in (out / "report.md").read_text()


def _row_count(history: Path) -> int:
    with sqlite3.connect(history) as conn:
        return conn.execute("SELECT count(*) FROM rows").fetchone()[0]


def _wait_for_rows(history: Path, n: int, proc: subprocess.Popen, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, "the run ended before it could be killed"
        if history.exists():
            try:
                if _row_count(history) >= n:
                    return
            except sqlite3.OperationalError:
                pass  # the schema is being created
        time.sleep(0.05)
    raise AssertionError(f"fewer than {n} rows after {timeout}s")


def test_no_history_and_bad_formats(echo_server, tmp_path) -> None:
    scenario = tmp_path / "delay.py"
    scenario.write_text(DELAY_SCENARIO)
    history = tmp_path / "runs.sqlite"
    result = horde_cli("run", str(scenario), "--target", echo_server, "--iterations", "1",
                       "--users", "1", "--no-history", "--history", str(history), "-q")
    assert result.returncode == 0, result.stderr
    assert not history.exists() and "history:" not in result.stderr
    bad = horde_cli("run", str(scenario), "--target", echo_server, "--format", "json,pdf")
    assert bad.returncode == 2
    assert bad.stderr.strip().splitlines() == [
        "horde: error: unknown report format 'pdf': choose from json, html, md, csv, junit"]
    assert "history:" not in bad.stdout + bad.stderr


def test_formats_go_to_out_or_else_to_horde_results(echo_server, tmp_path) -> None:
    scenario = tmp_path / "delay.py"
    scenario.write_text(DELAY_SCENARIO)
    args = [sys.executable, "-m", "horde", "run", str(scenario), "--target", echo_server,
            "--users", "1", "--iterations", "3", "-q", "--format", "md", "--format", "junit"]
    result = subprocess.run(args, cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    written = tmp_path / "horde-results"
    assert sorted(p.name for p in written.iterdir()) == ["junit.xml", "report.md", "results.json"]
    assert f"reports: {Path('horde-results') / 'report.md'}" in result.stdout
    assert read_results(written)["operations"]["by_kind"]["http"]["finished"] == 3
