"""Servers that fail on purpose, each a real process, for the reconnect and fault tests.

* :class:`EchoProcess` — ``horde serve echo`` on a fixed port, to SIGKILL and restart.
* ``python tests/transports/fault_servers.py MODE`` — one misbehaving server per process;
  it prints ``listening <port>`` and serves until killed. :class:`FaultProcess` runs it.
  Modes:

  - ``silent``: accepts TCP connections and never sends a byte (reads, to keep them open).
  - ``close``: a WebSocket server; ``/close/<code>`` closes with that code at once after the
    upgrade, ``/close/1006`` hangs up without a CLOSE.
  - ``badframe``: a WebSocket server; ``/opcode`` sends opcode 0x3 (reserved),
    ``/length`` a 64-bit length with the top bit set, ``/utf8`` a TEXT frame that is not
    UTF-8, ``/json`` a TEXT frame that is not JSON, then hangs up once the client writes.
  - ``badsio``: Engine.IO OPEN over WebSocket, then answers the Socket.IO CONNECT with an
    invalid packet.
  - ``slow``: HTTP/1.1 that answers every request after 2 s (``SLOW_S``).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import os
import re
import signal
import socket
import struct
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
SLOW_S = 2.0


# -- the processes (used by the tests) ----------------------------------------------------


def wait_for_port(port: int, timeout: float = 10.0) -> None:
    """Block until something accepts on 127.0.0.1:``port``."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise TimeoutError(f"nothing listens on port {port}") from None
            time.sleep(0.05)


class EchoProcess:
    """``horde serve echo --port PORT`` as a child process that the test may kill."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> EchoProcess:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "horde", "serve", "echo", "--port", str(self.port)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT)
        wait_for_port(self.port)
        return self

    def kill(self) -> None:
        """SIGKILL: the server vanishes without closing anything (clients see 1006)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)


class FaultProcess:
    """``fault_servers.py MODE`` as a child process on a free port."""

    def __init__(self, mode: str) -> None:
        self.mode = mode
        self.port = 0
        self.proc: subprocess.Popen[str] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> FaultProcess:
        self.proc = subprocess.Popen(
            [sys.executable, __file__, self.mode], stdout=subprocess.PIPE, text=True,
            stderr=subprocess.DEVNULL)
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        assert line.startswith("listening "), line
        self.port = int(line.split()[1])
        return self

    def __exit__(self, *exc: object) -> None:
        assert self.proc is not None
        self.proc.kill()
        self.proc.wait(10)
        if self.proc.stdout is not None:
            self.proc.stdout.close()


# -- the misbehaving servers (run in the child) -------------------------------------------


def ws_frame(opcode: int, payload: bytes, *, fin: bool = True) -> bytes:
    """An unmasked server→client frame."""
    first = (0x80 if fin else 0) | opcode
    n = len(payload)
    if n < 126:
        return struct.pack("!BB", first, n) + payload
    if n < 65536:
        return struct.pack("!BBH", first, 126, n) + payload
    return struct.pack("!BBQ", first, 127, n) + payload


async def _upgrade(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> str:
    """Answer a WebSocket upgrade with 101; return the request path."""
    head = await reader.readuntil(b"\r\n\r\n")
    path = head.split(b" ", 2)[1].decode()
    key = re.search(rb"(?i)sec-websocket-key:\s*(\S+)", head)
    assert key is not None
    accept = base64.b64encode(hashlib.sha1(key.group(1) + GUID).digest())
    writer.write(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                 b"Connection: Upgrade\r\nSec-WebSocket-Accept: " + accept + b"\r\n\r\n")
    await writer.drain()
    return path


async def _hold(reader: asyncio.StreamReader) -> None:
    """Keep the connection open, discarding what the client sends, until it hangs up."""
    while await reader.read(65536):
        pass


async def _silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await _hold(reader)


async def _close(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    code = int((await _upgrade(reader, writer)).rsplit("/", 1)[1])
    if code == 1006:
        writer.transport.abort()  # no CLOSE frame: the connection is just gone
        return
    writer.write(ws_frame(0x8, struct.pack("!H", code) + b"bye"))
    await writer.drain()
    await asyncio.sleep(0.2)  # let the client answer our CLOSE; then hang up


BAD_FRAMES = {
    "/opcode": ws_frame(0x3, b"x"),
    "/length": b"\x82\x7f" + struct.pack("!Q", 1 << 63),
    "/utf8": ws_frame(0x1, b"\xff\xfe\xfd"),
    "/json": ws_frame(0x1, b"{not json"),
}


async def _badframe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    path = await _upgrade(reader, writer)
    writer.write(BAD_FRAMES[path])
    await writer.drain()
    await reader.read(65536)  # the client's CLOSE (after its error, or its own close)
    await asyncio.sleep(0.1)


async def _badsio(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await _upgrade(reader, writer)
    writer.write(ws_frame(0x1, b'0{"sid":"x","upgrades":[],"pingInterval":25000,'
                          b'"pingTimeout":20000}'))
    await reader.read(65536)  # the client's CONNECT
    writer.write(ws_frame(0x1, b"49not a socket.io packet"))  # 9 is no packet type
    await writer.drain()
    await _hold(reader)


async def _slow(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    while True:
        with contextlib.suppress(asyncio.IncompleteReadError):
            await reader.readuntil(b"\r\n\r\n")
            await asyncio.sleep(SLOW_S)
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
            await writer.drain()
            continue
        return


async def _deaf(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Accept the WebSocket upgrade, then never read again: the client's sends pile up
    until its socket buffers are full."""
    await _upgrade(reader, writer)
    await asyncio.sleep(3600)


MODES = {"silent": _silent, "close": _close, "badframe": _badframe, "badsio": _badsio,
         "slow": _slow, "deaf": _deaf}


async def _serve(mode: str) -> None:
    script = MODES[mode]

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await script(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0, backlog=4096)
    print(f"listening {server.sockets[0].getsockname()[1]}", flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    asyncio.run(_serve(sys.argv[1]))
