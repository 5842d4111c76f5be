"""Helpers shared by tests: free ports, the echo server's own counters, the real CLI."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
# Latency against a server with a known delay: never below it, and above it by at most what
# a busy two-core machine adds (its own handling, a late wake-up of either event loop) —
# tests/e2e/test_latency_accuracy.py says why.
P50_MARGIN_MS = 6.0
P99_MARGIN_MS = 15.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def server_stats(url: str) -> dict[str, int]:
    with urllib.request.urlopen(f"{url}/stats", timeout=5) as response:
        return json.load(response)


def reset_stats(url: str) -> None:
    request = urllib.request.Request(f"{url}/stats/reset", method="POST", data=b"")
    urllib.request.urlopen(request, timeout=5).close()


def horde_cli(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run the real ``horde`` command line in a child process."""
    env = {**os.environ, "HORDE_EXAMPLES": str(ROOT / "examples")}
    return subprocess.run(
        [sys.executable, "-m", "horde", *args],
        capture_output=True, text=True, timeout=timeout, env=env,
    )


def read_results(out_dir: Path, run: subprocess.CompletedProcess | None = None) -> dict[str, Any]:
    """The run's results.json; when there is none, the failure shows what the run said."""
    path = out_dir / "results.json"
    if run is not None:
        assert path.is_file(), f"rc {run.returncode}: {run.stderr[-3000:]}"
    return json.loads(path.read_text())


def wait_for_connections(pid: int, port: int, count: int, timeout: float = 60.0) -> None:
    """Until process ``pid`` holds ``count`` established TCP connections to ``port`` on
    127.0.0.1: however long it took to start on a busy machine, its users are connected."""
    import time

    import psutil

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        held = sum(1 for c in psutil.Process(pid).net_connections(kind="tcp")
                   if c.raddr and c.raddr.port == port and c.status == "ESTABLISHED")
        if held >= count:
            return
        time.sleep(0.05)
    raise AssertionError(f"process {pid}: fewer than {count} connections to :{port} "
                         f"after {timeout:g} s")
