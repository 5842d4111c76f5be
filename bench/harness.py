"""horde beside its peers on the same work, on this machine, in one session.

Run by hand, alone on the machine (never in the test suite):

    .venv/bin/python bench/harness.py                       # everything, 3 repeats
    .venv/bin/python bench/harness.py -w w1_100 -t horde,artillery -r 1 -d 10

The target server is pinned to CPU 0 and the generator to CPU 1 (``taskset``); the
generator's CPU time and peak RSS come from ``/usr/bin/time`` (children included), and
the operation counts from the *server's* own counters, so every tool is judged by the
same referee. The primary figure is CPU-seconds of the generator per 100k operations.

Everything it runs is in bench/: the targets (servers/), the peers' scripts (peers/),
the bare reference clients (raw/) and horde's scenarios (scenarios/). The peers themselves
are installed apart and found through environment variables (bench/README.md says how):
HORDE_BENCH_NODE (a folder whose node_modules has artillery, socket.io and
socket.io-client), HORDE_BENCH_LOCUST (the locust executable), and tsung, nginx and wrk
on PATH. A tool that is missing is skipped and said so.

Each workload × tool is appended, as soon as it is measured, to bench/results/runs.jsonl
with the session, the commit measured and the machine (runlog.py); docs/benchmarks.md's
tables are generated from that file by bench/tables.py.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

import runlog
from targets import NginxTarget, PicowsEcho, SocketIOEcho, Target
from tools import TOOLS, Command


@dataclass
class Measurement:
    workload: str
    tool: str
    cpu_s: float
    wall_s: float
    max_rss_kb: int
    ops: int
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def cpu_per_100k(self) -> float | None:
        return self.cpu_s / self.ops * 100_000 if self.ops else None


@dataclass(frozen=True)
class Workload:
    name: str
    target: Callable[[], Target]
    conns: int
    kind: str  # "loop" (ops per CPU) or "idle" (memory per connection)
    tools: tuple[str, ...]
    # source addresses the connections take in turn: past one address's ~28k ephemeral
    # ports to one server port (horde --local-ips; Tsung's <ip> elements)
    local_ips: str = ""


WORKLOADS = {
    w.name: w
    for w in (
        Workload("w1_100", PicowsEcho, 100, "loop",
                 ("horde", "horde_json", "locust", "artillery", "tsung")),
        Workload("w1_1000", PicowsEcho, 1000, "loop",
                 ("horde", "horde_json", "locust", "artillery", "tsung")),
        Workload("w2_10k", PicowsEcho, 10_000, "idle", ("horde", "artillery", "tsung", "locust")),
        # not in the default run: ~2 GB per tool and the open-files limit raised first
        # (bench/README.md); Artillery has no source-address option, so it stops near 28k
        Workload("w2_100k", PicowsEcho, 100_000, "idle", ("horde", "tsung"),
                 local_ips="127.0.0.2-127.0.0.5"),
        Workload("w3_http", NginxTarget, 100, "loop",
                 ("horde", "wrk", "tsung", "locust", "artillery")),
        Workload("sio_ack_100", SocketIOEcho, 100, "loop",
                 ("horde", "node_sio", "python_sio", "artillery")),
        Workload("sio_idle_5k", SocketIOEcho, 5000, "idle", ("horde", "node_sio", "python_sio")),
    )
}

OPT_IN = {"w2_100k"}  # run only when named with -w
IDLE_BASE_CONNS = 100  # the "fixed" memory: the same tool holding only this many


def timed(cmd: Command, timeout: float) -> tuple[float, float, int, str]:
    """Run ``cmd`` pinned to CPU 1 under /usr/bin/time: (cpu_s, wall_s, max_rss_kb, output)."""
    import subprocess

    with tempfile.NamedTemporaryFile("r", suffix=".time") as tf:
        argv = ["/usr/bin/time", "-f", "%e %U %S %M", "-o", tf.name, "taskset", "-c", "1",
                *cmd.argv]
        proc = subprocess.run(argv, env={**os.environ, **cmd.env}, cwd=cmd.cwd, timeout=timeout,
                              capture_output=True, text=True, check=False)
        wall, user, system, rss = tf.read().split()[-4:]
    return float(user) + float(system), float(wall), int(rss), proc.stdout + proc.stderr


def measure(workload: Workload, tool: str, duration: float, conns: int) -> Measurement | None:
    builder = TOOLS[tool]
    with workload.target() as target:
        cmd = builder(workload, target, conns, duration)
        if cmd is None:
            return None
        cpu, wall, rss, output = timed(cmd, timeout=duration * 4 + 120)
        stats = target.stats()
    ops = stats.get("ops", 0)
    extra = {k: v for k, v in stats.items() if k != "ops"}
    if cmd.parse is not None:
        extra.update(cmd.parse(output))
    return Measurement(workload.name, tool, cpu, wall, rss, ops, extra)


def run_workload(workload: Workload, tools: list[str], duration: float, repeat: int,
                 session: str) -> list[dict]:
    rows = []
    for tool in tools:
        if tool not in workload.tools:
            continue
        runs: list[Measurement] = []
        for _ in range(repeat):
            m = measure(workload, tool, duration, workload.conns)
            if m is None:
                print(f"  {workload.name} {tool}: skipped (not installed)", flush=True)
                break
            runs.append(m)
            print(f"  {workload.name} {tool}: {_brief(m)}", flush=True)
        if not runs:
            continue
        row: dict[str, Any] = {"workload": workload.name, "tool": tool,
                               "runs": [asdict(r) | {"cpu_per_100k": r.cpu_per_100k} for r in runs]}
        if workload.kind == "loop":
            row["cpu_per_100k"] = _median([r.cpu_per_100k for r in runs])
            row["ops_per_s"] = _median([r.ops / r.wall_s for r in runs if r.wall_s])
        else:
            base = measure(workload, tool, duration, IDLE_BASE_CONNS)
            full = statistics.median_low([r.max_rss_kb for r in runs])
            if base is not None:
                extra_conns = workload.conns - IDLE_BASE_CONNS
                row["kb_per_conn"] = round((full - base.max_rss_kb) / extra_conns, 2)
                row["fixed_mb"] = round(base.max_rss_kb / 1024, 1)
            row["opens_per_s"] = _median([r.extra.get("opens_per_s") for r in runs])
            row["connected"] = _median([r.extra.get("connected") for r in runs])
        rows.append(row)
        runlog.append([_line(row, session, workload, duration, repeat)])
    return rows


def _line(row: dict[str, Any], session: str, workload: Workload, duration: float,
          repeat: int) -> dict[str, Any]:
    """The run log's line for one workload × tool (horde's commit: HORDE_BENCH_SRC's if set)."""
    src = os.environ.get("HORDE_BENCH_SRC") if row["tool"].startswith("horde") else None
    settings = {"duration_s": duration, "repeat": repeat, "conns": workload.conns,
                "horde_src": src}
    figures = {k: v for k, v in row.items() if k not in ("workload", "tool", "runs")}
    return runlog.record(session, "harness", workload.name, row["tool"], figures,
                         settings=settings, runs=row["runs"], src=src)


