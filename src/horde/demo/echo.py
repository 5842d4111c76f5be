"""The echo demo server: every protocol horde speaks, answering at a known speed.

One process on 127.0.0.1 (aiohttp + python-socketio):

- ``GET|POST /echo`` — the request back as JSON; ``GET /delay/{ms}`` — answers after
  ``ms`` milliseconds, to within ~0.1 ms (:func:`precise_sleep`); ``GET /status/{code}``
  — answers with that status; ``GET /capacity/{slots}/{ms}`` — serves ``slots`` requests
  at a time, ``ms`` each, and queues the rest (a server with a known capacity);
  ``GET /stall/{every_ms}/{for_ms}`` — holds every answer during the first ``for_ms`` of
  each ``every_ms`` (a server that stalls periodically).
- ``/ws`` — WebSocket echo; a JSON message with ``"delay_ms"`` is echoed after that delay.
- Socket.IO (``/socket.io``) — ``echo`` acks its arguments; ``delay`` ({"ms"}) acks after
  the delay; ``broadcast`` sends a ``broadcast`` event to every client.
- Streams at a known pace (chunk ``i`` is sent ``interval`` after chunk ``i-1``, the first
  one ``interval`` after the request; ``stall_at=K&stall_ms=X`` adds X ms before chunk K):
  ``GET /stream/{n}/{ms}`` — a chunked body of ``n`` lines ``chunk i``; ``GET /sse`` —
  Server-Sent Events ``id: i`` / ``data: i`` (query: ``n``, ``ms``, ``retry`` ms,
  ``drop_after=K`` closes the connection after K events, and a ``Last-Event-ID`` request
  header resumes at the next id; 204 once all ``n`` were sent); on ``/ws`` a JSON message
  ``{"stream": n, "interval_ms": m, "stall_at": k, "stall_ms": x, "id": ...}`` is answered
  by ``n`` messages ``{"chunk": i, "done": i == n-1, "id": ...}``; the Socket.IO event
  ``stream`` (same fields) by ``chunk`` events likewise.
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

from horde.demo.handlers import health
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
    app.router.add_get("/stall/{every_ms}/{for_ms}", _periodic_stall)
    app.router.add_get("/health", health)
    app.router.add_get("/stats", _stats)
    app.router.add_post("/stats/reset", _reset)
    app.router.add_get("/ws", _websocket)
    app.router.add_get("/stream/{n}/{ms}", _chunked_stream)
    app.router.add_get("/sse", _sse)
    return app


async def _stats(request: web.Request) -> web.Response:
    return web.json_response(dict(request.app[STATS]))


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


_STARTED = time.monotonic()


async def _periodic_stall(request: web.Request) -> web.Response:
    """A server that stalls: for the first ``for_ms`` of every ``every_ms`` (counted from
    its start) it answers nothing, then answers everything held at once."""
    request.app[STATS]["http_requests"] += 1
    every = float(request.match_info["every_ms"]) / 1000
    hold = float(request.match_info["for_ms"]) / 1000
    phase = (time.monotonic() - _STARTED) % every
    if phase < hold:
        await asyncio.sleep(hold - phase)
    return web.json_response({"held_ms": round(max(hold - phase, 0.0) * 1000, 1)})


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
            spec = _stream_of(msg.data)
            if spec is not None:
                _start(_ws_stream(ws, spec))
            elif delay:
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


def _stream_of(text: str) -> dict[str, Any] | None:
    """The stream a message asks for (a JSON object with ``"stream"``), else None."""
    if '"stream"' not in text:
        return None
    try:
        spec = json.loads(text)
    except ValueError:
        return None
    return spec if isinstance(spec, dict) and "stream" in spec else None


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
    async def stream(sid: str, data: dict[str, Any]) -> None:
        stats["sio_events"] += 1

        async def emit(chunk: dict[str, Any]) -> None:
            await sio.emit("chunk", chunk, to=sid)

        _start(_pace(data, emit))

    @sio.event
    async def broadcast(sid: str, data: Any) -> None:
        stats["sio_events"] += 1
        await sio.emit("broadcast", data)


# -- streams ---------------------------------------------------------------------------------


def _start(coro: Any) -> None:
    """Run a stream on its own, kept referenced until it ends."""
    task = asyncio.ensure_future(coro)
    _PENDING.add(task)
    task.add_done_callback(_PENDING.discard)


async def _pace(spec: dict[str, Any], send: Any) -> None:
    """Send ``spec["stream"]`` chunks ``interval_ms`` apart, with the optional stall."""
    n = int(spec.get("stream", spec.get("n", 0)))
    interval = float(spec.get("interval_ms", 0)) / 1000.0
    stall_at, stall = int(spec.get("stall_at", -1)), float(spec.get("stall_ms", 0)) / 1000.0
    for i in range(n):
        await precise_sleep(interval + (stall if i == stall_at else 0.0))
        chunk: dict[str, Any] = {"chunk": i, "done": i == n - 1}
        if "id" in spec:
            chunk["id"] = spec["id"]
        await send(chunk)


async def _ws_stream(ws: web.WebSocketResponse, spec: dict[str, Any]) -> None:
    async def send(chunk: dict[str, Any]) -> None:
        if not ws.closed:
            await ws.send_str(json.dumps(chunk))

    await _pace(spec, send)


def _stall(request: web.Request, i: int) -> float:
    """The extra pause before chunk ``i`` (``stall_at``/``stall_ms`` in the query), in s."""
    query = request.query
    if i != int(query.get("stall_at", -1)):
        return 0.0
    return float(query.get("stall_ms", 0)) / 1000.0


async def _chunked_stream(request: web.Request) -> web.StreamResponse:
    request.app[STATS]["http_requests"] += 1
    n, ms = int(request.match_info["n"]), float(request.match_info["ms"])
    response = web.StreamResponse(headers={"Content-Type": "text/plain"})
    response.enable_chunked_encoding()
    await response.prepare(request)
    for i in range(n):
        await precise_sleep(ms / 1000.0 + _stall(request, i))
        await response.write(f"chunk {i}\n".encode())
    await response.write_eof()
    return response


async def _sse(request: web.Request) -> web.StreamResponse:
    """Events ``id: i`` from the one after ``Last-Event-ID``; see the module docstring."""
    stats = request.app[STATS]
    stats["sse_requests"] += 1
    query = request.query
    n, ms = int(query.get("n", 10)), float(query.get("ms", 10))
    drop_after = int(query.get("drop_after", 0))
    last = request.headers.get("Last-Event-ID", "")
    first = int(last) + 1 if last.isdigit() else 0
    if first >= n:
        return web.Response(status=204)  # nothing left: tells the client to stop
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream",
                                           "Cache-Control": "no-cache"})
    if drop_after:
        response.force_close()
    await response.prepare(request)
    head = ": stream start\n"
    if "retry" in query:
        head += f"retry: {int(query['retry'])}\n"
    await response.write(head.encode())
    for sent, i in enumerate(range(first, n)):
        if drop_after and sent == drop_after:
            break
        await precise_sleep(ms / 1000.0 + _stall(request, i))
        await response.write(f"id: {i}\ndata: {i}\n\n".encode())
        stats["sse_events"] += 1
    await response.write_eof()
    return response
