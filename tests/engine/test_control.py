"""Live control: the driver holds the overridden user count; RunControl checks each change."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from horde.config.model import RunConfig
from horde.engine import pacing
from horde.engine.control import RunControl
from horde.engine.pacing import Progress, follow_users
from horde.errors import UsageError


class Always:
    def allows_more(self, t: float) -> bool:
        return True


class CountingPool:
    """Just the counts ``follow_users`` reads and changes."""

    def __init__(self) -> None:
        self.started = 0
        self.retired = 0
        self.history: list[int] = []

    @property
    def alive(self) -> int:
        return self.started - self.retired

    @property
    def running(self) -> int:
        return self.alive

    def start(self) -> bool:
        self.started += 1
        return True

    def retire_newest(self, excess: int = 1) -> bool:
        self.retired += 1
        return True

    def all_done(self) -> bool:
        return False


def plan(shape: str | None = None, users: int = 2):
    if shape is not None:  # a shape sets its own users and length
        return RunConfig(scenario=Path("x.py"), target="http://h", shape=shape).plan
    return RunConfig(
        scenario=Path("x.py"), target="http://h", users=users, spawn_rate=1000, duration_s=1,
    ).plan


class StepClock:
    """Advances 10 ms per call; runs each change once time passes its mark."""

    def __init__(self, changes: dict[float, object]) -> None:
        self.now = 0.0
        self.changes = dict(changes)

    def __call__(self) -> float:
        self.now += 0.01
        for mark in [m for m in self.changes if self.now >= m]:
            self.changes.pop(mark)()
        return self.now


async def test_the_driver_holds_the_override_then_follows_the_plan_again(monkeypatch):
    monkeypatch.setattr(pacing, "TICK_S", 0.0)  # don't sleep between ticks
    progress = Progress(plan(users=2), Always())  # type: ignore[arg-type]
    pool = CountingPool()
    seen: list[int] = []

    def note(users: int | None):
        def change() -> None:
            seen.append(pool.alive)
            progress.override_users = users
        return change

    clock = StepClock({0.3: note(7), 0.6: note(1), 0.8: note(None)})
    await follow_users(plan(users=2), pool, clock, progress, until_done=False)  # type: ignore[arg-type]
    assert seen == [2, 7, 1]  # plan's 2 → held 7 → held 1 → back to the plan
    assert pool.alive == 2 and progress.target == 2


def control_for(shape: str | None = None, roster: int | None = None) -> RunControl:
    progress = Progress(plan(shape), Always())  # type: ignore[arg-type]
    return RunControl(progress, asyncio.Event(), aggregator=None, roster_size=roster)  # type: ignore[arg-type]


def test_set_users_clamps_to_a_roster_and_checks_its_input():
    control = control_for(roster=4)
    assert control.set_users(10) == 4 and control.progress.override_users == 4
    assert control.set_users(0) == 0
    assert control.set_users(None) is None and control.progress.override_users is None
    for bad in (-1, 2.5, True, "3"):
        with pytest.raises(UsageError, match="whole number"):
            control.set_users(bad)  # type: ignore[arg-type]


def test_an_open_model_run_refuses_a_user_count():
    control = control_for(shape="arrival-rate(rate=2, duration=10s)")
    with pytest.raises(UsageError, match="arrival rate"):
        control.set_users(3)


def test_stop_marks_who_stopped_and_refuses_later_changes():
    control = control_for()
    control.stop_run("dashboard")
    assert control.stop.is_set() and control.stopped_by == "dashboard"
    control.stop_run("someone else")
    assert control.stopped_by == "dashboard"
    with pytest.raises(UsageError, match="stopping"):
        control.set_users(3)


def test_what_a_sink_reads_through_the_port():
    from horde.metrics.aggregator import Aggregator
    from horde.metrics.recorder import Recorder

    progress = Progress(plan(users=3), Always())  # type: ignore[arg-type]
    control = RunControl(progress, asyncio.Event(), Aggregator(Recorder()), roster_size=None,
                         info={"scenario": "s", "target": "http://h"}, clock=lambda: 107.0)
    assert control.live_results()["duration_s"] == 0.0  # not begun: nothing elapsed yet
    progress.began_at = 100.0
    assert control.live_results()["duration_s"] == 7.0  # on the clock began_at is on
    control.set_users(2)
    assert control.facts() == {"scenario": "s", "target": "http://h", "open_model": False,
                               "override_users": 2, "roster_size": None, "stopped_by": None}
    assert not control.stopping
    control.stop_run("dashboard")
    assert control.stopping and control.facts()["stopped_by"] == "dashboard"
