"""The inbox: received messages nobody has asked for yet, and the waiters asking for them.

A connection's frame callback hands every decoded message to :meth:`Inbox.offer` first (a
pending ``receive``/``wait_for``/``request`` gets it straight through its future) and only
then to :meth:`Inbox.append`. No task runs per message and nothing is logged; the only
allocation on the way is the waiter's future.

Timeouts cost one shared timer per inbox, re-armed lazily: a new waiter only touches the
timer when its deadline is earlier than the one already armed. With the usual equal
timeouts and replies far faster than them, that is one timer callback per ``timeout``
seconds per connection instead of a ``call_later`` + ``cancel`` per request.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from time import perf_counter_ns
from typing import Any

from horde.errors import OperationTimeout, TargetError

Predicate = Callable[[Any], bool]

# Timer slack: uvloop's clock ticks in milliseconds, so a timer may fire a little early.
_SLACK_NS = 1_000_000

EMPTY: Any = object()
"""Returned by :meth:`Inbox.pop` and :meth:`Inbox.pop_match` when nothing is there."""


class Inbox:
    """A bounded FIFO of messages plus the futures waiting for the next (matching) one.

    ``waiters`` holds ``(future, predicate, deadline_ns, label)`` tuples in arrival order;
    a ``None`` predicate matches anything. The first waiter that matches a message gets it.
    """

    __slots__ = ("_limit", "_loop", "_on_overflow", "_queue", "_timer", "_timer_at", "waiters")

    def __init__(self, limit: int, on_overflow: Callable[[], None]) -> None:
        if limit < 1:
            raise ValueError("inbox limit must be at least 1")
        self._limit = limit
        self._on_overflow = on_overflow
        self._queue: deque[Any] = deque()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at = 0
        self.waiters: list[tuple[asyncio.Future[Any], Predicate | None, int, str]] = []

    def __len__(self) -> int:
        return len(self._queue)

    # -- producer side (the frame callback) -----------------------------------------------

    def offer(self, message: Any) -> bool:
        """Give ``message`` to the first waiter that wants it; ``False`` if none does."""
        for i, (fut, predicate, _, _) in enumerate(self.waiters):
            if fut.done():  # cancelled by its caller; the caller removes it too
                continue
            if predicate is not None:
                try:
                    if not predicate(message):
                        continue
                except Exception as exc:  # the scenario's predicate is broken: tell its caller
                    del self.waiters[i]
                    fut.set_exception(exc)
                    return False
            del self.waiters[i]
            fut.set_result(message)
            return True
        return False

    def append(self, message: Any) -> None:
        """Queue a message nobody waited for; past the limit the oldest one is dropped."""
        queue = self._queue
        if len(queue) >= self._limit:
            queue.popleft()
            self._on_overflow()
        queue.append(message)

    # -- consumer side ----------------------------------------------------------------------

    def pop(self) -> Any:
        """The oldest queued message, or :data:`EMPTY`."""
        return self._queue.popleft() if self._queue else EMPTY

    def pop_match(self, predicate: Predicate) -> Any:
        """The oldest queued message matching ``predicate`` (removed), or :data:`EMPTY`."""
        for i, message in enumerate(self._queue):
            if predicate(message):
                del self._queue[i]
                return message
        return EMPTY

    def drain(self) -> list[Any]:
        """Take every queued message at once (when a listen-only handler is installed)."""
        messages = list(self._queue)
        self._queue.clear()
        return messages

    def wait(
        self, predicate: Predicate | None, deadline_ns: int, label: str
    ) -> asyncio.Future[Any]:
        """A future resolved with the next matching message, or failed at ``deadline_ns``.

        ``deadline_ns`` is on the :func:`time.perf_counter_ns` clock; ``label`` becomes the
        timeout's detail so the report can say which wait timed out.
        """
        loop = self._loop
        if loop is None:
            loop = self._loop = asyncio.get_running_loop()
        fut = loop.create_future()
        self.waiters.append((fut, predicate, deadline_ns, label))
        if self._timer is None or deadline_ns < self._timer_at:
            self._arm(deadline_ns)
        return fut

    def discard(self, fut: asyncio.Future[Any]) -> None:
        """Forget a waiter whose caller gave up (cancelled)."""
        for i, waiter in enumerate(self.waiters):
            if waiter[0] is fut:
                del self.waiters[i]
                return

    def fail_all(self, exc: TargetError) -> None:
        """The connection is gone: every waiter fails with ``exc``; the queue is kept."""
        waiters, self.waiters = self.waiters, []
        for fut, _, _, _ in waiters:
            if not fut.done():
                fut.set_exception(exc)
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    # -- the lazy deadline timer ------------------------------------------------------------

    def _arm(self, deadline_ns: int) -> None:
        if self._timer is not None:
            self._timer.cancel()
        delay = max(deadline_ns - perf_counter_ns(), 0) / 1e9
        assert self._loop is not None
        self._timer = self._loop.call_later(delay, self._expire)
        self._timer_at = deadline_ns

    def _expire(self) -> None:
        """Fail the waiters past their deadline and re-arm for the earliest remaining one."""
        self._timer = None
        now = perf_counter_ns() + _SLACK_NS
        alive = []
        for waiter in self.waiters:
            fut, _, deadline, label = waiter
            if fut.done():
                continue
            if deadline <= now:
                fut.set_exception(OperationTimeout(f"{label}: no message in time", detail=label))
            else:
                alive.append(waiter)
        self.waiters = alive
        if alive:
            self._arm(min(w[2] for w in alive))
