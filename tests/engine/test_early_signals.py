"""A signal caught while horde starts is one signal: the loop's wakeup fd, set as the loop
starts and before its handlers are, gets it too and delivers it once more. Taken for a
second signal, it ended the run at once without results ("interrupted again", exit 130;
seen in CI on a SIGTERM sent 0.3 s after start)."""

from __future__ import annotations

import asyncio
import os
import signal
import socket

import pytest

from horde.engine.loop import caught_early_signals, run_with_signals

pytestmark = pytest.mark.timeout(30)


def test_the_wakeup_fds_copy_of_an_early_signal_is_not_a_second_one():
    seconds: list[str] = []
    reader, writer = socket.socketpair()
    reader.setblocking(False)
    writer.setblocking(False)

    async def main(stop: asyncio.Event) -> int:
        os.kill(os.getpid(), signal.SIGTERM)  # the copy the loop delivers once more
        await asyncio.sleep(0.2)
        assert seconds == []  # not taken for a second signal
        os.kill(os.getpid(), signal.SIGTERM)  # a real second one still ends the run
        await asyncio.sleep(0.2)
        return stop.signals  # type: ignore[attr-defined]

    with caught_early_signals(on_second_signal=seconds.append):
        old = signal.set_wakeup_fd(writer.fileno())  # as a starting loop's, then the signal
        try:
            signal.raise_signal(signal.SIGTERM)
        finally:
            signal.set_wakeup_fd(old)
        signals = run_with_signals(main, use_uvloop=False, on_second_signal=seconds.append)
    reader.close()
    writer.close()
    assert signals == 1 and seconds == ["SIGTERM"]
