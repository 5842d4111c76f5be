"""What one idle WebSocket costs at each layer, without users: the floor under W2's memory.

    .venv/bin/python bench/ws_idle_floor.py -n 8000 -r 2

Each case is a fresh process on CPU 1 that opens ``-n`` WebSockets to the picows echo
(bench/servers/picows_echo.py, on CPU 0), at most 200 handshakes in flight so that no
connect burst is measured, holds them, and reports (RSS holding them − RSS before) ÷ n.
The cases, alternated ``-r`` times:

- ``bare``: uvloop's TCP transport and a 3-slot ``asyncio.Protocol`` that writes the upgrade
  and waits for the 101 — the least any Python client on uvloop can hold;
- ``picows``: ``picows.ws_connect`` with its defaults (aiofastnet's transport included);
- ``picows_trimmed``: the same without aiofastnet, its handshake headers dropped — what
  horde asked of picows until it had its own client;
- ``horde``: ``WebSocketConnection.connect`` — horde's client on uvloop's transport
  (horde/transports/ws_client.py) plus its connection, listener and inbox.

Medians go to bench/results/runs.jsonl (``kind: floor``, workload ``ws_idle_floor``, one
line per case); docs/benchmarks.md cites them ("Memory per idle connection").
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import gc
import os
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import runlog

HERE = Path(__file__).resolve().parent
CASES = ("bare", "picows", "picows_trimmed", "horde")
IN_FLIGHT = 200


def rss_kb() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS in /proc/self/status")


class Bare(asyncio.Protocol):
    """The upgrade by hand; after the 101 it holds nothing but its transport."""

    __slots__ = ("done", "port", "transport")

    def __init__(self, done: asyncio.Future[None], port: int) -> None:
        self.done: asyncio.Future[None] | None = done
        self.port = port

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport
        key = base64.b64encode(os.urandom(16)).decode()
        transport.write(  # type: ignore[attr-defined]
            f"GET / HTTP/1.1\r\nHost: 127.0.0.1:{self.port}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
            "Sec-WebSocket-Version: 13\r\n\r\n".encode())

    def data_received(self, data: bytes) -> None:
        if self.done is not None and b"\r\n\r\n" in data:  # the 101 (one small segment)
            done, self.done = self.done, None
            done.set_result(None)


async def open_one(case: str, port: int) -> object:
    url = f"ws://127.0.0.1:{port}/"
    if case == "bare":
        loop = asyncio.get_running_loop()
        done: asyncio.Future[None] = loop.create_future()
        transport, _ = await loop.create_connection(lambda: Bare(done, port), "127.0.0.1", port)
        await done
        return transport
    if case == "horde":
        from horde.metrics.recorder import Recorder
        from horde.transports.websocket import WebSocketConnection
        return await WebSocketConnection.connect(url, recorder=RECORDER.setdefault(0, Recorder()))
    from picows import WSListener, ws_connect
    trimmed = case == "picows_trimmed"
    options = {"use_aiofastnet": False} if trimmed else {}
    transport, _ = await ws_connect(WSListener, url, read_buffer_init_size=2048, **options)
    if trimmed:  # what horde drops after the upgrade
        transport.request.headers = transport.response.headers = None
        transport.response.body = None
    return transport


RECORDER: dict[int, object] = {}


async def hold(case: str, n: int, port: int) -> float:
    """Bytes of RSS per connection held (the child's side)."""
    if case != "bare":  # imports outside the measure
        import picows  # noqa: F401

        import horde.transports.websocket  # noqa: F401
    gate = asyncio.Semaphore(IN_FLIGHT)

    async def one() -> object:
        async with gate:
            return await open_one(case, port)

    gc.collect()
    before = rss_kb()
    kept = await asyncio.gather(*(one() for _ in range(n)))
    gc.collect()
    await asyncio.sleep(1)
    per = (rss_kb() - before) * 1024 / n
    del kept
    return per


def child(case: str, n: int, port: int) -> None:
    import uvloop
    print(f"{uvloop.run(hold(case, n, port)):.0f}")


def measure(case: str, n: int, port: int) -> float:
    out = subprocess.run(["taskset", "-c", "1", sys.executable, __file__, "--child", case,
                          "-n", str(n), "--port", str(port)],
                         capture_output=True, text=True, check=True)
    return float(out.stdout.split()[-1])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("-n", type=int, default=8000, help="connections per case")
    p.add_argument("-r", "--repeat", type=int, default=2)
    p.add_argument("-s", "--session", default=runlog.new_session())
    p.add_argument("--child", choices=CASES, help=argparse.SUPPRESS)
    p.add_argument("--port", type=int, help=argparse.SUPPRESS)
    a = p.parse_args()
    if a.child:
        child(a.child, a.n, a.port)
        return
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)  # the children inherit it
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    with tempfile.TemporaryDirectory() as tmp, socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
        probe.close()
        server = subprocess.Popen(["taskset", "-c", "0", sys.executable,
                                   str(HERE / "servers" / "picows_echo.py"), str(port),
                                   str(Path(tmp) / "stats")], stdout=subprocess.DEVNULL)
        try:
            time.sleep(1.5)
            runs: dict[str, list[float]] = {case: [] for case in CASES}
            for _ in range(a.repeat):
                for case in CASES:
                    runs[case].append(measure(case, a.n, port))
                    time.sleep(2)  # the closed sockets' TIME_WAIT: spread over the range
        finally:
            server.terminate()
            server.wait()
    lines = []
    for case, values in runs.items():
        figure = statistics.median(values)
        print(f"{case:16} {figure:8.0f} B per idle WebSocket  (runs: "
              f"{', '.join(f'{v:.0f}' for v in values)})")
        lines.append(runlog.record(a.session, "floor", "ws_idle_floor", case,
                                   {"bytes_per_conn": round(figure)},
                                   settings={"conns": a.n, "repeat": a.repeat,
                                             "in_flight": IN_FLIGHT},
                                   runs=[{"bytes_per_conn": round(v)} for v in values],
                                   source="bench/ws_idle_floor.py"))
    runlog.append(lines)


if __name__ == "__main__":
    main()
