"""Reconnecting a dropped connection: the policy (when) apart from the driver (how).

:class:`Reconnect` is the user-facing policy; :func:`backoff_delays` turns it into the
delays before each attempt (pure: tested as a table with a seeded RNG). A
:class:`Reconnector` belongs to one WebSocket or Socket.IO connection that asked for
``reconnect=``. When the peer drops the connection (never when the scenario closes it) the
connection calls :meth:`Reconnector.start`; one background task then sleeps, runs the
scenario's ``before_reconnect`` hook if it has one (to recreate what the server forgot — a
session — and return the URL to reopen, which later attempts and drops keep using), asks
the connection to reopen itself, and on success records the drop → reconnected latency, counts
``connections.reconnected``, runs the scenario's ``on_reconnect`` hook (to rejoin a room or
team), and only then wakes the operations that waited for it. After ``max_attempts``
failures it gives up: :class:`~horde.errors.ReconnectFailedError` is counted once and every
later operation raises it.

A connection without ``reconnect=`` never builds one of these: the hot path is untouched.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from time import perf_counter_ns
from typing import Any

from horde.errors import (
    ConfigError,
    OperationTimeoutError,
    ReconnectFailedError,
    TargetError,
    again,
)
from horde.metrics.recorder import Recorder

__all__ = ["BeforeReconnect", "Reconnect", "Reconnector", "backoff_delays"]

OnReconnect = Callable[[Any], Awaitable[Any]]
BeforeReconnect = Callable[[Any], Awaitable["str | None"]]


@dataclass(frozen=True, slots=True)
class Reconnect:
    """How a dropped connection is reopened: up to ``max_attempts`` tries, the first after
    ``initial`` s, each next delay ``factor`` times longer up to ``max_delay`` s, each
    spread by ±``jitter`` (a fraction) so users dropped together do not return together."""

    max_attempts: int = 5
    initial: float = 0.5
    max_delay: float = 10.0
    factor: float = 2.0
    jitter: float = 0.2

    def __post_init__(self) -> None:
        problems = []
        if self.max_attempts < 1:
            problems.append("max_attempts must be at least 1")
        if self.initial < 0 or self.max_delay < 0:
            problems.append("initial and max_delay must not be negative")
        if self.factor < 1:
            problems.append("factor must be at least 1")
        if not 0 <= self.jitter <= 1:
            problems.append("jitter must be between 0 and 1")
        if problems:
            raise ConfigError(f"Reconnect: {'; '.join(problems)}")


def backoff_delays(policy: Reconnect, rng: random.Random | None = None) -> Iterator[float]:
    """The delay before each attempt, ``policy.max_attempts`` of them."""
    uniform = (rng or random).uniform
    delay = policy.initial
    for _ in range(policy.max_attempts):
        spread = delay * policy.jitter
        yield max(0.0, delay + uniform(-spread, spread))
        delay = min(delay * policy.factor, policy.max_delay)


class Reconnector:
    """Runs the reconnects of one connection (see the module docstring).

    ``reopen(url)`` opens a fresh socket for the connection — at ``url`` (relative to the
    first one) when ``before_reconnect`` gave one, else where it was — and raises a
    (recorded) :class:`TargetError` when it cannot; ``give_up(err)`` closes the connection
    for good.
    """

    __slots__ = ("_again", "_before", "_dropped_ns", "_give_up", "_hook", "_prefix",
                 "_recorder", "_reopen", "_task", "conn", "policy", "ready", "url")

    def __init__(self, policy: Reconnect, *, recorder: Recorder, prefix: str, conn: Any,
                 reopen: Callable[[str | None], Awaitable[None]],
                 give_up: Callable[[TargetError], None], on_reconnect: OnReconnect | None,
                 before_reconnect: BeforeReconnect | None = None) -> None:
        self.policy = policy
        self.conn = conn
        self._recorder = recorder
        self._prefix = prefix  # "ws" or "sio": names the metrics
        self._reopen = reopen
        self._give_up = give_up
        self._hook = on_reconnect
        self._before = before_reconnect
        self.url: str | None = None  # the last URL before_reconnect gave: reopened from now on
        self._task: asyncio.Task[None] | None = None
        self._dropped_ns = 0
        self._again = False  # dropped again while the hook ran
        self.ready: asyncio.Future[None] | None = None  # pending while reconnecting

    @property
    def pending(self) -> bool:
        """True from the drop until reconnected (hook included) or given up."""
        return self.ready is not None and not self.ready.done()

    def start(self) -> None:
        """The peer dropped the connection: reconnect in the background."""
        self._dropped_ns = perf_counter_ns()
        if self._task is not None and not self._task.done():
            self._again = True  # the running task goes round once more
            return
        loop = asyncio.get_running_loop()
        if not self.pending:
            self.ready = loop.create_future()
        self._task = loop.create_task(self._run())

    def stop(self, err: TargetError) -> None:
        """The scenario closed the connection: stop trying; waiters get ``err``."""
        task = self._task
        if task is not None and not task.done() and task is not asyncio.current_task():
            task.cancel()
        self._settle(err)

    async def wait(self, timeout_ns: int) -> None:
        """Wait until reconnected; raise the give-up (or close) error, or a counted timeout."""
        ready = self.ready
        if ready is None:
            return
        if not ready.done():
            await asyncio.wait((ready,), timeout=timeout_ns / 1e9)
        if not ready.done():
            err = OperationTimeoutError(f"still reconnecting after {timeout_ns / 1e9:g} s",
                                   detail=f"{self._prefix}_reconnect")
            self._recorder.target_error(err)
            raise err
        err = ready.exception()
        if isinstance(err, ReconnectFailedError):  # given up: each later use fails, and counts
            raise again(err)
        if err is not None:
            raise err

    async def _run(self) -> None:
        while True:
            if not await self._attempts():
                return
            await self._run_hook()
            if not self._again:
                self._settle(None)
                return
            self._again = False

    async def _attempts(self) -> bool:
        """Try up to max_attempts times; True once reopened, False after giving up."""
        recorder, prefix = self._recorder, self._prefix
        last: TargetError | None = None
        for delay in backoff_delays(self.policy):
            await asyncio.sleep(delay)
            recorder.count(f"{prefix}_reconnect_attempts")
            try:
                if self._before is not None and not await self._run_before():
                    continue  # the hook failed (counted): this attempt did too
                await self._reopen(self.url)
            except TargetError as exc:  # counted as a failed connect by reopen()
                last = exc
                continue
            recorder.latency(f"{prefix}_reconnect", None,
                             (perf_counter_ns() - self._dropped_ns) // 1000)
            recorder.reconnected()
            return True
        err = ReconnectFailedError(
            f"gave up after {self.policy.max_attempts} reconnect attempts"
            + (f"; last: {last.category}: {last}" if last is not None else ""), detail=prefix)
        recorder.target_error(err)
        self._give_up(err)
        self._settle(err)
        return False

    async def _run_before(self) -> bool:
        """The scenario's before_reconnect: a new URL (kept) or None (keep the last one).
        A target error it meets (its HTTP call failed) is raised as the attempt's; its own
        exception is counted and fails the attempt. False: it failed."""
        try:
            url = await self._before(self.conn)  # type: ignore[misc]
        except TargetError as exc:
            self._recorder.target_error(exc)
            raise
        except Exception as exc:
            self._recorder.scenario_exception(exc)
            return False
        if url is not None and not isinstance(url, str):
            self._recorder.scenario_exception(TypeError(
                f"before_reconnect returned {type(url).__name__}: a URL or None, please"))
            return False
        if url is not None:
            self.url = url
        return True

    async def _run_hook(self) -> None:
        """The scenario's on_reconnect (rejoin): its failures are counted, never fatal."""
        if self._hook is None:
            return
        try:
            await self._hook(self.conn)
        except TargetError as exc:
            self._recorder.target_error(exc)
        except Exception as exc:
            self._recorder.scenario_exception(exc)

    def _settle(self, err: TargetError | None) -> None:
        ready = self.ready
        if ready is None or ready.done():
            return
        if err is None:
            ready.set_result(None)
        else:
            ready.set_exception(err)
            ready.exception()  # retrieved: no "never retrieved" warning if nobody waits
