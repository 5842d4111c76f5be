"""Real in-process WebSocket servers for the transport tests, with fault injection.

* :class:`AiohttpWsServer` — a well-behaved aiohttp server; the path picks the behaviour
  (echo, push, close with a code, reject, stay silent, report headers).
* :class:`RawWsServer` — completes the HTTP upgrade by hand, then runs a script that may
  write anything at all: fragments, bad opcodes, half a frame before hanging up.
* :func:`self_signed_cert` — a throw-away certificate for the wss tests.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import re
import ssl
import struct
import subprocess
from pathlib import Path

from aiohttp import WSMsgType, web

from .raw_server import RawServer, Script, start_app

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


class AiohttpWsServer:
    """aiohttp WebSocket server on 127.0.0.1:<free port>; counts the messages it got."""

    def __init__(self, ssl_context: ssl.SSLContext | None = None) -> None:
        self.ssl_context = ssl_context
        self.received = 0
        self.last_received: str | bytes | None = None
        self.port = 0
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        scheme = "wss" if self.ssl_context else "ws"
        return f"{scheme}://127.0.0.1:{self.port}"

    async def __aenter__(self) -> AiohttpWsServer:
        app = web.Application()
        app.router.add_get("/echo", self._echo)
        app.router.add_get("/push/{n}", self._push)
        app.router.add_get("/close/{code}", self._close)
        app.router.add_get("/silent", self._silent)
        app.router.add_get("/headers", self._headers)
        app.router.add_get("/reject/{status}", self._reject)
        self._runner, self.port = await start_app(app, self.ssl_context)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._runner is not None
        await self._runner.cleanup()

    async def _accept(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(protocols=("chat.v2", "chat.v1"), autoping=True)
        await ws.prepare(request)
        return ws

    async def _echo_loop(self, ws: web.WebSocketResponse) -> None:
        async for msg in ws:
            if msg.type not in (WSMsgType.TEXT, WSMsgType.BINARY):
                continue
            self.received += 1
            self.last_received = msg.data
            if msg.type == WSMsgType.TEXT:
                await ws.send_str(msg.data)
            else:
                await ws.send_bytes(msg.data)

    async def _echo(self, request: web.Request) -> web.WebSocketResponse:
        ws = await self._accept(request)
        await self._echo_loop(ws)
        return ws

    async def _push(self, request: web.Request) -> web.WebSocketResponse:
        """Send ``n`` messages ``msg-0`` … right away, then echo."""
        ws = await self._accept(request)
        for i in range(int(request.match_info["n"])):
            await ws.send_str(f"msg-{i}")
        await self._echo_loop(ws)
        return ws

    async def _close(self, request: web.Request) -> web.WebSocketResponse:
        """Close with the given code when the first message arrives."""
        ws = await self._accept(request)
        async for _ in ws:
            self.received += 1
            await ws.close(code=int(request.match_info["code"]), message=b"going")
        return ws

    async def _silent(self, request: web.Request) -> web.WebSocketResponse:
        ws = await self._accept(request)
        async for _ in ws:
            self.received += 1
        return ws

    async def _headers(self, request: web.Request) -> web.WebSocketResponse:
        ws = await self._accept(request)
        await ws.send_str(json.dumps(dict(request.headers)))
        await self._echo_loop(ws)
        return ws

    async def _reject(self, request: web.Request) -> web.Response:
        return web.Response(status=int(request.match_info["status"]), text="no")


class RawWsServer(RawServer):
    """Answers the upgrade with a correct 101, then hands the socket to ``script``."""

    scheme = "ws"

    def __init__(self, script: Script, extra_headers: bytes = b"") -> None:
        super().__init__(self._upgrade_then_run)
        self.ws_script = script
        self.extra_headers = extra_headers

    @property
    def url(self) -> str:
        return super().url + "/"

    async def _upgrade_then_run(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        match = re.search(rb"(?i)sec-websocket-key:\s*(\S+)", head)
        assert match is not None
        accept = base64.b64encode(hashlib.sha1(match.group(1) + GUID).digest())
        writer.write(
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
            b"Connection: Upgrade\r\nSec-WebSocket-Accept: " + accept + b"\r\n"
            + self.extra_headers
            + b"\r\n"
        )
        await self.ws_script(reader, writer)


def frame(opcode: int, payload: bytes, *, fin: bool = True, rsv: int = 0) -> bytes:
    """An unmasked server→client frame; ``rsv`` is the 3 reserved bits (0–7)."""
    first = (0x80 if fin else 0) | (rsv << 4) | opcode
    n = len(payload)
    if n < 126:
        header = struct.pack("!BB", first, n)
    elif n < 65536:
        header = struct.pack("!BBH", first, 126, n)
    else:
        header = struct.pack("!BBQ", first, 127, n)
    return header + payload


async def read_client_frame(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    """Read one masked client frame: (opcode, unmasked payload)."""
    first, second = await reader.readexactly(2)
    n = second & 0x7F
    if n == 126:
        (n,) = struct.unpack("!H", await reader.readexactly(2))
    elif n == 127:
        (n,) = struct.unpack("!Q", await reader.readexactly(8))
    mask = await reader.readexactly(4)
    data = await reader.readexactly(n)
    return first & 0x0F, bytes(b ^ mask[i % 4] for i, b in enumerate(data))


async def answer_close(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Skip client frames until its CLOSE, echo that CLOSE, and hang up."""
    while True:
        opcode, payload = await read_client_frame(reader)
        if opcode == 0x8:
            writer.write(frame(0x8, payload))
            await writer.drain()
            return


async def drain_until_eof(reader: asyncio.StreamReader, timeout: float = 3.0) -> None:
    """Keep reading (the client's CLOSE, pongs) until the client hangs up."""
    try:
        async with asyncio.timeout(timeout):
            while await reader.read(4096):
                pass
    except (TimeoutError, ConnectionError):
        pass


def self_signed_cert(directory: Path) -> tuple[Path, Path]:
    """Make a certificate for 127.0.0.1 with openssl; returns (cert, key)."""
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
            "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", str(key), "-out", str(cert),
            "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
        timeout=30,
    )
    return cert, key
