"""The tasks demo's WebSocket layer (aiohttp), seed 004: ``/ws/{task_id}``.

One connection is one session; it may run several tasks, one after another. Outputs go
through the :class:`~horde.demo.tasks.protocol.Router`, which is where the ``leak`` fault
lives.
"""

from __future__ import annotations

import asyncio
import secrets
from collections import Counter
from dataclasses import dataclass, field

from aiohttp import WSMsgType, web

from horde.demo.handlers import health, send_json
from horde.demo.options import DemoOptions
from horde.demo.tasks.protocol import (
    Router,
    TaskRequest,
    event,
    output_text,
    parse_task,
    rounds_for,
)
from horde.errors import UsageError


@dataclass(slots=True)
class Server:
    rounds: int
    output_s: float
    router: Router[web.WebSocketResponse]
    stats: Counter[str] = field(default_factory=Counter)
    peak_sessions: int = 0


SERVER = web.AppKey("tasks", Server)


def build_app(options: DemoOptions) -> web.Application:
    rounds, output_ms = options.int("rounds", 3), options.float("output_ms", 50.0)
    leak_every = options.int("leak_every", 5)
    problems = [
        f"{name} must be at least 1"
        for name, value in (("rounds", rounds), ("leak_every", leak_every))
        if value < 1
    ]
    if output_ms < 0:
        problems.append("output_ms must not be negative")
    if problems:
        raise UsageError("tasks: " + "; ".join(problems))
    router: Router[web.WebSocketResponse] = Router(leak_every if options.fault("leak") else 0)
    app = web.Application()
    app[SERVER] = Server(rounds, output_ms / 1000, router)
    app.router.add_get("/ws/{task_id}", _websocket)
    app.router.add_get("/health", health)
    app.router.add_get("/stats", _stats)
    app.router.add_post("/stats/reset", _reset)
    return app


async def _websocket(request: web.Request) -> web.WebSocketResponse:
    server = request.app[SERVER]
    task_id = request.match_info["task_id"]
    session_id = f"sess-{secrets.token_hex(6)}"
    ws = web.WebSocketResponse(heartbeat=None)
    await ws.prepare(request)
    server.stats["connections"] += 1
    server.router.add(session_id, ws)
    server.peak_sessions = max(server.peak_sessions, len(server.router))
    try:
        async for msg in ws:
            if msg.type == WSMsgType.TEXT:
                server.stats["messages_received"] += 1
                await _run(server, ws, task_id, session_id, msg.data)
    finally:
        server.router.remove(session_id)
        server.stats["closed"] += 1
    return ws


async def _run(
    server: Server, ws: web.WebSocketResponse, task_id: str, session_id: str, text: str
) -> None:
    """One task: ``rounds`` outputs, ``output_ms`` apart, then ``complete``."""
    try:
        request = parse_task(text)
    except ValueError as exc:
        server.stats["errors"] += 1
        await send_json(ws, event("error", task_id, session_id, message=str(exc)))
        return
    server.stats["tasks_started"] += 1
    rounds = rounds_for(request, server.rounds)
    for round_no in range(1, rounds + 1):
        await asyncio.sleep(server.output_s)
        if not await _output(server, task_id, session_id, request, round_no, rounds):
            return
    done = event("complete", task_id, session_id, status="success", rounds=rounds)
    if await send_json(ws, done):
        server.stats["tasks_completed"] += 1


async def _output(
    server: Server, task_id: str, session_id: str, request: TaskRequest, round_no: int, rounds: int
) -> bool:
    message = output_text(request, round_no, rounds)
    output = event("output", task_id, session_id, message=message, round=round_no)
    own, leak_to = server.router.route(session_id)
    if leak_to is not None and await send_json(leak_to, output):
        server.stats["leaked"] += 1
    if not await send_json(own, output):
        return False
    server.stats["outputs_sent"] += 1
    return True




async def _stats(request: web.Request) -> web.Response:
    server = request.app[SERVER]
    return web.json_response(
        {
            **server.stats,
            "active_sessions": len(server.router),
            "peak_sessions": server.peak_sessions,
        }
    )


async def _reset(request: web.Request) -> web.Response:
    server = request.app[SERVER]
    server.stats.clear()
    server.peak_sessions = len(server.router)
    return web.json_response({})
