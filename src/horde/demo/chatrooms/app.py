"""The chatrooms demo's HTTP layer (aiohttp): seed 002's polling chat API.

Handlers only read the request, call :class:`~horde.demo.chatrooms.state.Chatrooms` and
write JSON. One middleware counts every request for ``GET /stats``.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from horde.demo.chatrooms.state import (
    Chatrooms,
    RateLimiter,
    Room,
    Stats,
    retry_after_header,
)
from horde.demo.handlers import health
from horde.demo.options import DemoOptions
from horde.errors import UsageError

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True, slots=True)
class Config:
    slow_poll_s: float  # 0: the slow_poll fault is off
    error_every: int  # 0: the errors fault is off


@dataclass(slots=True)
class Server:
    """Everything the handlers share, under one app key."""

    rooms: Chatrooms
    poll_limit: RateLimiter
    agents_limit: RateLimiter
    config: Config
    stats: Stats
    polled: int = 0  # poll + chatting-agents requests past the rate limit (errors fault)


SERVER = web.AppKey("chatrooms", Server)
UNCOUNTED = ("/stats", "/stats/reset", "/health")


def _config(options: DemoOptions) -> Config:
    slow_s = options.float("slow_ms", 1500.0) / 1000
    every = options.int("error_every", 10)
    return Config(
        slow_poll_s=slow_s if options.fault("slow_poll") else 0,
        error_every=every if options.fault("errors") else 0,
    )


def _check(options: DemoOptions) -> None:
    """Refuse settings that would make the server meaningless, all problems at once."""
    problems = [
        f"{name} must be at least 1"
        for name, default in (("poll_limit", 60), ("agents_limit", 120), ("error_every", 10))
        if options.int(name, default) < 1
    ]
    if options.float("window_s", 60.0) <= 0:
        problems.append("window_s must be positive")
    if problems:
        raise UsageError("chatrooms: " + "; ".join(problems))


def build_app(options: DemoOptions) -> web.Application:
    _check(options)
    window_s = options.float("window_s", 60.0)
    users = frozenset(u.strip() for u in options.str("users", "").split(",") if u.strip())
    server = Server(
        rooms=Chatrooms(
            options.str("password", "demo-password"),
            users,
            options.float("agent_ms", 2000.0) / 1000.0,
        ),
        poll_limit=RateLimiter(options.int("poll_limit", 60), window_s),
        agents_limit=RateLimiter(options.int("agents_limit", 120), window_s),
        config=_config(options),
        stats=Stats(),
    )
    app = web.Application(middlewares=[_count])
    app[SERVER] = server
    app.router.add_post("/auth/login", _login)
    app.router.add_get("/rooms", _list_rooms)
    app.router.add_post("/rooms", _create_room)
    app.router.add_delete("/rooms/{id}", _delete_room)
    app.router.add_get("/rooms/{id}/messages/poll", _poll)
    app.router.add_post("/rooms/{id}/messages", _post_message)
    app.router.add_get("/rooms/{id}/chatting-agents", _chatting_agents)
    app.router.add_get("/health", health)
    app.router.add_get("/stats", _stats)
    app.router.add_post("/stats/reset", _reset)
    return app


@web.middleware
async def _count(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Count requests, statuses and body bytes per endpoint template."""
    if request.path in UNCOUNTED:
        return await handler(request)
    resource = request.match_info.route.resource
    endpoint = f"{request.method} {resource.canonical if resource else '(unknown)'}"
    try:
        response = await handler(request)
    except web.HTTPException as exc:  # the router's own 404/405
        _record(request, endpoint, exc)
        raise
    _record(request, endpoint, response)
    return response


def _record(request: web.Request, endpoint: str, response: web.StreamResponse) -> None:
    body = getattr(response, "body", None)
    sent = len(body) if isinstance(body, bytes) else 0
    stats = request.app[SERVER].stats
    stats.record(endpoint, response.status, request.content_length or 0, sent)


def _error(status: int, detail: str, **headers: str) -> web.Response:
    return web.json_response({"detail": detail}, status=status, headers=headers)


