"""The coordinator: the load phase of a run whose load runs on workers.

:class:`Workers` is the runner's :class:`~horde.engine.runner.LoadPhase` for more than
one worker. The runner does what it always does — ``@setup`` once, a window every
second, sinks, live control, ``@teardown`` once, results — and this class puts the
workers in its place: it hands each its segment, starts them together, polls them, adds
their windows to the runner's recorder just before each tick, and carries stop, the
live user count and run-wide events out to them. A worker that stops answering is
*lost*: the run aborts, or goes on without it (``--on-worker-lost``), and says so.
"""

from __future__ import annotations

import asyncio
import logging
import pickle
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from horde.cluster.health import merged_generator, merged_sample
from horde.cluster.messages import POLL_INTERVAL_S, Finished, Job, Orders, Ready, Tick
from horde.cluster.ray_pool import RayPool, import_ray
from horde.cluster.sections import merge_sections
from horde.config.model import RunConfig
from horde.engine.pacing import Progress
from horde.engine.runner import CLOCK, LoadJob
from horde.engine.segments import Segment, first_user_ids
from horde.errors import UsageError, WorkerLostError
from horde.metrics.recorder import Recorder
from horde.metrics.shipping import Gauges, RunTallies, absorb, absorb_tallies
from horde.monitor.generator import GeneratorMonitor

log = logging.getLogger("horde")
MAX_IDS = 1000  # a lost worker's user ids listed in results.json
START_MARGIN_S = 0.5  # time for the start order to reach every worker before load begins
FINISH_MARGIN_S = 60.0  # past the plan's end and the stop time: a worker not done is lost


@dataclass(slots=True)
class Lost:
    """A worker that died during the run."""

    worker: int
    at_s: float | None  # seconds into the load
    reason: str
    users: int  # users it had started
    user_ids: list[int]
    pid: int | None = None
    node: str | None = None


