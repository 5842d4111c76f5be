"""The benchmark record: ``bench/results/runs.jsonl``, one JSON line per measurement.

Lines are only ever appended, so every run stays with the commit it measured; the tables
in docs/benchmarks.md are generated from this file (``bench/tables.py``). A line::

    {"session": "2026-11-25-1012",        # one harness/demo/soak invocation (tables pick by it)
     "date": "2026-11-25 10:12",
     "commit": "7a70654…" | null,         # the horde measured (HORDE_BENCH_SRC's checkout if set)
     "dirty": false | true | null,        # uncommitted changes under src/ when it ran
     "source": "bench/harness.py",        # what wrote it (or the file it was imported from)
     "kind": "harness" | "demo" | "soak",
     "workload": "w1_100", "tool": "horde",
     "settings": {...},                   # duration, repeats, connections, arguments
     "figures": {...},                    # the summary: cpu_per_100k, ops_per_s, kb_per_conn, …
     "runs": [...],                       # each repeat's raw measurement (harness lines)
     "machine": {...} | null}             # cores, CPU model, memory, kernel, Python

Lines imported from the per-session files written before this log existed carry
``commit: null``, ``source`` the file's name and ``committed_in`` the commit that added it.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
# HORDE_BENCH_RUNS: elsewhere, for a trial run that should not enter the record
RUNS = Path(os.environ.get("HORDE_BENCH_RUNS", ROOT / "bench" / "results" / "runs.jsonl"))


def new_session() -> str:
    """A session id for this invocation: its start, to the minute (sorts by time)."""
    return time.strftime("%Y-%m-%d-%H%M")


def horde_commit(src: str | None = None) -> tuple[str | None, bool | None]:
    """The commit of the horde being measured and whether its src/ has uncommitted changes."""
    where = Path(src).resolve() if src else ROOT / "src"
    try:
        head = _git(where, "rev-parse", "HEAD")
        dirty = bool(_git(where, "status", "--porcelain", "--", "."))
    except (OSError, subprocess.CalledProcessError):
        return None, None
    return head, dirty


def _git(where: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(where), *args], capture_output=True, text=True,
                          check=True).stdout.strip()


def machine() -> dict[str, Any]:
    """What the figures depend on: cores, CPU model, memory, kernel, Python."""
    model = None
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpus": os.cpu_count(),
        "cpu_model": model,
        "mem_gb": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
        "kernel": platform.release(),
        "python": platform.python_version(),
    }


def record(session: str, kind: str, workload: str, tool: str, figures: dict[str, Any], *,
           settings: dict[str, Any] | None = None, runs: list[dict[str, Any]] | None = None,
           src: str | None = None, source: str | None = None) -> dict[str, Any]:
    """One line of the log for a measurement made now, on this machine."""
    commit, dirty = horde_commit(src)
    return {
        "session": session, "date": time.strftime("%Y-%m-%d %H:%M"), "commit": commit,
        "dirty": dirty, "source": source or f"bench/{kind}.py", "kind": kind,
        "workload": workload, "tool": tool, "settings": settings or {}, "figures": figures,
        "runs": runs or [], "machine": machine(),
    }


def append(lines: Iterable[dict[str, Any]], path: Path = RUNS) -> None:
    """Add lines at the end of the log (never rewrites what is there)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as f:
        for line in lines:
            f.write(json.dumps(line, separators=(",", ":")) + "\n")


def load(path: Path = RUNS) -> list[dict[str, Any]]:
    """Every line of the log, oldest first."""
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
