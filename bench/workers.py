"""What workers cost: W1 ping-pong on one worker and on two, at the same total users.

Run by hand, alone on the machine (never in the test suite):

    .venv/bin/python bench/workers.py                   # 1, 2 and 2x1, 3 alternations
    .venv/bin/python bench/workers.py -r 1 -d 10 -u 100

Workers are Ray actors, not children of the ``horde`` process, so ``/usr/bin/time`` on
horde would miss them. The figure is the whole machine's CPU time (``/proc/stat``) minus
the echo server's own, over a steady window of the load — after Ray and the workers
started, before the end — divided by the operations the *server* counted in that window:
CPU-seconds per 100k operations, everything horde and Ray spent included. The
coordinator's own CPU in the same window, per worker per second, is reported beside it.

Two workers are compared with one worker (the same users on one core) and with two
separate one-worker runs of half the users each (``2x1``: the same processes' work
without Ray or a coordinator) — the difference to the latter is what coordination costs.
Start-up (Ray and workers) is timed separately. Results are appended to
``bench/results/runs.jsonl`` (kind ``workers``), one line per mode, with the commit.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import psutil

sys.path.insert(0, str(Path(__file__).parent))

import runlog
from targets import PYTHON, ROOT, free_port, wait_port

SERVER = ROOT / "bench" / "servers" / "picows_echo.py"
SCENARIO = ROOT / "bench" / "scenarios" / "ws_pingpong.py"
WARMUP_S = 3.0  # after the first operations reach the server


class Echo:
    """The picows echo server pinned to CPU 0, its message counter read on demand."""

    def __enter__(self) -> Echo:
        self.port = free_port()
        self.stats_file = Path(tempfile.mkstemp(suffix=".jsonl")[1])
        self.proc = subprocess.Popen(
            ["taskset", "-c", "0", PYTHON, str(SERVER), str(self.port), str(self.stats_file)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_port(self.port)
        self.ps = psutil.Process(self.proc.pid)
        return self

    def __exit__(self, *exc: object) -> None:
        self.proc.terminate()
        self.proc.wait(10)
        self.stats_file.unlink(missing_ok=True)

    def messages(self) -> int:
        lines = len(self.stats_file.read_text().splitlines())
        self.proc.send_signal(signal.SIGUSR1)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            text = self.stats_file.read_text().splitlines()
            if len(text) > lines:
                return int(json.loads(text[-1]).get("msgs", 0))
            time.sleep(0.02)
        raise RuntimeError("the echo server did not report")

    def cpu_s(self) -> float:
        t = self.ps.cpu_times()
        return t.user + t.system


def machine_cpu_s() -> float:
    """Every CPU's busy time since boot, in seconds (user, nice, system, irq, softirq)."""
    fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:8]
    user, nice, system, _idle, _iowait, irq, softirq = map(int, fields)
    return (user + nice + system + irq + softirq) / os.sysconf("SC_CLK_TCK")


def measure(mode: str, users: int, duration: float) -> dict[str, Any]:
    """``mode``: ``N`` workers of one run, or ``NxU``: N separate horde runs of one
    worker each (no Ray, no coordination: the baseline workers are compared with)."""
    separate = "x" in mode
    processes = int(mode.split("x")[0])
    workers = 1 if separate else processes
    with Echo() as echo:
        launched = time.monotonic()
        hordes = [subprocess.Popen(
            [PYTHON, "-m", "horde", "run", str(SCENARIO), "--target", f"ws://127.0.0.1:{echo.port}",
             "--users", str(users // processes if separate else users), "--spawn-rate",
             str(users), "--workers", str(workers),
             "--duration", f"{duration + WARMUP_S + 30}s", "--quiet", "--no-history"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
            for _ in range(processes if separate else 1)]
        coordinator = psutil.Process(hordes[0].pid)
        while echo.messages() == 0:
            if hordes[0].poll() is not None:
                raise RuntimeError(hordes[0].stderr.read() if hordes[0].stderr else "ended")
            time.sleep(0.1)
        startup_s = time.monotonic() - launched
        time.sleep(WARMUP_S)
        before = (machine_cpu_s(), echo.cpu_s(), echo.messages(), _cpu(coordinator))
        time.sleep(duration)
        after = (machine_cpu_s(), echo.cpu_s(), echo.messages(), _cpu(coordinator))
        for horde in hordes:
            horde.send_signal(signal.SIGINT)
        for horde in hordes:
            horde.wait(60)
    cpu = (after[0] - before[0]) - (after[1] - before[1])
    ops = after[2] - before[2]
    coordinator_s = after[3] - before[3]
    return {
        "mode": mode, "users": users, "window_s": duration,
        "ops": ops, "rate": round(ops / duration),
        "cpu_s": round(cpu, 3), "cpu_per_100k": round(cpu / ops * 100_000, 3) if ops else None,
        "coordinator_cpu_percent_per_worker": round(coordinator_s / duration / workers * 100, 2)
        if workers > 1 else None,
        "startup_s": round(startup_s, 2),
    }


def _cpu(process: psutil.Process) -> float:
    t = process.cpu_times()
    return t.user + t.system


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-r", "--repeat", type=int, default=3)
    parser.add_argument("-d", "--duration", type=float, default=15.0)
    parser.add_argument("-u", "--users", type=int, default=100)
    parser.add_argument("-w", "--workers", default="1,2,2x1",
                        help="modes: N workers of one run; NxU: N separate one-worker runs")
    args = parser.parse_args()
    counts = args.workers.split(",")
    runs: dict[str, list[dict[str, Any]]] = {w: [] for w in counts}
    for _ in range(args.repeat):  # alternated, so drift of the machine hits both alike
        for w in counts:
            result = measure(w, args.users, args.duration)
            print(json.dumps(result), flush=True)
            runs[w].append(result)
    session = runlog.new_session()
    lines = [runlog.record(
        session, "workers", f"w1_{args.users}", f"horde --workers {mode}",
        {"cpu_per_100k": statistics.median(r["cpu_per_100k"] for r in rs),
         "ops_per_s": statistics.median(r["rate"] for r in rs),
         "startup_s": statistics.median(r["startup_s"] for r in rs),
         "coordinator_cpu_percent_per_worker": _median_or_none(
             r["coordinator_cpu_percent_per_worker"] for r in rs)},
        settings={"duration_s": args.duration, "repeats": args.repeat, "users": args.users},
        runs=rs, source="bench/workers.py") for mode, rs in runs.items()]
    runlog.append(lines)
    for line in lines:
        print(line["tool"], json.dumps(line["figures"]))


def _median_or_none(values: Any) -> float | None:
    present = [v for v in values if v is not None]
    return statistics.median(present) if present else None


if __name__ == "__main__":
    main()
