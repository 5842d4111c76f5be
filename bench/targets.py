"""Benchmark targets, each pinned to CPU 0, each counting what it served.

A target is a context manager; ``stats()`` (called once, at the end) returns at least
``ops``: the operations the server itself handled during the generator's run.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "bench"
SERVERS = BENCH / "servers"  # the target servers, kept in the repository (bench/README.md)
PYTHON = str(ROOT / ".venv" / "bin" / "python")
NODE_DIR = Path(os.environ.get("HORDE_BENCH_NODE", "/tmp/peers/node"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"target did not open port {port}")


def stop(proc: subprocess.Popen[str]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


class Target:
    scheme = "http"
    script: Path  # the server program or config, inside bench/servers
    proc: subprocess.Popen[str]
    port: int

    @property
    def url(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.port}"

    def __enter__(self) -> Target:
        return self

    def __exit__(self, *exc: object) -> None:
        stop(self.proc)

    def stats(self) -> dict[str, Any]:
        raise NotImplementedError


class PicowsEcho(Target):
    """The picows echo server; SIGUSR1 makes it write its counters.

    ``processes`` > 1 starts that many servers on one port (SO_REUSEPORT, the kernel
    spreading the connections), each under its own open-files limit: 100,000 connections
    where one process may hold only 20,000. All are pinned to CPU 0; ``stats()`` sums them.
    """

    scheme = "ws"
    script = SERVERS / "picows_echo.py"

    def __init__(self, processes: int = 1) -> None:
        self.processes = processes

    def __enter__(self) -> PicowsEcho:
        self.port = free_port()
        reuse = ["--reuse-port"] if self.processes > 1 else []
        self.stats_files = [Path(tempfile.mkstemp(suffix=".jsonl")[1])
                            for _ in range(self.processes)]
        self.procs = [subprocess.Popen(
            ["taskset", "-c", "0", PYTHON, str(self.script), str(self.port), str(f), *reuse],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        ) for f in self.stats_files]
        self.proc = self.procs[0]
        for proc in self.procs:  # each says "listening" once its socket is bound: no probe
            if not (proc.stdout and proc.stdout.readline().startswith("listening")):
                self.__exit__()
                raise RuntimeError(f"target did not open port {self.port}")
        return self

    def __exit__(self, *exc: object) -> None:
        for proc in self.procs:
            stop(proc)
        for f in self.stats_files:
            f.unlink(missing_ok=True)

    def stats(self) -> dict[str, Any]:
        pairs = zip(self.procs, self.stats_files, strict=True)
        raws = [self._counters(proc, f) for proc, f in pairs]
        accepted = sum(r.get("accepted", 0) for r in raws)
        firsts = [r["first_accept"] for r in raws if r.get("first_accept")]
        lasts = [r["last_accept"] for r in raws if r.get("last_accept")]
        span = max(lasts) - min(firsts) if firsts else 0  # CLOCK_MONOTONIC: one per machine
        return {
            "ops": sum(r.get("msgs", 0) for r in raws),
            "connected": accepted,
            # each process's peak, summed: the held count when they all held at once (idle)
            "held": sum(r.get("max_open", 0) for r in raws),
            "opens_per_s": round(accepted / span, 1) if span > 0 else None,
            **({"per_process": [r.get("accepted", 0) for r in raws]} if len(raws) > 1 else {}),
        }

    @staticmethod
    def _counters(proc: subprocess.Popen[str], stats_file: Path) -> dict[str, Any]:
        proc.send_signal(signal.SIGUSR1)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and not stats_file.read_text().strip():
            time.sleep(0.05)
        return json.loads(stats_file.read_text().strip().splitlines()[-1])


class NginxTarget(Target):
    """nginx, one worker, serving a ~100-byte JSON body; counts from stub_status."""

    script = SERVERS / "nginx.conf"

    def __enter__(self) -> NginxTarget:
        self.dir = Path(tempfile.mkdtemp())
        # nginx writes its logs and temp files under its prefix: give it a copy of its own
        shutil.copy(self.script, self.dir / "nginx.conf")
        shutil.copytree(SERVERS / "www", self.dir / "www")
        self.port = 18080
        self.proc = subprocess.Popen(
            ["taskset", "-c", "0", "nginx", "-p", str(self.dir),
             "-c", str(self.dir / "nginx.conf")],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, text=True,
        )
        wait_port(self.port)
        self.before = self._requests()
        return self

    def _requests(self) -> int:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/nginx_status") as r:
            text = r.read().decode()
        return int(text.splitlines()[2].split()[2])

    def stats(self) -> dict[str, Any]:
        return {"ops": self._requests() - self.before - 1}

    def __exit__(self, *exc: object) -> None:
        super().__exit__(*exc)
        shutil.rmtree(self.dir, ignore_errors=True)


class SocketIOEcho(Target):
    """Node's socket.io 4 echo server; SIGTERM makes it print its final counters."""

    script = SERVERS / "socketio_echo.js"

    def __enter__(self) -> SocketIOEcho:
        self.port = free_port()
        self.proc = subprocess.Popen(
            ["taskset", "-c", "0", "node", str(self.script), str(self.port)],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            env={**os.environ, "NODE_PATH": str(NODE_DIR / "node_modules")},
        )
        wait_port(self.port)
        return self

    def stats(self) -> dict[str, Any]:
        self.proc.send_signal(signal.SIGTERM)
        out, _ = self.proc.communicate(timeout=10)
        found = re.search(r"final conns=(-?\d+) acks=(\d+) echoes=(\d+)", out)
        if not found:
            return {"ops": 0}
        return {"ops": int(found.group(2)) + int(found.group(3))}
