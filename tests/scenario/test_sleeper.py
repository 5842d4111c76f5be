"""Think-time sleeps share one loop timer (horde.scenario.sleeper)."""

from __future__ import annotations

import asyncio

import pytest

from horde.metrics.recorder import Recorder
from horde.scenario import sleeper
from horde.scenario.sleeper import Sleeper
from horde.scenario.user import User

pytestmark = pytest.mark.timeout(30)


def user(i: int = 0) -> User:
    return User(i, target="ws://127.0.0.1:9", recorder=Recorder(), stopping=asyncio.Event())


async def test_sleeps_wake_in_due_order():
    s = Sleeper(asyncio.get_running_loop())
    woke: list[float] = []
    futures = [s.sleep(d) for d in (0.03, 0.01, 0.02, 0.01)]
    for d, fut in zip((0.03, 0.01, 0.02, 0.01), futures, strict=True):
        fut.add_done_callback(lambda _f, d=d: woke.append(d))
    await asyncio.gather(*futures)
    assert woke == [0.01, 0.01, 0.02, 0.03]
    assert len(s) == 0


async def test_a_zero_wait_is_done_at_once():
    s = Sleeper(asyncio.get_running_loop())
    assert s.sleep(0).done() and s.sleep(-1).done()
    assert len(s) == 0


async def test_a_cancelled_sleep_is_skipped_and_the_others_still_wake():
    s = Sleeper(asyncio.get_running_loop())
    first, second = s.sleep(0.01), s.sleep(0.02)
    first.cancel()
    assert await second is None
    assert first.cancelled()


async def test_cancelled_sleeps_are_swept_once_the_heap_doubles():
    s = Sleeper(asyncio.get_running_loop())
    for _ in range(5000):
        s.sleep(3600).cancel()
    live = s.sleep(3600)
    assert len(s) <= 2 * 1024 + 1  # the cancelled ones do not pile up
    live.cancel()


async def test_many_sleeping_users_hold_one_loop_timer():
    loop = asyncio.get_running_loop()
    users = [user(i) for i in range(100)]
    timers_before = len(loop._scheduled)  # type: ignore[attr-defined]
    sleeps = [u.think(3600) for u in users]
    # asyncio.sleep would arm one timer per user (and keep a coroutine per user)
    assert len(loop._scheduled) - timers_before == 1  # type: ignore[attr-defined]
    task = asyncio.ensure_future(asyncio.gather(*sleeps))
    await asyncio.sleep(0)
    task.cancel()  # what the engine does when the run stops
    with pytest.raises(asyncio.CancelledError):
        await task
    assert all(f.cancelled() for f in sleeps)


async def test_think_waits_and_a_zero_think_does_not():
    u = user()
    loop = asyncio.get_running_loop()
    began = loop.time()
    await u.think(0.02)
    assert loop.time() - began >= 0.015
    assert u.think(0).done()


def test_each_loop_has_its_own_sleeper():
    async def one() -> Sleeper:
        sleeper.sleep(0.001)
        return sleeper._SLEEPERS[asyncio.get_running_loop()]

    assert asyncio.run(one()) is not asyncio.run(one())
