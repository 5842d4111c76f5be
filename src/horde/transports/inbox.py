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

from horde.errors import ConfigError, OperationTimeoutError, TargetError
from horde.metrics.operations import Operation
from horde.metrics.recorder import Recorder
from horde.streams.meter import StreamMeter

Predicate = Callable[[Any], bool]
# (future, predicate or None, deadline ns, label, the operation it ends or None)
Waiter = tuple[asyncio.Future[Any], Predicate | None, int, str, Operation | None]

# Timer slack: uvloop's clock ticks in milliseconds, so a timer may fire a little early.
_SLACK_NS = 1_000_000

EMPTY: Any = object()
"""Returned by :meth:`Inbox.pop` and :meth:`Inbox.pop_match` when nothing is there."""

# ``waiters`` until the first wait: an empty list is 56 bytes (and one more object for the
# garbage collector to walk) on every idle connection.
_NO_WAITERS: Any = ()

CONSUMED: Any = object()
"""A predicate returns this to take a message without ending its wait: a stream's chunks
reach it in the frame callback (timed on arrival) while its one future waits for the last."""


def stream_taker(
    meter: StreamMeter, match: Predicate | None, until: Predicate | None, end: Predicate | None,
) -> StreamTake:
    """The predicate a stream waits with (see :class:`StreamTake`)."""
    if until is None and end is None:
        raise ConfigError("a stream needs until= (its last chunk) or end= (its end message)")
    return StreamTake(meter, match, until, end)


class StreamTake:
    """A stream's predicate, run in the frame callback for each message: ``match`` picks
    the stream's messages; ``end`` accepts a closing control message, which ends the stream
    without being a chunk; ``until`` accepts the last chunk (included). A timeout's message
    comes from :meth:`timeout_message`: how many chunks had arrived."""

    __slots__ = ("_end", "_match", "_meter", "_until")

    def __init__(self, meter: StreamMeter, match: Predicate | None, until: Predicate | None,
                 end: Predicate | None) -> None:
        self._meter, self._match, self._until, self._end = meter, match, until, end

    def __call__(self, message: Any) -> Any:
        if self._match is not None and not self._match(message):
            return False
        if self._end is not None and self._end(message):
            self._meter.end_at()
            return True
        self._meter.add_chunk(message)
        return True if self._until is not None and self._until(message) else CONSUMED

    def timeout_message(self) -> str:
        return self._meter.timeout_message()


def timeout_text(predicate: Predicate | None, default: str) -> str:
    """A timed-out wait's message: a stream's says how many chunks had arrived."""
    if isinstance(predicate, StreamTake):
        return predicate.timeout_message()
    return default


