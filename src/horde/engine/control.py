"""Live control of a running run: what a dashboard may read and the two things it may do.

The runner hands one :class:`RunControl` to every sink that has an ``attach(port)``
method; the sink sees it as a :class:`~horde.sinks.base.RunPort` and knows nothing else of
the engine. Through it a sink can change the closed model's user count, stop the run (the
results are still written, with status ``stopped``) and read the live totals (errors,
thresholds evaluated on the results so far). Everything else stays one-way: rows and
results flow down to sinks as before.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from horde.engine.pacing import Progress
from horde.errors import UsageError
from horde.metrics.aggregator import Aggregator
from horde.metrics.thresholds import Threshold, evaluate
from horde.report.results import build_results

MAX_USERS = 1_000_000  # a typo guard, not a capacity claim


@dataclass
class RunControl:
    """A handle on one run: its progress, its stop event, its live aggregate."""

    progress: Progress
    stop: asyncio.Event
    aggregator: Aggregator
    thresholds: tuple[Threshold, ...] = ()
    roster_size: int | None = None  # a ROLES scenario: never more users than its roster
    info: dict[str, Any] = field(default_factory=dict)  # scenario, target, shape
    stopped_by: str | None = None
    clock: Callable[[], float] = time.perf_counter  # the clock progress.began_at is on

    @property
    def open_model(self) -> bool:
        return self.progress.plan.open_model

    @property
    def stopping(self) -> bool:
        return self.stop.is_set()

    def facts(self) -> dict[str, Any]:
        """What the run is and who holds it: the dashboard's status shows these."""
        return {
            **self.info,
            "open_model": self.open_model,
            "override_users": self.progress.override_users,
            "roster_size": self.roster_size,
            "stopped_by": self.stopped_by,
        }

    def set_users(self, users: int | None) -> int | None:
        """Hold ``users`` users from now on (closed model), instead of the plan's target;
        ``None`` goes back to following the plan.

        Applied at once, without a ramp; the plan still decides when the run ends.
        Returns the count applied: with a roster, clamped to its size. A change the run
        cannot make (open model, stopping, not a count) is a :class:`UsageError`."""
        if self.open_model:
            raise UsageError(
                "this run follows an arrival rate (open model): its user count is not "
                "set, sessions start when due"
            )
        if self.stop.is_set():
            raise UsageError("the run is stopping")
        if users is None:
            self.progress.override_users = None
            return None
        if isinstance(users, bool) or not isinstance(users, int) or not 0 <= users <= MAX_USERS:
            raise UsageError(f"users must be a whole number from 0 to {MAX_USERS}")
        if self.roster_size is not None:
            users = min(users, self.roster_size)
        self.progress.override_users = users
        return users

    def stop_run(self, by: str = "dashboard") -> None:
        """End the load now; the run tears down and writes its results as usual."""
        if not self.stop.is_set():
            self.stopped_by = by
            self.stop.set()

    def live_results(self) -> dict[str, Any]:
        """The results so far, with thresholds evaluated on them — as ``--abort-on-fail``
        sees them. Costs a percentile pass over the run's histograms: call it once a
        second at most."""
        began = self.progress.began_at
        elapsed_s = self.clock() - began if began is not None else 0.0
        live = build_results(self.aggregator, run={"duration_s": elapsed_s}, generator={})
        live["thresholds"] = evaluate(
            self.thresholds, live, self.aggregator.totals.latencies
        )
        return live
