"""Reconnecting to a server that forgot the session: ``before_reconnect`` opens a new one
over HTTP and returns the URL to reopen, for WebSocket and Socket.IO, against a real
aiohttp + python-socketio server on 127.0.0.1 that loses every session and drops every
connection at once, as a restart does."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Callable
from typing import Any
from urllib.parse import parse_qs

import pytest
import socketio
from aiohttp import WSMsgType, web

from horde.errors import PeerClosedError, ReconnectFailedError
from horde.metrics.recorder import Recorder
from horde.transports.http import HttpClient
from horde.transports.reconnect import Reconnect
from horde.transports.socketio import SocketIOConnection
from horde.transports.websocket import WebSocketConnection

from .raw_server import start_app

pytestmark = pytest.mark.timeout(60)

FAST = Reconnect(max_attempts=4, initial=0.05, max_delay=0.2, jitter=0)


class SessionServer:
    """``POST /session`` → ``{"id": ...}``; ``/ws?session=ID`` echoes ``ID:message``;
    Socket.IO with ``?session=ID`` acks ``echo`` with ``ID:data``. An unknown session is a
    404. :meth:`forget` loses every session and drops every connection."""

    def __init__(self) -> None:
        self.sessions: set[str] = set()
        self.created = 0
        self.url = ""
        self._ids = itertools.count(1)
        self._transports: set[Any] = set()
        self._runner: web.AppRunner | None = None
        sio = self.sio = socketio.AsyncServer(async_mode="aiohttp")

        @sio.on("connect")
        async def connect(sid: str, environ: dict[str, Any]) -> None:
            session = parse_qs(environ.get("QUERY_STRING", ""))["session"][0]
            await sio.save_session(sid, {"id": session})

        @sio.on("echo")
        async def echo(sid: str, data: Any) -> str:
            return f"{(await sio.get_session(sid))['id']}:{data}"

    async def __aenter__(self) -> SessionServer:
        app = web.Application(middlewares=[self._gate])
        self.sio.attach(app)
        app.router.add_post("/session", self._new_session)
        app.router.add_get("/ws", self._ws)
        self._runner, port = await start_app(app)
        self.url = f"http://127.0.0.1:{port}"
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._runner is not None
        await self._runner.cleanup()

    def forget(self) -> None:
        """A restart: every session gone, every connection dropped without a close."""
        self.sessions.clear()
        for transport in self._transports:
            transport.abort()
        self._transports.clear()

    @web.middleware
    async def _gate(self, request: web.Request, handler: Callable) -> web.StreamResponse:
        if request.path.startswith(("/ws", "/socket.io")):
            if request.query.get("session") not in self.sessions:
                raise web.HTTPNotFound(text="no such session")
            self._transports.add(request.transport)
        return await handler(request)

    async def _new_session(self, request: web.Request) -> web.Response:
        session = f"s{next(self._ids)}"
        self.sessions.add(session)
        self.created += 1
        return web.json_response({"id": session})

    async def _ws(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        async for msg in ws:
            if msg.type == WSMsgType.TEXT:
                await ws.send_str(f"{request.query['session']}:{msg.data}")
        return ws


@pytest.fixture
async def server() -> AsyncIterator[SessionServer]:
    async with SessionServer() as srv:
        yield srv


async def _session(http: HttpClient) -> str:
    return (await http.post("/session", name="new session")).json()["id"]


async def _until_answered(call: Callable[[], Any]) -> Any:
    """The call pending at the drop fails by it; the next waits out the reconnect."""
    for _ in range(3):
        try:
            return await call()
        except PeerClosedError:
            continue
    raise AssertionError("no answer after the reconnect")


async def test_websocket_reopens_with_a_new_session(server: SessionServer) -> None:
    rec = Recorder()
    http = HttpClient(recorder=rec, base_url=server.url)
    hooked: list[WebSocketConnection] = []

    async def new_session(conn: WebSocketConnection) -> str:
        hooked.append(conn)
        return f"/ws?session={await _session(http)}"  # relative to the first URL

    first = await _session(http)
    ws = await WebSocketConnection.connect(
        f"{server.url.replace('http', 'ws')}/ws?session={first}", recorder=rec,
        reconnect=FAST, before_reconnect=new_session)
    assert await ws.request("a", name="echo") == f"{first}:a"
    server.forget()
    answer = await _until_answered(lambda: ws.request("b", name="echo", timeout=10))
    assert answer == "s2:b" and hooked == [ws] and server.created == 2
    server.forget()  # dropped again: the hook runs again, a third session
    assert await _until_answered(lambda: ws.request("c", name="echo", timeout=10)) == "s3:c"
    await ws.close()
    await http.close()
    window = rec.take_window()
    assert rec.connections.reconnected == 2
    assert ("handshake_rejected", "404") not in window.errors
    assert window.outcomes[("http_req", "new session")].ok == 3  # the hook's calls counted


async def test_without_the_hook_the_old_url_is_refused_until_it_gives_up(
    server: SessionServer,
) -> None:
    rec = Recorder()
    http = HttpClient(recorder=rec, base_url=server.url)
    first = await _session(http)
    await http.close()
    ws = await WebSocketConnection.connect(
        f"{server.url.replace('http', 'ws')}/ws?session={first}", recorder=rec, reconnect=FAST)
    server.forget()
    with pytest.raises(ReconnectFailedError):
        await _until_answered(lambda: ws.request("b", name="echo", timeout=10))
    assert rec.take_window().errors[("handshake_rejected", "404")] == FAST.max_attempts
    await ws.close()


async def test_a_failing_hook_fails_its_attempt_and_the_next_one_retries(
    server: SessionServer,
) -> None:
    rec = Recorder()
    http = HttpClient(recorder=rec, base_url=server.url)
    calls = 0

    async def flaky(conn: WebSocketConnection) -> str | None:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RuntimeError("the scenario's bug")
        return f"/ws?session={await _session(http)}"

    first = await _session(http)
    ws = await WebSocketConnection.connect(
        f"{server.url.replace('http', 'ws')}/ws?session={first}", recorder=rec,
        reconnect=FAST, before_reconnect=flaky)
    server.forget()
    assert await _until_answered(lambda: ws.request("b", name="echo", timeout=10)) == "s2:b"
    await ws.close()
    await http.close()
    errors = rec.take_window().errors
    assert errors[("scenario_exception", "RuntimeError")] == 1
    assert calls == 2 and rec.connections.reconnected == 1


async def test_socketio_reopens_with_a_new_session(server: SessionServer) -> None:
    rec = Recorder()
    http = HttpClient(recorder=rec, base_url=server.url)

    async def new_session(conn: SocketIOConnection) -> str:
        return f"/?session={await _session(http)}"

    first = await _session(http)
    sio = await SocketIOConnection.connect(
        f"{server.url}/?session={first}", recorder=rec, reconnect=FAST,
        before_reconnect=new_session)
    assert await sio.call("echo", "a") == f"{first}:a"
    server.forget()
    answer = await _until_answered(lambda: sio.call("echo", "b", timeout=10))
    assert answer == "s2:b" and server.created == 2
    await sio.disconnect()
    await http.close()
    assert rec.connections.reconnected == 1
    assert ("handshake_rejected", "404") not in rec.take_window().errors