class Inbox:
    """A bounded FIFO of messages plus the futures waiting for the next (matching) one.

    ``waiters`` holds :data:`Waiter` tuples in arrival order; a ``None`` predicate matches
    anything. The first waiter that matches a message gets it, and the operation it carries
    (a ``request``'s) ends right there, in the frame callback: its latency stops when the
    reply was parsed, not when the waiting coroutine got round to it.
    """

    __slots__ = ("_limit", "_loop", "_queue", "_recorder", "_timer", "_timer_at", "waiters")

    def __init__(self, limit: int, recorder: Recorder) -> None:
        """``recorder`` counts ``ws_inbox_overflow`` per dropped message and each timeout."""
        if limit < 1:
            raise ValueError("inbox limit must be at least 1")
        self._limit = limit
        self._recorder = recorder
        # Made on first use: an empty deque is ~600 bytes and most connections whose
        # replies go straight to waiters never need one.
        self._queue: deque[Any] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at = 0
        self.waiters: list[Waiter] = _NO_WAITERS

    def __len__(self) -> int:
        return len(self._queue) if self._queue is not None else 0

    # -- producer side (the frame callback) -----------------------------------------------

    def offer(self, message: Any) -> bool:
        """Give ``message`` to the first waiter that wants it; ``False`` if none does."""
        waiters = self.waiters
        i = 0
        while i < len(waiters):
            fut, predicate, _, _, op = waiters[i]
            if fut.done():  # its caller was cancelled: forget it
                del waiters[i]
                continue
            if predicate is not None:
                try:
                    taken = predicate(message)
                except Exception as exc:  # the scenario's predicate is broken: tell its caller
                    del waiters[i]
                    if op is not None:
                        self._recorder.fail(op, exc)
                    fut.set_exception(exc)
                    continue
                if not taken:
                    i += 1
                    continue
                if taken is CONSUMED:  # a stream took it as a chunk and keeps waiting
                    return True
            del waiters[i]
            if op is not None:
                self._recorder.succeed(op)
            fut.set_result(message)
            return True
        return False

    def append(self, message: Any) -> None:
        """Queue a message nobody waited for; past the limit the oldest one is dropped."""
        queue = self._queue
        if queue is None:
            queue = self._queue = deque()
        elif len(queue) >= self._limit:
            queue.popleft()
            self._recorder.count("ws_inbox_overflow")
        queue.append(message)

    # -- consumer side ----------------------------------------------------------------------

    def pop(self) -> Any:
        """The oldest queued message, or :data:`EMPTY`."""
        queue = self._queue
        return queue.popleft() if queue else EMPTY

    def pop_match(self, predicate: Predicate) -> Any:
        """The oldest queued message matching ``predicate`` (removed), or :data:`EMPTY`."""
        queue = self._queue
        if queue:
            for i, message in enumerate(queue):
                if predicate(message):
                    del queue[i]
                    return message
        return EMPTY

    def drain(self) -> list[Any]:
        """Take every queued message at once (when a listen-only handler is installed)."""
        queue, self._queue = self._queue, None
        return list(queue) if queue else []

    def wait(
        self, predicate: Predicate | None, deadline_ns: int, label: str,
        op: Operation | None = None,
    ) -> asyncio.Future[Any]:
        """A future resolved with the next matching message, or failed at ``deadline_ns``.

        ``deadline_ns`` is on the :func:`time.perf_counter_ns` clock; ``label`` becomes the
        timeout's detail so the report can say which wait timed out. ``op``, if given, is
        ended with the wait: ok when the message arrives, failed on a timeout or a drop.
        """
        loop = self._loop
        if loop is None:
            loop = self._loop = asyncio.get_running_loop()
        fut = loop.create_future()
        waiters = self.waiters
        if waiters is _NO_WAITERS:
            waiters = self.waiters = []
        waiters.append((fut, predicate, deadline_ns, label, op))
        if self._timer is None or deadline_ns < self._timer_at:
            self._arm(deadline_ns)
        return fut

    def fail_operations(self, exc: TargetError) -> None:
        """An error message came (``error_when``): the requests and streams waiting fail
        with ``exc``; a plain ``receive``/``wait_for`` keeps waiting (it may want it)."""
        kept = []
        for waiter in self.waiters:
            fut, predicate, _, _, op = waiter
            if fut.done():
                continue
            if op is None and not isinstance(predicate, StreamTake):
                kept.append(waiter)
                continue
            if op is not None:
                self._recorder.fail(op, exc)
            fut.set_exception(exc)
        self.waiters = kept

    def fail_all(self, exc: TargetError) -> None:
        """The connection is gone: every waiter fails with ``exc``; the queue is kept."""
        waiters, self.waiters = self.waiters, _NO_WAITERS
        for fut, _, _, _, op in waiters:
            if not fut.done():
                if op is not None:
                    self._recorder.fail(op, exc)
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
            fut, predicate, deadline, label, op = waiter
            if fut.done():
                continue
            if deadline <= now:
                exc = OperationTimeoutError(timeout_text(predicate, f"{label}: no message in time"),
                                       detail=label)
                if op is None:
                    self._recorder.target_error(exc)
                else:
                    self._recorder.fail(op, exc)
                fut.set_exception(exc)
            else:
                alive.append(waiter)
        self.waiters = alive
        if alive:
            self._arm(min(w[2] for w in alive))
