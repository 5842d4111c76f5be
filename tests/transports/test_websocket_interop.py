"""horde's WebSocket client against servers it did not write: Node's ``ws`` and Python's
``websockets``, each with and without permessage-deflate, pinging all the while — every
size of message byte for byte, fragments, a server's close and our own."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
from collections.abc import AsyncIterator

import aiohttp
import pytest
from tests.transports.socketio_servers import INTEROP, NODE_MODULES

from horde.errors import PeerClosedError
from horde.metrics.names import WS_MSG_IN, WS_MSG_OUT
from horde.metrics.recorder import Recorder
from horde.transports.websocket import WebSocketConnection

SIZES = (0, 1, 125, 126, 65_535, 65_536, 1 << 20)


def payloads() -> list[str | bytes]:
    """Text and binary at every length form of a frame (7-bit, 16-bit, 64-bit)."""
    return [p for n in SIZES for p in ("é" * (n // 2), bytes(range(256)) * (n // 256))]


def node_missing() -> str | None:
    if shutil.which("node") is None:
        return "node is not installed"
    if not (NODE_MODULES / "ws").is_dir():
        return f"run `npm ci --prefix {INTEROP}` to install ws for the interop tests"
    return None


@pytest.fixture
async def node_ws(request: pytest.FixtureRequest) -> AsyncIterator[str]:
    """Node's ``ws`` echo server (``tests/interop/ws_server.js``); its base URL."""
    if (reason := node_missing()) is not None:
        pytest.skip(reason)
    args = ["node", str(INTEROP / "ws_server.js"), "0", *(["deflate"] if request.param else [])]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=sys.stderr, text=True,
                            cwd=INTEROP, env={**os.environ, "NODE_PATH": str(NODE_MODULES)})
    assert proc.stdout is not None
    line = await asyncio.to_thread(proc.stdout.readline)
    assert line.startswith("listening "), line
    try:
        yield f"127.0.0.1:{int(line.split()[1])}"
    finally:
        proc.terminate()
        proc.wait(5)
        proc.stdout.close()


@pytest.mark.interop
@pytest.mark.parametrize("node_ws", [False, True], ids=["plain", "deflate"], indirect=True)
async def test_node_ws(node_ws: str) -> None:
    rec = Recorder()
    ws = await WebSocketConnection.connect(f"ws://{node_ws}/", recorder=rec, compression=True,
                                           subprotocols=["chat"])
    assert ws.subprotocol == "chat"
    for data in payloads():
        assert await ws.request(data, name="echo", timeout=20) == data
    await ws.send("frag")
    assert await ws.receive(timeout=10) == "part1-part2"  # a message in two frames
    await ws.send("big:3000000")
    assert await ws.receive(timeout=20) == b"x" * 3_000_000
    window = rec.take_window()
    assert window.errors == {}  # 50 ms pings all along: answered, never seen as messages
    sent = len(payloads()) + 2
    assert window.counters[(WS_MSG_OUT, None)] == sent
    assert window.counters[(WS_MSG_IN, None)] == sent
    async with aiohttp.ClientSession() as http, http.get(f"http://{node_ws}/stats") as resp:
        assert (await resp.json())["messages"] == sent  # what the server counted, too
    await ws.send("close4000")
    with pytest.raises(PeerClosedError):
        await ws.receive(timeout=10)
    assert ws.close_code == 4000
    assert rec.take_window().errors == {("closed_by_peer", "4000"): 1}


@pytest.mark.parametrize("compression", [False, True], ids=["plain", "deflate"])
async def test_python_websockets(compression: bool) -> None:
    from websockets.asyncio.server import ServerConnection, serve

    async def echo(peer: ServerConnection) -> None:
        async for message in peer:
            await peer.send(message)

    async with serve(echo, "127.0.0.1", 0, max_size=None, ping_interval=0.05,
                     compression="deflate" if compression else None) as server:
        port = server.sockets[0].getsockname()[1]
        rec = Recorder()
        ws = await WebSocketConnection.connect(f"ws://127.0.0.1:{port}/", recorder=rec,
                                               compression=True)
        assert ws.compressed is compression
        for data in payloads():
            assert await ws.request(data, name="echo", timeout=20) == data
        await asyncio.sleep(0.2)  # a few of the server's pings, answered
        await ws.close()
    assert ws.close_code == 1000 and rec.take_window().errors == {}
