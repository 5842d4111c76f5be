"""The recorder: the one object every client writes what happened into.

This is the hot path (one call per request, reply or message), so plain samples are not
objects: a client calls ``latency(metric, name, micros)``, ``count(...)`` or ``error(...)``
and the value lands directly in the current one-second window. Operations — everything a
user times, see :mod:`horde.metrics.operations` — are the one exception: ``begin`` makes
an :class:`~horde.metrics.operations.Operation` and exactly one of ``succeed``, ``fail``
or ``abandon`` ends it, tallying its outcome beside its latency. Once a second the
:class:`~horde.metrics.aggregator.Aggregator` takes the window (``take_window``) and
folds it into totals and the per-second series; nothing else reads the recorder. Data
flows one way: clients → recorder → aggregator → sinks.

Errors are counted once each, however many layers see them go by: a target error carries
its ``recorded`` flag, any other exception is marked when counted (``count_failure``).

Gauges (open connections, operations in flight, active users) are plain attributes that
the clients and the engine adjust; the aggregator reads them at each tick.
"""

from __future__ import annotations

import asyncio
import contextlib
import traceback
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from time import perf_counter_ns
from typing import Any

from hdrh.histogram import HdrHistogram

from horde.errors import GroupBrokenError, TargetError
from horde.metrics import names
from horde.metrics.histogram import HIGHEST_US, new_histogram
from horde.metrics.operations import FAILED, OK, UNFINISHED, Operation, Outcomes, failure_of
from horde.metrics.values import ValueSpec, new_value_histogram, scaled
from horde.redaction import redact

Key = tuple[str, str | None]
_COUNTED = "_horde_counted"  # set on an exception (not a TargetError) once it is counted


@dataclass(slots=True)
class Traffic:
    """One protocol's bytes: payload (what the protocol carried: HTTP bodies, WebSocket
    messages, Engine.IO packets) and wire (every TCP byte of its connections, read from
    the kernel as each one closed; ``connections`` of them). Compressed payload (gzip
    HTTP bodies, permessage-deflate messages) counts as carried; ``inflated_*`` is what
    decoding added to it, so decoded = payload + inflated (0 when nothing was compressed:
    the per-message path never touches it)."""

    payload_sent: int = 0
    payload_received: int = 0
    wire_sent: int = 0
    wire_received: int = 0
    connections: int = 0
    inflated_sent: int = 0
    inflated_received: int = 0

    def merge(self, other: Traffic) -> None:
        self.payload_sent += other.payload_sent
        self.payload_received += other.payload_received
        self.wire_sent += other.wire_sent
        self.wire_received += other.wire_received
        self.connections += other.connections
        self.inflated_sent += other.inflated_sent
        self.inflated_received += other.inflated_received


@dataclass(slots=True)
class Window:
    """What happened during one interval; handed to the aggregator and never touched again."""

    latencies: dict[Key, HdrHistogram] = field(default_factory=dict)
    outcomes: dict[Key, Outcomes] = field(default_factory=dict)
    counters: dict[Key, int] = field(default_factory=dict)
    errors: dict[tuple[str, str | None], int] = field(default_factory=dict)
    values: dict[str, HdrHistogram] = field(default_factory=dict)  # per value name
    bytes_sent: int = 0  # payload, all protocols
    bytes_received: int = 0
    ws_sent: int = 0  # WebSocket messages: plain ints on the hot path, counters at hand-over
    ws_received: int = 0  # (those counted under an event_key name are in counters)
    peak_in_flight: int = 0
    # Latencies (µs) as recorded, folded into ``latencies`` at hand-over: a list append
    # instead of a Python histogram call per sample, the hot path of every operation.
    pending: dict[Key, list[int]] = field(default_factory=dict)


