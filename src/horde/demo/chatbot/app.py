"""The chatbot demo's HTTP and WebSocket layer (aiohttp), seed 003.

``POST /api/auth/token`` → ``POST /api/chat/sessions`` → ``GET /ws?session_id&connection_id``;
each question on the socket streams its answer through the :class:`CapacityGate`. Overload
shows where seed 003 saw it: 503 on session setup, 502 and slow opening handshakes on the
WebSocket, 504 for an answer that waited too long in the queue.
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

from horde.demo.chatbot.gate import CapacityGate, GateFullError, GateTimeoutError
from horde.demo.chatbot.llm import Llm, complete
from horde.demo.chatbot.protocol import (
    COURSES,
    ChatSession,
    Question,
    Sessions,
    answer_chunks,
    chunk_message,
    error_message,
    parse_question,
)
from horde.demo.handlers import health, send_json
from horde.demo.options import DemoOptions
from horde.errors import UsageError

TOKEN_TTL_S = 3600


@dataclass(frozen=True, slots=True)
class Config:
    chunks: int
    chunk_s: float
    queue_timeout_s: float
    handshake_s: float
    stall_s: float
    stall_every: int  # 0: the stall fault is off


@dataclass(slots=True)
class Server:
    sessions: Sessions
    gate: CapacityGate
    config: Config
    llm: Llm
    stats: Counter[str] = field(default_factory=Counter)
    answers_started: int = 0  # picks which answers stall
    answers: set[asyncio.Task[None]] = field(default_factory=set)  # in flight, referenced


SERVER = web.AppKey("chatbot", Server)


def build_app(options: DemoOptions) -> web.Application:
    config = _config(options)
    gate = CapacityGate(options.int("capacity", 10), options.int("queue_max", 100))
    app = web.Application()
    app[SERVER] = Server(Sessions(), gate, config, Llm.from_options(options))
    app.router.add_post("/api/auth/token", _token)
    app.router.add_post("/api/chat/sessions", _open_session)
    app.router.add_get("/ws", _websocket)
    app.router.add_post("/v1/chat/completions", _completions)
    app.router.add_get("/health", health)
    app.router.add_get("/stats", _stats)
    app.router.add_post("/stats/reset", _reset)
    return app


def _config(options: DemoOptions) -> Config:
    """Read and check every setting, reporting all problems at once."""
    at_least = {"capacity": (10, 1), "chunks": (5, 1), "queue_max": (100, 0), "stall_every": (5, 1),
                "llm_tokens": (20, 1), "llm_burst": (1, 1)}
    problems = [
        f"{name} must be at least {low}"
        for name, (default, low) in at_least.items()
        if options.int(name, default) < low
    ]
    times = {
        "chunk_ms": 100.0,
        "queue_timeout_ms": 10000.0,
        "handshake_ms": 1000.0,
        "stall_ms": 5000.0,
        "first_token_ms": 200.0,
        "token_ms": 20.0,
        "llm_rate": 0.0,
        "llm_global_rate": 0.0,
    }
    problems += [
        f"{name} must not be negative"
        for name, default in times.items()
        if options.float(name, default) < 0
    ]
    if problems:
        raise UsageError("chatbot: " + "; ".join(problems))
    ms = {name: options.float(name, default) / 1000 for name, default in times.items()}
    return Config(
        chunks=options.int("chunks", 5),
        chunk_s=ms["chunk_ms"],
        queue_timeout_s=ms["queue_timeout_ms"],
        handshake_s=ms["handshake_ms"],
        stall_s=ms["stall_ms"],
        stall_every=options.int("stall_every", 5) if options.fault("stall") else 0,
    )


async def _body(request: web.Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return {}
    return body if isinstance(body, dict) else {}


def _refuse(status: int, detail: str, **headers: str) -> web.Response:
    body = {"error": error_message("", None, status, detail)["error"], "detail": detail}
    return web.json_response(body, status=status, headers=headers)


async def _token(request: web.Request) -> web.Response:
    server = request.app[SERVER]
    server.stats["tokens_issued"] += 1
    user_id = str((await _body(request)).get("user_id") or f"user-{server.stats['tokens_issued']}")
    token = server.sessions.issue_token(user_id)
    return web.json_response({"token": token, "user_id": user_id, "expires_in": TOKEN_TTL_S})


async def _open_session(request: web.Request) -> web.Response:
    server = request.app[SERVER]
    user_id = server.sessions.user_of(request.headers.get("Authorization", ""))
    if user_id is None:
        return _refuse(401, "missing or unknown bearer token")
    if server.gate.full:
        server.stats["sessions_refused"] += 1
        detail = "every answer slot is busy and the queue is full"
        return _refuse(503, detail, **{"Retry-After": "1"})
    course = str((await _body(request)).get("course") or COURSES[0])
    server.stats["sessions_created"] += 1
    return web.json_response(server.sessions.open(user_id, course).as_json())


async def _completions(request: web.Request) -> web.StreamResponse:
    server = request.app[SERVER]
    return await complete(request, server.llm, server.gate, server.config.queue_timeout_s,
                          server.stats)


async def _websocket(request: web.Request) -> web.StreamResponse:
    server = request.app[SERVER]
    query = request.query
    session = server.sessions.find(query.get("session_id", ""), query.get("connection_id", ""))
    if session is None:
        server.stats["ws_unknown_session"] += 1
        return _refuse(403, "unknown session_id/connection_id: make a chat session first")
    if server.gate.full:
        server.stats["ws_refused"] += 1
        return _refuse(502, "no backend free to take the connection")
    if server.gate.busy and server.config.handshake_s:
        server.stats["slow_handshakes"] += 1
        await asyncio.sleep(server.config.handshake_s)
    ws = web.WebSocketResponse(heartbeat=None)
    await ws.prepare(request)
    server.stats["ws_connections"] += 1
    mine: set[asyncio.Task[None]] = set()
    try:
        async for msg in ws:
            if msg.type == WSMsgType.TEXT:
                _on_text(server, ws, session, msg.data, mine)
    finally:
        for task in mine:
            task.cancel()  # the client left: its answers give their slots back
        server.stats["ws_closed"] += 1
    return ws


def _on_text(
    server: Server,
    ws: web.WebSocketResponse,
    session: ChatSession,
    text: str,
    mine: set[asyncio.Task[None]],
) -> None:
    server.stats["questions"] += 1
    try:
        question = parse_question(text, f"m{server.stats['questions']}")
    except ValueError as exc:
        server.stats["bad_messages"] += 1
        error = error_message(session.session_id, None, 400, str(exc))
        _keep(server, mine, asyncio.ensure_future(send_json(ws, error)))
        return
    _keep(server, mine, asyncio.ensure_future(_answer(server, ws, session, question)))


def _keep(server: Server, mine: set[asyncio.Task[Any]], task: asyncio.Task[Any]) -> None:
    for tasks in (mine, server.answers):
        tasks.add(task)
        task.add_done_callback(tasks.discard)


async def _answer(
    server: Server, ws: web.WebSocketResponse, session: ChatSession, question: Question
) -> None:
    """Wait for a slot, then stream; a full queue or a long wait ends it with an error."""
    try:
        async with server.gate.slot(server.config.queue_timeout_s):
            await _stream(server, ws, session, question)
    except GateFullError:
        server.stats["answers_refused"] += 1
        detail = "every answer slot is busy and the queue is full"
        await send_json(ws, error_message(session.session_id, question.message_id, 503, detail))
    except GateTimeoutError:
        server.stats["answers_timed_out"] += 1
        detail = f"waited {server.config.queue_timeout_s * 1000:g} ms for an answer slot"
        await send_json(ws, error_message(session.session_id, question.message_id, 504, detail))


async def _stream(
    server: Server, ws: web.WebSocketResponse, session: ChatSession, question: Question
) -> None:
    config = server.config
    texts = answer_chunks(question, config.chunks)
    server.answers_started += 1
    stalls = config.stall_every and server.answers_started % config.stall_every == 0
    for index, text in enumerate(texts):
        if stalls and index == len(texts) // 2:
            server.stats["stalls"] += 1
            await asyncio.sleep(config.stall_s)
        await asyncio.sleep(config.chunk_s)
        last = index == len(texts) - 1
        message = chunk_message(session.session_id, question.message_id, index, text, last)
        if not await send_json(ws, message):
            return
        server.stats["chunks_sent"] += 1
    server.stats["answers_completed"] += 1




async def _stats(request: web.Request) -> web.Response:
    server = request.app[SERVER]
    gate = server.gate
    return web.json_response(
        {
            **server.stats,
            "capacity": gate.capacity,
            "active": gate.active,
            "waiting": gate.waiting,
            "peak_active": gate.peak_active,
            "peak_waiting": gate.peak_waiting,
            "queued": gate.queued,
        }
    )


async def _reset(request: web.Request) -> web.Response:
    server = request.app[SERVER]
    server.stats.clear()
    gate = server.gate
    gate.peak_active, gate.peak_waiting, gate.queued = gate.active, gate.waiting, 0
    return web.json_response({})
