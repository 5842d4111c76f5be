"""The chatrooms demo's state without I/O: accounts, rooms, agent messages, rate limits.

Time is passed in (``now``, seconds on any monotonic clock), so every rule here is tested
as plain calls. Agents "talk" in each room on a fixed beat: message ``k`` of a room is due
``k × agent_s`` after the room was made, and is written when someone next looks. That keeps
the server free of timers yet gives pollers a steady trickle of new messages, as in seed 002.
"""

from __future__ import annotations

import math
import secrets
from collections import deque
from dataclasses import dataclass, field
from typing import Any

AGENTS = ("Alice", "Bob", "Carol")
KEEP_MESSAGES = 200  # per room: a long run must not grow the server without bound
POLL_PAGE = 50


class RateLimiter:
    """At most ``limit`` requests per ``window_s`` for each key (a sliding log).

    A refused request is not logged, so hammering a limit does not push it further away.
    """

    def __init__(self, limit: int, window_s: float) -> None:
        self.limit = limit
        self.window_s = window_s
        self._log: dict[str, deque[float]] = {}

    def check(self, key: str, now: float) -> float | None:
        """Log and allow (None), or refuse with the seconds until a slot frees up."""
        log = self._log.setdefault(key, deque())
        while log and log[0] <= now - self.window_s:
            log.popleft()
        if len(log) >= self.limit:
            return log[0] + self.window_s - now
        log.append(now)
        return None


def retry_after_header(seconds: float) -> str:
    """``Retry-After`` takes whole seconds; round up so a client that obeys it gets in."""
    return str(max(1, math.ceil(seconds)))


@dataclass(slots=True)
class Room:
    id: int
    name: str
    owner: str
    created: float
    messages: list[dict[str, Any]] = field(default_factory=list)
    next_id: int = 1
    agent_turns: int = 0  # agent messages written so far

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "created_by": self.owner}


class Chatrooms:
    """Accounts, API keys and rooms; agents post every ``agent_s`` seconds in each room."""

    def __init__(self, password: str, users: frozenset[str], agent_s: float) -> None:
        self.password = password
        self.users = users  # empty: any email may log in
        self.agent_s = agent_s
        self.keys: dict[str, str] = {}  # api key → user
        self.rooms: dict[int, Room] = {}
        self._next_room = 1

    def login(self, password: str, email: str | None) -> str | None:
        """A new API key for ``email`` (or the shared ``admin`` user), None if refused."""
        user = email or "admin"
        if password != self.password or (self.users and user not in self.users):
            return None
        key = secrets.token_hex(16)
        self.keys[key] = user
        return key

    def create_room(self, name: str, owner: str, now: float) -> Room:
        room = Room(self._next_room, name, owner, now)
        self._next_room += 1
        self.rooms[room.id] = room
        return room

    def post(self, room: Room, author: str, content: str, now: float) -> dict[str, Any]:
        self._catch_up(room, now)
        return self._append(room, author, "user", content, now)

    def poll(self, room: Room, since_id: int, now: float) -> list[dict[str, Any]]:
        """Messages after ``since_id`` (the newest page of them), oldest first."""
        self._catch_up(room, now)
        newer = [m for m in room.messages if m["id"] > since_id]
        return newer[-POLL_PAGE:]

    def chatting_agents(self, room: Room, now: float) -> list[dict[str, Any]]:
        """The agent whose message is due next is "typing"."""
        self._catch_up(room, now)
        turn = room.agent_turns % len(AGENTS)
        return [{"id": turn + 1, "name": AGENTS[turn], "status": "typing"}]

    def _catch_up(self, room: Room, now: float) -> None:
        due = int((now - room.created) / self.agent_s) if self.agent_s > 0 else 0
        skipped = due - room.agent_turns - KEEP_MESSAGES  # would be dropped at once anyway
        if skipped > 0:
            room.agent_turns += skipped
            room.next_id += skipped
        while room.agent_turns < due:
            turn = room.agent_turns
            at = room.created + (turn + 1) * self.agent_s
            name = AGENTS[turn % len(AGENTS)]
            room.agent_turns += 1
            self._append(room, name, "assistant", f"{name} says message {turn + 1}", at)

    def _append(
        self, room: Room, author: str, role: str, content: str, at: float
    ) -> dict[str, Any]:
        message = {
            "id": room.next_id,
            "room_id": room.id,
            "role": role,
            "author": author,
            "content": content,
            "at": round(at - room.created, 3),
        }
        room.next_id += 1
        room.messages.append(message)
        del room.messages[:-KEEP_MESSAGES]
        return message


@dataclass(slots=True)
class Stats:
    """What the server counted, per endpoint template (``GET /rooms/{id}/messages/poll``)."""

    requests: dict[str, int] = field(default_factory=dict)
    rate_limited: dict[str, int] = field(default_factory=dict)
    status: dict[str, int] = field(default_factory=dict)
    bytes_in: int = 0
    bytes_out: int = 0
    counts: dict[str, int] = field(default_factory=dict)  # logins, rooms_created, ...

    def record(self, endpoint: str, status: int, bytes_in: int, bytes_out: int) -> None:
        self.requests[endpoint] = self.requests.get(endpoint, 0) + 1
        self.status[str(status)] = self.status.get(str(status), 0) + 1
        if status == 429:
            self.rate_limited[endpoint] = self.rate_limited.get(endpoint, 0) + 1
        self.bytes_in += bytes_in
        self.bytes_out += bytes_out

    def add(self, name: str, n: int = 1) -> None:
        self.counts[name] = self.counts.get(name, 0) + n

    def as_json(self) -> dict[str, Any]:
        return {
            "requests": dict(self.requests),
            "rate_limited": dict(self.rate_limited),
            "status": dict(self.status),
            "bytes_in": self.bytes_in,
            "bytes_out": self.bytes_out,
            **self.counts,
        }
