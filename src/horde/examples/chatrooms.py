"""Chat rooms polled over HTTP (seed 002), against the ``chatrooms`` demo server.

    horde demo chatrooms                           # 10 users x 2 rooms for 60 s: no 429s
    horde demo chatrooms --param rooms=5           # 75 polls a minute > 60: rate limited
    CHATROOMS_PASSWORD=... horde run examples/chatrooms.py --target https://chat.example

Each user logs in with the shared password (from the environment, never printed) and an
email of its own, so each has its own rate-limit budget. It makes ``rooms`` rooms, then
every ``poll_s`` seconds polls each room's new messages (``since_id``) and its chatting
agents, all rooms at once, and deletes its rooms when it stops.

What the run tells (results.json):
- requests per endpoint: ``count(http_req{name=messages/poll})``, ``...{name=chatting-agents}``;
- latency: ``metrics["http_req:messages/poll"]``, and ``intended:poll`` timed from when
  each round of polls was due, so a slow server cannot hide behind a late schedule;
- rate limiting: 429s are not errors here but ``counters["custom:rate_limited"]`` (and
  per endpoint ``custom:rate_limited_poll`` / ``custom:rate_limited_agents``);
- bandwidth: ``bytes.sent`` / ``bytes.received`` (headers included). Per hour:
  ``bytes / duration_s * 3600``; per day: ``x 24`` (docs/demos/chatrooms.md).
"""

import asyncio
import os
from collections.abc import Awaitable

import horde

NAME = "chatrooms"

# The demo server's default password, so `horde demo chatrooms` works out of the box.
# Against a real server set CHATROOMS_PASSWORD; a wrong one fails every login (http_401).
os.environ.setdefault("CHATROOMS_PASSWORD", "demo-password")
PASSWORD = horde.secret("CHATROOMS_PASSWORD")

POLL = "messages/poll"
AGENTS = "chatting-agents"


class Params(horde.Params):
    rooms: int = 2  # rooms per user (seed 002: --rooms 2)
    poll_s: float = 4.0  # both endpoints of every room, this often
    cleanup: bool = True  # seed 002's --no-cleanup is cleanup=false


THRESHOLDS = (
    "errors.rate < 1%",  # 002: "Error rate < 1%" (429s are counted apart, not here)
    "p95(http_req) < 500ms",  # 002: "P95 latency < 500ms"
    "counters.custom:rate_limited == 0",  # 002: "No rate limiting"
    "p95(intended{name=poll}) < 1s",  # 002: "Consistent request/second rate": on schedule
)

# Seed 002's defaults: 10 users, 60 s (a 60 s window is needed to reach a per-minute limit).
OPTIONS = {"users": 10, "spawn_rate": 10, "duration": "60s"}


@horde.on_start
async def login_and_make_rooms(user: horde.User) -> None:
    """Log in as a user of its own, then make this user's rooms."""
    # Present at 0, so the "no rate limiting" threshold has a value to compare.
    user.count("rate_limited", 0)
    email = f"loadtest-{user.id}@horde.test"
    response = await user.http.post(
        "/auth/login", json={"password": PASSWORD, "email": email}, name="login"
    )
    response.raise_for_status()
    user.state.headers = {"X-API-Key": response.json()["api_key"]}
    user.state.since = getattr(user.state, "since", {})  # room id → last message id seen
    while len(user.state.since) < user.params.rooms:
        room = await user.http.post(
            "/rooms", json={"name": f"Load Test Room {user.id}-{len(user.state.since) + 1}"},
            headers=user.state.headers, name="create room",
        )
        room.raise_for_status()
        user.state.since[room.json()["id"]] = 0
        user.count("rooms_created")


@horde.behaviour
async def poll(user: horde.User) -> None:
    """One round: both endpoints of every room at once, every ``poll_s`` seconds."""
    async with user.paced(user.params.poll_s, "poll"):
        steps: list[Awaitable[None]] = [_poll_room(user, room) for room in user.state.since]
        steps += [_agents(user, room) for room in user.state.since]
        for outcome in await asyncio.gather(*steps, return_exceptions=True):
            if isinstance(outcome, Exception):
                raise outcome  # already counted by the transport (timeout, drop ...)


async def _poll_room(user: horde.User, room: int) -> None:
    response = await user.http.get(
        f"/rooms/{room}/messages/poll", params={"since_id": user.state.since[room]},
        headers=user.state.headers, name=POLL, ok_status=(429,),
    )
    if _rate_limited(user, response, "poll"):
        return
    messages = response.json() if response.ok else []
    if messages:
        user.state.since[room] = messages[-1]["id"]
        user.count("messages_received", len(messages))


async def _agents(user: horde.User, room: int) -> None:
    response = await user.http.get(
        f"/rooms/{room}/chatting-agents", headers=user.state.headers, name=AGENTS,
        ok_status=(429,),
    )
    _rate_limited(user, response, "agents")


def _rate_limited(user: horde.User, response: horde.Response, endpoint: str) -> bool:
    """Count a 429 as a rate-limit hit of its own, not as an error (seed 002 keeps them
    apart: being throttled is the server's policy working, not the server failing)."""
    if response.status != 429:
        return False
    user.count("rate_limited")
    user.count(f"rate_limited_{endpoint}")
    return True


@horde.on_stop
async def delete_rooms(user: horde.User) -> None:
    """Clean up: delete every room this user made (seed 002 does unless --no-cleanup)."""
    if not user.params.cleanup:
        return
    for room in list(getattr(user.state, "since", {})):
        response = await user.http.delete(
            f"/rooms/{room}", headers=user.state.headers, name="delete room"
        )
        if response.ok:
            del user.state.since[room]
            user.count("rooms_deleted")

