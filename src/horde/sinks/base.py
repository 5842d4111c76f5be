"""A sink receives what the aggregator produced: one row per second, then the results.

Console, files, dashboards and stores are all sinks; none of them imports the engine.
A sink must not raise: the engine logs and drops a failing sink.

The one way back up is :class:`RunPort`: a sink with an ``attach(port)`` method is handed
one when the run starts (a live view: the dashboard, the Prometheus endpoint). Through it
it may do two things to the run — hold a user count, stop it — and read what the run is
now. The engine's :class:`~horde.engine.control.RunControl` is what it gets.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from horde.metrics.aggregator import Aggregator


class Sink(Protocol):
    def on_row(self, row: dict[str, Any]) -> None: ...

    def on_finish(self, results: dict[str, Any]) -> None: ...


class RunPort(Protocol):
    """What an attached sink may do to the run it watches, and see of it."""

    def set_users(self, users: int | None) -> int | None:
        """Hold ``users`` users from now on (``None``: follow the plan again); the count
        applied. A change the run cannot make is a :class:`~horde.errors.UsageError`."""
        ...

    def stop_run(self, by: str) -> None:
        """End the load now; the results are still written (status ``stopped``)."""
        ...

    @property
    def stopping(self) -> bool:
        """The run was told to stop: by :meth:`stop_run`, a signal or a failed threshold."""
        ...

    def facts(self) -> dict[str, Any]:
        """What the run is: scenario, target, shape, unit, open model, the user count held,
        the roster's size, who stopped it."""
        ...

    def live_results(self) -> dict[str, Any]:
        """The results so far, thresholds evaluated on them (a percentile pass over the
        run's histograms: once a second at most)."""
        ...

    @property
    def aggregator(self) -> Aggregator:
        """The run's totals and per-second rows, to read (the Prometheus counters)."""
        ...
