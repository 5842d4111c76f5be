"""Run one built-in demo end to end and measure what it cost: wall time, horde's CPU and
peak RSS, and the demo server's. Run by hand, alone on the machine::

    .venv/bin/python bench/demo_run.py chsh [extra horde run options ...]
    .venv/bin/python bench/demo_run.py chsh --peer bench/peers/chsh_python_socketio.py
    .venv/bin/python bench/demo_run.py chsh --session chsh-1 [--peer ...]   # group runs

The server runs in its own process (as ``horde demo`` runs it); horde runs as
``horde run examples/NAME.py`` in another, so each one's CPU and memory are its own.
Prints one JSON line and appends it to bench/results/runs.jsonl (workload ``demo:NAME``,
tool ``horde`` or the peer script's name; ``--session ID`` groups alternating runs).
The demo-*.json files in bench/results are from before that log, kept as they are.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "bench"))

import runlog  # noqa: E402

from horde.demo.launcher import demo_server  # noqa: E402


class Sampler(threading.Thread):
    """Peak RSS of a process, sampled every 100 ms (its CPU is read once at the end)."""

    def __init__(self, proc: psutil.Process) -> None:
        super().__init__(daemon=True)
        self.proc = proc
        self.peak_rss = 0
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.is_set():
            try:
                self.peak_rss = max(self.peak_rss, self.proc.memory_info().rss)
            except psutil.Error:
                return
            time.sleep(0.1)


def main(name: str, extra: list[str]) -> dict:
    peer, session = None, runlog.new_session()
    if extra[:1] == ["--session"]:
        session, extra = extra[1], extra[2:]
    if extra[:1] == ["--peer"]:
        peer, extra = extra[1], extra[2:]
    out = Path(tempfile.mkdtemp(prefix=f"horde-bench-{name}-"))
    me = psutil.Process()
    with demo_server(name) as url:
        server = me.children()[0]
        sampler = Sampler(server)
        sampler.start()
        cpu0 = server.cpu_times()
        started = time.perf_counter()
        if peer is None:
            cmd = [str(ROOT / ".venv/bin/horde"), "run", str(ROOT / "examples" / f"{name}.py"),
                   "--target", url, "--out", str(out), "--quiet", *extra]
        else:
            cmd = [str(ROOT / ".venv/bin/python"), peer, "--url", url, *extra]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        wall = time.perf_counter() - started
        cpu1 = server.cpu_times()
        sampler.done.set()
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)  # the tool only: server not reaped
    report = {
        "demo": name,
        "tool": peer or "horde",
        "args": extra,
        "exit_code": proc.returncode,
        "wall_s": round(wall, 2),
        "tool_cpu_s": round(usage.ru_utime + usage.ru_stime, 2),
        "tool_peak_rss_mb": round(usage.ru_maxrss / 1024, 1),
        "server_cpu_s": round((cpu1.user + cpu1.system) - (cpu0.user + cpu0.system), 2),
        "server_peak_rss_mb": round(sampler.peak_rss / 2**20, 1),
    }
    if peer is None:
        report |= _horde_facts(json.loads((out / "results.json").read_text()))
    else:
        line = next(x for x in proc.stdout.splitlines() if x.startswith("RESULT "))
        report["peer"] = json.loads(line[7:])
    label = "horde" if peer is None else Path(peer).stem
    runlog.append([runlog.record(session, "demo", f"demo:{name}", label, report,
                                 settings={"args": extra})])
    return report


def _horde_facts(results: dict) -> dict:
    return {
        "load_s": results["duration_s"],
        "passed": results["passed"],
        "errors": results["errors"],
        "users_peak": results["users"]["peak_active"],
        "groups": {k: v for k, v in results.get("groups", {}).items() if k != "by_name"},
        "counters": {k: v for k, v in results["counters"].items() if k.startswith("custom:")},
        "thresholds": [
            (t["expression"], t["observed"], t["passed"]) for t in results["thresholds"]
        ],
        "generator": results["generator"],
    }


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1], sys.argv[2:])))
