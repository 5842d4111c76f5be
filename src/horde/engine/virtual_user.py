"""One virtual user's life: start, run behaviours until told to stop, stop.

A life begins when ``@on_start`` begins (or, without one, with the first iteration) and
ends with ``@on_stop``, run once per life, bounded by ``--stop-timeout`` — as a Locust or
k6 user expects, so what ``@on_start`` made on the server is cleaned up:

* ``@on_start`` failed: ``@on_stop`` runs at once, with the ``user.state`` that
  ``@on_start`` left (check what it holds), then the connections are closed;
* a restart (``--on-error restart``, a dropped connection): ``@on_stop`` runs first,
  then the connections are closed, then the user starts afresh with an empty
  ``user.state`` and ``@on_start`` runs again;
* the run ends, or the user is retired: ``@on_stop`` runs (see :func:`stop_user`) unless
  it already ended this life. A user whose ``@on_start`` never began has no ``@on_stop``.

Failures never end the run. Every iteration has an outcome: completed, failed (it raised:
a target error or the scenario's own exception, counted once as an error of the run,
however many layers saw it) or unfinished (the run ended, or the user was retired, in the
middle of it). A user whose ``@on_start`` fails waits (1, 2, 4 … 10 s) and tries again, so
an unreachable target yields counted errors, not a hot loop — except a group member: its
failure fails the whole group, whose members then stop (a half-formed team has nothing to
retry).

After a failed iteration the user pauses — 50 ms, doubling while its iterations keep
failing, up to 5 s — and then, with ``on_error="continue"`` (the default), runs its next
iteration; but a user one of whose connections the server dropped (and that is not
reconnecting) starts over instead, as with ``on_error="restart"``: it closes its
connections and runs ``@on_start`` again, as a real client would reload (counted as
``user_restarts``). Every later operation on a dead connection could only fail. Group
members never restart: that would have to re-form their whole group.

A :class:`~horde.errors.UsageError` (``transports="ws"``, an unknown namespace) is the
scenario's mistake, not the target's: every user would make it again, so it is not
counted but raised out of the user, and the pool ends the run with it (exit 2).

An iteration that completes in under 0.1 ms awaited nothing real (an early ``return``,
a missing ``await``): the user yields to the event loop after it, so such a loop can
never freeze the run, and the analysis reports it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from time import perf_counter_ns
from types import SimpleNamespace

from horde.errors import GroupBrokenError, TargetError, UsageError
from horde.metrics import names
from horde.metrics.recorder import Recorder
from horde.scenario.model import Program, Scenario
from horde.scenario.user import User

RETRY_START_S = (1.0, 2.0, 4.0, 8.0, 10.0)
FAILED_ITERATION_PAUSES_S = (0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0)
QUICK_ITERATION_NS = 100_000
STOP_TIMEOUT_S = 5.0  # @on_stop's grace unless --stop-timeout says otherwise


async def guarded(step: Awaitable[object], recorder: Recorder) -> bool:
    """Await a scenario step; count what it raised. True when it succeeded."""
    return await failure_of(step, recorder) is None


async def failure_of(step: Awaitable[object], recorder: Recorder) -> Exception | None:
    """Await a scenario step; count and return what it raised (None when it succeeded).
    A broken group is not counted: the failure that broke it already was."""
    try:
        await step
    except GroupBrokenError as exc:
        return exc
    except UsageError:  # the scenario's mistake: it ends the run (see the module docstring)
        raise
    except Exception as exc:
        recorder.count_failure(exc)
        return exc
    return None


async def run_user(user: User, scenario: Scenario, iterations: int | None,
                   stop_timeout: float = STOP_TIMEOUT_S) -> None:
    """Run ``user`` until cancelled or, with ``iterations``, until it has done that many;
    ``stop_timeout`` bounds an ``@on_stop`` that ends a life before the run does."""
    recorder = user.recorder
    perf = perf_counter_ns
    program = scenario.program(user.role)
    group = user.group
    recorder.user_started()
    try:
        if not await _start(user, program, iterations, stop_timeout):
            return
        rng = user.rng  # program.pick(rng) below: no bound method held per user
        clean = True
        failures = 0  # failed iterations in a row
        stopping = user.stopping_event
        while iterations is None or user.iteration < iterations:
            if stopping.is_set() or (group is not None and group.failed):
                return
            behaviour = program.pick(rng)
            began = perf()
            try:  # guarded() inlined: this loop runs once per request in closed-loop tests
                await behaviour.fn(user)
            except (asyncio.CancelledError, GroupBrokenError, UsageError):
                recorder.iteration_cut(behaviour.name)
                raise
            except Exception as exc:
                recorder.iteration_ended(behaviour.name, (perf() - began) // 1000, exc)
                user.iteration += 1
                clean = False
                failures += 1
                if not await _after_failure(user, program, iterations, failures,
                                            stop_timeout):
                    return
                continue
            took = perf() - began
            recorder.iteration_ended(behaviour.name, took // 1000)
            user.iteration += 1
            failures = 0
            if took < QUICK_ITERATION_NS:
                await asyncio.sleep(0)  # it awaited nothing real: let the run go on
        if group is not None and clean:  # a member whose iterations failed did not finish
            group.member_finished()
    except GroupBrokenError:
        return
    finally:
        recorder.user_stopped()


async def _after_failure(
    user: User, program: Program, iterations: int | None, failures: int, stop_timeout: float
) -> bool:
    """Back off after a failed iteration, then go on or start the user afresh (see the
    module docstring). False when the user is done."""
    if iterations is not None and user.iteration >= iterations:
        return True  # no iteration left: nothing to pause for
    pauses = FAILED_ITERATION_PAUSES_S
    await asyncio.sleep(pauses[min(failures, len(pauses)) - 1])
    if user.group is not None:
        return True
    if user.on_error == "restart" or user.has_dropped_connection():
        return await _restart(user, program, iterations, stop_timeout)
    return True


async def _restart(user: User, program: Program, iterations: int | None,
                   stop_timeout: float) -> bool:
    """Start the user afresh: end its life, then ``@on_start`` again."""
    user.recorder.count(names.USER_RESTARTS)
    await _end_life(user, program, stop_timeout)
    return await _start(user, program, iterations, stop_timeout)


async def _end_life(user: User, program: Program, stop_timeout: float) -> None:
    """``@on_stop`` (if this life has not had it), close everything, forget the state."""
    await _on_stop(user, program, stop_timeout)
    await user.close()
    user.state = SimpleNamespace()


async def _on_stop(user: User, program: Program, stop_timeout: float) -> None:
    """Run ``@on_stop`` once per life: not before ``@on_start`` began, not twice."""
    if not user._life_begun:
        return
    user._life_begun = False
    if program.on_stop is None:
        return
    try:
        await asyncio.wait_for(guarded(program.on_stop(user), user.recorder), stop_timeout)
    except TimeoutError:
        user.recorder.error("timeout", "on_stop",
                            f"on_stop did not finish within {stop_timeout:g} s")


async def _start(user: User, program: Program, iterations: int | None,
                 stop_timeout: float) -> bool:
    """Run ``@on_start`` until it succeeds; a failed attempt uses up one iteration and
    ends that life (``@on_stop``, then a fresh state)."""
    user._life_begun = True
    if user.group is not None:
        return await _start_member(user, program)
    if program.on_start is None:
        return True
    attempt = 0
    while iterations is None or user.iteration < iterations:
        user._life_begun = True
        if await guarded(program.on_start(user), user.recorder):
            return True
        await _end_life(user, program, stop_timeout)
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
    """Run ``@on_stop`` (bounded by ``grace_s``) unless this life already had it, and
    close the user's connections."""
    try:
        await _on_stop(user, scenario.program(user.role), grace_s)
    finally:
        await user.close()
