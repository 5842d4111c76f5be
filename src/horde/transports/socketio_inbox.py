"""Where received Socket.IO events go: ``on`` handlers, ``wait_for`` waiters, or a queue.

Keyed by (namespace, event): a handler, a FIFO of event data nobody claimed and a list of
waiters, each a future with an optional predicate and a deadline. Deadlines are not
timers: the owning connection's single lazily re-armed timer calls
:meth:`EventInbox.expire`, which also tells it when to wake next. No task, no timer and no
allocation per event beyond the deque slot (an async handler does get a task).

The queues of one connection hold at most ``limit`` events together (memory: a lobby
broadcasting to every user fills every user's queue). Past it, the oldest event of the
name with the most queued goes — the one piling up, not a rare reply — counted as
``sio_inbox_dropped:EVENT``. What was never taken is counted as ``sio_unclaimed:EVENT``
(dropped, or left when the connection ends) and the analysis names it.
"""

from __future__ import annotations

import asyncio
import inspect
from collections import deque
from collections.abc import Callable
from typing import Any, NamedTuple

from horde.errors import OperationTimeoutError, TargetError
from horde.metrics.names import SIO_INBOX_DROPPED, SIO_INBOX_PEAK, SIO_UNCLAIMED
from horde.metrics.operations import Operation
from horde.metrics.recorder import Recorder
from horde.metrics.values import ValueSpec
from horde.transports.inbox import CONSUMED, StreamTake, timeout_text

Key = tuple[str, str]  # (namespace, event)
Predicate = Callable[[Any], bool]
# future, predicate, deadline (perf_counter_ns), label, the operation it ends (or None),
# and whether it waits for one of several events (then it gets a SocketIOEvent)
Waiter = tuple[asyncio.Future[Any], Predicate | None, int, str, Operation | None, bool]

EMPTY: Any = object()
"""What :meth:`EventInbox.take` returns when nothing queued matches."""

PEAK = ValueSpec("events", "lower")


def ignored(*_: Any) -> None:
    """The handler of an event the scenario ignores: counted on arrival, never queued."""


class SocketIOEvent(NamedTuple):
    """Which of several events came, and its data: what ``wait_for`` and ``request``
    return when given a tuple of event names. A tuple, so it unpacks:
    ``event, data = await sio.wait_for(("team_joined", "error"))``."""

    event: str
    """The event's name: one of those asked for."""
    data: Any
    """Its data, as ``wait_for`` returns it for one name: one value, ``None`` or a tuple."""


def unwrap(args: list[Any]) -> Any:
    """An event's or ack's data as the user sees it: one value, ``None``, or a tuple."""
    n = len(args)
    return args[0] if n == 1 else None if n == 0 else tuple(args)


