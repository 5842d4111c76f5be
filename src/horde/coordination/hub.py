"""The hub: what the users of one run share (events, groups, broadcasts, push checks).

The runner makes one per run and hands it to every :class:`~horde.scenario.user.User`.
Trackers are made on first use and only then add their section to results.json, so a
scenario that never uses broadcasts has no ``broadcasts`` section.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from horde.coordination.broadcasts import BroadcastTracker
from horde.coordination.events import Events
from horde.delivery.isolation import IsolationTracker
from horde.delivery.ordering import OrderingTracker

if TYPE_CHECKING:
    from horde.metrics.recorder import Recorder


class Hub:
    def __init__(self, recorder: Recorder) -> None:
        self.recorder = recorder
        self._events: Events | None = None
        self._broadcasts: BroadcastTracker | None = None
        self._isolation: IsolationTracker | None = None
        self._ordering: OrderingTracker | None = None

    def forget(self, user_name: str) -> None:
        """A user stopped: trackers that keep per-user state (subscriptions, tokens) drop
        it, so what they expect next is only what live users can receive."""
        for tracker in list(vars(self).values()):
            forget = getattr(tracker, "forget", None)
            if callable(forget) and tracker is not self.recorder:
                forget(user_name)

    @property
    def events(self) -> Events:
        if self._events is None:
            self._events = Events()
            self.recorder.add_section("events", self._events.snapshot)
        return self._events

    @property
    def broadcasts(self) -> BroadcastTracker:
        if self._broadcasts is None:
            self._broadcasts = BroadcastTracker(self.recorder)
            self.recorder.add_section("broadcasts", self._broadcasts.snapshot)
        return self._broadcasts

    @property
    def isolation(self) -> IsolationTracker:
        if self._isolation is None:
            self._isolation = IsolationTracker(self.recorder)
            self.recorder.add_section("isolation", self._isolation.snapshot)
        return self._isolation

    @property
    def ordering(self) -> OrderingTracker:
        if self._ordering is None:
            self._ordering = OrderingTracker(self.recorder)
            self.recorder.add_section("ordering", self._ordering.snapshot)
        return self._ordering
