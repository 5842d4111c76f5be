"""How each tool is asked to do each workload: a command line, an environment, a parser.

A builder returns ``None`` when its tool is not installed, and the harness skips it; it
skips, before that, a tool that would need more open files than one process may have
(:func:`skip_reason`).
"""

from __future__ import annotations

import json
import math
import os
import re
import resource
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from string import Template
from typing import Any

from targets import BENCH, NODE_DIR, PYTHON, ROOT, Target

HORDE = str(ROOT / ".venv" / "bin" / "horde")
SCENARIOS = BENCH / "scenarios"  # horde's side of each workload
PEERS = BENCH / "peers"  # the peers' scripts for the same workloads
RAW = BENCH / "raw"  # bare reference clients (no framework)
LOCUST = os.environ.get("HORDE_BENCH_LOCUST", "/tmp/peers/locust-venv/bin/locust")
ARTILLERY = NODE_DIR / "node_modules" / ".bin" / "artillery"


@dataclass
class Command:
    argv: list[str]
    env: dict[str, str] = field(default_factory=dict)
    cwd: str | None = None
    parse: Callable[[str], dict[str, Any]] | None = None
    tree: bool = False  # its memory is a process tree's (horde on workers): tree_rss.py


FILES_SPARE = 500  # a process's descriptors besides its connections (libraries, logs, Ray)


def skip_reason(workload: Any, tool: str) -> str | None:
    """Why ``tool`` cannot do ``workload`` here: one process (or one of horde's workers)
    would hold more sockets than the open-files hard limit lets it open. None: it can."""
    processes = workload.workers if tool.startswith("horde") else 1
    per_process = math.ceil(workload.conns / processes) + FILES_SPARE
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    if hard == resource.RLIM_INFINITY or per_process <= hard:
        return None
    one = "each of its processes" if processes > 1 else f"{tool} is one process and"
    return (f"{one} would hold {per_process - FILES_SPARE:,} sockets, past the open-files "
            f"hard limit of {hard:,} here; raise it (bench/README.md) to run it")


def _result_line(output: str) -> dict[str, Any]:
    """The RESULT {...} line the raw reference clients print."""
    for line in output.splitlines():
        if line.startswith("RESULT "):
            data = json.loads(line[7:])
            return {"connected": data.get("connected"), "opens_per_s": data.get("open_rate")}
    return {}


def horde(workload: Any, target: Target, conns: int, duration: float) -> Command:
    scenario = {"w1": "ws_pingpong", "w2": "ws_idle", "w3": "http_get",
                "sio_ack": "sio_ack", "sio_idle": "sio_idle"}[_family(workload.name)]
    return _horde(scenario, target, conns, duration, workload.local_ips, workload.workers,
                  workload.spawn_rate)


def horde_json(workload: Any, target: Target, conns: int, duration: float) -> Command:
    return _horde("ws_pingpong_json", target, conns, duration)


def _horde(scenario: str, target: Target, conns: int, duration: float,
           local_ips: str = "", workers: int = 1, spawn_rate: int | None = None) -> Command:
    out = tempfile.mkdtemp(prefix="horde-bench-")

    def parse(_output: str) -> dict[str, Any]:
        results = json.loads((Path(out) / "results.json").read_text())
        shutil.rmtree(out, ignore_errors=True)
        rows = results["timeseries"]
        full = next((r["t"] for r in rows if r["connections_open"] >= conns), None)
        # on workers the seconds start before Ray and the workers are up: count from the
        # last second with nothing open, not from 0
        start = max((r["t"] for r in rows if r["connections_open"] == 0
                     and (full is None or r["t"] < full)), default=0.0)
        return {
            "connected": results["connections"]["succeeded"],
            "errors": results["errors_total"],
            "error_categories": results["errors"],  # what they were, not only how many
            "saturated": results["generator"]["saturated"],
            "horde_opens_per_s": round(conns / (full - start), 1) if full else None,
            "peak_open": results["connections"]["peak_open"],
            **({"workers_lost": results["workers"]["lost"]} if "workers" in results else {}),
        }

    # HORDE_BENCH_SRC=/path/to/other/checkout/src measures that build instead (same venv):
    # how a change to the hot path is compared with the commit before it, alternately
    src = os.environ.get("HORDE_BENCH_SRC")
    program = [PYTHON, "-m", "horde"] if src else [HORDE]
    return Command(
        [*program, "run", str(SCENARIOS / f"{scenario}.py"), "--target", target.url,
         "--users", str(conns), "--spawn-rate", str(spawn_rate or conns),
         "--duration", f"{duration}s",
         "--quiet", "--out", out, *(["--local-ips", local_ips] if local_ips else []),
         *(["--workers", str(workers)] if workers > 1 else [])],
        env={"PYTHONPATH": src} if src else {},
        parse=parse,
        tree=workers > 1,
    )


