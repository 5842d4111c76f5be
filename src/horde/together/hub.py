"""The hub: what the users of one run share (events, groups, broadcasts, push checks).

The runner makes one per run and hands it to every :class:`~horde.scenario.user.User`.
Trackers are made on first use and only then add their section to results.json, so a
scenario that never uses broadcasts has no ``broadcasts`` section.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from horde.together.events import Events

if TYPE_CHECKING:
    from horde.metrics.recorder import Recorder


class Hub:
    def __init__(self, recorder: Recorder) -> None:
        self.recorder = recorder
        self._events: Events | None = None

    @property
    def events(self) -> Events:
        if self._events is None:
            self._events = Events()
            self.recorder.add_section("events", self._events.snapshot)
        return self._events