@dataclass(slots=True)
class ConnectionCounts:
    """Connection attempts by how they ended; ``unfinished`` ones were cut off by the end
    of the run (or their user's retirement) while still connecting."""

    attempted: int = 0
    succeeded: int = 0
    failed: int = 0
    unfinished: int = 0
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
        # per protocol, for the whole run (the windows count payload in all): a fixed
        # object per protocol, so the per-message path does no lookup
        self.http, self.websocket, self.socketio = Traffic(), Traffic(), Traffic()
        self.sections: dict[str, Callable[[], dict[str, Any]]] = {}
        self.value_specs: dict[str, ValueSpec] = {}  # each value name's unit and direction

    def add_section(self, name: str, report: Callable[[], dict[str, Any]]) -> None:
        """A tracker (groups, broadcasts, isolation, ...) that adds ``name`` to results.json:
        ``report()`` is called once the run is over, and may be called live."""
        self.sections[name] = report

    # -- samples ---------------------------------------------------------------------------

    def latency(self, metric: str, name: str | None, micros: int) -> None:
        """Record one latency sample in microseconds under (metric, name)."""
        pending = self._window.pending
        key = (metric, name)
        samples = pending.get(key)
        if samples is None:
            samples = pending[key] = []
        samples.append(micros)

    def value(self, name: str, value: float, spec: ValueSpec) -> None:
        """Record one value (not a time) under ``name``, declared by its first use: a later
        use with another unit or direction is a ``ValueError`` (one name, one meaning)."""
        known = self.value_specs.get(name)
        if known is None:
            self.value_specs[name] = spec
        elif known != spec:
            raise ValueError(f"value {name!r} was recorded in {known.unit} "
                             f"(better: {known.better}), now in {spec.unit} "
                             f"(better: {spec.better}): use one unit and direction per name")
        stored = scaled(value)
        hists = self._window.values
        hist = hists.get(name)
        if hist is None:
            hist = hists[name] = new_value_histogram()
        hist.record_value(stored)

    def count(self, metric: str, name: str | None = None, n: int = 1) -> None:
        counters = self._window.counters
        key = (metric, name)
        counters[key] = counters.get(key, 0) + n

    def add_bytes(self, sent: int, received: int, traffic: Traffic) -> None:
        """Payload bytes of one protocol: ``traffic`` is ``recorder.http``, ``.websocket``
        or ``.socketio``."""
        window = self._window
        window.bytes_sent += sent
        window.bytes_received += received
        traffic.payload_sent += sent
        traffic.payload_received += received

    def add_decoded(self, traffic: Traffic, sent: int, received: int) -> None:
        """Compressed payload: the decoded size minus the carried one (already counted by
        ``add_bytes``/``ws_message_*``), so results show both."""
        traffic.inflated_sent += sent
        traffic.inflated_received += received

    def ws_message_sent(self, nbytes: int) -> None:
        """One WebSocket message out: counted, and its payload (the per-message path: no
        lookup, counted as ``ws_msg_out`` when the window is handed over)."""
        window = self._window
        window.ws_sent += 1
        window.bytes_sent += nbytes
        self.websocket.payload_sent += nbytes

    def ws_message_received(self, nbytes: int, counted: bool = False) -> None:
        """One WebSocket message in (``counted``: already under its event_key's name)."""
        window = self._window
        if not counted:
            window.ws_received += 1
        window.bytes_received += nbytes
        self.websocket.payload_received += nbytes

    def add_wire(self, traffic: Traffic, counted: tuple[int, int] | None) -> None:
        """One closed connection's TCP bytes (:func:`horde.transports.wire.tcp_bytes`)."""
        if counted is None:
            return
        traffic.wire_sent += counted[0]
        traffic.wire_received += counted[1]
        traffic.connections += 1

    @property
    def traffic(self) -> dict[str, Traffic]:
        return {"http": self.http, "socketio": self.socketio, "websocket": self.websocket}

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

    def count_failure(self, exc: BaseException) -> None:
        """Count what a scenario step raised, once: a target error in its category, anything
        else as the scenario's own exception (type and traceback)."""
        if isinstance(exc, TargetError):
            self.target_error(exc)
        elif not getattr(exc, _COUNTED, False):
            with contextlib.suppress(AttributeError):  # __slots__: then counted each time
                setattr(exc, _COUNTED, True)
            self.scenario_exception(exc)

    # -- operations ------------------------------------------------------------------------

    def begin(self, metric: str, name: str | None, start_ns: int = 0,
              intended_ns: int = 0) -> Operation:
        """An operation starts (now, or at ``start_ns`` on the perf_counter_ns clock).
        Exactly one of :meth:`succeed`, :meth:`fail`, :meth:`abandon` must end it."""
        op = Operation(metric, name, start_ns or perf_counter_ns(), intended_ns)
        in_flight = self.in_flight = self.in_flight + 1
        window = self._window
        if in_flight > window.peak_in_flight:
            window.peak_in_flight = in_flight
            if in_flight > self.peak_in_flight:
                self.peak_in_flight = in_flight
        return op

    def succeed(self, op: Operation, end_ns: int = 0, sent: int = 0, received: int = 0) -> None:
        """``op`` got its answer (at ``end_ns``, else now): its latency and an ``ok``.
        The hot path of every request: one lookup each for its tally and its histogram."""
        if op.outcome is not None:
            return
        op.outcome = OK
        op.end_ns = end = end_ns or perf_counter_ns()
        self.in_flight -= 1
        window = self._window
        key = (op.metric, op.name)
        outcomes = window.outcomes.get(key)
        if outcomes is None:
            outcomes = window.outcomes[key] = Outcomes()
        outcomes.ok += 1
        if sent or received:
            op.sent, op.received = sent, received
            outcomes.sent += sent
            outcomes.received += received
        samples = window.pending.get(key)
        if samples is None:
            samples = window.pending[key] = []
        samples.append((end - op.start_ns) // 1000)

    def fail(self, op: Operation, exc: BaseException, end_ns: int = 0) -> None:
        """``op`` ended without its answer: counted failed under ``exc``'s category, and
        ``exc`` counted as an error unless it already was (a drop that failed it)."""
        if op.outcome is not None:
            return
        self.count_failure(exc)
        self._failed(op, failure_of(exc), end_ns)

    def fail_answered(self, op: Operation, category: str, end_ns: int = 0,
                      example: str | None = None, sent: int = 0, received: int = 0,
                      *, latency: bool = True) -> None:
        """``op`` got an answer that is an error (an HTTP error status): failed and counted
        as an error. A request's latency is kept (the server did answer, in that time); a
        stream's is not (``latency=False``): an error page is not the stream it asked for."""
        if op.outcome is not None:
            return
        self.error(category, None, example)
        outcomes = self._failed(op, (category, None), end_ns)
        outcomes.sent += sent
        outcomes.received += received
        if latency:
            self.latency(op.metric, op.name, (op.end_ns - op.start_ns) // 1000)

    def abandon(self, op: Operation) -> None:
        """horde gave ``op`` up itself (the run ended, its user was retired): unfinished,
        neither a success nor the target's failure."""
        if op.outcome is not None:
            return
        op.outcome = UNFINISHED
        op.end_ns = perf_counter_ns()
        self.in_flight -= 1
        self._outcomes(op).unfinished += 1

    def end(self, op: Operation, exc: BaseException) -> None:
        """End ``op`` by what interrupted it: a cancellation abandons it, anything else
        fails it (for ``except BaseException`` blocks around an operation)."""
        if isinstance(exc, asyncio.CancelledError | GroupBrokenError):
            self.abandon(op)
        else:
            self.fail(op, exc)

    def _failed(self, op: Operation, failure: tuple[str, str | None], end_ns: int) -> Outcomes:
        op.outcome = FAILED
        op.end_ns = end_ns or perf_counter_ns()
        self.in_flight -= 1
        outcomes = self._outcomes(op)
        outcomes.add_failure(failure)
        return outcomes

    def _outcomes(self, op: Operation) -> Outcomes:
        table = self._window.outcomes
        key = (op.metric, op.name)
        outcomes = table.get(key)
        if outcomes is None:
            outcomes = table[key] = Outcomes()
        return outcomes

    # -- iterations ------------------------------------------------------------------------

    def iteration_ended(self, behaviour: str, micros: int,
                        exc: BaseException | None = None) -> None:
        """One run of a behaviour: completed (its duration recorded), or failed by what it
        raised — counted as an error of the run unless it already was."""
        key = (names.ITERATION, behaviour)
        table = self._window.outcomes
        outcomes = table.get(key)
        if outcomes is None:
            outcomes = table[key] = Outcomes()
        if exc is None:
            outcomes.ok += 1
            pending = self._window.pending
            samples = pending.get(key)
            if samples is None:
                samples = pending[key] = []
            samples.append(micros)
        else:
            self.count_failure(exc)
            outcomes.add_failure(failure_of(exc))

    def iteration_cut(self, behaviour: str) -> None:
        """An iteration the end of the run (or the user's retirement) cut off."""
        key = (names.ITERATION, behaviour)
        outcomes = self._window.outcomes.get(key)
        if outcomes is None:
            outcomes = self._window.outcomes[key] = Outcomes()
        outcomes.unfinished += 1

    # -- gauges ----------------------------------------------------------------------------

    def user_started(self) -> None:
        self.users_started += 1
        self.active_users += 1
        if self.active_users > self.peak_users:
            self.peak_users = self.active_users

    def user_stopped(self) -> None:
        self.active_users -= 1

    # -- connections -----------------------------------------------------------------------

    def connect_begin(self, metric: str) -> Operation:
        """A connection attempt starts: an operation, and one ``connections.attempted``."""
        self.connections.attempted += 1
        return self.begin(metric, None)

    def connect_succeeded(self, op: Operation, end_ns: int = 0) -> None:
        if op.outcome is not None:
            return
        self.connections.succeeded += 1
        self.open_connections += 1
        if self.open_connections > self.peak_open_connections:
            self.peak_open_connections = self.open_connections
        self.succeed(op, end_ns)

    def connect_failed(self, op: Operation, exc: TargetError) -> None:
        if op.outcome is None:
            self.connections.failed += 1
        self.fail(op, exc)

    def connect_abandoned(self, op: Operation) -> None:
        """An attempt horde gave up itself (run ending, user retired): unfinished, so it
        does not lower the target's ``connections.success_rate``."""
        if op.outcome is None:
            self.connections.unfinished += 1
        self.abandon(op)

    def connection_closed(self, *, dropped: bool) -> None:
        """A connection that had succeeded is gone; ``dropped`` if we did not close it."""
        self.open_connections -= 1
        if dropped:
            self.connections.dropped += 1

    def reconnected(self) -> None:
        self.connections.reconnected += 1

    # -- hand-over -------------------------------------------------------------------------

    def absorb(self, window: Window) -> None:
        """Add another recorder's window (a worker's, see metrics/shipping.py) to the
        current one, as if its samples had been recorded here — all but its peak in
        flight: peaks do not add up over windows (see :meth:`note_peak_in_flight`)."""
        merge_samples(self._window, window)

    def note_peak_in_flight(self, peak: int) -> None:
        """The current window's peak in flight is at least ``peak`` (the coordinator's:
        each worker's highest of the second, summed)."""
        if peak > self._window.peak_in_flight:
            self._window.peak_in_flight = peak

    def take_window(self) -> Window:
        """Hand the finished window to the aggregator and start a fresh one."""
        window, self._window = self._window, Window(peak_in_flight=self.in_flight)
        fold_pending(window)
        counters = window.counters
        if window.ws_sent:
            key = (names.WS_MSG_OUT, None)
            counters[key] = counters.get(key, 0) + window.ws_sent
        if window.ws_received:
            key = (names.WS_MSG_IN, None)
            counters[key] = counters.get(key, 0) + window.ws_received
        return window


def fold_pending(window: Window) -> None:
    """Record ``window``'s pending latencies in its histograms, clamped to 1 µs..1 h:
    one histogram call per distinct value (C-speed counting), not one per sample."""
    for key, samples in window.pending.items():
        hist = window.latencies.get(key)
        if hist is None:
            hist = window.latencies[key] = new_histogram()
        for micros, n in Counter(samples).items():
            hist.record_value(1 if micros < 1 else HIGHEST_US if micros > HIGHEST_US else micros,
                              n)
    window.pending.clear()


def merge_samples(into: Any, window: Window) -> None:
    """Add ``window``'s samples to ``into`` — another window, or the aggregator's totals
    (anything with the same tables): histograms exactly, counts summed."""
    for key, hist in window.latencies.items():
        total = into.latencies.get(key)
        if total is None:
            total = into.latencies[key] = new_histogram()
        total.add(hist)
    for key, outcomes in window.outcomes.items():
        total_outcomes = into.outcomes.get(key)
        if total_outcomes is None:
            total_outcomes = into.outcomes[key] = Outcomes()
        total_outcomes.merge(outcomes)
    for key, n in window.counters.items():
        into.counters[key] = into.counters.get(key, 0) + n
    for key, n in window.errors.items():
        into.errors[key] = into.errors.get(key, 0) + n
    for name, hist in window.values.items():
        total = into.values.get(name)
        if total is None:
            total = into.values[name] = new_value_histogram()
        total.add(hist)
    into.bytes_sent += window.bytes_sent
    into.bytes_received += window.bytes_received
