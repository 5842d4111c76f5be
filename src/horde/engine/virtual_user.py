"""One virtual user's life: start, run behaviours until told to stop, stop.

Failures never end the run. A target error was already counted by the transport that
saw it; an exception from scenario code is counted here with its type and traceback. A
user whose ``@on_start`` fails waits (1, 2, 4 … 10 s) and tries again, so an unreachable
target yields counted errors, not a hot loop.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable

from horde.errors import TargetError
from horde.metrics import names
from horde.metrics.recorder import Recorder
from horde.scenario.model import Scenario
from horde.scenario.user import User

RETRY_START_S = (1.0, 2.0, 4.0, 8.0, 10.0)
FAILED_ITERATION_PAUSE_S = 0.05


def count_failure(exc: Exception, recorder: Recorder) -> None:
    """Count what a scenario step raised: a target error once, anything else as the
    scenario's own exception (type and traceback)."""
    if isinstance(exc, TargetError):
        recorder.target_error(exc)
    else:
        recorder.scenario_exception(exc)


async def guarded(step: Awaitable[object], recorder: Recorder) -> bool:
    """Await a scenario step; count what it raised. True when it succeeded."""
    try:
        await step
    except Exception as exc:
        count_failure(exc, recorder)
        return False
    return True


async def run_user(user: User, scenario: Scenario, iterations: int | None) -> None:
    """Run ``user`` until cancelled or, with ``iterations``, until it has done that many."""
    recorder = user.recorder
    perf = time.perf_counter
    recorder.user_started()
    try:
        if not await _start(user, scenario, iterations):
            return
        pick, rng = scenario.pick, user.rng
        while iterations is None or user.iteration < iterations:
            behaviour = pick(rng)
            began = perf()
            try:  # guarded() inlined: this loop runs once per request in closed-loop tests
                await behaviour.fn(user)
                ok = True
            except Exception as exc:
                count_failure(exc, recorder)
                ok = False
            recorder.latency(names.ITERATION, behaviour.name, int((perf() - began) * 1_000_000))
            recorder.count(names.ITERATIONS_DONE, behaviour.name)
            user.iteration += 1
            if not ok:
                await asyncio.sleep(FAILED_ITERATION_PAUSE_S)
    finally:
        recorder.user_stopped()


async def _start(user: User, scenario: Scenario, iterations: int | None) -> bool:
    """Run ``@on_start`` until it succeeds; a failed attempt uses up one iteration."""
    if scenario.on_start is None:
        return True
    attempt = 0
    while iterations is None or user.iteration < iterations:
        if await guarded(scenario.on_start(user), user.recorder):
            return True
        await user.close()
        user.iteration += 1
        await asyncio.sleep(RETRY_START_S[min(attempt, len(RETRY_START_S) - 1)])
        attempt += 1
    return False


async def stop_user(user: User, scenario: Scenario, grace_s: float) -> None:
    """Run ``@on_stop`` (bounded by ``grace_s``) and close the user's connections."""
    try:
        if scenario.on_stop is not None:
            try:
                await asyncio.wait_for(guarded(scenario.on_stop(user), user.recorder), grace_s)
            except TimeoutError:
                user.recorder.error("timeout", "on_stop", "on_stop did not finish in time")
    finally:
        await user.close()
