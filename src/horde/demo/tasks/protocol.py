"""The tasks demo's messages and its routing of output, without I/O (seed 004).

A client opens ``/ws/{task_id}`` and sends ``{"task": text, "config": {"mode",
"maxRounds"}}``; the server answers with ``output`` events, then one ``complete`` (or an
``error``). Every event names its ``task_id`` and ``session_id`` so a client can check that
it got only its own output — the isolation seed 004 tests. :class:`Router` decides who gets
each output; under the ``leak`` fault it copies some of them to another session.
"""

from __future__ import annotations

import json
from collections.abc import Hashable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

Conn = TypeVar("Conn", bound=Hashable)


@dataclass(frozen=True, slots=True)
class TaskRequest:
    task: str
    mode: str
    max_rounds: int | None


def parse_task(text: str) -> TaskRequest:
    """Raises ValueError with the reason when ``text`` is not a task message."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        raise ValueError("not JSON") from None
    if not isinstance(data, dict) or not isinstance(data.get("task"), str) or not data["task"]:
        raise ValueError('expected {"task": "...", "config": {...}}')
    config = data.get("config") or {}
    if not isinstance(config, dict):
        raise ValueError("'config' must be an object")
    max_rounds = config.get("maxRounds")
    if max_rounds is not None and (not isinstance(max_rounds, int) or max_rounds < 1):
        raise ValueError("'maxRounds' must be a positive integer")
    return TaskRequest(data["task"], str(config.get("mode", "one-shot")), max_rounds)


def rounds_for(request: TaskRequest, rounds: int) -> int:
    """The server's ``rounds`` setting, capped by the client's ``maxRounds``."""
    return min(rounds, request.max_rounds) if request.max_rounds else rounds


def event(event_type: str, task_id: str, session_id: str, **data: Any) -> dict[str, Any]:
    return {"event_type": event_type, "task_id": task_id, "session_id": session_id, "data": data}


def output_text(request: TaskRequest, round_no: int, rounds: int) -> str:
    """What a round prints: it repeats the task, so a marker in it shows whose output it is."""
    return f"[round {round_no}/{rounds}] {request.task}"


class Router(Generic[Conn]):
    """The open sessions, in the order they opened; where each output goes.

    ``leak_every`` > 0 (the ``leak`` fault): every Nth output is also copied to the next
    open session after its own (wrapping around) — another task's output leaks.
    """

    def __init__(self, leak_every: int = 0) -> None:
        self.leak_every = leak_every
        self.outputs = 0
        self._open: dict[str, Conn] = {}  # session id → connection, in opening order

    def __len__(self) -> int:
        return len(self._open)

    def add(self, session_id: str, conn: Conn) -> None:
        self._open[session_id] = conn

    def remove(self, session_id: str) -> None:
        self._open.pop(session_id, None)

    def route(self, session_id: str) -> tuple[Conn, Conn | None]:
        """The output's own connection, and the one it leaks to (or None)."""
        own = self._open[session_id]
        self.outputs += 1
        if not self.leak_every or self.outputs % self.leak_every:
            return own, None
        ids = list(self._open)
        if len(ids) < 2:
            return own, None
        victim = ids[(ids.index(session_id) + 1) % len(ids)]
        return own, self._open[victim]
