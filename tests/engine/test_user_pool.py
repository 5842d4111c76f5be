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

@horde.behaviour
async def hold(user):
    await user.think(3600)

@horde.on_stop
async def bye(user):
    await asyncio.sleep(0.02)  # long enough to see how many stop at once
    with open(LOG, "a") as f:
        f.write(f"{{user.id}}\\n")
    if user.id == 3:
        raise RuntimeError("on_stop broke")
"""


def pool_for(path, stopping: asyncio.Event) -> UserPool:
    scenario = load_scenario(path)
    recorder = Recorder()

    def make(i: int) -> User:
        return User(i, target="ws://127.0.0.1:9", recorder=recorder, stopping=stopping)

    return UserPool(make, scenario, None, grace_s=1.0)


async def test_a_running_user_costs_its_task_one_done_callback(write_scenario, tmp_path):
    pool = pool_for(write_scenario(IDLE.format(log=str(tmp_path / "log"))), asyncio.Event())
    pool.start()
    await asyncio.sleep(0.01)
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
    await asyncio.sleep(0.01)
    others = len(asyncio.all_tasks()) - 20  # the test's own task, not the users'
    closing = asyncio.ensure_future(pool.close())
    while not log.exists():  # the first users are being stopped
        await asyncio.sleep(0.005)
    # the users' tasks are done: what runs now is the stoppers and close() itself
    assert len(asyncio.all_tasks()) - others <= 4 + 1
    await closing  # user 3's on_stop raised: counted, and the others still stopped
    assert sorted(int(line) for line in log.read_text().split()) == list(range(20))
