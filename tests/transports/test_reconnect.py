"""Reconnection: the backoff table, and WebSocket / Socket.IO clients riding over a real
server process that is killed (SIGKILL) and started again on the same port."""

from __future__ import annotations

import asyncio
import os
import random
import subprocess

import pytest
from tests.support import free_port

from horde.errors import ConfigError, PeerClosedError, ReconnectFailedError
from horde.metrics.recorder import Recorder
from horde.protocols.codec import JSON
from horde.transports.reconnect import Reconnect, backoff_delays
from horde.transports.socketio import SocketIOConnection
from horde.transports.websocket import WebSocketConnection

from .fault_servers import EchoProcess
from .socketio_servers import INTEROP, NODE_MODULES, node_missing_reason

pytestmark = pytest.mark.timeout(60)


@pytest.mark.parametrize(("policy", "expected"), [
    (Reconnect(max_attempts=5, initial=0.5, max_delay=10, jitter=0), [0.5, 1, 2, 4, 8]),
    (Reconnect(max_attempts=4, initial=1, max_delay=3, jitter=0), [1, 2, 3, 3]),
    (Reconnect(max_attempts=3, initial=2, factor=1, jitter=0), [2, 2, 2]),
    (Reconnect(max_attempts=1, initial=0, jitter=0), [0]),
])
def test_backoff_delays_grow_to_the_cap(policy: Reconnect, expected: list[float]) -> None:
    assert list(backoff_delays(policy)) == expected


def test_jitter_stays_within_its_fraction() -> None:
    policy = Reconnect(max_attempts=6, initial=1, max_delay=4, jitter=0.2)
    delays = list(backoff_delays(policy, random.Random(7)))
    for delay, base in zip(delays, [1, 2, 4, 4, 4, 4], strict=True):
        assert base * 0.8 <= delay <= base * 1.2
    assert len(set(delays)) == 6  # spread: users dropped together do not return together


@pytest.mark.parametrize("bad", [dict(max_attempts=0), dict(jitter=2), dict(factor=0.5),
                                 dict(initial=-1)])
def test_a_bad_policy_is_the_users_fault(bad: dict) -> None:
    with pytest.raises(ConfigError, match="Reconnect"):
        Reconnect(**bad)


FAST = Reconnect(max_attempts=8, initial=0.2, max_delay=0.5, jitter=0.1)


@pytest.fixture
def echo():
    server = EchoProcess(free_port()).start()
    yield server
    server.kill()


async def _restart_later(server: EchoProcess, delay: float) -> None:
    await asyncio.sleep(delay)
    await asyncio.to_thread(server.start)


async def test_websocket_reconnects_after_the_server_restarts(echo: EchoProcess) -> None:
    rec = Recorder()
    rejoined: list[WebSocketConnection] = []

    async def rejoin(conn: WebSocketConnection) -> None:
        rejoined.append(conn)
        await conn.send({"join": "room-1"})  # a hook may use the connection at once
        assert await conn.receive(timeout=5) == {"join": "room-1"}

    ws = await WebSocketConnection.connect(
        echo.url.replace("http", "ws") + "/ws", recorder=rec, codec=JSON,
        reconnect=FAST, on_reconnect=rejoin)
    assert await ws.request({"n": 1}, name="echo") == {"n": 1}
    echo.kill()
    with pytest.raises(PeerClosedError):
        await ws.request({"n": 2}, name="echo", timeout=5)
    assert ws.reconnecting
    restart = asyncio.create_task(_restart_later(echo, 0.5))
    assert await ws.request({"n": 3}, name="echo", timeout=15) == {"n": 3}
    await restart
    assert rejoined == [ws] and not ws.reconnecting
    await ws.close()
    w = rec.take_window()
    c = rec.connections
    assert (c.dropped, c.reconnected, c.succeeded) == (1, 1, 2)
    assert w.errors[("closed_by_peer", "1006")] == 1
    assert w.counters[("ws_reconnect_attempts", None)] >= 1
    assert w.latencies[("ws_reconnect", None)].get_total_count() == 1
    assert rec.open_connections == 0


