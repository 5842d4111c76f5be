"""A worker: one engine process that runs its segment of the plan.

The worker's event loop (uvloop) runs on a thread of its own, so whatever hosts it — a
Ray actor here — only talks to it through three calls: :meth:`EngineWorker.prepare`
(load the scenario, get ready), :meth:`~EngineWorker.start` (at an agreed moment, so
every worker begins together) and :meth:`~EngineWorker.poll` (orders in, windows out).
The worker has no sinks: every second it packs its window (metrics/shipping.py) and
keeps it until the next poll. Nothing here imports Ray.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
import pickle
import socket
import sys
import tempfile
import threading
import time
from concurrent.futures import Future
from pathlib import Path
from typing import Any

from horde.cluster.messages import BUSY, Finished, Job, Orders, Ready, Report, Tick
from horde.coordination.hub import Hub
from horde.engine.circuit_breaker import CircuitBreaker
from horde.engine.pacing import Progress
from horde.engine.runner import CLOCK, LoadJob, cast_config, plan_for, run_load
from horde.errors import UsageError
from horde.metrics.recorder import Recorder
from horde.metrics.shipping import Gauges, RunTallies, pack
from horde.monitor.generator import GeneratorMonitor
from horde.safety.hosts import use_policy
from horde.scenario.loader import load_scenario
from horde.scenario.model import Scenario
from horde.scenario.params import make_params
from horde.scenario.transports_needed import import_transports
from horde.transports.local_addresses import use_local_addresses

ANSWER_TIMEOUT_S = 10.0
# A poll the loop has not answered by then is answered "busy" from the actor's thread, so
# the coordinator tells a saturated worker (its loop behind a burst of connects) from a
# dead one (no answer at all, ray_pool.CALL_TIMEOUT_S).
BUSY_AFTER_S = 2.0


class EngineWorker:
    """Worker ``number`` of a run (see the module)."""

    def __init__(self, number: int) -> None:
        self.number = number
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._engine: _Engine | None = None
        self._answer: Future[Report] | None = None  # a poll the loop has not answered yet

    def prepare(self, job: Job) -> Ready:
        """Load the scenario and start the event loop, idle until :meth:`start`. A
        scenario that does not load raises here, before any worker sends load."""
        scenario = load_scenario(_scenario_file(job))
        import_transports(scenario)  # not on the loop in the load's first second
        self._engine = _Engine(job, scenario)
        started = threading.Event()
        self._thread = threading.Thread(
            target=self._serve, args=(started,), name=f"horde-worker-{self.number}",
            daemon=True)
        self._thread.start()
        started.wait()
        return Ready(self.number, os.getpid(), socket.gethostname())

    def start(self, at: float) -> None:
        """Begin the load at wall-clock time ``at`` (every worker gets the same)."""
        self._call(self._engine_now().begin(at))

    def poll(self, orders: Orders) -> Report:
        """Obey ``orders``; the windows closed since the last poll, and how the run ended
        once it has. A loop too busy to answer within ``BUSY_AFTER_S`` gets :data:`BUSY`
        back instead: the poll stays queued on the loop (never cancelled: once it ran,
        its windows are taken) and the next poll waits for that answer first."""
        if self._answer is None:
            assert self._loop is not None
            self._answer = asyncio.run_coroutine_threadsafe(
                self._engine_now().answer(orders), self._loop)
        try:
            report = self._answer.result(BUSY_AFTER_S)
        except TimeoutError:
            return BUSY
        self._answer = None
        return report

    def _engine_now(self) -> _Engine:
        if self._engine is None:
            raise RuntimeError("prepare() first")
        return self._engine

    def _serve(self, started: threading.Event) -> None:
        gc.freeze()  # imports and the scenario are long-lived: no GC pauses in latencies
        try:
            import uvloop

            loop: asyncio.AbstractEventLoop = uvloop.new_event_loop()
        except ImportError:
            loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        self._loop = loop
        started.set()
        loop.run_forever()

    def _call(self, coro: Any) -> Any:
        assert self._loop is not None
        future: Future[Any] = asyncio.run_coroutine_threadsafe(coro, self._loop)
        return future.result(ANSWER_TIMEOUT_S)


def _scenario_file(job: Job) -> Path:
    """The scenario where the coordinator has it, or — on another node — its source,
    written beside nothing: a scenario that imports its neighbours needs them installed
    (or present) on every node, as docs/scaling.md says."""
    path = Path(job.scenario_path)
    if path.is_file():
        return path
    if Path(path.name).is_file():  # Ray's working_dir unpacked here
        return Path(path.name)
    folder = Path(tempfile.mkdtemp(prefix="horde-scenario-"))
    copy = folder / path.name
    copy.write_bytes(job.scenario_source)
    sys.path.insert(0, str(folder))
    return copy


class _Engine:
    """The worker's side of the run, on its own event loop."""

    def __init__(self, job: Job, scenario: Scenario) -> None:
        self.job = job
        self.scenario = scenario
        self.recorder = Recorder()
        self.hub = Hub(self.recorder)
        self.monitor: GeneratorMonitor | None = None
        self.stop = asyncio.Event()
        self.ticks: list[Tick] = []
        self.finished: Finished | None = None
        self.progress: Progress | None = None
        self._task: asyncio.Task[None] | None = None

    async def begin(self, at: float) -> None:
        self.monitor = GeneratorMonitor()
        self._task = asyncio.create_task(self._run(at))

    async def answer(self, orders: Orders) -> Report:
        if orders.stop:
            self.stop.set()
        if self.progress is not None:
            self.progress.override_users = orders.users
        if orders.events:
            self.hub.events.set_others(orders.events)
        ticks, self.ticks = self.ticks, []
        events = self.hub._events.own_counts() if self.hub._events is not None else {}
        return Report(ticks, events, self.finished, tallies=RunTallies.of(self.recorder),
                      users_started=self.recorder.users_started)

    async def _run(self, at: float) -> None:
        job, recorder, monitor = self.job, self.recorder, self.monitor
        assert monitor is not None
        params = make_params(self.scenario.params_type, job.config.params,
                             self.scenario.path or self.scenario.name)
        config, roster = cast_config(job.config, self.scenario, params)
        progress = self.progress = Progress(
            plan_for(config, self.scenario),
            CircuitBreaker(recorder.connections, config.circuit_breaker))
        misuse: asyncio.Future[UsageError] = asyncio.get_running_loop().create_future()
        shared = pickle.loads(job.shared) if job.shared else None
        load = LoadJob(config, self.scenario, recorder, asyncio.Event(), self.stop,
                       (shared, params, self.hub, roster), progress, misuse)
        await asyncio.sleep(max(at - time.time(), 0.0))
        t0 = CLOCK()
        background = [asyncio.create_task(monitor.probe_loop_lag()),
                      asyncio.create_task(self._tick(t0))]
        status, load_s, abort = "completed", 0.0, None
        try:
            with use_policy(config.host_policy), use_local_addresses(config.local_ips):
                status, load_s = await run_load(load, job.segment)
            abort = progress.abort_reason
        except Exception as exc:  # a bug, not the target: the coordinator aborts the run
            status, abort = "aborted", f"worker {job.segment.index} failed: {exc!r}"
            raise
        finally:
            for task in background:
                task.cancel()
            await asyncio.gather(*background, return_exceptions=True)
            self._close_window(int(CLOCK() - t0) + 1)
            self.finished = Finished(
                status, load_s, abort,
                str(misuse.result()) if misuse.done() else None,
                RunTallies.of(recorder),
                _sections(recorder),
                progress.late_sessions, progress.dropped_sessions,
                monitor.summary(),
            )

    async def _tick(self, t0: float) -> None:
        """Close a window every second on the start's schedule, as the runner does."""
        n = 1
        while True:
            while (wait := t0 + n - CLOCK()) > 0:
                await asyncio.sleep(wait)
            self._close_window(n)
            n += 1

    def _close_window(self, n: int) -> None:
        assert self.monitor is not None and self.progress is not None
        window = self.recorder.take_window()
        self.ticks.append(Tick(n, pack(window, self.recorder.value_specs), Gauges.of(self.recorder),
                               self.monitor.sample(), float(self.progress.target)))


def _sections(recorder: Recorder) -> dict[str, dict[str, Any]]:
    """Each tracker's section of results.json, as this worker saw it."""
    out = {}
    for name, report in recorder.sections.items():
        with contextlib.suppress(Exception):
            out[name] = report()
    return out
