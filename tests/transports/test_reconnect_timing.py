"""The reconnect driver on a fake clock: when each attempt comes, when it gives up.

On looptime's virtual time (``@pytest.mark.looptime``) the loop's clock jumps to the
next timer whenever every task waits, so each attempt's time is exactly the sum of the
backoff delays before it. The socket is left out (``reopen`` is a function here): how a
real connection reopens is tested in test_reconnect.py, against a server killed and
restarted.
"""

from __future__ import annotations

import asyncio

import pytest

from horde.errors import (
    OperationTimeoutError,
    ReconnectFailedError,
    TargetError,
    TargetRefusedError,
)
from horde.metrics.recorder import Recorder
from horde.transports.reconnect import Reconnect, Reconnector

pytestmark = [pytest.mark.looptime, pytest.mark.timeout(30)]

POLICY = Reconnect(max_attempts=4, initial=0.5, max_delay=2, jitter=0)  # 0.5, 1, 2, 2


class Target:
    """A peer that refuses the first ``refusals`` reopens, noting when each came."""

    def __init__(self, refusals: int) -> None:
        self.loop = asyncio.get_running_loop()
        self.t0 = self.loop.time()
        self.refusals = refusals
        self.attempts: list[float] = []
        self.given_up: list[tuple[float, TargetError]] = []
        self.recorder = Recorder()
        self.reconnector = Reconnector(
            POLICY, recorder=self.recorder, prefix="ws", conn=None, reopen=self.reopen,
            give_up=lambda err: self.given_up.append((self.now(), err)), on_reconnect=None)

    def now(self) -> float:
        return round(self.loop.time() - self.t0, 6)

    async def reopen(self, url: str | None) -> None:
        self.attempts.append(self.now())
        if len(self.attempts) <= self.refusals:
            raise TargetRefusedError("refused")

    def attempts_counted(self) -> int:
        return self.recorder.take_window().counters.get(("ws_reconnect_attempts", None), 0)


async def test_each_attempt_comes_after_its_backoff_delay():
    target = Target(refusals=2)
    target.reconnector.start()
    await target.reconnector.wait(timeout_ns=60 * 10**9)
    assert target.attempts == [0.5, 1.5, 3.5]  # 0.5, then +1, then +2
    assert target.attempts_counted() == 3 and target.recorder.connections.reconnected == 1
    assert not target.reconnector.pending and target.given_up == []


async def test_it_gives_up_after_the_last_attempt_and_every_waiter_hears_why():
    target = Target(refusals=99)
    target.reconnector.start()
    with pytest.raises(ReconnectFailedError, match=r"gave up after 4 .*connection_refused"):
        await target.reconnector.wait(timeout_ns=60 * 10**9)
    assert target.attempts == [0.5, 1.5, 3.5, 5.5]  # the delay stops growing at max_delay
    ((when, err),) = target.given_up
    assert when == 5.5 and isinstance(err, ReconnectFailedError)
    with pytest.raises(ReconnectFailedError):  # and so does every later operation
        await target.reconnector.wait(timeout_ns=10**9)


async def test_a_close_while_reconnecting_stops_the_attempts_for_good():
    target = Target(refusals=99)
    target.reconnector.start()
    await asyncio.sleep(1.0)  # between the first attempt (0.5) and the second (1.5)
    target.reconnector.stop(ReconnectFailedError("closed by the scenario"))
    await asyncio.sleep(600)
    assert target.attempts == [0.5] and target.given_up == []


async def test_a_waiter_times_out_on_its_own_clock_and_the_timeout_is_counted():
    target = Target(refusals=99)
    target.reconnector.start()
    with pytest.raises(OperationTimeoutError, match="still reconnecting after 1 s"):
        await target.reconnector.wait(timeout_ns=10**9)
    assert target.now() == 1.0 and target.attempts == [0.5]
    assert target.recorder.take_window().errors  # counted, not just raised
    target.reconnector.stop(ReconnectFailedError("done"))
