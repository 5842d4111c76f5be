"""user.reconnected(): a scenario that reopens a lost connection says so in the results."""

import asyncio

from horde.metrics.recorder import Recorder
from horde.scenario.user import User


def test_a_reopened_connection_counts_as_reconnected() -> None:
    recorder = Recorder()
    user = User(1, target="http://127.0.0.1:1", recorder=recorder, stopping=asyncio.Event())
    user.reconnected()
    user.reconnected()
    assert recorder.connections.reconnected == 2
    assert recorder.connections.dropped == 0  # the loss is the transport's to count
