"""One virtual user's life: start, run behaviours until told to stop, stop.

Failures never end the run. A target error was already counted by the transport that
saw it; an exception from scenario code is counted here with its type and traceback. A
user whose ``@on_start`` fails waits (1, 2, 4 … 10 s) and tries again, so an unreachable
target yields counted errors, not a hot loop — except a group member: its failure fails
the whole group, whose members then stop (a half-formed team has nothing to retry).

After a failed iteration the user goes on with the next one (``on_error="continue"``), or
with ``on_error="restart"`` closes its connections and runs ``@on_start`` again, as a real
client would reload after a crash (counted as ``user_restarts``). Group members always go
on: restarting one would have to re-form its whole group.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable

from horde.errors import TargetError
from horde.metrics import names
from horde.metrics.recorder import Recorder
from horde.scenario.model import Program, Scenario
from horde.scenario.user import User
from horde.together.groups import GroupBroken

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
    return await failure_of(step, recorder) is None


async def failure_of(step: Awaitable[object], recorder: Recorder) -> Exception | None:
    """Await a scenario step; count and return what it raised (None when it succeeded).
    A broken group is not counted: the failure that broke it already was."""
    try:
        await step
    except GroupBroken as exc:
        return exc
    except Exception as exc:
        count_failure(exc, recorder)
        return exc
    return None


async def run_user(user: User, scenario: Scenario, iterations: int | None) -> None:
    """Run ``user`` until cancelled or, with ``iterations``, until it has done that many."""
    recorder = user.recorder
    perf = time.perf_counter
    program = scenario.program(user.role)
    group = user.group
    recorder.user_started()
    try:
        if not await _start(user, program, iterations):
            return
        pick, rng = program.pick, user.rng
        clean = True
        stopping = user.stopping_event
        while iterations is None or user.iteration < iterations:
            if stopping.is_set() or (group is not None and group.failed):
                return
            behaviour = pick(rng)
            began = perf()
            try:  # guarded() inlined: this loop runs once per request in closed-loop tests
                await behaviour.fn(user)
                ok = True
            except GroupBroken:
                return
            except Exception as exc:
                count_failure(exc, recorder)
                ok = False
            recorder.latency(names.ITERATION, behaviour.name, int((perf() - began) * 1_000_000))
            recorder.count(names.ITERATIONS_DONE, behaviour.name)
            user.iteration += 1
            if not ok:
                clean = False
                await asyncio.sleep(FAILED_ITERATION_PAUSE_S)
                more = iterations is None or user.iteration < iterations
                restart = more and user.on_error == "restart" and group is None
                if restart and not await _restart(user, program, iterations):
                    return
        if group is not None and clean:  # a member whose iterations failed did not finish
            group.member_finished()
    finally:
        recorder.user_stopped()


async def _restart(user: User, program: Program, iterations: int | None) -> bool:
    """Start the user afresh: close what it opened, then ``@on_start`` again."""
    user.recorder.count(names.USER_RESTARTS)
    await user.close()
    return await _start(user, program, iterations)


async def _start(user: User, program: Program, iterations: int | None) -> bool:
    """Run ``@on_start`` until it succeeds; a failed attempt uses up one iteration."""
    if user.group is not None:
        return await _start_member(user, program)
    if program.on_start is None:
        return True
    attempt = 0
    while iterations is None or user.iteration < iterations:
        if await guarded(program.on_start(user), user.recorder):
            return True
        await user.close()
        user.iteration += 1
        await asyncio.sleep(RETRY_START_S[min(attempt, len(RETRY_START_S) - 1)])
        attempt += 1
    return False


async def _start_member(user: User, program: Program) -> bool:
    """A group member starts once: if it fails, its group fails with the reason."""
    group = user.group
    assert group is not None
    if program.on_start is not None:
        exc = await failure_of(program.on_start(user), user.recorder)
        if exc is not None:
            group.fail(f"on_start of {user.role}: {_reason(exc)}")
            return False
    group.member_ready()
    return True


def _reason(exc: Exception) -> str:
    if isinstance(exc, TargetError):
        return f"{exc.category}:{exc.detail}" if exc.detail else exc.category
    return type(exc).__name__


async def stop_user(user: User, scenario: Scenario, grace_s: float) -> None:
    """Run ``@on_stop`` (bounded by ``grace_s``) and close the user's connections."""
    on_stop = scenario.program(user.role).on_stop
    try:
        if on_stop is not None:
            try:
                await asyncio.wait_for(guarded(on_stop(user), user.recorder), grace_s)
            except TimeoutError:
                user.recorder.error("timeout", "on_stop", "on_stop did not finish in time")
    finally:
        await user.close()
