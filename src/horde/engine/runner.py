"""One run, from setup to results.

``run`` wires scenario → spawner → virtual users → recorder → aggregator → sinks, and
owns every task it starts. It stops on the deadline, when every user has finished its
iterations, or when ``stop`` is set (Ctrl-C, SIGTERM, a live abort) — and in every case
it still tears down, closes connections and hands complete results to the sinks.

Which sinks, live views and probes surround it is decided above, in
:mod:`horde.assembly` (the composition root the CLI and the pytest plugin share); what
the process does with its collector (``gc.freeze``) is decided at its edge, the CLI; how
often it walks the users while they are being started is the load's
(:mod:`horde.engine.collector`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from horde.config.model import RunConfig
from horde.coordination.groups import GroupTracker
from horde.coordination.hub import Hub
from horde.coordination.roles import Roster
from horde.engine.circuit_breaker import CircuitBreaker
from horde.engine.collector import pace_full_collections
from horde.engine.control import RunControl
from horde.engine.cores import one_process
from horde.engine.hooks import HookOutcome, run_hook
from horde.engine.loop import Interrupt
from horde.engine.pacing import Progress, follow_arrivals, follow_users
from horde.engine.segments import WHOLE, RosterShare, Segment
from horde.engine.user_pool import UserPool
from horde.errors import ConfigError, UsageError
from horde.metrics.aggregator import Aggregator
from horde.metrics.recorder import Recorder
from horde.metrics.thresholds import Threshold, evaluate, parse_threshold
from horde.metrics.verdict import decide
from horde.monitor.generator import GeneratorMonitor
from horde.report.analysis import analyze
from horde.report.model import checked
from horde.report.results import build_results
from horde.safety.hosts import use_policy
from horde.safety.tls import client_tls
from horde.scenario.model import Scenario
from horde.scenario.params import make_params
from horde.scenario.transports_needed import import_transports
from horde.scenario.user import User
from horde.shapes.custom import sample_plan
from horde.shapes.plan import Plan
from horde.sinks.base import Sink
from horde.transports.local_addresses import use_local_addresses

log = logging.getLogger("horde")
CLOCK = time.perf_counter  # every time of the run, operations' included, on one clock


class Probe(Protocol):
    """Something watched beside the load (the target's process): sampled once per row,
    its fields merged into the row; its ``report()`` becomes results section ``name``."""

    name: str

    def row_fields(self, t: float) -> dict[str, Any]: ...

    def report(self) -> dict[str, Any]: ...


@dataclass
class RunContext:
    """What ``@setup`` and ``@teardown`` receive: a user of their own, outside the load."""

    config: RunConfig
    user: User

    @property
    def target(self) -> str:
        """The run's ``--target`` URL."""
        return self.config.target

    @property
    def http(self) -> Any:
        """An :class:`~horde.HttpClient` of its own (its requests are counted too)."""
        return self.user.http

    @property
    def params(self) -> Any:
        """The scenario's parameters (``Params`` with ``--param`` applied)."""
        return self.user.params


@dataclass(slots=True)
class LoadJob:
    """Everything the load phase works with: the run's settings, what the users share,
    where they record, and the events that end it."""

    config: RunConfig
    scenario: Scenario
    recorder: Recorder
    stopping: asyncio.Event  # set when the load ends: users stop starting iterations
    stop: asyncio.Event  # set to end the load early (a signal, a live stop, an abort)
    context: tuple[Any, Any, Hub, Roster | None]  # @setup's value, params, hub, roster
    progress: Progress
    misuse: asyncio.Future[UsageError]


class LoadPhase(Protocol):
    """How the load itself runs: here, on this event loop (:class:`LocalLoad`), or on
    workers (``horde.cluster``). The runner around it — setup, the tick, sinks, control,
    teardown, results — is the same either way."""

    async def run(self, job: LoadJob) -> tuple[str, float]:
        """Follow the plan; the run's status and how long the load lasted."""
        ...

    def before_tick(self, recorder: Recorder, progress: Progress) -> None:
        """Just before each window closes (workers: their windows are added here)."""
        ...

    def sample(self, monitor: GeneratorMonitor) -> dict[str, Any]:
        """This second's health fields of the row (CPU, memory, loop lag)."""
        ...

    def generator(self, monitor: GeneratorMonitor, rows: list[dict[str, Any]]) -> dict[str, Any]:
        """results.json ``generator``: the load generator's health over the run."""
        ...

    def facts(self) -> dict[str, Any] | None:
        """results.json ``workers`` (None for one process)."""
        ...


class LocalLoad:
    """The load on this process's event loop: today's single-process run."""

    async def run(self, job: LoadJob) -> tuple[str, float]:
        return await run_load(job)

    def before_tick(self, recorder: Recorder, progress: Progress) -> None:
        pass

    def sample(self, monitor: GeneratorMonitor) -> dict[str, Any]:
        return monitor.sample()

    def generator(self, monitor: GeneratorMonitor, rows: list[dict[str, Any]]) -> dict[str, Any]:
        return monitor.summary(rows)

    def facts(self) -> dict[str, Any] | None:
        return None


async def run(
    config: RunConfig,
    scenario: Scenario,
    sinks: Sequence[Sink] = (),
    stop: asyncio.Event | None = None,
    probes: Sequence[Probe] = (),
    load: LoadPhase | None = None,
) -> dict[str, Any]:
    """Run ``scenario`` as ``config`` says; returns the results dict the sinks received.
    The load runs as ``load`` says: on this event loop (the default), or on workers —
    :func:`horde.run` picks, and starts them.
"""
    stop = stop or asyncio.Event()
    params = make_params(scenario.params_type, config.params, scenario.path or scenario.name)
    config, roster = cast_config(config, scenario, params)
    if load is None:
        if not one_process(config.workers, config.cluster):
            raise UsageError("workers run through horde.run, which starts them "
                             "(horde.engine.runner.run is one process's load)")
        load = LocalLoad()
    import_transports(scenario)  # before the run's clock and loop-lag probe start
    with use_policy(config.host_policy), use_local_addresses(config.local_ips):
        return await _run(config, scenario, sinks, stop, probes, params, roster, load)


async def _run(
    config: RunConfig,
    scenario: Scenario,
    sinks: Sequence[Sink],
    stop: asyncio.Event,
    probes: Sequence[Probe],
    params: Any,
    roster: Roster | None,
    phase: LoadPhase,
) -> dict[str, Any]:
    recorder = Recorder()
    hub = Hub(recorder)
    aggregator = Aggregator(recorder)
    monitor = GeneratorMonitor()
    for probe in probes:
        recorder.add_section(probe.name, probe.report)
    stopping = asyncio.Event()
    started_at = datetime.now(UTC).isoformat(timespec="seconds")
    t0 = CLOCK()
    breaker = CircuitBreaker(recorder.connections, config.circuit_breaker)
    progress = Progress(plan_for(config, scenario), breaker)
    control = _attach(sinks, config, scenario, progress, stop, aggregator, roster)
    background = [
        asyncio.create_task(monitor.probe_loop_lag()),
        asyncio.create_task(
            _tick(aggregator, (monitor, probes, phase), progress, sinks, t0,
                  _abort_check(config, scenario, stop))
        ),
    ]
    ctx = RunContext(config, _new_user(-1, config, recorder, stopping, None, params, hub=hub))
    load_s = 0.0
    misuse: asyncio.Future[UsageError] = asyncio.get_running_loop().create_future()
    try:
        status, setup = await _setup(scenario, ctx, stop, recorder)
        if status == "completed":
            status, load_s = await phase.run(LoadJob(
                config, scenario, recorder, stopping, stop, (setup.value, params, hub, roster),
                progress, misuse,
            ))
        if progress.abort_reason is not None:
            status = "aborted"
        elif status == "interrupted" and control.stopped_by is not None:
            status = "stopped"
        if scenario.teardown is not None and setup.ok:
            await _teardown(scenario, ctx, setup.value, stop, recorder)
    finally:
        await ctx.user.close()
        for task in background:
            task.cancel()
        await asyncio.gather(*background, return_exceptions=True)
    now = CLOCK()
    last_tick = t0 + (aggregator.rows[-1]["t"] if aggregator.rows else 0.0)
    phase.before_tick(recorder, progress)
    aggregator.tick(now - t0, _extra(monitor, probes, phase, now - t0)
                    | progress.snapshot(last_tick, now))
    outcome = RunOutcome(status, started_at, load_s, progress.abort_reason)
    results = conclude(config, scenario, aggregator, outcome, progress,
                       phase.generator(monitor, aggregator.rows), sinks, phase.facts())
    if misuse.done():  # a user's UsageError: the results are written, the run ends with it
        raise misuse.result()
    return results


@dataclass(frozen=True, slots=True)
class RunOutcome:
    """How the load phase went: what results.json's run facts say of it."""

    status: str
    started_at: str
    load_s: float
    abort_reason: str | None = None


def conclude(
    config: RunConfig,
    scenario: Scenario,
    aggregator: Aggregator,
    outcome: RunOutcome,
    progress: Progress,
    generator: dict[str, Any],
    sinks: Sequence[Sink],
    workers: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The results of a finished run — thresholds, verdict, analysis, checked against the
    schema — handed to every sink. One process or many workers, the same steps."""
    run_facts = {
        "scenario": scenario.name,
        "scenario_file": scenario.path,
        "target": config.target,
        "config": {
            "users": config.users,
            "spawn_rate": config.effective_spawn_rate,
            "duration_s": config.duration_s,
            "iterations": config.iterations,
            "shape": config.shape,
            "seed": config.seed,
        },
        "started_at": outcome.started_at,
        "duration_s": round(outcome.load_s, 3),
        "status": outcome.status,
        "abort_reason": outcome.abort_reason,
        "out_dir": str(config.out_dir) if config.out_dir else None,
        "load": _load_facts(config, progress, aggregator),
    }
    if workers is not None:
        run_facts["workers"] = workers
    results = build_results(aggregator, run=run_facts, generator=generator)
    results["thresholds"] = evaluate(
        thresholds_for(config, scenario), results, aggregator.totals.latencies
    )
    verdict = decide(results)
    results["passed"] = verdict.passed
    results["verdict"] = {"passed": verdict.passed, "reason": verdict.reason}
    try:  # last: it reads the verdicts above; a bug in it must not cost the results
        results["analysis"] = analyze(results)
    except Exception:
        log.exception("the analysis failed; results are written without it")
    results = checked(results)  # the schema of results.json, every key typed
    for sink in sinks:
        _safely(sink.on_finish, results)
    return results


async def _setup(
    scenario: Scenario, ctx: RunContext, stop: asyncio.Event, recorder: Recorder
) -> tuple[str, HookOutcome]:
    """``@setup``, bounded and interruptible: the run's status so far and its outcome
    (whose value every user gets as ``user.shared``). A run stopped before it began (a
    signal while horde was starting) runs nothing."""
    if stop.is_set():
        return "interrupted", HookOutcome(False, interrupted=True)
    if scenario.setup is None:
        return "completed", HookOutcome(True)
    timeout = scenario.hook_timeouts.get("setup", ctx.config.timeout_s)
    outcome = await run_hook(scenario.setup(ctx), "setup", timeout, stop.wait, recorder)
    if outcome.interrupted:
        return "interrupted", outcome
    return ("completed" if outcome.ok else "setup_failed"), outcome


async def _teardown(
    scenario: Scenario, ctx: RunContext, shared: Any, stop: asyncio.Event, recorder: Recorder
) -> None:
    """``@teardown`` cleans up, so it runs even after an interruption — bounded by its
    timeout, and ended by the next signal (by the first, if none came yet)."""
    assert scenario.teardown is not None
    timeout = scenario.hook_timeouts.get("teardown", ctx.config.timeout_s)
    if not stop.is_set():
        interrupted: Callable[[], Awaitable[Any]] = stop.wait
    elif isinstance(stop, Interrupt):
        interrupted = stop.next_signal
    else:  # stopped by the caller's own event: only the timeout can end it
        interrupted = asyncio.Event().wait
    await run_hook(scenario.teardown(ctx, shared), "teardown", timeout, interrupted, recorder)


async def run_load(job: LoadJob, segment: Segment = WHOLE) -> tuple[str, float]:
    """The load phase: follow the plan until it ends, the users finish, ``stop``, or a
    user raises a UsageError (``misuse`` gets it: the run is aborted). On a worker, only
    its ``segment`` of the plan."""
    config, recorder, context, progress, misuse = (
        job.config, job.recorder, job.context, job.progress, job.misuse)
    plan = progress.plan
    roster = context[3]
    share: Segment | RosterShare = segment if roster is None else segment.of(roster)
    make_user = _user_maker(config, recorder, job.stopping, context, share)

    def misused(exc: UsageError) -> None:
        if not misuse.done():
            misuse.set_result(exc)

    pool = UserPool(make_user, job.scenario, config.iterations, config.stop_timeout_s,
                    share if isinstance(share, RosterShare) else None,
                    on_usage_error=misused)
    if plan.open_model:
        driver = follow_arrivals(plan, pool, CLOCK, progress, segment)
    else:
        driver = follow_users(
            plan, pool, CLOCK, progress, until_done=config.iterations is not None, share=share
        )
    began = CLOCK()
    try:
        status = await _drive(job, pool, driver)
        if status == "completed" and config.graceful_stop_s > 0:
            with contextlib.suppress(TimeoutError):  # iterations in flight may finish
                await asyncio.wait_for(pool.wait_running(), config.graceful_stop_s)
        load_s = CLOCK() - began
    finally:  # a cancelled run (``horde.run`` under a timeout) stops its users too
        await pool.close()
    return status, load_s


async def _drive(job: LoadJob, pool: UserPool, driver: Coroutine[Any, Any, None]) -> str:
    """Follow the plan until it ends, ``stop``, the time cap or a misuse; the status. Its
    tasks, the collector's pacing among them, end on every way out, a cancellation too."""
    progress, recorder = job.progress, job.recorder
    tasks = [
        asyncio.create_task(driver),
        asyncio.create_task(job.stop.wait()),
        asyncio.create_task(asyncio.sleep(job.config.max_duration_s)),
        asyncio.create_task(pace_full_collections(
            lambda: pool.running + recorder.open_connections)),
    ]
    driving, interrupted = tasks[0], tasks[1]
    try:
        done, _ = await asyncio.wait([*tasks[:3], job.misuse],
                                     return_when=asyncio.FIRST_COMPLETED)
        status = "interrupted" if interrupted in done else "completed"
        if job.misuse.done():
            status = "aborted"
            progress.abort_reason = f"usage error: {job.misuse.result()}"
        if driving in done and progress.plan.open_model:  # sessions in flight may finish
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(pool.wait_sessions(), job.config.stop_grace_s)
        return status
    finally:
        job.stopping.set()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def cast_config(
    config: RunConfig, scenario: Scenario, params: Any
) -> tuple[RunConfig, Roster | None]:
    """A scenario with ``ROLES`` has as many users as its roster lists: that is ``users``
    (a shape can still pace them, never exceed them). Roles need a closed model."""
    if not scenario.cast:
        return config, None
    roster = Roster(scenario.cast, params)
    if roster.size == 0:
        raise ConfigError(f"{scenario.path}: ROLES start no user with these parameters")
    config = config.model_copy(update={"users": roster.size})
    if plan_for(config, scenario).open_model:
        raise ConfigError(
            f"{scenario.path}: a scenario with ROLES starts a fixed roster; "
            "use --users/--connect or a users shape, not arrival-rate"
        )
    return config, roster


def thresholds_for(config: RunConfig, scenario: Scenario) -> tuple[Threshold, ...]:
    """The run's ``--threshold``s, else the scenario's own ``THRESHOLDS``."""
    if config.thresholds:
        return config.parsed_thresholds
    return tuple(parse_threshold(t) for t in scenario.thresholds)


def plan_for(config: RunConfig, scenario: Scenario) -> Plan:
    """``--shape`` if given, else the scenario's own ``@horde.shape``, else users/spawn
    rate; a duration given (flag, config file or OPTIONS) ends a longer shape early."""
    if config.shape is None and scenario.shape is not None:
        plan = sample_plan(scenario.shape, config.max_duration_s, scenario.path or scenario.name)
    else:
        plan = config.plan
    given = config.given_duration_s
    return plan if given is None else plan.cut(given)


def _load_facts(config: RunConfig, progress: Progress, aggregator: Aggregator) -> dict[str, Any]:
    """The plan that was followed and what each of its stages measured."""
    plan = progress.plan
    facts: dict[str, Any] = {
        "shape": config.shape or plan.shape,
        "unit": plan.unit,
        "plan": [
            {"stage": s.stage, "start_s": s.start_s, "duration_s": s.duration_s,
             "from": s.value_from, "to": s.value_to}
            for s in plan.segments
        ],
        "stages": aggregator.stage_summaries(),
        "circuit_breaker": progress.breaker.report(),
    }
    if plan.open_model:
        facts["sessions"] = {
            "started": aggregator.recorder.users_started,
            "late": progress.late_sessions,
            "dropped": progress.dropped_sessions,
            "max_concurrent": plan.max_concurrent,
        }
    return facts


def _attach(
    sinks: Sequence[Sink],
    config: RunConfig,
    scenario: Scenario,
    progress: Progress,
    stop: asyncio.Event,
    aggregator: Aggregator,
    roster: Roster | None,
) -> RunControl:
    """Hand the run's control to the sinks that want it (a dashboard): ``attach(port)``,
    a :class:`~horde.sinks.base.RunPort` to them."""
    control = RunControl(
        progress, stop, aggregator, thresholds_for(config, scenario),
        roster_size=roster.size if roster is not None else None,
        info={"scenario": scenario.name, "target": config.target,
              "shape": config.shape or progress.plan.shape, "unit": progress.plan.unit},
        clock=CLOCK,
    )
    for sink in sinks:
        attach = getattr(sink, "attach", None)
        if attach is not None:
            _safely(attach, control)
    return control


Check = Callable[[Aggregator, Progress, float], None]


def _abort_check(config: RunConfig, scenario: Scenario, stop: asyncio.Event) -> Check | None:
    """With ``--abort-on-fail``: after the grace period, every second, stop the run as
    soon as a threshold fails on the results so far (no data yet is not a failure)."""
    thresholds = thresholds_for(config, scenario)
    if not (config.abort_on_fail and thresholds):
        return None

    def check(aggregator: Aggregator, progress: Progress, now: float) -> None:
        if progress.began_at is None or stop.is_set():
            return
        elapsed = now - progress.began_at
        if elapsed < config.abort_grace_s:
            return
        live = build_results(aggregator, run={"duration_s": elapsed}, generator={})
        for verdict in evaluate(thresholds, live, aggregator.totals.latencies):
            if verdict["observed"] is not None and not verdict["passed"]:
                progress.abort_reason = (
                    f"threshold failed at {elapsed:.0f}s: {verdict['expression']} "
                    f"(observed {verdict['observed']})"
                )
                stop.set()
                return

    return check


def _extra(
    monitor: GeneratorMonitor, probes: Sequence[Probe], phase: LoadPhase, t: float
) -> dict[str, Any]:
    """A row's fields from beside the load: horde's own health, then each probe's."""
    extra = phase.sample(monitor)
    for probe in probes:
        try:
            extra.update(probe.row_fields(t))
        except Exception:
            log.exception("a probe failed; its fields are left out of this row")
    return extra


async def _tick(
    aggregator: Aggregator,
    watched: tuple[GeneratorMonitor, Sequence[Probe], LoadPhase],
    progress: Progress,
    sinks: Sequence[Sink],
    t0: float,
    check: Check | None,
) -> None:
    """Close a window every second, on a fixed schedule so rows never drift."""
    n = 1
    last = t0
    while True:
        while (wait := t0 + n - CLOCK()) > 0:  # the loop's timers may fire a little early
            await asyncio.sleep(wait)
        now = CLOCK()
        watched[2].before_tick(aggregator.recorder, progress)
        row = aggregator.tick(now - t0, _extra(*watched, now - t0) | progress.snapshot(last, now))
        last = now
        for sink in sinks:
            _safely(sink.on_row, row)
        if check is not None:
            check(aggregator, progress, now)
        n += 1


def _user_maker(
    config: RunConfig,
    recorder: Recorder,
    stopping: asyncio.Event,
    context: tuple[Any, Any, Hub, Roster | None],
    share: Segment | RosterShare,
) -> Callable[[int], User]:
    """How the pool makes its ``local``-th user: user ``i`` of the run (on a worker, the
    segment says which); with a roster, in its role and group."""
    shared, params, hub, roster = context
    groups = None
    if isinstance(share, RosterShare) and share.groups():
        groups = GroupTracker({g.name: share.counts[g.name] for g in share.groups()})
        recorder.add_section("groups", groups.report)

    def make_user(local: int) -> User:
        i = share.global_index(local)
        seed = None if config.seed is None else config.seed + i
        if roster is None:
            return _new_user(i, config, recorder, stopping, shared, params, seed, hub=hub)
        slot = roster.slots[i]
        group = None
        if slot.group is not None and groups is not None:
            group = groups.get(slot.group, slot.group_index)
        user = _new_user(
            i, config, recorder, stopping, shared, params, seed,
            hub=hub, role=slot.role, group=group, member=slot.member,
        )
        if group is not None:
            group.members.append(user.name)
        return user

    return make_user


def _new_user(
    i: int,
    config: RunConfig,
    recorder: Recorder,
    stopping: asyncio.Event,
    shared: Any,
    params: Any,
    seed: int | None = None,
    **placement: Any,
) -> User:
    return User(
        i,
        target=config.target,
        recorder=recorder,
        stopping=stopping,
        shared=shared,
        params=params,
        seed=seed,
        timeout=config.timeout_s,
        ssl_context=client_tls(config.ca_bundle, config.insecure),
        on_error=config.on_error,
        **placement,
    )


def _safely(fn: Any, arg: Any) -> None:
    try:
        fn(arg)
    except Exception:
        log.exception("a results sink failed; it is skipped")

