"""Running ``@setup`` and ``@teardown``: bounded in time, and ended by a signal.

Both run outside the load, once per run, and both can hang — a login that never answers,
a clean-up waiting on a dead server. So each is bounded by its own ``timeout=`` (else the
run's ``--timeout``), counted as a ``timeout`` error under the hook's name when it runs
out, and ended at once by an interruption (Ctrl-C, SIGTERM), after which the run still
writes its results.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from horde.metrics.recorder import Recorder


@dataclass(frozen=True, slots=True)
class HookOutcome:
    """How a hook ended: ``ok`` with its return ``value``, or not (it raised — counted —
    or timed out — counted — or was ``interrupted``, which is nobody's error)."""

    ok: bool
    value: Any = None
    interrupted: bool = False


async def run_hook(
    step: Coroutine[Any, Any, Any],
    name: str,
    timeout: float,
    interrupted: Callable[[], Awaitable[Any]],
    recorder: Recorder,
) -> HookOutcome:
    """Run ``step`` (the ``@name`` hook) until it ends, ``timeout`` s pass, or
    ``interrupted()`` resolves — whichever comes first."""
    task = asyncio.ensure_future(step)
    stopper = asyncio.ensure_future(interrupted())
    try:
        done, _ = await asyncio.wait(
            {task, stopper}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopper.cancel()
    if task in done and not task.cancelled():
        exc = task.exception()
        if exc is None:
            return HookOutcome(True, task.result())
        recorder.count_failure(exc)
        return HookOutcome(False)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    if stopper in done:
        return HookOutcome(False, interrupted=True)
    recorder.error("timeout", name, f"@{name} did not finish within {timeout:g} s")
    return HookOutcome(False)
