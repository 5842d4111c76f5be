"""The echo demo server: every protocol horde speaks, answering at a known speed.

One process on 127.0.0.1 (aiohttp + python-socketio):

- ``GET|POST /echo`` — the request back as JSON; ``GET /delay/{ms}`` — answers after
  ``ms`` milliseconds, to within ~0.1 ms (:func:`precise_sleep`); ``GET /status/{code}``
  — answers with that status; ``GET /capacity/{slots}/{ms}`` — serves ``slots`` requests
  at a time, ``ms`` each, and queues the rest (a server with a known capacity).
- ``/ws`` — WebSocket echo; a JSON message with ``"delay_ms"`` is echoed after that delay.
- Socket.IO (``/socket.io``) — ``echo`` acks its arguments; ``delay`` ({"ms"}) acks after
  the delay; ``broadcast`` sends a ``broadcast`` event to every client.
- ``GET /stats`` — what the server itself counted, to check horde's numbers against.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from typing import Any

import socketio
from aiohttp import WSMsgType, web

from horde.demo.options import DemoOptions

FAULTS: dict[str, str] = {}
SETTINGS: dict[str, str] = {}
STATS = web.AppKey("stats", Counter)
_PENDING: set[asyncio.Future[None]] = set()  # delayed echoes in flight (kept referenced)
SPIN_S = 0.002


def build_app(options: DemoOptions | None = None) -> web.Application:
    app = web.Application()
    stats: Counter[str] = Counter()
    app[STATS] = stats
    sio = socketio.AsyncServer(async_mode="aiohttp", cors_allowed_origins="*")
    sio.attach(app)
    _socketio_handlers(sio, stats)
    app.router.add_route("*", "/echo", _echo)
    app.router.add_get("/delay/{ms}", _delay)
    app.router.add_get("/status/{code}", _status)
    app.router.add_get("/capacity/{slots}/{ms}", _capacity)
    app.router.add_get("/health", lambda r: web.Response(text="ok"))
    app.router.add_get("/stats", lambda r: web.json_response(dict(r.app[STATS])))
    app.router.add_post("/stats/reset", _reset)
    app.router.add_get("/ws", _websocket)
    return app


async def _echo(request: web.Request) -> web.Response:
    request.app[STATS]["http_requests"] += 1
    body = await request.text()
    return web.json_response(
        {
            "method": request.method,
            "path": request.path,
            "query": dict(request.query),
            "headers": dict(request.headers),
            "body": body,
        }
    )


async def precise_sleep(seconds: float) -> None:
    """Sleep ``seconds`` to within ~0.1 ms, so latency tests have an exact reference.

    Event-loop timers fire up to a millisecond late (uvloop counts in whole ms), so sleep
    coarsely until 2 ms before the deadline, then yield to the loop until it has passed.
    """
    deadline = time.perf_counter() + seconds
    if seconds > SPIN_S:
        await asyncio.sleep(seconds - SPIN_S)
    while time.perf_counter() < deadline:
        await asyncio.sleep(0)


async def _delay(request: web.Request) -> web.Response:
    request.app[STATS]["http_requests"] += 1
    ms = float(request.match_info["ms"])
    await precise_sleep(ms / 1000.0)
    return web.json_response({"delayed_ms": ms})


_SLOTS: dict[int, asyncio.Semaphore] = {}


async def _capacity(request: web.Request) -> web.Response:
    """A server with a known capacity: ``slots`` requests at a time, ``ms`` each; beyond
    that, requests queue and latency grows (what ``horde capacity`` must find)."""
    request.app[STATS]["http_requests"] += 1
    slots, ms = int(request.match_info["slots"]), float(request.match_info["ms"])
    gate = _SLOTS.setdefault(slots, asyncio.Semaphore(slots))
    async with gate:
        await precise_sleep(ms / 1000.0)
    return web.json_response({"slots": slots})


async def _status(request: web.Request) -> web.Response:
    request.app[STATS]["http_requests"] += 1
    code = int(request.match_info["code"])
    return web.json_response({"status": code}, status=code)


async def _reset(request: web.Request) -> web.Response:
    request.app[STATS].clear()
    return web.json_response({})


async def _websocket(request: web.Request) -> web.WebSocketResponse:
    stats = request.app[STATS]
    ws = web.WebSocketResponse(heartbeat=None)
    await ws.prepare(request)
    stats["ws_connections"] += 1
    async for msg in ws:
        if msg.type == WSMsgType.TEXT:
            stats["ws_messages"] += 1
            delay = _delay_of(msg.data)
            if delay:
                task = asyncio.ensure_future(_send_later(ws, msg.data, delay))
                _PENDING.add(task)
                task.add_done_callback(_PENDING.discard)
            else:
                await ws.send_str(msg.data)
        elif msg.type == WSMsgType.BINARY:
            stats["ws_messages"] += 1
            await ws.send_bytes(msg.data)
    stats["ws_closed"] += 1
    return ws


def _delay_of(text: str) -> float:
    if '"delay_ms"' not in text:
        return 0.0
    try:
        return float(json.loads(text).get("delay_ms", 0)) / 1000.0
    except (ValueError, AttributeError):
        return 0.0


async def _send_later(ws: web.WebSocketResponse, text: str, delay: float) -> None:
    await precise_sleep(delay)
    if not ws.closed:
        await ws.send_str(text)


def _socketio_handlers(sio: socketio.AsyncServer, stats: Counter[str]) -> None:
    @sio.event
    async def connect(sid: str, environ: dict[str, Any], auth: Any = None) -> None:
        stats["sio_connections"] += 1

    @sio.event
    async def disconnect(sid: str, *args: Any) -> None:
        stats["sio_disconnects"] += 1

    @sio.event
    async def echo(sid: str, *args: Any) -> Any:
        stats["sio_events"] += 1
        return args[0] if len(args) == 1 else args

    @sio.event
    async def delay(sid: str, data: dict[str, Any]) -> Any:
        stats["sio_events"] += 1
        await precise_sleep(float(data.get("ms", 0)) / 1000.0)
        return data

    @sio.event
    async def broadcast(sid: str, data: Any) -> None:
        stats["sio_events"] += 1
        await sio.emit("broadcast", data)
