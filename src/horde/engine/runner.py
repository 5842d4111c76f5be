"""The composition root: one run, from setup to results.

``run`` wires scenario → spawner → virtual users → recorder → aggregator → sinks, and
owns every task it starts. It stops on the deadline, when every user has finished its
iterations, or when ``stop`` is set (Ctrl-C, SIGTERM, a live abort) — and in every case
it still tears down, closes connections and hands complete results to the sinks.
"""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from horde.config.model import RunConfig
from horde.engine.spawner import spawn
from horde.engine.virtual_user import guarded, run_user, stop_user
from horde.metrics.aggregator import Aggregator
from horde.metrics.recorder import Recorder
from horde.metrics.thresholds import evaluate
from horde.monitor.generator import GeneratorMonitor
from horde.report.results import build_results
from horde.scenario.model import Scenario
from horde.scenario.user import User
from horde.sinks.base import Sink

log = logging.getLogger("horde")
STOP_CONCURRENCY = 500


@dataclass
class RunContext:
    """What ``@setup`` and ``@teardown`` receive: a user of their own, outside the load."""

    config: RunConfig
    user: User

    @property
    def target(self) -> str:
        return self.config.target

    @property
    def http(self) -> Any:
        return self.user.http


async def run(
    config: RunConfig,
    scenario: Scenario,
    sinks: Sequence[Sink] = (),
    stop: asyncio.Event | None = None,
) -> dict[str, Any]:
    """Run ``scenario`` as ``config`` says; returns the results dict the sinks received."""
    stop = stop or asyncio.Event()
    gc.freeze()  # imports and the scenario are long-lived: keep GC pauses out of latencies
    recorder = Recorder()
    aggregator = Aggregator(recorder)
    monitor = GeneratorMonitor()
    stopping = asyncio.Event()
    started_at = datetime.now(UTC).isoformat(timespec="seconds")
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    background = [
        asyncio.create_task(monitor.probe_loop_lag()),
        asyncio.create_task(_tick(aggregator, monitor, sinks, t0)),
    ]
    ctx = RunContext(config, _new_user(-1, config, recorder, stopping, None))
    status = "completed"
    load_s = 0.0
    try:
        shared = None
        if scenario.setup is not None:
            holder: list[Any] = []
            ok = await guarded(_capture(scenario.setup(ctx), holder), recorder)
            if not ok:
                status = "setup_failed"
            shared = holder[0] if holder else None
        if status == "completed":
            status, load_s = await _load(config, scenario, recorder, stopping, stop, shared)
        if scenario.teardown is not None:
            await guarded(scenario.teardown(ctx, shared), recorder)
    finally:
        await ctx.user.close()
        for task in background:
            task.cancel()
        await asyncio.gather(*background, return_exceptions=True)
    aggregator.tick(loop.time() - t0, monitor.sample())
    run_facts = {
        "scenario": scenario.name,
        "scenario_file": scenario.path,
        "target": config.target,
        "config": {
            "users": config.users,
            "spawn_rate": config.effective_spawn_rate,
            "duration_s": config.duration_s,
            "iterations": config.iterations,
        },
        "started_at": started_at,
        "duration_s": round(load_s, 3),
        "status": status,
        "out_dir": str(config.out_dir) if config.out_dir else None,
    }
    results = build_results(aggregator, run=run_facts, generator=monitor.summary())
    results["thresholds"] = evaluate(
        config.parsed_thresholds, results, aggregator.totals.latencies
    )
    results["passed"] = status != "setup_failed" and all(
        t["passed"] for t in results["thresholds"]
    )
    for sink in sinks:
        _safely(sink.on_finish, results)
    return results


async def _load(
    config: RunConfig,
    scenario: Scenario,
    recorder: Recorder,
    stopping: asyncio.Event,
    stop: asyncio.Event,
    shared: Any,
) -> tuple[str, float]:
    """The load phase: spawn users, wait for an end condition, stop them all."""
    loop = asyncio.get_running_loop()
    users: list[User] = []
    tasks: list[asyncio.Task[None]] = []
    all_started = asyncio.Event()

    def start_user(i: int) -> None:
        seed = None if config.seed is None else config.seed + i
        user = _new_user(i, config, recorder, stopping, shared, seed)
        users.append(user)
        tasks.append(asyncio.create_task(run_user(user, scenario, config.iterations)))

    async def spawn_all() -> None:
        await spawn(config.users, config.effective_spawn_rate, start_user, loop.time)
        all_started.set()

    async def all_finished() -> None:
        await all_started.wait()
        await asyncio.gather(*tasks, return_exceptions=True)

    began = loop.time()
    spawner = asyncio.create_task(spawn_all())
    waiters = [
        asyncio.create_task(stop.wait()),
        asyncio.create_task(all_finished()),
        asyncio.create_task(asyncio.sleep(config.deadline_s)),
    ]
    done, _ = await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
    status = "interrupted" if waiters[0] in done else "completed"
    load_s = loop.time() - began
    stopping.set()
    for task in [spawner, *waiters, *tasks]:
        task.cancel()
    await asyncio.gather(spawner, *waiters, *tasks, return_exceptions=True)
    await _stop_all(users, scenario, config.stop_grace_s)
    return status, load_s


async def _stop_all(users: list[User], scenario: Scenario, grace_s: float) -> None:
    """Stop every user, at most ``STOP_CONCURRENCY`` at a time.

    Closing 10,000 connections at once put 25 MB of close handshakes in flight: the run's
    peak memory came at its very end. Batches keep the shutdown flat and still quick.
    """
    gate = asyncio.Semaphore(STOP_CONCURRENCY)

    async def stop_one(user: User) -> None:
        async with gate:
            await stop_user(user, scenario, grace_s)

    await asyncio.gather(*(stop_one(u) for u in users))


async def _tick(
    aggregator: Aggregator, monitor: GeneratorMonitor, sinks: Sequence[Sink], t0: float
) -> None:
    """Close a window every second, on a fixed schedule so rows never drift."""
    loop = asyncio.get_running_loop()
    n = 1
    while True:
        await asyncio.sleep(max(0.0, t0 + n - loop.time()))
        row = aggregator.tick(loop.time() - t0, monitor.sample())
        for sink in sinks:
            _safely(sink.on_row, row)
        n += 1


async def _capture(step: Any, holder: list[Any]) -> None:
    holder.append(await step)


def _new_user(
    i: int,
    config: RunConfig,
    recorder: Recorder,
    stopping: asyncio.Event,
    shared: Any,
    seed: int | None = None,
) -> User:
    return User(
        i,
        target=config.target,
        recorder=recorder,
        stopping=stopping,
        shared=shared,
        seed=seed,
        timeout=config.timeout_s,
    )


def _safely(fn: Any, arg: Any) -> None:
    try:
        fn(arg)
    except Exception:
        log.exception("a results sink failed; it is skipped")

