"""The coordinator's own rules, without Ray."""

from __future__ import annotations

import asyncio
from pathlib import Path

import horde
from horde.cluster import coordinator
from horde.cluster.coordinator import FINISH_MARGIN_S, finish_within
from horde.cluster.worker import EngineWorker
from horde.config.model import RunConfig
from horde.errors import WorkerLostError
from horde.scenario.loader import load_scenario


def test_a_stuck_worker_is_given_up_a_minute_after_the_plan_not_after_the_time_cap():
    config = RunConfig(scenario=Path("s.py"), target="http://127.0.0.1:9", duration_s=30)
    assert config.max_duration_s >= 3600  # the 6 h hard cap a stuck worker waited for
    assert finish_within(config, 30.0) == 30.0 + config.stop_timeout_s + FINISH_MARGIN_S
    short_cap = config.model_copy(update={"max_duration_s": 10.0})
    assert finish_within(short_cap, 30.0) == 10.0 + config.stop_timeout_s + FINISH_MARGIN_S


async def test_a_caller_that_cancels_while_ray_starts_gets_no_workers(monkeypatch):
    """Ray takes seconds to start: the caller's cancel (``horde.run`` under its own
    timeout) ends the wait, and no worker is placed after."""
    cancelled = []

    async def slow_start(workers, address):
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            cancelled.append(True)
            raise

    monkeypatch.setattr(coordinator, "import_ray", lambda: None)
    monkeypatch.setattr(coordinator.RayPool, "start", slow_start)
    config = RunConfig(scenario=Path("s.py"), target="http://127.0.0.1:9", workers=2)
    workers = coordinator.Workers(config)
    opening = asyncio.create_task(workers.open())
    await asyncio.sleep(0.05)
    opening.cancel()
    await asyncio.gather(opening, return_exceptions=True)
    assert workers.pool is None and cancelled == [True]


class InProcessPool:
    """The run's workers as plain :class:`EngineWorker` objects in this process — each
    serves its engine's loop from its own thread, as in a Ray actor — except that worker
    ``doomed`` dies before its answer to the start order arrives (on a busy machine that
    answer came after the load had begun, and the worker killed itself first)."""

    def __init__(self, size: int, doomed: int | None = None) -> None:
        self.workers = [EngineWorker(i) for i in range(size)]
        self.doomed = doomed
        self.polled: set[int] = set()

    @property
    def size(self) -> int:
        return len(self.workers)

    async def prepare(self, jobs):
        return [await asyncio.to_thread(w.prepare, job) for w, job in zip(self.workers, jobs, strict=True)]

    async def begin(self, worker: int, at: float) -> None:
        if worker == self.doomed:
            raise WorkerLostError(worker, "The actor died unexpectedly before finishing this task.")
        await asyncio.to_thread(self.workers[worker].start, at)

    async def poll(self, worker: int, orders):
        self.polled.add(worker)
        return await asyncio.to_thread(self.workers[worker].poll, orders)

    def kill(self, worker: int) -> None:
        pass

    async def close(self) -> None:
        pass


async def test_a_worker_lost_before_its_start_is_answered_is_lost_not_an_error(
        monkeypatch, tmp_path, echo_server):
    """Seen in the suite beside another test: no results.json at all, the start order's
    WorkerLostError escaping the run. Now the run goes on as ``--on-worker-lost`` says
    and names the worker."""
    pool = InProcessPool(2, doomed=1)

    async def start(workers, address):
        return pool

    monkeypatch.setattr(coordinator, "import_ray", lambda: None)
    monkeypatch.setattr(coordinator.RayPool, "start", start)
    path = tmp_path / "idle.py"
    path.write_text("import horde\n\n@horde.on_start\nasync def connect(user):\n"
                    "    await user.websocket('/ws')\n\n@horde.behaviour\n"
                    "async def idle(user):\n    await user.think(0.5)\n")
    config = RunConfig(scenario=path, target=echo_server, users=4, spawn_rate=100,
                       duration_s=2, workers=2, on_worker_lost="continue",
                       progress=False, out_dir=tmp_path / "out")
    results = await horde.run(config, load_scenario(path))
    assert results["status"] == "completed"
    [lost] = results["workers"]["lost"]
    assert lost["worker"] == 1 and "died" in lost["reason"] and lost["at_s"] == 0.0  # before the load began
    assert pool.polled == {0}  # the other worker carried the run
    assert results["metrics"]["ws_connect"]["count"] == 2  # its two users' connects


