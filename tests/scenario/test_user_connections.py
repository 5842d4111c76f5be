"""A user keeps only the connections it may still have to close: one opened and closed
per iteration must not pile up for the whole run (seed 004's tasks do exactly that)."""

import asyncio

from horde.metrics.recorder import Recorder
from horde.scenario.user import User


async def test_closed_connections_are_let_go_and_open_ones_closed_at_the_end(
    echo_server: str,
) -> None:
    user = User(1, target=echo_server, recorder=Recorder(), stopping=asyncio.Event())
    for _ in range(5):
        ws = await user.websocket("/ws")
        await ws.close()
    kept = await user.websocket("/ws")
    sio = await user.socketio()
    assert user._connections == [kept, sio]
    await sio.disconnect()
    last = await user.websocket("/ws")
    assert user._connections == [kept, last]
    await user.close()
    assert kept.closed and last.closed


async def test_a_user_holds_no_pacer_table_until_it_paces():
    user = User(0, target="http://127.0.0.1:9", recorder=Recorder(), stopping=asyncio.Event())
    assert user._pacers is None  # an idle user of 10,000 need not carry an empty dict
    async with user.paced(0.001, "tick"):
        pass
    async with user.paced(0.001, "tick"):
        pass
    assert list(user._pacers or {}) == ["tick"]
