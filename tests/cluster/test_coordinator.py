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


async def test_a_caller_that_cancels_while_ray_starts_gets_no_workers(monkeypatch):
    """Ray takes seconds to start: the caller's cancel (``horde.run`` under its own
    timeout) ends the wait, and no worker is placed after."""
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
    workers = coordinator.Workers(config)
    opening = asyncio.create_task(workers.open())
    await asyncio.sleep(0.05)
    opening.cancel()
    await asyncio.gather(opening, return_exceptions=True)
    assert workers.pool is None and cancelled == [True]
