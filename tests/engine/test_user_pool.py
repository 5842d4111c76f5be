"""The user pool's bookkeeping: what it costs per idle user, and stopping everyone."""

from __future__ import annotations

import asyncio

import pytest

from horde.engine import user_pool
from horde.engine.user_pool import UserPool
from horde.metrics.recorder import Recorder
from horde.scenario.loader import load_scenario
from horde.scenario.user import User

pytestmark = pytest.mark.timeout(30)

IDLE = """
import asyncio
import horde
LOG = {log!r}
STOPPING = [0, 0]  # on_stops running now, the most at once so far

@horde.behaviour
async def hold(user):
    with open(LOG + ".started", "a") as f:
        f.write(f"{{user.id}}\\n")
    await user.think(3600)

@horde.on_stop
async def bye(user):
    STOPPING[0] += 1
    STOPPING[1] = max(STOPPING)
    await asyncio.sleep(0.02)  # long enough for the stoppers to overlap
    STOPPING[0] -= 1
    with open(LOG, "a") as f:
        f.write(f"{{user.id}} {{STOPPING[1]}}\\n")
    if user.id == 3:
        raise RuntimeError("on_stop broke")
"""


async def all_started(log, users: int) -> None:
    """Every user's behaviour began (its life did: close() runs its on_stop)."""
    started = log.with_name(log.name + ".started")
    while not started.exists() or len(started.read_text().split()) < users:
        await asyncio.sleep(0.005)


def pool_for(path, stopping: asyncio.Event) -> UserPool:
    scenario = load_scenario(path)
    recorder = Recorder()

    def make(i: int) -> User:
        return User(i, target="ws://127.0.0.1:9", recorder=recorder, stopping=stopping)

    return UserPool(make, scenario, None, grace_s=1.0)


async def test_a_running_user_costs_its_task_one_done_callback(write_scenario, tmp_path):
    pool = pool_for(write_scenario(IDLE.format(log=str(tmp_path / "log"))), asyncio.Event())
    pool.start()
    await all_started(tmp_path / "log", 1)
    (task,) = pool._tasks.values()
    # a task keeps its first callback inline; a second costs a list, a tuple, a Context
    assert len(task._callbacks) == 1
    assert pool.running == 1
    await pool.close()
    assert pool.running == 0


async def test_close_stops_every_user_a_bounded_number_at_a_time(
    write_scenario, tmp_path, monkeypatch
):
    monkeypatch.setattr(user_pool, "STOP_CONCURRENCY", 4)
    log = tmp_path / "log"
    path = write_scenario(IDLE.format(log=str(log)))
    pool = pool_for(path, asyncio.Event())
    for _ in range(20):
        pool.start()
    await all_started(log, 20)
    await pool.close()  # user 3's on_stop raised: counted, and the others still stopped
    stopped = [line.split() for line in log.read_text().splitlines()]
    assert sorted(int(user) for user, _ in stopped) == list(range(20))
    assert max(int(most) for _, most in stopped) == 4  # four at a time, never more


HELD_TASKS = """
import asyncio
import weakref
import horde
SEEN = {seen!r}

@horde.behaviour
async def hold(user):
    user.state.task = weakref.ref(asyncio.current_task())
    await user.think(3600)

@horde.on_stop
async def bye(user):
    with open(SEEN, "a") as f:
        f.write(f"{{user.state.task() is None}}\\n")
"""


async def test_cancelled_users_tasks_are_let_go_before_they_are_stopped(
    write_scenario, tmp_path
):
    """Each cancelled task keeps its CancelledError and the frames it unwound: held
    while 10,000 users closed their connections, they raised the run's peak memory."""
    seen = tmp_path / "seen"
    pool = pool_for(write_scenario(HELD_TASKS.format(seen=str(seen))), asyncio.Event())
    for _ in range(5):
        pool.start()
    while pool.running < 5 or not all(hasattr(u.state, "task") for u in pool._tasks):
        await asyncio.sleep(0.005)
    await pool.close()
    assert seen.read_text().split() == ["True"] * 5  # gone when its on_stop ran
