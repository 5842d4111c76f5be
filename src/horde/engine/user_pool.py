"""The live users of a run: started in order, retired newest-first, stopped at the end.

A closed-model user runs until it is retired or the run ends; an open-model session runs
its iterations and stops itself. Retired users are stopped (``@on_stop``, connections
closed) right away, in the background; everything still alive is stopped by ``close``.
A user that raised a :class:`~horde.errors.UsageError` hands it to ``on_usage_error``:
the runner ends the run with it.

With a roster (a scenario's ``ROLES``) there are exactly as many users as it lists, and a
group's members are started and retired together.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Callable, Iterable
from time import perf_counter_ns

from horde.coordination.roles import Roster
from horde.engine.virtual_user import run_user, stop_user
from horde.errors import UsageError
from horde.metrics import names
from horde.scenario.model import Scenario
from horde.scenario.user import User

STOP_CONCURRENCY = 500
# The pool's own done callbacks read no context variable: they share this one context
# instead of each copying the current one (a Context per callback, per user).
_BOOKKEEPING = contextvars.Context()


class UserPool:
    def __init__(
        self,
        make_user: Callable[[int], User],
        scenario: Scenario,
        iterations: int | None,
        grace_s: float,
        roster: Roster | None = None,
        on_usage_error: Callable[[UsageError], None] | None = None,
    ) -> None:
        self._make_user = make_user
        self._on_usage_error = on_usage_error
        self._roster = roster
        self._scenario = scenario
        self._iterations = iterations
        self._grace_s = grace_s
        self._tasks: dict[User, asyncio.Task[None]] = {}
        self._stopping: set[asyncio.Task[None]] = set()
        self._sessions: set[asyncio.Task[None]] = set()  # open model: they stop themselves
        self.started = 0
        self.retired = 0
        self._live: set[asyncio.Task[None]] = set()  # running: read every 10 ms, O(1)
        self._freed: asyncio.Future[None] | None = None
        # bound once: a bound method made per task is one more object per idle user
        self._on_task_done = self._task_done

    # -- counts ----------------------------------------------------------------------------

    @property
    def alive(self) -> int:
        """Users started and not retired (finished ones included: they are not replaced)."""
        return self.started - self.retired

    @property
    def running(self) -> int:
        return len(self._live)

    def all_done(self) -> bool:
        return not self._live

    # -- changes ---------------------------------------------------------------------------

    def start(self) -> bool:
        """Start the next user — with a roster, the next user or whole group. False when
        the roster has nobody left to start."""
        roster = self._roster
        if roster is None:
            self._start_one()
            return True
        if self.started >= roster.size:
            return False
        self._start_one()
        while self.started < roster.size and roster.slots[self.started].member > 0:
            self._start_one()
        return True

    def _start_one(self) -> None:
        user = self._make_user(self.started)
        self.started += 1
        task = asyncio.create_task(
            run_user(user, self._scenario, self._iterations, self._grace_s))
        self._tasks[user] = task
        self._track(task)

    def start_session(self, due: float) -> None:
        """Open model: a user that runs its iterations, then stops itself. The session is
        timed whole twice, on the clock every operation uses (``time.perf_counter``, of
        which ``due`` is a reading): ``session`` from its start, ``intended:session`` from
        ``due``, which differs when it had to wait for a free slot."""
        user = self._make_user(self.started)
        self.started += 1
        due_ns = int(due * 1e9)

        async def session() -> None:
            began = perf_counter_ns()
            try:
                await run_user(user, self._scenario, self._iterations or 1, self._grace_s)
            finally:
                await stop_user(user, self._scenario, self._grace_s)
                ended = perf_counter_ns()
                user.recorder.latency(names.SESSION, None, (ended - began) // 1000)
                user.recorder.latency(names.INTENDED, "session", (ended - due_ns) // 1000)

        task = asyncio.create_task(session())
        self._sessions.add(task)
        task.add_done_callback(self._session_done)
        self._track(task)

    def _session_done(self, task: asyncio.Task[None]) -> None:
        self._sessions.discard(task)
        if self._freed is not None and not self._freed.done():
            self._freed.set_result(None)

    def slot_freed(self) -> asyncio.Future[None]:
        """Resolves when the next open-model session ends (its slot is free again)."""
        if self._freed is None or self._freed.done():
            self._freed = asyncio.get_running_loop().create_future()
        return self._freed

    def _track(self, task: asyncio.Task[None]) -> None:
        # One callback: a task keeps its first one inline, further ones in a list of
        # tuples (with a Context each): ~400 bytes per idle user for two callbacks.
        self._live.add(task)
        task.add_done_callback(self._on_task_done, context=_BOOKKEEPING)

    def _task_done(self, task: asyncio.Task[None]) -> None:
        self._live.discard(task)
        if task.cancelled() or self._on_usage_error is None:
            return
        exc = task.exception()
        if isinstance(exc, UsageError):
            self._on_usage_error(exc)

    def retire_newest(self, excess: int = 1) -> bool:
        """Stop the most recently started running user (as Locust does when shrinking),
        with the rest of its group — unless that is more than ``excess`` users. False
        when nothing was retired."""
        for user, task in reversed(self._tasks.items()):
            if not task.done():
                group = user.group
                mates = [u for u in self._tasks if group is not None and u.group is group]
                if len(mates) > excess:
                    return False
                for member in mates or [user]:
                    self._retire(member)
                return True
        return False

    def _retire(self, user: User) -> None:
        task = self._tasks.pop(user)
        task.cancel()
        self._live.discard(task)
        self.retired += 1
        stopper = asyncio.create_task(self._stop_after(task, user))
        self._stopping.add(stopper)
        stopper.add_done_callback(self._stopping.discard)

    async def _stop_after(self, task: asyncio.Task[None], user: User) -> None:
        await asyncio.gather(task, return_exceptions=True)
        await stop_user(user, self._scenario, self._grace_s)

    async def wait_running(self) -> None:
        """Until every running user has left its loop (``--graceful-stop``: users stop
        starting iterations once the run is stopping, and finish the one in flight)."""
        while self._live:
            await asyncio.wait(list(self._live))

    async def wait_sessions(self) -> None:
        """Until every open-model session in flight has finished."""
        while self._sessions:
            await asyncio.gather(*self._sessions, return_exceptions=True)

    async def close(self) -> None:
        """Cancel every user and stop them, at most ``STOP_CONCURRENCY`` at a time.

        Closing 10,000 connections at once put 25 MB of close handshakes in flight: the
        run's peak memory came at its very end. ``STOP_CONCURRENCY`` stoppers take the
        users in turn (a task and a semaphore wait per user cost ~8 MB more at 10,000).
        A cancelled task keeps its CancelledError and every frame it unwound, so the
        tasks are dropped before the stoppers start (the end of 10,000 idle users: 6 MB
        less at its peak).
        Every user is stopped even if stopping one raises; the first error is raised last.
        """
        users = list(self._tasks)
        await _cancel([*self._tasks.values(), *self._sessions], also_wait=self._stopping)
        self._tasks.clear()  # let go before the stoppers start (see above)
        queue = iter(users)
        errors: list[Exception] = []

        async def stopper() -> None:
            for user in queue:  # shared: each user is taken by exactly one stopper
                try:
                    await stop_user(user, self._scenario, self._grace_s)
                except Exception as exc:
                    errors.append(exc)

        await asyncio.gather(*(stopper() for _ in range(min(STOP_CONCURRENCY, len(users)))))
        if errors:
            raise errors[0]


async def _cancel(tasks: list[asyncio.Task[None]], also_wait: Iterable[asyncio.Task[None]]) -> None:
    """Cancel ``tasks``; wait for them and ``also_wait``, retrieving their exceptions as
    ``gather(return_exceptions=True)`` would, without the second CancelledError it makes
    for each cancelled one. Its locals go when it returns: no task is held after."""
    for task in tasks:
        task.cancel()
    waited = [*tasks, *also_wait]
    if waited:
        await asyncio.wait(waited)
    for task in waited:
        if not task.cancelled():
            task.exception()  # retrieved: no "exception was never retrieved" warning
