"""Exactly ``capacity`` answers at a time; the rest wait in a FIFO queue, for a while.

This is what makes the chatbot demo's capacity *known*: ``horde capacity`` against it
must find ``capacity`` within one step. A freed slot passes straight to the oldest waiter
(never to a newcomer), a waiter gives up after ``timeout_s`` (:class:`GateTimeoutError`,
the server's 504), and when ``queue_max`` are already waiting a newcomer is refused at once
(:class:`GateFullError`, the server's 503). No sockets: tested with plain coroutines.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import AsyncIterator


class GateFullError(Exception):
    """Every slot is busy and the queue is full."""


class GateTimeoutError(Exception):
    """Waited longer than the queue timeout for a slot."""


class CapacityGate:
    def __init__(self, capacity: int, queue_max: int) -> None:
        self.capacity = capacity
        self.queue_max = queue_max
        self.active = 0
        self.peak_active = 0
        self.peak_waiting = 0
        self.queued = 0  # answers that had to wait at all
        self._waiters: deque[asyncio.Future[None]] = deque()

    @property
    def waiting(self) -> int:
        return len(self._waiters)

    @property
    def busy(self) -> bool:
        """Every slot is taken: a newcomer would wait."""
        return self.active >= self.capacity

    @property
    def full(self) -> bool:
        """A newcomer would not even get into the queue."""
        return self.busy and self.waiting >= self.queue_max

    @contextlib.asynccontextmanager
    async def slot(self, timeout_s: float) -> AsyncIterator[None]:
        await self.acquire(timeout_s)
        try:
            yield
        finally:
            self.release()

    async def acquire(self, timeout_s: float) -> None:
        if not self.busy and not self._waiters:
            self._take()
            return
        if self.full:
            raise GateFullError
        loop = asyncio.get_running_loop()
        ticket: asyncio.Future[None] = loop.create_future()
        self._waiters.append(ticket)
        self.queued += 1
        self.peak_waiting = max(self.peak_waiting, self.waiting)
        timer = loop.call_later(timeout_s, self._expire, ticket)
        try:
            await ticket
        except asyncio.CancelledError:
            self._abandon(ticket)
            raise
        finally:
            timer.cancel()

    def release(self) -> None:
        """Hand the slot to the oldest waiter, or free it."""
        while self._waiters:
            ticket = self._waiters.popleft()
            if not ticket.done():
                ticket.set_result(None)  # the slot changes hands: active stays the same
                return
        self.active -= 1

    def _take(self) -> None:
        self.active += 1
        self.peak_active = max(self.peak_active, self.active)

    def _expire(self, ticket: asyncio.Future[None]) -> None:
        if not ticket.done():
            self._waiters.remove(ticket)
            ticket.set_exception(GateTimeoutError())

    def _abandon(self, ticket: asyncio.Future[None]) -> None:
        """The waiter was cancelled (its client left): give back a slot it was just handed."""
        if ticket.done() and not ticket.cancelled() and ticket.exception() is None:
            self.release()
        elif ticket in self._waiters:
            self._waiters.remove(ticket)
