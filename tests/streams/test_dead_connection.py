"""A stream on a connection the server dropped: the cut stream returns ``"closed"``; a
stream asked of the dead connection afterwards raises (counted once), so the iteration
fails and the user starts over — before, the iteration "completed", and every user
looped on its dead socket (a Jupyter server killed mid-run: 440 iterations completed, 0
failed, 352 errors, no user reconnected). ``result.raise_for_status()`` ends the step at
the cut itself, without counting the error twice.

The server sends two chunks of each stream asked for, then closes the WebSocket (1011).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import pytest
from aiohttp import WSMsgType, web
from tests.transports.raw_server import start_app

from horde.config.model import RunConfig
from horde.engine.runner import run
from horde.errors import PeerClosedError
from horde.metrics.names import STREAM_TOTAL
from horde.metrics.recorder import Recorder
from horde.protocols.codec import JsonCodec
from horde.scenario.loader import load_scenario
from horde.transports.websocket import WebSocketConnection

pytestmark = pytest.mark.timeout(60)

CUT = ("closed_by_peer", "1011")


class CuttingServer:
    """``/ws``: to each message, two chunks, then a close with 1011."""

    def __init__(self) -> None:
        self.connections = 0
        self.url = ""

    async def ws(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self.connections += 1
        async for msg in ws:
            if msg.type == WSMsgType.TEXT:
                for i in range(2):
                    await ws.send_str(json.dumps({"chunk": i, "done": False}))
                await ws.close(code=1011, message=b"gone")
        return ws


@pytest.fixture
async def server() -> AsyncIterator[CuttingServer]:
    cutting = CuttingServer()
    app = web.Application()
    app.add_routes([web.get("/ws", cutting.ws)])
    runner, port = await start_app(app)
    cutting.url = f"ws://127.0.0.1:{port}/ws"
    yield cutting
    await runner.cleanup()


def done(chunk: dict) -> bool:
    return chunk["done"]


async def test_a_stream_asked_of_a_dropped_connection_raises_counted_once(
        server: CuttingServer):
    rec = Recorder()
    ws = await WebSocketConnection.connect(server.url, recorder=rec, codec=JsonCodec())
    cut = await ws.stream({"ask": 1}, until=done, name="answer", timeout=5)
    assert (cut.completed, cut.reason, len(cut.chunks)) == (False, "closed", 2)
    assert rec.take_window().errors == {CUT: 1}
    with pytest.raises(PeerClosedError) as info:
        await ws.stream({"ask": 2}, until=done, name="answer", timeout=5)
    assert info.value.recorded  # the engine will not count it again
    window = rec.take_window()
    assert window.errors == {CUT: 1}  # this use of the dead socket, once
    assert window.outcomes[(STREAM_TOTAL, "answer")].failed == 1
    assert rec.in_flight == 0
    await ws.close()


async def test_raise_for_status_raises_the_error_the_stream_was_counted_under(
        server: CuttingServer):
    rec = Recorder()
    ws = await WebSocketConnection.connect(server.url, recorder=rec, codec=JsonCodec())
    cut = await ws.stream({"ask": 1}, until=done, name="answer", timeout=5)
    with pytest.raises(PeerClosedError) as info:
        cut.raise_for_status()
    assert info.value.recorded and info.value.category == "closed_by_peer"
    assert rec.take_window().errors == {CUT: 1}
    await ws.close()


SCENARIO = """
import horde

@horde.on_start
async def connect(user):
    user.state.ws = await user.websocket("/ws", codec=horde.JSON)

@horde.behaviour
async def ask(user):
    result = await user.state.ws.stream({"ask": user.iteration}, name="answer",
                                        until=lambda c: c["done"], timeout=5)
    user.check(result.completed, "answered")
"""


async def test_a_user_whose_stream_was_cut_starts_over_not_loops(write_scenario,
                                                                 server: CuttingServer):
    path = write_scenario(SCENARIO)
    config = RunConfig(scenario=path, target=server.url.removesuffix("/ws"), users=2,
                       duration_s=2.0, progress=False)
    results = await run(config, load_scenario(path))
    restarts = results["counters"]["user_restarts"]
    # each restart reconnects, but for one the end of the run may cut short (per user)
    assert restarts >= 2 and restarts <= server.connections <= 2 + restarts
    # per life: the cut stream, then the stream asked of the dead socket (which fails the
    # iteration): two closed_by_peer, and one failed check for the cut answer
    lives = server.connections
    assert results["errors"]["closed_by_peer"] <= 2 * lives
    assert results["iterations"]["failed"] >= restarts
