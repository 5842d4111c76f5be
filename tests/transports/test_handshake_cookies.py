"""A user that logged in over HTTP sends its session cookie with its WebSocket and
Socket.IO handshakes, as a browser does — against a real server that only lets a
handshake in with the cookie it set."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
import socketio
from aiohttp import WSMsgType, web

from horde.metrics.recorder import Recorder
from horde.scenario.user import User

pytestmark = pytest.mark.timeout(20)


async def _login(request: web.Request) -> web.Response:
    response = web.json_response({"ok": True})
    response.set_cookie("session", "s1", path="/")
    return response


async def _ws(request: web.Request) -> web.WebSocketResponse:
    ws = web.WebSocketResponse()
    await ws.prepare(request)
    await ws.send_str(request.headers.get("Cookie", "none"))  # what the upgrade carried
    async for message in ws:
        if message.type == WSMsgType.CLOSE:
            break
    return ws


@pytest.fixture
async def url() -> AsyncIterator[str]:
    sio = socketio.AsyncServer(async_mode="aiohttp")

    @sio.event
    async def connect(sid: str, environ: dict, auth: object = None) -> None:
        if "session=s1" not in environ.get("HTTP_COOKIE", ""):
            raise socketio.exceptions.ConnectionRefusedError("log in first")
        asyncio.get_running_loop().call_soon(
            lambda: asyncio.ensure_future(sio.emit("cookie", environ["HTTP_COOKIE"], to=sid)))

    app = web.Application()
    sio.attach(app)
    app.add_routes([web.post("/login", _login), web.get("/ws", _ws)])
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.2)  # long polls end
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    yield f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}"  # type: ignore[union-attr]
    await runner.cleanup()


async def test_the_session_cookie_goes_with_the_websocket_upgrade(url: str) -> None:
    user = User(1, target=url, recorder=Recorder(), stopping=asyncio.Event())
    before = await user.websocket("/ws")
    assert await before.receive(timeout=5) == "none"  # nothing logged in yet
    await user.http.post("/login")
    after = await user.websocket("/ws")
    assert await after.receive(timeout=5) == "session=s1"
    mine = await user.websocket("/ws", headers={"cookie": "session=other"})
    assert await mine.receive(timeout=5) == "session=other"  # the scenario's own wins
    await user.close()


@pytest.mark.parametrize("transports", ["websocket", ("polling", "websocket"), "polling"])
async def test_the_session_cookie_lets_socketio_in(url: str, transports: object) -> None:
    user = User(1, target=url, recorder=Recorder(), stopping=asyncio.Event())
    await user.http.post("/login")
    sio = await user.socketio(transports=transports)
    assert "session=s1" in await sio.wait_for("cookie", timeout=5)
    await user.close()
