"""Named run-wide events: any user signals, any user waits — with a timeout.

An event is a counter. ``signal("team_formed")`` adds one; ``wait("team_formed",
count=100)`` returns once it has been signalled 100 times (a dashboard waiting for every
team), ``wait("game_started")`` once it has been signalled at all. A wait that times out
raises :class:`~horde.errors.OperationTimeoutError` naming the event and how far it got.

On workers, each worker counts its own signals and learns the others' from the
coordinator a few times a second (:meth:`Events.set_others`): a wait anywhere sees every
worker's signals, a fraction of a second late.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from horde.errors import OperationTimeoutError


@dataclass(slots=True)
class _Event:
    count: int = 0  # signalled here
    others: int = 0  # signalled on other workers, as last heard
    waiters: list[tuple[int, asyncio.Future[None]]] = field(default_factory=list)

    @property
    def total(self) -> int:
        return self.count + self.others

    def wake(self) -> None:
        still = []
        for need, fut in self.waiters:
            if fut.done():
                continue
            if self.total >= need:
                fut.set_result(None)
            else:
                still.append((need, fut))
        self.waiters = still


class Events:
    """Run-wide named events, as ``user.events``: counters any user signals and any user
    waits on (see the module's docstring)."""

    def __init__(self) -> None:
        self._events: dict[str, _Event] = {}

    def signal(self, name: str, n: int = 1) -> int:
        """Count ``n`` more occurrences of ``name``; wakes every wait now satisfied.
        Returns the new count."""
        event = self._events.setdefault(name, _Event())
        event.count += n
        event.wake()
        return event.total

    def count(self, name: str) -> int:
        """How many times ``name`` has been signalled so far, run-wide."""
        event = self._events.get(name)
        return event.total if event else 0

    def is_set(self, name: str) -> bool:
        """Whether ``name`` has been signalled at least once."""
        return self.count(name) > 0

    async def wait(self, name: str, count: int = 1, timeout: float | None = None) -> None:
        """Until ``name`` has been signalled ``count`` times; at most ``timeout`` seconds."""
        event = self._events.setdefault(name, _Event())
        if event.total >= count:
            return
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        event.waiters.append((count, fut))
        try:
            await asyncio.wait_for(fut, timeout)
        except TimeoutError:
            raise OperationTimeoutError(
                f"event {name!r}: {event.total} of {count} after {timeout:g}s",
                detail=f"event:{name}",
            ) from None

    def snapshot(self) -> dict[str, int]:
        """Every event and its run-wide count (results.json ``events``)."""
        return {name: e.total for name, e in sorted(self._events.items())}

    def own_counts(self) -> dict[str, int]:
        """Each event's signals made here (a worker ships these to the coordinator)."""
        return {name: e.count for name, e in self._events.items()}

    def set_others(self, others: dict[str, int]) -> None:
        """The signals other workers made, as the coordinator last heard them; waits
        they satisfy end now."""
        for name, n in others.items():
            event = self._events.setdefault(name, _Event())
            if n != event.others:
                event.others = n
                event.wake()
