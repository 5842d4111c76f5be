"""Real Socket.IO servers on 127.0.0.1 for the transport tests.

Both speak the same little app, on ``/`` and ``/chat``:

* ``echo`` acks with all its arguments; ``note`` (no ack) is answered with a ``noted`` event;
* ``push`` ``{"n": k}`` makes the server emit ``tick`` ``{"i": 0..k-1}``, then ``pushed`` k;
* ``ask`` makes the server ``call`` the client's ``question`` and ack with its answer;
* ``slow`` acks after 2 s; ``bye`` makes the server disconnect the caller;
* ``fail`` (never acked) is answered with an ``error`` event ``{"message": <its argument>}``,
  as servers that never ack report a refusal;
* auth ``{"token": "bad"}`` is refused with the connect_error message ``bad auth``; auth
  ``{"welcome": n}`` makes the server emit ``welcome`` ``{"i": 0..n-1}`` as it connects.

:class:`PySocketIOServer` is python-socketio's ``AsyncServer`` on aiohttp, in-process;
:class:`NodeSocketIOServer` runs ``tests/interop/socketio_server.js`` (Node's socket.io 4).
:class:`FakeEngineIOServer` is not Socket.IO at all: it rejects or talks garbage.
"""

from __future__ import annotations

import asyncio
import collections
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import aiohttp
import socketio
from aiohttp import web

INTEROP = Path(__file__).resolve().parents[1] / "interop"
NODE_MODULES = INTEROP / "node_modules"


async def _start(app: web.Application) -> tuple[web.AppRunner, int]:
    # A client that gave up on a long-poll leaves python-engineio's handler waiting for
    # pingInterval+pingTimeout; don't let that hold up the test's teardown.
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.2)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    return runner, site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]


class PySocketIOServer:
    """python-socketio ``AsyncServer`` on aiohttp; ``counts`` is what it saw."""

    def __init__(self) -> None:
        self.counts: collections.Counter[str] = collections.Counter()
        self.port = 0
        self._runner: web.AppRunner | None = None
        sio = self.sio = socketio.AsyncServer(async_mode="aiohttp", cors_allowed_origins="*")
        for nsp in ("/", "/chat"):
            self._register(sio, nsp)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def stats(self) -> dict[str, int]:
        return dict(self.counts)

    def _register(self, sio: socketio.AsyncServer, nsp: str) -> None:
        counts = self.counts

        async def connect(sid: str, environ: dict[str, Any], auth: Any) -> None:
            if isinstance(auth, dict) and auth.get("token") == "bad":
                raise socketio.exceptions.ConnectionRefusedError("bad auth")
            counts["connect"] += 1
            if isinstance(auth, dict) and auth.get("welcome"):
                asyncio.get_running_loop().create_task(welcome(sid, auth["welcome"]))

        async def welcome(sid: str, n: int) -> None:
            # python-socketio sends CONNECT once this handler returns; the events follow
            for i in range(n):
                await sio.emit("welcome", {"i": i}, to=sid, namespace=nsp)

        async def fail(sid: str, message: Any = None) -> None:
            counts["fail"] += 1
            await sio.emit("error", {"message": message}, to=sid, namespace=nsp)

        async def disconnect(sid: str, reason: Any = None) -> None:
            counts["disconnect"] += 1

        async def echo(sid: str, *args: Any) -> Any:
            counts["echo"] += 1
            return args

        async def note(sid: str, *args: Any) -> None:
            counts["note"] += 1
            await sio.emit("noted", list(args), to=sid, namespace=nsp)

        async def push(sid: str, data: dict[str, int]) -> None:
            for i in range(data["n"]):
                await sio.emit("tick", {"i": i}, to=sid, namespace=nsp)
            await sio.emit("pushed", data["n"], to=sid, namespace=nsp)

        async def ask(sid: str, data: Any) -> Any:
            return await sio.call("question", data, to=sid, namespace=nsp, timeout=5)

        async def slow(sid: str, *args: Any) -> str:
            await asyncio.sleep(2)
            return "late"

        async def bye(sid: str, *args: Any) -> None:
            await sio.disconnect(sid, namespace=nsp)

        for handler in (connect, disconnect, echo, note, push, ask, slow, bye, fail):
            sio.on(handler.__name__, handler, namespace=nsp)

    async def __aenter__(self) -> PySocketIOServer:
        app = web.Application()
        self.sio.attach(app)
        self._runner, self.port = await _start(app)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._runner is not None
        await self._runner.cleanup()


