"""The recorder: the one object every client writes its samples into.

This is the hot path (one call per request, reply or message), so samples are not
objects: a client calls ``latency(metric, name, micros)``, ``count(...)`` or ``error(...)``
and the value lands directly in the current one-second window — a histogram or counter
per (metric, name). Once a second the :class:`~horde.metrics.aggregator.Aggregator` takes
the window (``take_window``) and folds it into totals and the per-second series; nothing
else reads the recorder. Data flows one way: clients → recorder → aggregator → sinks.

Gauges (open connections, in-flight requests, active users) are plain attributes that the
clients and the engine adjust; the aggregator reads them at each tick.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from hdrh.histogram import HdrHistogram

from horde.errors import TargetError
from horde.metrics.histogram import HIGHEST_US, new_histogram
from horde.secrets import redact

Key = tuple[str, str | None]


@dataclass(slots=True)
class Window:
    """What happened during one interval; handed to the aggregator and never touched again."""

    latencies: dict[Key, HdrHistogram] = field(default_factory=dict)
    counters: dict[Key, int] = field(default_factory=dict)
    errors: dict[tuple[str, str | None], int] = field(default_factory=dict)
    bytes_sent: int = 0
    bytes_received: int = 0
    peak_in_flight: int = 0


@dataclass(slots=True)
class ConnectionCounts:
    attempted: int = 0
    succeeded: int = 0
    failed: int = 0
    dropped: int = 0
    reconnected: int = 0


class Recorder:
    """Collects samples for the current window. Single-threaded: one event loop writes."""

    def __init__(self) -> None:
        self._window = Window()
        self.connections = ConnectionCounts()
        self.open_connections = 0
        self.peak_open_connections = 0  # exact: rows only sample once a second
        self.in_flight = 0
        self.peak_in_flight = 0
        self.active_users = 0
        self.peak_users = 0
        self.users_started = 0
        self.error_examples: dict[str, str] = {}
        self.sections: dict[str, Callable[[], dict[str, Any]]] = {}

    def add_section(self, name: str, report: Callable[[], dict[str, Any]]) -> None:
        """A tracker (groups, broadcasts, isolation, ...) that adds ``name`` to results.json:
        ``report()`` is called once the run is over, and may be called live."""
        self.sections[name] = report

    # -- samples ---------------------------------------------------------------------------

    def latency(self, metric: str, name: str | None, micros: int) -> None:
        """Record one latency sample in microseconds under (metric, name)."""
        hists = self._window.latencies
        key = (metric, name)
        hist = hists.get(key)
        if hist is None:
            hist = hists[key] = new_histogram()
        if micros < 1:
            micros = 1
        elif micros > HIGHEST_US:
            micros = HIGHEST_US
        hist.record_value(micros)

    def count(self, metric: str, name: str | None = None, n: int = 1) -> None:
        counters = self._window.counters
        key = (metric, name)
        counters[key] = counters.get(key, 0) + n

    def add_bytes(self, sent: int = 0, received: int = 0) -> None:
        window = self._window
        window.bytes_sent += sent
        window.bytes_received += received

    def error(self, category: str, detail: str | None = None, example: str | None = None) -> None:
        """Count one error under its category (and detail: status, close code, type)."""
        errors = self._window.errors
        key = (category, detail)
        errors[key] = errors.get(key, 0) + 1
        if example:
            label = redact(f"{category}:{detail}") if detail else category
            if label not in self.error_examples:
                self.error_examples[label] = redact(example)[:4000]

    def target_error(self, exc: TargetError) -> None:
        """Count a target error once, however many layers see it go by."""
        if not exc.recorded:
            exc.recorded = True
            self.error(exc.category, exc.detail, str(exc))

    def scenario_exception(self, exc: BaseException) -> None:
        """An exception raised by scenario code: counted by type, first traceback kept."""
        tb = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        self.error("scenario_exception", type(exc).__name__, tb)

    # -- gauges ----------------------------------------------------------------------------

    def user_started(self) -> None:
        self.users_started += 1
        self.active_users += 1
        if self.active_users > self.peak_users:
            self.peak_users = self.active_users

    def user_stopped(self) -> None:
        self.active_users -= 1

    def request_started(self) -> None:
        self.in_flight += 1
        if self.in_flight > self._window.peak_in_flight:
            self._window.peak_in_flight = self.in_flight
            if self.in_flight > self.peak_in_flight:
                self.peak_in_flight = self.in_flight

    def request_finished(self) -> None:
        self.in_flight -= 1

    # -- connections -----------------------------------------------------------------------

    def connect_attempted(self) -> None:
        self.connections.attempted += 1

    def connect_abandoned(self) -> None:
        """An attempt horde gave up itself (run ending, user retired): neither success nor
        failure, so it must not lower the target's ``connections.success_rate``."""
        self.connections.attempted -= 1

    def connect_succeeded(self) -> None:
        self.connections.succeeded += 1
        self.open_connections += 1
        if self.open_connections > self.peak_open_connections:
            self.peak_open_connections = self.open_connections

    def connect_failed(self, exc: TargetError) -> None:
        self.connections.failed += 1
        self.target_error(exc)

    def connection_closed(self, *, dropped: bool) -> None:
        """A connection that had succeeded is gone; ``dropped`` if we did not close it."""
        self.open_connections -= 1
        if dropped:
            self.connections.dropped += 1

    def reconnected(self) -> None:
        self.connections.reconnected += 1

    # -- hand-over -------------------------------------------------------------------------

    def take_window(self) -> Window:
        """Hand the finished window to the aggregator and start a fresh one."""
        window, self._window = self._window, Window(peak_in_flight=self.in_flight)
        return window