def _in_process_workers(monkeypatch, pool: InProcessPool) -> None:
    async def start(workers, address):
        return pool

    monkeypatch.setattr(coordinator, "import_ray", lambda: None)
    monkeypatch.setattr(coordinator.RayPool, "start", start)


async def test_each_row_is_of_the_workers_seconds_its_stage_and_its_users(
        monkeypatch, tmp_path, echo_server):
    """Workers close their windows half a second before the coordinator's row: a row's
    stage was the coordinator's, half a second later than its data (the first row of
    "4 users" held 2), and its users started came from fresher answers than its active
    users (live: "started 19 done 9" while no user had finished)."""
    _in_process_workers(monkeypatch, InProcessPool(2))
    path = tmp_path / "steps.py"
    path.write_text("import horde\n\n@horde.behaviour\nasync def idle(user):\n"
                    "    await user.think(0.25)\n")
    config = RunConfig(scenario=path, target=echo_server, workers=2, progress=False,
                       shape="steps(start=2, increment=2, interval=2s, max=6)",
                       out_dir=tmp_path / "out")
    results = await horde.run(config, load_scenario(path))
    rows = [r for r in results["timeseries"] if r["stage"] is not None]
    assert {r["stage"] for r in rows} == {"stage 1: 2 users", "stage 2: 4 users",
                                          "stage 3: 6 users"}
    started = 0
    for row in results["timeseries"]:
        started += row["users_started"]  # this second's
        if row["stage"] is not None:  # (the last row, after the plan, has them stopped)
            assert started == row["users"], row  # none has finished: started == active
            # the stage's users, or some of the next stage's already: a window closing at
            # the very moment a stage begins may see its users start (as in one process)
            wanted = int(row["stage"].split(": ")[1].split()[0])
            assert wanted <= row["users"] <= wanted + 2, (row["t"], row["stage"], row["users"])


def test_a_ticks_peak_in_flight_is_each_workers_highest_summed_not_every_window_added():
    """8 users on 2 workers showed a peak of 14 in flight: a tick added the peaks of every
    window it absorbed (two of one worker, when answers bunch up) on top of the level the
    window began at. Each worker's highest of the tick, summed, is the tick's peak."""
    from types import SimpleNamespace

    from horde.metrics.recorder import Recorder
    from horde.metrics.shipping import Gauges, pack

    def tick(n: int, peak: int) -> coordinator.Tick:
        worker = Recorder()
        for _ in range(peak):
            worker.begin("http_req", "/x")  # in flight, never ended: the window's peak
        window = pack(worker.take_window(), {})
        return coordinator.Tick(n, window, Gauges(active_users=4, in_flight=peak,
                                                  peak_in_flight=peak), {}, 4.0)

    config = RunConfig(scenario=Path("s.py"), target="http://127.0.0.1:9", workers=2)
    workers = coordinator.Workers(config)
    recorder = Recorder()
    progress = SimpleNamespace(data_until_s=0.0)  # all before_tick reads of the run's
    for second in (1, 2):
        workers.pending = [(0, tick(second, 4)), (0, tick(second, 3)), (1, tick(second, 4))]
        workers.latest = {0: workers.pending[1][1], 1: workers.pending[2][1]}
        workers.before_tick(recorder, progress)
        assert recorder.take_window().peak_in_flight == 8  # 4 + 4, not 4 + 3 + 4 (+ 7)