async def _json_body(request: web.Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return {}
    return body if isinstance(body, dict) else {}


async def _login(request: web.Request) -> web.Response:
    server = request.app[SERVER]
    body = await _json_body(request)
    email = body.get("email")
    key = server.rooms.login(str(body.get("password", "")), str(email) if email else None)
    if key is None:
        server.stats.add("login_failures")
        return _error(401, "Invalid password")
    server.stats.add("logins")
    response = web.json_response({"api_key": key, "user": server.rooms.keys[key]})
    response.set_cookie("api_key", key, httponly=True)
    return response


def _user(request: web.Request) -> str | None:
    """The caller, from the ``X-API-Key`` header (seed 002) or the login cookie."""
    key = request.headers.get("X-API-Key") or request.cookies.get("api_key", "")
    return request.app[SERVER].rooms.keys.get(key)


def _room(request: web.Request) -> Room | None:
    try:
        return request.app[SERVER].rooms.rooms.get(int(request.match_info["id"]))
    except ValueError:
        return None


async def _list_rooms(request: web.Request) -> web.Response:
    if _user(request) is None:
        return _error(401, "Not authenticated")
    rooms = request.app[SERVER].rooms.rooms.values()
    return web.json_response([room.as_json() for room in rooms])


async def _create_room(request: web.Request) -> web.Response:
    server = request.app[SERVER]
    user = _user(request)
    if user is None:
        return _error(401, "Not authenticated")
    name = str((await _json_body(request)).get("name") or "Room")
    room = server.rooms.create_room(name, user, time.monotonic())
    server.stats.add("rooms_created")
    return web.json_response(room.as_json())


async def _delete_room(request: web.Request) -> web.Response:
    server = request.app[SERVER]
    user, room = _user(request), _room(request)
    if user is None:
        return _error(401, "Not authenticated")
    if room is None:
        return _error(404, "Room not found")
    if room.owner != user:
        return _error(403, "Not your room")
    del server.rooms.rooms[room.id]
    server.stats.add("rooms_deleted")
    return web.json_response({"message": "Room deleted", "id": room.id})


async def _post_message(request: web.Request) -> web.Response:
    server = request.app[SERVER]
    user, room = _user(request), _room(request)
    if user is None:
        return _error(401, "Not authenticated")
    if room is None:
        return _error(404, "Room not found")
    content = str((await _json_body(request)).get("content", ""))
    return web.json_response(server.rooms.post(room, user, content, time.monotonic()))


async def _poll(request: web.Request) -> web.Response:
    server = request.app[SERVER]
    refused = _guard(request, server.poll_limit)
    if refused is not None:
        return refused
    room = _room(request)
    assert room is not None  # _guard checked
    if server.config.slow_poll_s:
        server.stats.add("slow_polls")
        await asyncio.sleep(server.config.slow_poll_s)
    try:
        since_id = int(request.query.get("since_id", "0"))
    except ValueError:
        return _error(400, "since_id must be an integer")
    return web.json_response(server.rooms.poll(room, since_id, time.monotonic()))


async def _chatting_agents(request: web.Request) -> web.Response:
    server = request.app[SERVER]
    refused = _guard(request, server.agents_limit)
    if refused is not None:
        return refused
    room = _room(request)
    assert room is not None
    agents = server.rooms.chatting_agents(room, time.monotonic())
    return web.json_response({"room_id": room.id, "chatting_agents": agents})


def _guard(request: web.Request, limiter: RateLimiter) -> web.Response | None:
    """The checks both polled endpoints share, in order: auth, rate limit, room, fault."""
    server = request.app[SERVER]
    user = _user(request)
    if user is None:
        return _error(401, "Not authenticated")
    wait_s = limiter.check(user, time.monotonic())
    if wait_s is not None:
        retry = retry_after_header(wait_s)
        return _error(429, f"Rate limit exceeded: retry after {retry} s", **{"Retry-After": retry})
    if _room(request) is None:
        return _error(404, "Room not found")
    server.polled += 1
    every = server.config.error_every
    if every and server.polled % every == 0:
        server.stats.add("errors_injected")
        return _error(500, "Internal Server Error (errors fault)")
    return None



async def _stats(request: web.Request) -> web.Response:
    return web.json_response(request.app[SERVER].stats.as_json())


async def _reset(request: web.Request) -> web.Response:
    request.app[SERVER].stats = Stats()
    return web.json_response({})