async def test_websocket_gives_up_after_max_attempts(echo: EchoProcess) -> None:
    rec = Recorder()
    policy = Reconnect(max_attempts=3, initial=0.05, max_delay=0.1, jitter=0)
    ws = await WebSocketConnection.connect(echo.url.replace("http", "ws") + "/ws",
                                           recorder=rec, reconnect=policy)
    echo.kill()
    with pytest.raises(ReconnectFailedError, match="3 reconnect attempts"):
        for _ in range(3):  # the first may still see the drop itself
            try:
                await ws.receive(timeout=5)
            except PeerClosedError:
                continue
    with pytest.raises(ReconnectFailedError):
        await ws.send("later")
    w = rec.take_window()
    assert w.errors[("reconnect_failed", "ws")] == 1
    assert w.errors[("connection_refused", None)] == 3
    assert w.counters[("ws_reconnect_attempts", None)] == 3
    assert (rec.connections.dropped, rec.connections.reconnected) == (1, 0)
    await ws.close()


async def test_closing_while_reconnecting_stops_the_attempts(echo: EchoProcess) -> None:
    rec = Recorder()
    ws = await WebSocketConnection.connect(echo.url.replace("http", "ws") + "/ws",
                                           recorder=rec, reconnect=FAST)
    echo.kill()
    for _ in range(500):  # up to 10 s: the kill is seen at once on an idle machine
        if ws.reconnecting:
            break
        await asyncio.sleep(0.02)
    await ws.close()
    assert not ws.reconnecting
    await asyncio.sleep(0.6)
    attempts = rec.take_window().counters.get(("ws_reconnect_attempts", None), 0)
    assert attempts <= 1  # at most the one under way when we closed


async def test_a_scenario_close_is_never_reconnected(echo: EchoProcess) -> None:
    rec = Recorder()
    ws = await WebSocketConnection.connect(echo.url.replace("http", "ws") + "/ws",
                                           recorder=rec, reconnect=FAST)
    await ws.close()
    await asyncio.sleep(0.4)
    assert not ws.reconnecting and rec.connections.dropped == 0
    assert ("ws_reconnect_attempts", None) not in rec.take_window().counters


async def test_socketio_reconnects_and_rejoins(echo: EchoProcess) -> None:
    rec = Recorder()
    rejoins = 0

    async def rejoin(conn: SocketIOConnection) -> None:
        nonlocal rejoins
        rejoins += 1
        assert await conn.call("echo", "rejoined") == "rejoined"

    sio = await SocketIOConnection.connect(echo.url, recorder=rec, reconnect=FAST,
                                           on_reconnect=rejoin)
    assert await sio.call("echo", 1) == 1
    echo.kill()
    with pytest.raises(PeerClosedError):
        await sio.call("echo", 2, timeout=5)
    restart = asyncio.create_task(_restart_later(echo, 0.5))
    assert await sio.call("echo", 3, timeout=15) == 3
    await restart
    assert rejoins == 1 and sio.connected and sio.recovered is None  # python-socketio: no
    await sio.disconnect()
    w = rec.take_window()
    assert (rec.connections.dropped, rec.connections.reconnected) == (1, 1)
    assert w.latencies[("sio_reconnect", None)].get_total_count() == 1
    assert w.counters[("sio_reconnect_attempts", None)] >= 1
    assert rec.open_connections == 0


@pytest.mark.skipif(node_missing_reason() is not None, reason=str(node_missing_reason()))
async def test_socketio_resumes_the_session_when_the_server_offers_recovery() -> None:
    env = {**os.environ, "NODE_PATH": str(NODE_MODULES)}
    proc = subprocess.Popen(["node", str(INTEROP / "socketio_recovery_server.js")],
                            stdout=subprocess.PIPE, text=True, env=env, cwd=INTEROP)
    try:
        assert proc.stdout is not None
        port = int(proc.stdout.readline().split()[1])
        rec = Recorder()
        sio = await SocketIOConnection.connect(f"http://127.0.0.1:{port}", recorder=rec,
                                               reconnect=FAST)
        await sio.emit("tick", 1)
        tick = await sio.wait_for("tick", timeout=5)  # (1, offset): the offset rides along
        assert tick[0] == 1 and isinstance(tick[1], str)
        await sio.emit("drop")
        for _ in range(2):  # a wait pending at the drop fails; the next one waits it out
            try:
                missed = await sio.wait_for("missed", timeout=10)  # replayed on recovery
                break
            except PeerClosedError:
                continue
        assert missed[0] == 1
        assert sio.recovered is True and sio.connected
        await sio.disconnect()
        w = rec.take_window()
        assert w.counters[("sio_recovery", "recovered")] == 1
        assert (rec.connections.dropped, rec.connections.reconnected) == (1, 1)
    finally:
        proc.kill()
        proc.wait(10)