def _median(values: list[Any]) -> float | None:
    values = [v for v in values if v is not None]
    return round(statistics.median(values), 3) if values else None


def _brief(m: Measurement) -> str:
    per = f"{m.cpu_per_100k:.2f} CPU-s/100k" if m.cpu_per_100k else "-"
    return (f"cpu {m.cpu_s:.2f}s wall {m.wall_s:.1f}s rss {m.max_rss_kb / 1024:.0f}MB "
            f"ops {m.ops:,} ({per}) {m.extra}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("-w", "--workloads", default=",".join(w for w in WORKLOADS if w not in OPT_IN))
    p.add_argument("-t", "--tools", default=None, help="default: every tool of each workload")
    p.add_argument("-d", "--duration", type=float, default=20.0)
    p.add_argument("-r", "--repeat", type=int, default=3)
    p.add_argument("-s", "--session", default=runlog.new_session(),
                   help="the session id its lines carry in runs.jsonl (default: now)")
    p.add_argument("-o", "--out", default=None,
                   help="also write this session's rows to this JSON file")
    a = p.parse_args()
    results = []
    print(f"session {a.session} → {runlog.RUNS}", flush=True)
    for name in a.workloads.split(","):
        workload = WORKLOADS[name]
        tools = a.tools.split(",") if a.tools else list(workload.tools)
        print(f"== {name}", flush=True)
        results.extend(run_workload(workload, tools, a.duration, a.repeat, a.session))
    if a.out:
        out = Path(a.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps({"when": time.strftime("%Y-%m-%d %H:%M"),
                                   "session": a.session, "duration_s": a.duration,
                                   "repeat": a.repeat, "results": results}, indent=2))
        print(f"wrote {out}")


if __name__ == "__main__":
    main()