class Workers:
    """The load phase on ``config.workers`` workers (see the module)."""

    def __init__(self, config: RunConfig) -> None:
        import_ray()  # not installed: a one-line ConfigError now, before @setup or any load
        self.config = config
        self.pool: RayPool | None = None
        self.ready: list[Ready] = []
        self.latest: dict[int, Tick] = {}
        self.pending: list[tuple[int, Tick]] = []  # (worker, its window) since the last tick
        self.finished: dict[int, Finished] = {}
        self.lost: dict[int, Lost] = {}
        self.own_events: dict[int, dict[str, int]] = {}
        self.tallies: dict[int, RunTallies] = {}  # each worker's run-long counts, as last told
        self.started: dict[int, int] = {}  # each worker's users started, as last told
        self.health: dict[int, list[dict[str, Any]]] = {}
        self.busy_polls: dict[int, int] = {}  # polls a worker's loop was too busy to answer
        self._began: float | None = None
        self._last_tick = CLOCK()

    # -- the load phase ----------------------------------------------------------------------

    async def open(self) -> None:
        """Join the cluster (or start the local Ray instance) and place the workers,
        before anything of the run starts: a cluster that cannot be joined, or is too
        small, is a :class:`ConfigError` here. A Ctrl-C meanwhile waits for Ray's start
        to finish (a process that exits while ``ray.init`` runs in its thread can leave
        Ray's driver waiting 60 s for a GCS its own exit killed); then :meth:`run` sends
        nothing."""
        self.pool = await RayPool.start(self.config.workers, self.config.cluster)

    async def close(self) -> None:
        """End the workers (the Ray instance stays for the process's next run)."""
        if self.pool is not None:
            await self.pool.close()

    async def run(self, job: LoadJob) -> tuple[str, float]:
        if self.pool is None or job.stop.is_set():
            return "interrupted", 0.0
        return await self._drive(job, self.pool)

    async def _drive(self, job: LoadJob, pool: RayPool) -> tuple[str, float]:
        scenario = job.scenario
        path = Path(scenario.path or "")
        source = path.read_bytes() if path.is_file() else b""
        try:  # unpickled by each worker once it has loaded the scenario its classes live in
            shared = pickle.dumps(job.context[0])
        except Exception as exc:
            return _refuse(job, f"@setup returned a value that cannot be sent to the workers "
                                f"({exc}): return plain data (dicts, lists, numbers, strings, "
                                "or classes defined in the scenario)")
        jobs = [Job(self.config, str(path), source, Segment(i, pool.size), shared)
                for i in range(pool.size)]
        try:
            self.ready = await pool.prepare(jobs)
        except WorkerLostError as exc:
            return _refuse(job, f"{exc}: is there a CPU for each worker? (each takes one; "
                                "see docs/scaling.md)")
        except Exception as exc:  # the scenario does not load there (a missing module)
            return _refuse(job, f"a worker could not load the scenario: {exc}")
        if job.stop.is_set():  # stopped while they loaded it: no load at all
            return "interrupted", 0.0
        at = self._start_time()
        self._began = CLOCK() + (at - time.time())
        await asyncio.gather(*(self._start(job, pool, i, at) for i in range(pool.size)))
        job.progress.began_at = self._began
        job.progress.data_until_s = 0.0  # rows before the first window have no stage
        await self._follow(job, pool)
        return self._outcome(job)

    def _start_time(self) -> float:
        """A wall-clock start a little ahead, placed so that each worker's windows close
        half a second before the runner's tick: one window per worker per row."""
        now = CLOCK()
        ahead = START_MARGIN_S + (self._last_tick - now) % 1.0 + 0.5
        return time.time() + ahead

    async def _start(self, job: LoadJob, pool: RayPool, worker: int, at: float) -> None:
        """A worker lost before its start order is answered (it may already have begun:
        the answer can come after the load starts) is lost like any other, not an error
        that ends the run without results."""
        try:
            await pool.begin(worker, at)
        except WorkerLostError as exc:
            self._lose(job, pool, exc)

    async def _follow(self, job: LoadJob, pool: RayPool) -> None:
        """Poll every worker until each has finished or is lost; a deadline well past the
        plan's end makes sure of it."""
        deadline = CLOCK() + finish_within(self.config, job.progress.plan.duration_s)
        while len(self.finished) + len(self.lost) < pool.size:
            await asyncio.gather(*(self._poll(job, pool, i) for i in range(pool.size)
                                   if i not in self.finished and i not in self.lost))
            if CLOCK() > deadline:
                for i in range(pool.size):
                    if i not in self.finished and i not in self.lost:
                        self._lose(job, pool, WorkerLostError(i, "did not finish by the deadline"))
            await asyncio.sleep(POLL_INTERVAL_S)

    async def _poll(self, job: LoadJob, pool: RayPool, worker: int) -> None:
        orders = Orders(job.stop.is_set(), job.progress.override_users,
                        self._others(worker))
        try:
            report = await pool.poll(worker, orders)
        except WorkerLostError as exc:
            self._lose(job, pool, exc)
            return
        if report.busy:  # saturated, alive: its windows come with a later answer
            self.busy_polls[worker] = self.busy_polls.get(worker, 0) + 1
            if self.busy_polls[worker] == 1:
                log.warning("horde: worker %d is saturated: its event loop is too busy to "
                            "answer (its windows come later; fewer users per worker, or "
                            "more workers, would keep up)", worker)
            return
        self.pending.extend((worker, tick) for tick in report.ticks)
        if report.ticks:
            self.latest[worker] = report.ticks[-1]
            self.health.setdefault(worker, []).extend(t.health for t in report.ticks)
        self.own_events[worker] = report.events
        if report.tallies is not None:
            self.tallies[worker] = report.tallies
        self.started[worker] = report.users_started
        if report.finished is not None:
            self.finished[worker] = report.finished
            if report.finished.misuse and not job.misuse.done():
                job.misuse.set_result(UsageError(report.finished.misuse))

    def _others(self, worker: int) -> dict[str, int]:
        """Every other worker's signals of each event, as last reported."""
        totals: dict[str, int] = {}
        for other, counts in self.own_events.items():
            if other != worker:
                for name, n in counts.items():
                    totals[name] = totals.get(name, 0) + n
        return totals

    def _lose(self, job: LoadJob, pool: RayPool, exc: WorkerLostError) -> None:
        # lost before the load began (its start order unanswered): at 0 s
        at = None if self._began is None else round(max(0.0, CLOCK() - self._began), 3)
        started = self.started.get(exc.worker, 0)  # every answer tells it, not only windows
        ids = first_user_ids(Segment(exc.worker, pool.size), job.context[3], started, MAX_IDS)
        placed = next((r for r in self.ready if r.worker == exc.worker), None)
        self.lost[exc.worker] = Lost(exc.worker, at, exc.reason, started, ids,
                                     placed.pid if placed else None,
                                     placed.node if placed else None)
        self.latest.pop(exc.worker, None)
        pool.kill(exc.worker)
        log.warning("horde: worker %d lost at %ss: %s", exc.worker, at, exc.reason)
        if self.config.on_worker_lost == "abort" and not job.stop.is_set():
            job.progress.abort_reason = (
                f"worker {exc.worker} lost at {at}s ({exc.reason}); its {started} users "
                "stopped with it (--on-worker-lost continue goes on without it)")
            job.stop.set()

    def _outcome(self, job: LoadJob) -> tuple[str, float]:
        """The run's status and load time from the workers', and their run-long counts."""
        recorder, progress = job.recorder, job.progress
        for worker in self.lost:  # what it counted up to its last answer still counts
            if worker in self.tallies:
                absorb_tallies(recorder, self.tallies[worker])
        for finished in self.finished.values():
            absorb_tallies(recorder, finished.tallies)
            progress.late_sessions += finished.late_sessions
            progress.dropped_sessions += finished.dropped_sessions
            if finished.abort_reason and progress.abort_reason is None:
                progress.abort_reason = finished.abort_reason
        events = self._event_totals()
        merged = merge_sections([f.sections for f in self.finished.values()], events)
        for name, section in merged.items():
            recorder.add_section(name, lambda section=section: section)
        statuses = {f.status for f in self.finished.values()}
        status = "interrupted" if job.stop.is_set() else "completed"
        if "aborted" in statuses or progress.abort_reason:
            status = "aborted"
        load_s = max((f.load_s for f in self.finished.values()), default=0.0)
        return status, load_s

    def _event_totals(self) -> dict[str, int]:
        totals: dict[str, int] = {}
        for counts in self.own_events.values():
            for name, n in counts.items():
                totals[name] = totals.get(name, 0) + n
        return totals

    # -- each second -------------------------------------------------------------------------

    def before_tick(self, recorder: Recorder, progress: Progress) -> None:
        """Add the workers' windows that arrived since the last tick, and their levels."""
        self._last_tick = CLOCK()
        peaks: dict[int, int] = {}  # each worker's highest in flight of its windows here
        for worker, tick in self.pending:
            absorb(recorder, tick.window)
            peaks[worker] = max(peaks.get(worker, 0), tick.window.peak_in_flight)
            # the row is of the windows' seconds (stage, levels), not the coordinator's
            progress.data_until_s = max(progress.data_until_s or 0.0, float(tick.n))
        self.pending = []
        # two windows of one worker in one tick, or a tick starting at the last one's
        # level, must not add up: 8 users showed a peak of 14 in flight
        recorder.note_peak_in_flight(sum(peaks.values()))
        gauges = [t.gauges for t in self.latest.values()]
        _sum_gauges(recorder, gauges)
        # users started as of the same windows as the active users (else "done" counts
        # users that are only not yet in a window); a lost worker's from its last answer
        lost = sum(self.started.get(worker, 0) for worker in self.lost)
        recorder.users_started = max(recorder.users_started,
                                     sum(g.users_started for g in gauges) + lost)
        if self.latest:
            progress.target = sum(t.target for t in self.latest.values())

    def sample(self, monitor: GeneratorMonitor) -> dict[str, Any]:
        return merged_sample(monitor.sample(), self.latest, set(self.lost))

    def generator(self, monitor: GeneratorMonitor, rows: list[dict[str, Any]]) -> dict[str, Any]:
        health = {i: f.health for i, f in self.finished.items()}
        return merged_generator(monitor.summary(rows), health, self.ready)

    def facts(self) -> dict[str, Any] | None:
        return {
            "count": len(self.ready) or (self.pool.size if self.pool else 0),
            "cluster": self.config.cluster,
            "on_lost": self.config.on_worker_lost,
            "nodes": sorted({r.node for r in self.ready}),
            "lost": [asdict(x) for x in self.lost.values()],
        }