def node_missing_reason() -> str | None:
    """Why the Node interop server cannot run here, or ``None`` if it can."""
    if shutil.which("node") is None:
        return "node is not installed"
    if not (NODE_MODULES / "socket.io").is_dir():
        return f"run `npm ci --prefix {INTEROP}` to install socket.io for the interop tests"
    return None


class NodeSocketIOServer:
    """Node's socket.io 4 (``tests/interop/socketio_server.js``) as a child process."""

    def __init__(self) -> None:
        self.port = 0
        self._proc: subprocess.Popen[str] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> NodeSocketIOServer:
        env = {**os.environ, "NODE_PATH": str(NODE_MODULES)}
        self._proc = subprocess.Popen(
            ["node", str(INTEROP / "socketio_server.js"), "0"], stdout=subprocess.PIPE,
            stderr=sys.stderr, text=True, env=env, cwd=INTEROP)
        assert self._proc.stdout is not None
        line = self._proc.stdout.readline()  # "listening <port>"
        if not line.startswith("listening "):
            self.stop()
            raise RuntimeError(f"node socket.io server did not start: {line!r}")
        self.port = int(line.split()[1])
        return self

    def stop(self) -> None:
        proc = self._proc
        if proc is None:
            return
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()

    async def stats(self) -> dict[str, int]:
        async with aiohttp.ClientSession() as http, http.get(f"{self.url}/stats") as resp:
            return await resp.json()

    async def reset(self) -> None:
        async with aiohttp.ClientSession() as http, http.post(f"{self.url}/stats/reset") as resp:
            await resp.read()


OPEN = '0{"sid":"fake","upgrades":[],"pingInterval":25000,"pingTimeout":20000}'
OPEN_HASTY = '0{"sid":"fake","upgrades":[],"pingInterval":100,"pingTimeout":100}'
OPEN_UPGRADABLE = OPEN.replace('"upgrades":[]', '"upgrades":["websocket"]')


class FakeEngineIOServer:
    """Not a Socket.IO server: ``mode`` is ``reject`` (HTTP 403 to everything), ``garbage``
    (nonsense instead of an OPEN packet), ``bad-packet`` (a proper handshake and namespace
    connect, then an invalid Socket.IO packet in answer to the first EVENT), ``mute``
    (promises a PING every 0.1 s, then never sends one) or ``no-upgrade`` (offers an upgrade
    to WebSocket, then answers the WebSocket handshake with 403)."""

    def __init__(self, mode: str) -> None:
        self.mode = mode
        self.port = 0
        self._polls: asyncio.Queue[str] = asyncio.Queue()
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def __aenter__(self) -> FakeEngineIOServer:
        app = web.Application()
        app.router.add_route("*", "/socket.io/", self._handle)
        self._runner, self.port = await _start(app)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._runner is not None
        await self._runner.cleanup()

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        if self.mode == "reject":
            return web.Response(status=403, text="forbidden")
        websocket = request.query.get("transport") == "websocket"
        if self.mode == "garbage":
            if not websocket:
                return web.Response(text="<html>definitely not engine.io</html>")
            ws = web.WebSocketResponse()
            await ws.prepare(request)
            await ws.send_str("hello, I am not engine.io")
            await ws.receive()
            return ws
        # bad-packet / mute / no-upgrade: connect "/" properly, then misbehave
        replies = {"40": '40{"sid":"x"}'}
        if self.mode == "bad-packet":
            replies["42"] = "4zz-not-socket.io"
        opening = {"mute": OPEN_HASTY, "no-upgrade": OPEN_UPGRADABLE}.get(self.mode, OPEN)
        if websocket and self.mode == "no-upgrade":
            return web.Response(status=403)
        if not websocket:
            if request.method == "POST":
                for pkt in (await request.text()).split("\x1e"):
                    if pkt[:2] in replies:
                        self._polls.put_nowait(replies[pkt[:2]])
                return web.Response(text="ok")
            if "sid" not in request.query:
                return web.Response(text=opening)
            return web.Response(text=await self._polls.get())
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        await ws.send_str(opening)
        async for msg in ws:
            if msg.type == aiohttp.WSMsgType.TEXT and msg.data[:2] in replies:
                await ws.send_str(replies[msg.data[:2]])
        return ws
