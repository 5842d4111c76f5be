"""The coordinator's own rules, without Ray."""

from __future__ import annotations

from pathlib import Path

from horde.cluster.coordinator import FINISH_MARGIN_S, finish_within
from horde.config.model import RunConfig


def test_a_stuck_worker_is_given_up_a_minute_after_the_plan_not_after_the_time_cap():
    config = RunConfig(scenario=Path("s.py"), target="http://127.0.0.1:9", duration_s=30)
    assert config.max_duration_s >= 3600  # the 6 h hard cap a stuck worker waited for
    assert finish_within(config, 30.0) == 30.0 + config.stop_timeout_s + FINISH_MARGIN_S
    short_cap = config.model_copy(update={"max_duration_s": 10.0})
    assert finish_within(short_cap, 30.0) == 10.0 + config.stop_timeout_s + FINISH_MARGIN_S


async def test_placing_the_workers_ends_with_a_stop_or_a_cancel_and_places_none(monkeypatch):
    """Ray takes seconds to start: a Ctrl-C (``stop``) or the caller's cancel ends the
    wait at once, and the start is cancelled so no worker is placed after."""
    import asyncio

    from horde.cluster import coordinator

    cancelled = []

    async def slow_start(workers, address):
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            cancelled.append(True)
            raise

    monkeypatch.setattr(coordinator, "import_ray", lambda: None)
    monkeypatch.setattr(coordinator.RayPool, "start", slow_start)
    config = RunConfig(scenario=Path("s.py"), target="http://127.0.0.1:9", workers=2)
    stop = asyncio.Event()
    workers = coordinator.Workers(config)
    asyncio.get_running_loop().call_later(0.05, stop.set)
    await asyncio.wait_for(workers.open(stop), 10)
    await asyncio.sleep(0)
    assert workers.pool is None and cancelled == [True]

    other = coordinator.Workers(config)
    opening = asyncio.create_task(other.open(asyncio.Event()))
    await asyncio.sleep(0.05)
    opening.cancel()
    await asyncio.gather(opening, return_exceptions=True)
    await asyncio.sleep(0)
    assert other.pool is None and cancelled == [True, True]
