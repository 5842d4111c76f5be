"""Pacing on a fake clock: when each user and session starts, to the tick.

These tests run on looptime's virtual time (``@pytest.mark.looptime``): the event loop's
clock moves only when every task waits, and jumps straight to the next timer. The drivers
take that clock, the users' think times sleep on it, and so every start time here is an
exact consequence of the plan, on a busy machine as on an idle one.
"""

from __future__ import annotations

import asyncio

import pytest

from horde.engine.circuit_breaker import CircuitBreaker
from horde.engine.pacing import TICK_S, Progress, follow_arrivals, follow_users
from horde.engine.segments import Segment
from horde.engine.user_pool import UserPool
from horde.metrics.recorder import ConnectionCounts, Recorder
from horde.scenario.loader import load_scenario
from horde.scenario.user import User
from horde.shapes import parse_shape

pytestmark = [pytest.mark.looptime, pytest.mark.timeout(30)]

THINK = """
import horde

@horde.behaviour
async def hold(user):
    await user.think({seconds})
"""


class Pacing:
    """A real user pool on the loop's clock, which notes when each user starts."""

    def __init__(self, path, shape: str, *, iterations: int | None = None,
                 breaker: CircuitBreaker | None = None) -> None:
        self.loop = asyncio.get_running_loop()
        self.t0 = self.loop.time()
        self.starts: list[float] = []
        recorder, stopping = Recorder(), asyncio.Event()

        def make(i: int) -> User:
            self.starts.append(round(self.loop.time() - self.t0, 6))
            return User(i, target="ws://127.0.0.1:9", recorder=recorder, stopping=stopping)

        self.pool = UserPool(make, load_scenario(path), iterations, grace_s=1.0)
        self.plan = parse_shape(shape).plan()
        self.progress = Progress(self.plan, breaker or CircuitBreaker(ConnectionCounts(), None))

    def now(self) -> float:
        return round(self.loop.time() - self.t0, 6)

    def clock(self) -> float:
        return self.loop.time()


def ticks(*seconds: float) -> list[float]:
    """The first driver tick at or after each time (the drivers look every TICK_S)."""
    return [round(s + TICK_S, 6) for s in seconds]


async def test_a_ramp_starts_each_user_on_the_first_tick_it_is_due(write_scenario):
    p = Pacing(write_scenario(THINK.format(seconds=3600)), "ramp(to=4, over=2s, hold=1s)")
    await follow_users(p.plan, p.pool, p.clock, p.progress, until_done=False)
    # the target is rounded up: user k is due as soon as the ramp passes k - 1
    assert p.starts == pytest.approx(ticks(0, 0.5, 1.0, 1.5), abs=1e-6)
    assert p.now() == pytest.approx(3.0, abs=TICK_S)  # the plan's end, not a second later
    assert p.pool.running == 4 and p.progress.target == 4
    await p.pool.close()


async def test_a_lower_override_retires_the_newest_users(write_scenario):
    p = Pacing(write_scenario(THINK.format(seconds=3600)), "constant(users=4, duration=3s)")
    p.loop.call_at(p.t0 + 1.0, setattr, p.progress, "override_users", 1)
    driver = asyncio.create_task(
        follow_users(p.plan, p.pool, p.clock, p.progress, until_done=False))
    await asyncio.sleep(2.0)
    assert p.pool.running == 1 and p.pool.retired == 3 and p.progress.target == 1
    (kept,) = [user.id for user in p.pool._tasks]
    assert kept == 0  # the oldest stays: the newest are retired first
    p.progress.override_users = None
    await driver
    assert p.pool.alive == 4  # back to the plan: three new users, one per retired one
    await p.pool.close()


async def test_users_that_finish_their_iterations_end_the_plan_early(write_scenario):
    p = Pacing(write_scenario(THINK.format(seconds=0.3)), "constant(users=2, duration=60s)",
               iterations=1)
    await follow_users(p.plan, p.pool, p.clock, p.progress, until_done=True)
    assert p.starts == [0, 0]  # a constant plan wants both at once
    assert p.now() == pytest.approx(0.3 + TICK_S, abs=1e-6)  # the tick after they end


async def test_a_tripped_breaker_starts_nobody(write_scenario):
    connections = ConnectionCounts(attempted=20, failed=20)
    breaker = CircuitBreaker(connections, limit=0.1)
    p = Pacing(write_scenario(THINK.format(seconds=3600)), "constant(users=4, duration=1s)",
               breaker=breaker)
    await follow_users(p.plan, p.pool, p.clock, p.progress, until_done=False)
    assert p.starts == [] and breaker.tripped_at == 0


async def test_arrivals_start_on_their_due_times(write_scenario):
    p = Pacing(write_scenario(THINK.format(seconds=0.1)), "arrival-rate(rate=2, duration=3s)")
    await follow_arrivals(p.plan, p.pool, p.clock, p.progress)
    assert p.starts == pytest.approx([0, 0.5, 1.0, 1.5, 2.0, 2.5], abs=1e-6)
    assert p.now() == pytest.approx(3.0, abs=1e-6)
    assert (p.progress.late_sessions, p.progress.dropped_sessions) == (0, 0)
    await p.pool.wait_sessions()


async def test_a_full_cap_makes_sessions_late_and_drops_what_is_left(write_scenario):
    """Four arrivals a second for 2 s, one session at a time, each 0.6 s long: the one due
    at 0 runs at once; those due at 0.25, 0.5, 0.75 start when a slot frees (late); the
    four due from 1.0 on are still waiting when the plan ends (dropped)."""
    p = Pacing(write_scenario(THINK.format(seconds=0.6)),
               "arrival-rate(rate=4, duration=2s, max_concurrent=1)")
    await follow_arrivals(p.plan, p.pool, p.clock, p.progress)
    assert p.starts == pytest.approx([0, 0.6, 1.2, 1.8], abs=1e-6)
    assert (p.progress.late_sessions, p.progress.dropped_sessions) == (3, 4)
    await p.pool.wait_sessions()


async def test_a_worker_starts_only_its_segment_of_the_arrivals(write_scenario):
    p = Pacing(write_scenario(THINK.format(seconds=0.1)), "arrival-rate(rate=2, duration=3s)")
    await follow_arrivals(p.plan, p.pool, p.clock, p.progress, Segment(index=1, count=2))
    assert p.starts == pytest.approx([0.5, 1.5, 2.5], abs=1e-6)  # arrivals 1, 3, 5 of 0-5
    await p.pool.wait_sessions()
