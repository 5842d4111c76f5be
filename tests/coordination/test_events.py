"""Run-wide events: counted signals that users wait on, with timeouts."""

import asyncio

import pytest

from horde.coordination.events import Events
from horde.errors import OperationTimeoutError


async def test_a_wait_returns_once_the_event_reaches_its_count():
    events = Events()
    waiter = asyncio.create_task(events.wait("team_formed", count=3, timeout=2))
    for _ in range(2):
        events.signal("team_formed")
        await asyncio.sleep(0)
        assert not waiter.done()
    assert events.signal("team_formed") == 3
    await waiter
    await events.wait("team_formed", count=2)  # already reached: returns at once
    assert events.snapshot() == {"team_formed": 3}


async def test_a_wait_that_times_out_says_how_far_the_event_got():
    events = Events()
    events.signal("team_formed")
    with pytest.raises(OperationTimeoutError, match=r"event 'team_formed': 1 of 5 after 0.05s") as err:
        await events.wait("team_formed", count=5, timeout=0.05)
    assert err.value.detail == "event:team_formed"
    assert events.is_set("team_formed") and not events.is_set("game_started")
