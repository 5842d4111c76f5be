"""What the coordinator and its workers say to each other: plain, picklable data.

The coordinator *polls* each worker a few times a second with :class:`Orders` (stop,
hold this many users, the other workers' event counts) and gets back a :class:`Report`
(the windows closed since, its own event counts, and, once, how its run ended). Polling
is the whole protocol: a worker that stops answering is a lost worker.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from horde.config.model import RunConfig
from horde.engine.segments import Segment
from horde.metrics.shipping import Gauges, PackedWindow, RunTallies

POLL_INTERVAL_S = 0.2  # orders reach every worker well within a second


@dataclass(frozen=True, slots=True)
class Job:
    """A worker's part of the run: the run's config, the scenario to load (by path; its
    source too, for a node that does not have the file), its segment, ``@setup``'s value
    (pickled: its classes may live in the scenario, which the worker loads first)."""

    config: RunConfig
    scenario_path: str
    scenario_source: bytes
    segment: Segment
    shared: bytes = b""


@dataclass(frozen=True, slots=True)
class Ready:
    """A worker that loaded its scenario and waits for the start."""

    worker: int
    pid: int
    node: str


@dataclass(slots=True)
class Tick:
    """One closed window of a worker, with its levels and health at that moment."""

    n: int  # the window's number: seconds since the synchronized start
    window: PackedWindow
    gauges: Gauges
    health: dict[str, Any]  # cpu_percent, rss_mb, loop_lag_ms, generator_warning
    target: float  # this worker's share of the plan's target


@dataclass(frozen=True, slots=True)
class Orders:
    """What the coordinator wants of a worker now (sent with every poll)."""

    stop: bool = False
    users: int | None = None  # the run's user count set live (None: follow the plan)
    events: dict[str, int] = field(default_factory=dict)  # other workers' signals


@dataclass(slots=True)
class Finished:
    """How a worker's run ended, and what it counted outside its windows."""

    status: str
    load_s: float
    abort_reason: str | None
    misuse: str | None  # a user's UsageError: the whole run ends with it
    tallies: RunTallies
    sections: dict[str, dict[str, Any]]
    late_sessions: int
    dropped_sessions: int
    health: dict[str, Any]  # the worker's generator verdict (GeneratorMonitor.summary)


@dataclass(slots=True)
class Report:
    """A worker's answer to one poll. ``busy``: its event loop had not taken the poll
    within ``BUSY_AFTER_S`` (saturated, not dead) — nothing is in this report, nothing
    was lost: the windows wait for the next one."""

    ticks: list[Tick]
    events: dict[str, int]  # its own signals so far
    finished: Finished | None = None
    busy: bool = False
    # its run-long counts so far: if it is lost, the run still counts what it did
    tallies: RunTallies | None = None
    users_started: int = 0  # so far: a worker lost before its first window still names them


BUSY = Report([], {}, None, busy=True)
