"""Think-time sleeps of every user of a loop on one timer.

``asyncio.sleep`` costs a coroutine, a future and a loop timer per sleeping user: ~1.1 KB
and five objects the garbage collector walks, for each of 10,000 idle users holding a
connection. Here a sleep is a future in a heap ordered by due time, and one loop timer,
re-armed for the earliest, wakes whoever is due (~0.3 KB per sleeping user).

A sleep whose waiter was cancelled (the run ended, the user was retired) is skipped when
it comes due; the heap is swept of them whenever it has doubled since the last sweep, so
cancelled sleeps never outnumber live ones for long.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import weakref

# uvloop's timers tick in milliseconds: a wake-up may come this much before a due time.
_SLACK_S = 0.001
_MIN_SWEEP = 1024  # never sweep a heap smaller than this


class Sleeper:
    """The sleeps of one event loop: :meth:`sleep` returns a future resolved when due."""

    __slots__ = ("_heap", "_loop", "_order", "_sweep_at", "_timer", "_timer_at")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._heap: list[tuple[float, int, asyncio.Future[None]]] = []
        self._order = itertools.count()  # ties on the due time wake in call order
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at = 0.0
        self._sweep_at = _MIN_SWEEP

    def __len__(self) -> int:
        """Sleeps in the heap, cancelled ones not yet swept included."""
        return len(self._heap)

    def sleep(self, seconds: float) -> asyncio.Future[None]:
        """A future resolved (with ``None``) ``seconds`` from now; cancel it to stop waiting."""
        loop = self._loop
        fut: asyncio.Future[None] = loop.create_future()
        if seconds <= 0:
            fut.set_result(None)
            return fut
        due = loop.time() + seconds
        heap = self._heap
        heapq.heappush(heap, (due, next(self._order), fut))
        if len(heap) > self._sweep_at:
            self._sweep()
        if self._timer is None or due < self._timer_at:
            self._arm(due)
        return fut

    def _arm(self, due: float) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer = self._loop.call_at(due, self._wake)
        self._timer_at = due

    def _wake(self) -> None:
        """Resolve every sleep that is due, then re-arm for the earliest one left."""
        self._timer = None
        heap = self._heap
        now = self._loop.time() + _SLACK_S
        while heap and heap[0][0] <= now:
            fut = heapq.heappop(heap)[2]
            if not fut.done():
                fut.set_result(None)
        if heap:
            self._arm(heap[0][0])

    def _sweep(self) -> None:
        """Drop the sleeps nobody waits for any more."""
        heap = self._heap = [entry for entry in self._heap if not entry[2].done()]
        heapq.heapify(heap)
        self._sweep_at = max(_MIN_SWEEP, 2 * len(heap))


_SLEEPERS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Sleeper] = (
    weakref.WeakKeyDictionary()
)


def sleep(seconds: float) -> asyncio.Future[None]:
    """Sleep ``seconds`` on the running loop's :class:`Sleeper` (made on first use)."""
    loop = asyncio.get_running_loop()
    sleeper = _SLEEPERS.get(loop)
    if sleeper is None:
        sleeper = _SLEEPERS[loop] = Sleeper(loop)
    return sleeper.sleep(seconds)