def finish_within(config: RunConfig, plan_s: float) -> float:
    """Seconds from the start by which every worker has finished or is lost: the plan's
    end (or the time cap, if sooner), the users' stop time, and a minute. A worker whose
    loop is stuck answers "busy" from its actor's thread, so only this ends the wait."""
    return min(plan_s, config.max_duration_s) + config.stop_timeout_s + FINISH_MARGIN_S


def _refuse(job: LoadJob, message: str) -> tuple[str, float]:
    """No load could start: the run ends as a user's mistake would (exit 2), after
    ``@teardown`` and with its results written."""
    job.misuse.set_result(UsageError(message))
    job.progress.abort_reason = message
    return "aborted", 0.0


def _sum_gauges(recorder: Recorder, gauges: list[Gauges]) -> None:
    """The run's levels: the sum of the workers' (a lost worker's count no more; users
    started, which a lost worker's still count in, are summed in ``before_tick``)."""
    recorder.active_users = sum(g.active_users for g in gauges)
    recorder.open_connections = sum(g.open_connections for g in gauges)
    recorder.in_flight = sum(g.in_flight for g in gauges)
    recorder.peak_users = max(recorder.peak_users, sum(g.peak_users for g in gauges))
    recorder.peak_open_connections = max(recorder.peak_open_connections,
                                         sum(g.peak_open_connections for g in gauges))
    recorder.peak_in_flight = max(recorder.peak_in_flight, sum(g.peak_in_flight for g in gauges))
