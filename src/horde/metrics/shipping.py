"""Windows that travel: a worker's one-second window, packed to cross processes.

Workers never ship samples: each second a worker packs its :class:`Window` —
HdrHistograms encoded (hdrh's compressed V2 format, a few KB each), outcomes, counters
and errors as they are — with its gauges, and the coordinator unpacks it into its own
recorder (:meth:`Recorder.absorb <horde.metrics.recorder.Recorder.absorb>`). A histogram
decoded and added is exactly the one recorded, so merged percentiles are those of the
union of every worker's samples, never averages of percentiles.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from hdrh.histogram import HdrHistogram

from horde.metrics.operations import Outcomes
from horde.metrics.recorder import ConnectionCounts, Key, Recorder, Traffic, Window
from horde.metrics.values import ValueSpec


@dataclass(slots=True)
class PackedWindow:
    """A :class:`Window` with its histograms encoded: plain data, picklable."""

    latencies: dict[Key, bytes] = field(default_factory=dict)
    values: dict[str, bytes] = field(default_factory=dict)
    outcomes: dict[Key, Outcomes] = field(default_factory=dict)
    counters: dict[Key, int] = field(default_factory=dict)
    errors: dict[tuple[str, str | None], int] = field(default_factory=dict)
    bytes_sent: int = 0
    bytes_received: int = 0
    peak_in_flight: int = 0
    value_specs: dict[str, ValueSpec] = field(default_factory=dict)  # of ``values``' names


@dataclass(slots=True)
class Gauges:
    """A worker's levels when its window closed (the coordinator sums the workers')."""

    active_users: int = 0
    users_started: int = 0
    open_connections: int = 0
    in_flight: int = 0
    peak_users: int = 0
    peak_open_connections: int = 0
    peak_in_flight: int = 0

    @classmethod
    def of(cls, recorder: Recorder) -> Gauges:
        return cls(recorder.active_users, recorder.users_started, recorder.open_connections,
                   recorder.in_flight, recorder.peak_users, recorder.peak_open_connections,
                   recorder.peak_in_flight)


@dataclass(slots=True)
class RunTallies:
    """What a worker counted over its whole run outside the windows: connections by how
    they ended, bytes per protocol, the first example of each error, value declarations."""

    connections: ConnectionCounts
    traffic: dict[str, Traffic]
    error_examples: dict[str, str]
    value_specs: dict[str, ValueSpec]

    @classmethod
    def of(cls, recorder: Recorder) -> RunTallies:
        return cls(recorder.connections, recorder.traffic, dict(recorder.error_examples),
                   dict(recorder.value_specs))


def pack(window: Window, specs: dict[str, ValueSpec]) -> PackedWindow:
    """``window`` ready to cross a process boundary, with the unit and direction of each
    value it holds (``specs``: the recorder's)."""
    return PackedWindow(
        latencies={key: hist.encode() for key, hist in window.latencies.items()},
        values={name: hist.encode() for name, hist in window.values.items()},
        outcomes=window.outcomes, counters=window.counters, errors=window.errors,
        bytes_sent=window.bytes_sent, bytes_received=window.bytes_received,
        peak_in_flight=window.peak_in_flight,
        value_specs={name: specs[name] for name in window.values},
    )


def absorb(recorder: Recorder, packed: PackedWindow) -> None:
    """Add a worker's window to ``recorder``'s current one (the coordinator's)."""
    for name, spec in packed.value_specs.items():
        recorder.value_specs.setdefault(name, spec)
    recorder.absorb(unpack(packed))


def unpack(packed: PackedWindow) -> Window:
    """The window a worker recorded, histograms decoded: each straight from its bytes
    (one histogram made per metric, not an empty one then a decoded one added to it;
    the merge into the run's window adds it once more)."""
    latencies = {key: HdrHistogram.decode(data) for key, data in packed.latencies.items()}
    values = {name: HdrHistogram.decode(data) for name, data in packed.values.items()}
    return Window(latencies, packed.outcomes, packed.counters, packed.errors, values,
                  packed.bytes_sent, packed.bytes_received,
                  peak_in_flight=packed.peak_in_flight)


def absorb_tallies(recorder: Recorder, tallies: RunTallies) -> None:
    """Add a worker's run-long counts to the coordinator's recorder."""
    mine = recorder.connections
    theirs = tallies.connections
    for name in ("attempted", "succeeded", "failed", "unfinished", "dropped", "reconnected"):
        setattr(mine, name, getattr(mine, name) + getattr(theirs, name))
    for protocol, traffic in recorder.traffic.items():
        if protocol in tallies.traffic:
            traffic.merge(tallies.traffic[protocol])
    for label, example in tallies.error_examples.items():
        recorder.error_examples.setdefault(label, example)
    for name, spec in tallies.value_specs.items():
        recorder.value_specs.setdefault(name, spec)
