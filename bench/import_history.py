"""Import the per-session result files written before runs.jsonl existed (run once).

Kept to show how those lines were derived: the harness sessions of 2026-11-23
(``2026-11-23*.json``), the demo runs (``demo-*.json``) and the soak (``soak.json``) become
lines of bench/results/runs.jsonl with ``commit: null`` (the commit measured was not
recorded; ``committed_in`` is the commit that added the file), ``source`` the file's name,
the session and date the file gives (else the date of that commit) and ``machine: null``.
The files themselves stay as they are. Demo files that said ``horde_cpu_s`` /
``horde_peak_rss_mb`` get the later names ``tool_cpu_s`` / ``tool_peak_rss_mb``; the soak's
per-second series becomes its RSS at each full minute, as bench/soak.py now writes it.

    .venv/bin/python bench/import_history.py          # refuses if the log has them already
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

import runlog
from harness import WORKLOADS
from soak import rss_by_minute

RESULTS = runlog.ROOT / "bench" / "results"


def added_in(path: Path) -> tuple[str, str]:
    """The commit that added ``path`` and its date (YYYY-MM-DD HH:MM)."""
    out = subprocess.run(["git", "-C", str(runlog.ROOT), "log", "--diff-filter=A",
                          "--format=%H %ad", "--date=format:%Y-%m-%d %H:%M", "--",
                          str(path.relative_to(runlog.ROOT))],
                         capture_output=True, text=True, check=True).stdout.split()
    return out[0], f"{out[1]} {out[2]}"


def base(path: Path, session: str, date: str | None, kind: str) -> dict[str, Any]:
    commit, committed = added_in(path)
    return {"session": session, "date": date or committed, "commit": None, "dirty": None,
            "source": f"bench/results/{path.name}", "committed_in": commit, "kind": kind}


def harness_lines(path: Path) -> list[dict[str, Any]]:
    data = json.loads(path.read_text())
    lines = []
    for row in data["results"]:
        figures = {k: v for k, v in row.items() if k not in ("workload", "tool", "runs")}
        settings = {"duration_s": data["duration_s"], "repeat": data["repeat"],
                    "conns": WORKLOADS[row["workload"]].conns, "horde_src": None}
        lines.append(base(path, path.stem, data["when"], "harness") | {
            "workload": row["workload"], "tool": row["tool"], "settings": settings,
            "figures": figures, "runs": row["runs"], "machine": None})
    return lines


def demo_line(path: Path) -> dict[str, Any]:
    report = json.loads(path.read_text())
    for old, new in (("horde_cpu_s", "tool_cpu_s"), ("horde_peak_rss_mb", "tool_peak_rss_mb")):
        if old in report:
            report[new] = report.pop(old)
    tool = Path(report.get("tool", "horde")).stem
    return base(path, "2026-11-23-demos", None, "demo") | {
        "workload": f"demo:{report['demo']}", "tool": tool,
        "settings": {"args": report["args"]}, "figures": report, "runs": [], "machine": None}


def soak_line(path: Path) -> dict[str, Any]:
    report = json.loads(path.read_text())
    rows = report["generator"].pop("timeseries")
    report["rss_mb_by_minute"] = rss_by_minute(rows)
    return base(path, "2026-11-23-soak", None, "soak") | {
        "workload": f"soak:ws_{report['users_peak']}", "tool": "horde",
        "settings": {"users": report["users_peak"], "duration": "30m", "warmup": "5m"},
        "figures": report, "runs": [], "machine": None}


def main() -> None:
    lines = [line for p in sorted(RESULTS.glob("2026-11-23*.json")) for line in harness_lines(p)]
    lines += [demo_line(p) for p in sorted(RESULTS.glob("demo-*.json"))]
    lines.append(soak_line(RESULTS / "soak.json"))
    lines.sort(key=lambda line: line["date"])  # stable: each file's own order kept
    done = {line.get("source") for line in runlog.load()}
    if done & {line["source"] for line in lines}:
        sys.exit("already imported")
    runlog.append(lines)
    print(f"appended {len(lines)} lines to {runlog.RUNS}")


if __name__ == "__main__":
    main()