def locust(workload: Any, target: Target, conns: int, duration: float) -> Command | None:
    if not Path(LOCUST).exists():
        return None
    family = _family(workload.name)
    file, user = {"w1": ("ws_users.py", "WsEchoUser"), "w2": ("ws_users.py", "WsIdleUser"),
                  "w3": ("http_user.py", "Get")}[family]
    host = target.url + ("/" if family != "w3" else "")
    return Command([LOCUST, "-f", str(PEERS / "locust" / file), "--headless",
                    "-u", str(conns), "-r", str(conns), "-t", f"{int(duration)}s", "-H", host,
                    "--only-summary", "--loglevel", "WARNING", user])


def artillery(workload: Any, target: Target, conns: int, duration: float) -> Command | None:
    if not ARTILLERY.exists():
        return None
    family = _family(workload.name)
    peers = PEERS / "artillery"
    env = {"TARGET": target.url, "CONNS": str(conns), "DURATION": str(int(duration)),
           "HOLD": str(int(duration)), "ARTILLERY_DISABLE_TELEMETRY": "1",
           "ACK_COUNT": str(int(duration * 110))}  # ~20 s of acks at Artillery's ~11k/s
    file = {"w1": "ws_pingpong.yml", "w2": "ws_idle.yml", "w3": "http.yml",
            "sio_ack": "artillery_ack.yml"}[family]
    argv = [str(ARTILLERY), "run", str(peers / file)]
    if family == "sio_ack":
        argv += ["-t", target.url]
    return Command(argv, env=env, cwd=str(peers))


def tsung(workload: Any, target: Target, conns: int, duration: float) -> Command | None:
    if shutil.which("tsung") is None:
        return None
    family = _family(workload.name)
    file = {"w1": "ws_pingpong.xml", "w2": "ws_idle.xml", "w3": "http.xml"}[family]
    text = Template((PEERS / "tsung" / file).read_text()).safe_substitute(
        PORT=str(target.port), CONNS=str(conns), DURATION=str(int(duration)),
        HOLD=str(max(30, int(duration))), MAXUSERS=str(max(15_000, conns)),
        # its launcher managed ~1,300 users/s here: room for every arrival
        ARRIVAL=str(max(12, conns // 1300 + 5)),
        IPS="".join(f'<ip value="{ip}"/>' for ip in _addresses(workload.local_ips)),
    )
    work = Path(tempfile.mkdtemp(prefix="tsung-"))
    (work / "load.xml").write_text(text)
    return Command(["tsung", "-f", str(work / "load.xml"), "-l", str(work / "log"), "start"],
                   cwd=str(work))


def _addresses(local_ips: str) -> list[str]:
    """``127.0.0.2-127.0.0.5`` as its addresses (the only form the workloads use)."""
    if not local_ips:
        return []
    first, last = local_ips.split("-")
    head, start = first.rsplit(".", 1)
    return [f"{head}.{n}" for n in range(int(start), int(last.rsplit(".", 1)[1]) + 1)]


def wrk(workload: Any, target: Target, conns: int, duration: float) -> Command | None:
    if shutil.which("wrk") is None:
        return None
    return Command(["wrk", "-t1", f"-c{conns}", f"-d{int(duration)}s", target.url + "/"])


def node_sio(workload: Any, target: Target, conns: int, duration: float) -> Command | None:
    if not (NODE_DIR / "node_modules" / "socket.io-client").exists():
        return None
    args = (["idle", str(conns)] if _family(workload.name) == "sio_idle"
            else ["ack", str(conns), str(int(duration * 200))])
    return Command(["node", str(RAW / "node_client.js"), target.url, *args],
                   env={"NODE_PATH": str(NODE_DIR / "node_modules"), "HOLD": str(int(duration))},
                   parse=_result_line)


def python_sio(workload: Any, target: Target, conns: int, duration: float) -> Command:
    args = (["idle", str(conns)] if _family(workload.name) == "sio_idle"
            else ["ack", str(conns), str(int(duration * 110))])
    return Command([PYTHON, str(RAW / "py_client.py"), target.url, *args],
                   env={"UVLOOP": "1", "HOLD": str(int(duration))}, parse=_result_line)


def _family(name: str) -> str:
    return re.sub(r"_(\d+k?|http)$", "", name)


TOOLS: dict[str, Callable[..., Command | None]] = {
    "horde": horde, "horde_json": horde_json, "locust": locust, "artillery": artillery,
    "tsung": tsung, "wrk": wrk, "node_sio": node_sio, "python_sio": python_sio,
}
