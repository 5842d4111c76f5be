"""The composition root: one run and everything around it, put together in one place.

``horde run`` (and ``horde demo``) and the pytest plugin's ``horde_run`` both come here:
they turn their own input — flags, fixture options — into a typed ``RunConfig``, then
:func:`assemble` picks the sinks (terminal monitor, results.json, report files, console
summary), and :meth:`Assembly.run` starts what surrounds the run (the live views, the
watch on the target's process, the run history) before it and stops it after.

It sits above the engine, the sinks, the live views, the monitor and the store, and only
the entry points (``cli.py``, ``pytest_plugin.py``) import it. What belongs to a process
rather than a run — logging, ``gc.freeze``, signals, the event loop — stays with them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from horde.config.model import RunConfig
from horde.coordination.roles import Roster
from horde.engine.cores import one_process
from horde.engine.limits import open_files_shortfall
from horde.engine.runner import LoadPhase, LocalLoad, Probe, cast_config, plan_for
from horde.engine.runner import run as run_load_here
from horde.live.listen import Served
from horde.live.terminal.monitor import TerminalMonitor
from horde.monitor.target import watch_target
from horde.scenario.model import Scenario
from horde.scenario.params import make_params
from horde.sinks.base import Sink
from horde.sinks.console_summary import ConsoleSummary
from horde.sinks.report_files import ReportFiles
from horde.sinks.results_json import ResultsJson
from horde.store.sink import start_history

log = logging.getLogger("horde")


def cast(config: RunConfig, scenario: Scenario) -> tuple[RunConfig, Roster | None]:
    """The scenario's parameters checked and its ``ROLES`` roster cast (which fixes
    ``users``): bad input fails here, before anything starts."""
    params = make_params(scenario.params_type, config.params, str(config.scenario))
    return cast_config(config, scenario, params)


def files_shortfall(config: RunConfig, scenario: Scenario) -> str | None:
    """What to say before any load when this process's open-files limit is below what
    the plan needs: ``horde.run`` and the pytest plugin leave the limits of the process
    they run in as they are (``horde run`` raises them itself, see engine/limits.py)."""
    config, _ = cast(config, scenario)  # with ROLES, the roster fixes the user count
    return open_files_shortfall(plan_for(config, scenario), config.workers)


@contextlib.asynccontextmanager
async def opened_load_phase(config: RunConfig) -> AsyncIterator[LoadPhase]:
    """Where the load runs, ready before anything of the run starts: this event loop, or
    workers (``--workers``, ``--cluster``; Ray is imported only then) placed on the
    cluster, so that a cluster that cannot be joined is one line and exit 2 — no
    ``@setup``, no results, no history row — and Ray's start-up is not in the run's
    time series. The workers are ended on the way out."""
    if one_process(config.workers, config.cluster):
        yield LocalLoad()
        return
    from horde.cluster.coordinator import Workers

    workers = Workers(config)
    await workers.open()
    try:
        yield workers
    finally:
        await workers.close()


async def run(
    config: RunConfig,
    scenario: Scenario,
    sinks: Sequence[Sink] = (),
    stop: asyncio.Event | None = None,
    probes: Sequence[Probe] = (),
) -> dict[str, Any]:
    """Run ``scenario`` as ``config`` says, in this process or on workers, and return
    the results dict the ``sinks`` received (docs/results.md).

    ``stop`` ends the load early when set (the results are still complete, status
    ``stopped``); ``probes`` are watched beside the load (the target's process). The
    process's garbage collector is left as it is: ``horde run`` calls ``gc.freeze()``
    first, so what was loaded stays out of the collections that would pause the load.
    """
    stop = stop or asyncio.Event()
    if (shortfall := files_shortfall(config, scenario)) is not None:
        log.warning("%s", shortfall)
    async with opened_load_phase(config) as phase:
        return await run_load_here(config, scenario, sinks, stop, probes, phase)


def report_sinks(
    config: RunConfig, formats: Sequence[str] = (), monitor_interval_s: float | None = None
) -> list[Sink]:
    """What every run shows and writes, in this order: the terminal monitor (unless
    quiet), results.json and the other ``formats`` (with an ``out_dir``), the summary."""
    sinks: list[Sink] = []
    if config.progress:
        sinks.append(TerminalMonitor(config.users, interval_s=monitor_interval_s))
    if config.out_dir is not None:
        sinks.append(ResultsJson(config.out_dir))
    sinks.append(ConsoleSummary())
    extra = [f for f in formats if f != "json"]  # results.json has its own sink
    if extra and config.out_dir is not None:
        sinks.append(ReportFiles(config.out_dir, extra))
    return sinks


@dataclass(slots=True)
class Assembly:
    """One run, its sinks chosen, what surrounds it not started yet."""

    config: RunConfig
    scenario: Scenario
    sinks: list[Sink]
    served: list[Served] = field(default_factory=list)  # dashboard, Prometheus endpoint
    watched: dict[str, Any] | None = None  # watch_target's pid/cmd/baseline_s; None: none
    history: Path | None = None  # the run history to record the run in; None: not kept

    async def run(self, stop: asyncio.Event | None = None) -> dict[str, Any]:
        """Place the workers (if any), start the live views, the target watch, then the
        history record (once all around the run is up), run, and stop them all again;
        the results."""
        stop = stop or asyncio.Event()
        async with contextlib.AsyncExitStack() as stack:
            phase = await stack.enter_async_context(opened_load_phase(self.config))
            live: list[Any] = [await stack.enter_async_context(s) for s in self.served]
            probes = []
            if self.watched is not None:
                probe = await stack.enter_async_context(
                    watch_target(self.config.target, **self.watched)
                )
                if probe is not None:
                    probes.append(probe)
            if self.history is not None:
                live.append(start_history(self.history, self.config, self.scenario))
            sinks = [*self.sinks, *live]
            return await run_load_here(self.config, self.scenario, sinks, stop, probes, phase)


def assemble(
    config: RunConfig,
    scenario: Scenario,
    *,
    formats: Sequence[str] = (),
    monitor_interval_s: float | None = None,
    served: Sequence[Served] = (),
    watched: dict[str, Any] | None = None,
    history: Path | None = None,
) -> Assembly:
    """The run of ``scenario`` as ``config`` says, with the report sinks for ``formats``,
    the live views ``served`` (made, not started), the target process ``watched`` and
    the run recorded in ``history``."""
    return Assembly(config, scenario, report_sinks(config, formats, monitor_interval_s),
                    list(served), watched, history)