class EventInbox:
    """Queues and waiters for every (namespace, event) of one connection."""

    __slots__ = ("_counted", "_dropped", "_limit", "_on_error", "_recorder", "_tasks",
                 "handlers", "peak", "queued", "queues", "waiters")

    def __init__(self, limit: int, on_error: Callable[[Exception], None],
                 recorder: Recorder) -> None:
        """``limit``: the most events all queues hold together. ``on_error`` gets what a
        handler raised (the scenario's exception); ``recorder`` ends the operations waiters
        carry (a ``request``'s reply event) and counts what was dropped or left."""
        if limit < 1:
            raise ValueError("inbox limit must be at least 1")
        self._recorder = recorder
        self._limit = limit
        self._on_error = on_error
        self._dropped = 0
        self._counted = False  # the leftovers were counted (the connection ended)
        self.queued = 0  # events in all queues
        self.peak = 0  # the most there were at once
        self._tasks: set[asyncio.Task[Any]] = set()
        self.handlers: dict[Key, Callable[..., Any]] = {}
        self.queues: dict[Key, deque[Any]] = {}
        self.waiters: dict[Key, list[Waiter]] = {}

    def deliver(self, key: Key, args: list[Any], ack: Callable[[Any], None] | None,
                queue: bool = True) -> None:
        """One received event: its handler runs (and its return value answers ``ack`` when
        the server asked for one), the first matching waiter gets its data, and with neither
        a handler nor a taker it is queued (unless ``queue`` is false: an error event)."""
        reply: Any = None
        handler = self.handlers.get(key)
        if handler is not None:
            try:
                reply = handler(*args)
            except Exception as exc:
                self._on_error(exc)
            if inspect.isawaitable(reply):
                task = asyncio.get_running_loop().create_task(self._finish(reply, ack))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
                ack = None
        value = unwrap(args)
        if not self.offer(key, value) and handler is None and queue:
            self.put(key, value)
        if ack is not None:
            ack(reply)

    async def _finish(self, awaitable: Any, ack: Callable[[Any], None] | None) -> None:
        reply = None
        try:
            reply = await awaitable
        except Exception as exc:
            self._on_error(exc)
        if ack is not None:
            ack(reply)

    def offer(self, key: Key, value: Any) -> bool:
        """Hand ``value`` to the first waiter on ``key`` that wants it; ``False`` if none.
        A predicate that raises fails its own waiter (the scenario's bug reaches its caller)."""
        waiters = self.waiters.get(key)
        if not waiters:
            return False
        for i, (fut, predicate, _, _, op, tagged) in enumerate(waiters):
            if fut.done():
                continue
            if predicate is not None:
                try:
                    taken = predicate(value)
                except Exception as exc:
                    del waiters[i]
                    if op is not None:
                        self._recorder.fail(op, exc)
                    fut.set_exception(exc)
                    return False
                if not taken:
                    continue
                if taken is CONSUMED:  # a stream took it as a chunk and keeps waiting
                    return True
            del waiters[i]
            if op is not None:  # a request's reply: its latency ends as it is parsed
                self._recorder.succeed(op)
            fut.set_result(SocketIOEvent(key[1], value) if tagged else value)
            return True
        return False

    def put(self, key: Key, value: Any) -> None:
        """Queue an unclaimed event; past the limit the oldest of the longest queue goes."""
        queue = self.queues.get(key)
        if queue is None:
            queue = self.queues[key] = deque()
        if self.queued >= self._limit:
            self._drop_one()
        queue.append(value)
        queued = self.queued = self.queued + 1
        if queued > self.peak:
            self.peak = queued

    def _drop_one(self) -> None:
        key, fullest = max(self.queues.items(), key=lambda item: len(item[1]))
        fullest.popleft()
        self.queued -= 1
        self._dropped += 1
        self._recorder.count(SIO_INBOX_DROPPED, key[1])
        self._recorder.count(SIO_UNCLAIMED, key[1])

    def take(self, key: Key, predicate: Predicate | None) -> Any:
        """The oldest queued value on ``key`` matching ``predicate`` (removed), or EMPTY."""
        queue = self.queues.get(key)
        if not queue:
            return EMPTY
        if predicate is None:
            self.queued -= 1
            return queue.popleft()
        for i, value in enumerate(queue):
            if predicate(value):
                del queue[i]
                self.queued -= 1
                return value
        return EMPTY

    def ignore(self, key: Key) -> None:
        """Never queue ``key`` again; what is queued of it now is dropped, as unclaimed."""
        self.handlers[key] = ignored
        queue = self.queues.pop(key, None)
        if queue:
            self.queued -= len(queue)
            self._recorder.count(SIO_UNCLAIMED, key[1], len(queue))

    def count_unclaimed(self) -> None:
        """The connection ended: count what is still queued as unclaimed (once), and the
        peak when anything was left or dropped. The queues themselves are kept."""
        if self._counted:
            return
        self._counted = True
        left = 0
        for (_, event), queue in self.queues.items():
            if queue:
                left += len(queue)
                self._recorder.count(SIO_UNCLAIMED, event, len(queue))
        if left or self._dropped:
            self._recorder.value(SIO_INBOX_PEAK, self.peak, PEAK)

    def take_first(self, keys: tuple[Key, ...], predicate: Predicate | None) -> Any:
        """:meth:`take` for one of several events, as a :class:`SocketIOEvent`: the queued
        ones are looked at in the order of ``keys`` (queues keep no order across events)."""
        for key in keys:
            found = self.take(key, predicate)
            if found is not EMPTY:
                return SocketIOEvent(key[1], found)
        return EMPTY

    def wait(self, keys: Key | tuple[Key, ...], fut: asyncio.Future[Any],
             predicate: Predicate | None, deadline_ns: int, label: str,
             op: Operation | None = None) -> None:
        """Wait on ``keys`` — one (namespace, event), or a tuple of them: the first to come
        resolves ``fut`` with a :class:`SocketIOEvent`. ``op``, if given, ends with the
        wait (ok, timed out, failed)."""
        if isinstance(keys[0], str):
            self.waiters.setdefault(keys, []).append(  # type: ignore[arg-type]
                (fut, predicate, deadline_ns, label, op, False))
            return
        for key in keys:
            self.waiters.setdefault(key, []).append(  # type: ignore[arg-type]
                (fut, predicate, deadline_ns, label, op, True))

    def discard(self, keys: Key | tuple[Key, ...], fut: asyncio.Future[Any]) -> None:
        """Forget a waiter whose caller gave up (or got one of several events)."""
        for key in (keys,) if isinstance(keys[0], str) else keys:
            waiters = self.waiters.get(key, [])  # type: ignore[call-overload]
            for i, waiter in enumerate(waiters):
                if waiter[0] is fut:
                    del waiters[i]
                    break

    def expire(self, now_ns: int) -> int:
        """Fail waiters past their deadline; return the earliest deadline left (0: none)."""
        earliest = 0
        for waiters in self.waiters.values():
            alive = []
            for waiter in waiters:
                fut, predicate, deadline, label, op, _ = waiter
                if fut.done():
                    continue
                if deadline <= now_ns:
                    exc = OperationTimeoutError(
                        timeout_text(predicate, f"{label}: nothing in time"), detail=label)
                    if op is not None:
                        self._recorder.fail(op, exc)
                    fut.set_exception(exc)
                else:
                    alive.append(waiter)
                    if not earliest or deadline < earliest:
                        earliest = deadline
            waiters[:] = alive
        return earliest

    def cancel_handlers(self) -> None:
        """Our own disconnect: async handlers still running are cancelled."""
        for task in list(self._tasks):
            task.cancel()

    def fail(self, exc: TargetError, namespace: str | None = None,
             keep: Key | None = None) -> None:
        """The connection (or one namespace) is gone, or an error event came: its waiters
        fail; queues are kept. With ``keep`` (the error event's key), the plain waits
        (``wait_for``, not a request or a stream) that asked for that event are spared:
        it is theirs."""
        spared = set()
        if keep is not None:
            spared = {id(w[0]) for w in self.waiters.get(keep, ())
                      if w[4] is None and not isinstance(w[1], StreamTake)}
        for (nsp, _), waiters in self.waiters.items():
            if namespace is None or nsp == namespace:
                kept = []
                for waiter in waiters:
                    fut, _, _, _, op, _ = waiter
                    if id(fut) in spared:
                        kept.append(waiter)
                    elif not fut.done():
                        if op is not None:
                            self._recorder.fail(op, exc)
                        fut.set_exception(exc)
                waiters[:] = kept
