"""When each user starts: a pure schedule, and the loop that follows it.

The schedule is data (start offsets in seconds), so it is testable without a clock; the
loop sleeps until the next offset and starts every user that is due.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator

MIN_SLEEP_S = 0.005


def start_offsets(users: int, rate_per_s: float) -> Iterator[float]:
    """Offsets (s from the start of the run) at which users 0..n-1 start."""
    for i in range(users):
        yield i / rate_per_s


async def spawn(
    users: int,
    rate_per_s: float,
    start_user: Callable[[int], None],
    clock: Callable[[], float],
) -> None:
    """Call ``start_user(i)`` for every user at its offset; returns when all have started."""
    t0 = clock()
    pending = list(start_offsets(users, rate_per_s))
    i = 0
    while i < len(pending):
        elapsed = clock() - t0
        while i < len(pending) and pending[i] <= elapsed:
            start_user(i)
            i += 1
        if i < len(pending):
            await asyncio.sleep(max(pending[i] - (clock() - t0), MIN_SLEEP_S))
