"""Pacing: make the user pool follow a plan.

``follow_users`` (closed model) starts users while fewer are alive than the plan's
target and retires the newest while more are running; ``follow_arrivals`` (open model)
starts a session at each due arrival time — or, when ``max_concurrent`` are running, as
soon as a slot frees, timed from when it was due and counted as late. Both return when
the plan is over — or, for a closed run with ``--iterations``, when every user the plan
called for has finished.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from horde.engine.circuit_breaker import CircuitBreaker
from horde.engine.segments import WHOLE, RosterShare, Segment
from horde.engine.user_pool import UserPool
from horde.shapes.plan import Plan, arrival_times

TICK_S = 0.01


@dataclass(slots=True)
class Progress:
    """What the drivers tell the rest of the run: when the load began (loop time), the
    target now, the stage now, and open-model sessions that could not start on time.

    ``override_users`` is the one way back in: when set (the dashboard's user count),
    ``follow_users`` holds that many users instead of the plan's target."""

    plan: Plan
    breaker: CircuitBreaker
    began_at: float | None = None
    target: float = 0.0
    dropped_sessions: int = 0
    late_sessions: int = 0
    abort_reason: str | None = None
    override_users: int | None = None
    # load time the row's data runs to, when not the row's own end: the windows that
    # workers close, each half a second before the coordinator's row (cluster/coordinator)
    data_until_s: float | None = None

    def snapshot(self, window_start: float, now: float) -> dict[str, object]:
        """The plan's fields of the per-second row for the window ``window_start``–``now``:
        its stage is the one at the window's middle (a window ends as the next begins)."""
        if self.began_at is None:
            return {"stage": None, "target": None}
        if self.data_until_s is not None:
            middle = self.data_until_s - (now - window_start) / 2
        else:
            middle = (window_start + now) / 2 - self.began_at
        stage = self.plan.stage_at(middle) if middle >= 0 else None
        return {"stage": stage, "target": self.target}


def target_users(plan: Plan, t: float) -> int:
    """Users the plan wants at ``t``: rounded up, so user i starts as soon as it is due."""
    return max(math.ceil(plan.value_at(t) - 1e-9), 0)


async def follow_users(
    plan: Plan,
    pool: UserPool,
    clock: Callable[[], float],
    progress: Progress,
    *,
    until_done: bool,
    share: Segment | RosterShare = WHOLE,
) -> None:
    """Hold the plan's users — of them, this worker's ``share`` (see engine/segments.py)."""
    t0 = progress.began_at = clock()
    peak = share.share(math.ceil(plan.peak() - 1e-9))
    while (t := clock() - t0) < plan.duration_s:
        target = progress.override_users
        if target is None:
            target = target_users(plan, t)
        target = progress.target = share.share(target)
        while pool.alive < target and progress.breaker.allows_more(t) and pool.start():
            pass
        while pool.running > target and pool.retire_newest(pool.running - target):
            pass
        if until_done and pool.alive >= peak and pool.all_done():
            return
        await asyncio.sleep(TICK_S)


async def follow_arrivals(
    plan: Plan, pool: UserPool, clock: Callable[[], float], progress: Progress,
    segment: Segment = WHOLE,
) -> None:
    """Start each session when due. When ``max_concurrent`` are running, a due session
    waits for a free slot and starts late — timed from when it was due (coordinated
    omission) and counted as late; those still waiting when the plan ends are dropped.
    On a worker, only the ``segment``'s arrivals, under its part of the cap."""
    cap = segment.split(plan.max_concurrent) if plan.max_concurrent else math.inf
    t0 = progress.began_at = clock()
    waiting: deque[float] = deque()  # due times (loop clock) of sessions held by the cap

    def start_waiting() -> None:
        while waiting and pool.running < cap:
            pool.start_session(waiting.popleft())
            progress.late_sessions += 1

    async def until(deadline: float) -> None:
        while (rest := deadline - clock()) > 0:
            start_waiting()
            if not waiting:
                await asyncio.sleep(rest)
                return
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(pool.slot_freed(), rest)
        start_waiting()

    for n, due in enumerate(arrival_times(plan)):
        if not segment.owns(n):
            continue
        await until(t0 + due)
        t = clock() - t0
        progress.target = plan.value_at(t) / segment.count
        if not progress.breaker.allows_more(t):
            break
        if pool.running >= cap or waiting:
            waiting.append(t0 + due)
        else:
            pool.start_session(t0 + due)
    await until(t0 + plan.duration_s)
    progress.dropped_sessions += len(waiting)
