"""SocketIOConnection against real servers on 127.0.0.1: python-socketio, and fakes that fail.

The behaviour every server must see is in :mod:`.socketio_contract`; Node's socket.io runs
the same contract in ``test_socketio_interop.py``.
"""

from __future__ import annotations

import asyncio

import pytest

from horde.errors import (
    HandshakeRejectedError,
    OperationTimeoutError,
    PeerClosedError,
    ProtocolError,
    TargetRefusedError,
    UsageError,
)
from horde.metrics.names import SIO_ACK, SIO_EMIT, SIO_EVENT_IN
from horde.metrics.recorder import ConnectionCounts, Recorder
from horde.protocols.codec import JsonCodec
from horde.safety import tls
from horde.transports import socketio as sio_transport
from horde.transports.socketio import SocketIOConnection

from .socketio_contract import SocketIOContract, count, eventually, samples
from .socketio_servers import FakeEngineIOServer, PySocketIOServer

pytestmark = pytest.mark.timeout(15)


@pytest.fixture
async def pyserver():
    async with PySocketIOServer() as srv:
        yield srv


class TestPythonSocketIOServer(SocketIOContract):
    @pytest.fixture
    def server(self, pyserver: PySocketIOServer) -> PySocketIOServer:
        return pyserver


@pytest.fixture(params=["websocket", "polling"])
def first(request: pytest.FixtureRequest) -> str:
    return request.param


async def test_closed_port_is_connection_refused(first: str) -> None:
    rec = Recorder()
    srv = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = srv.sockets[0].getsockname()[1]
    srv.close()
    await srv.wait_closed()
    with pytest.raises(TargetRefusedError):
        await SocketIOConnection.connect(f"http://127.0.0.1:{port}", recorder=rec,
                                         transports=(first,))
    assert rec.take_window().errors == {("connection_refused", None): 1}
    assert rec.connections == ConnectionCounts(attempted=1, failed=1)


async def test_http_403_is_handshake_rejected(first: str) -> None:
    rec = Recorder()
    async with FakeEngineIOServer("reject") as srv:
        with pytest.raises(HandshakeRejectedError) as info:
            await SocketIOConnection.connect(srv.url, recorder=rec, transports=(first,))
    assert info.value.status == 403
    assert rec.take_window().errors == {("handshake_rejected", "403"): 1}
    assert rec.connections == ConnectionCounts(attempted=1, failed=1)


async def test_garbage_instead_of_engineio_is_protocol_error(first: str) -> None:
    rec = Recorder()
    async with FakeEngineIOServer("garbage") as srv:
        with pytest.raises(ProtocolError):
            await SocketIOConnection.connect(srv.url, recorder=rec, transports=(first,))
    errors = rec.take_window().errors
    assert sum(errors.values()) == 1 and next(iter(errors))[0] == "protocol_error"
    assert rec.connections == ConnectionCounts(attempted=1, failed=1)


async def test_invalid_socketio_packet_drops_the_connection(first: str) -> None:
    rec = Recorder()
    async with FakeEngineIOServer("bad-packet") as srv:
        c = await SocketIOConnection.connect(srv.url, recorder=rec, transports=(first,))
        await c.emit("anything")
        await eventually(lambda: not c.connected)
    w = rec.take_window()
    assert w.errors == {("protocol_error", "socketio"): 1}  # not also closed_by_peer
    assert rec.connections == ConnectionCounts(attempted=1, succeeded=1, dropped=1)
    assert rec.open_connections == 0


async def test_failed_upgrade_stays_on_polling() -> None:
    rec = Recorder()
    async with FakeEngineIOServer("no-upgrade") as srv:
        c = await SocketIOConnection.connect(srv.url, recorder=rec,
                                             transports=("polling", "websocket"))
        assert c.connected and c.transport == "polling"
        await c.disconnect()
    w = rec.take_window()
    assert count(w, "sio_upgrade_failed") == 1 and w.errors == {}
    assert rec.connections == ConnectionCounts(attempted=1, succeeded=1)


async def test_unknown_namespace_is_the_scenarios_mistake(pyserver: PySocketIOServer) -> None:
    rec = Recorder()
    c = await SocketIOConnection.connect(pyserver.url, recorder=rec)
    with pytest.raises(UsageError):
        await c.emit("echo", namespace="/never-connected")
    await c.disconnect()
    assert rec.take_window().errors == {}


async def test_silent_server_times_out_the_connect() -> None:
    rec = Recorder()
    accepted: list[asyncio.StreamWriter] = []
    srv = await asyncio.start_server(lambda r, w: accepted.append(w), "127.0.0.1", 0)
    port = srv.sockets[0].getsockname()[1]
    try:
        with pytest.raises(OperationTimeoutError):
            await SocketIOConnection.connect(f"http://127.0.0.1:{port}", recorder=rec,
                                             transports=("polling",), timeout=0.3)
    finally:
        for writer in accepted:
            writer.close()
        srv.close()
        await srv.wait_closed()
    assert rec.take_window().errors == {("timeout", "sio_connect"): 1}
    assert rec.connections == ConnectionCounts(attempted=1, failed=1)


async def test_a_websocket_closed_during_its_handshake_fails_the_connect_at_once() -> None:
    """The server reads the upgrade and hangs up: the connect waited for an OPEN packet
    that could never come, and failed only at its timeout, as a timeout."""
    async def hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.close()

    rec = Recorder()
    srv = await asyncio.start_server(hang_up, "127.0.0.1", 0)
    port = srv.sockets[0].getsockname()[1]
    try:
        with pytest.raises(PeerClosedError, match="handshake"):
            await asyncio.wait_for(SocketIOConnection.connect(
                f"http://127.0.0.1:{port}", recorder=rec, transports="websocket",
                timeout=30), 10)  # far inside the connect's own timeout
    finally:
        srv.close()
        await srv.wait_closed()
    assert rec.take_window().errors == {("closed_by_peer", None): 1}
    assert rec.connections == ConnectionCounts(attempted=1, failed=1)
    assert rec.in_flight == 0


async def test_server_that_stops_pinging_is_noticed_lazily() -> None:
    rec = Recorder()
    async with FakeEngineIOServer("mute") as srv:  # pingInterval+pingTimeout = 0.2 s, no PING
        c = await SocketIOConnection.connect(srv.url, recorder=rec)
        await asyncio.sleep(0.3)
        with pytest.raises(PeerClosedError):
            await c.call("echo", 1)
    assert rec.take_window().errors == {("closed_by_peer", None): 1}
    assert rec.connections == ConnectionCounts(attempted=1, succeeded=1, dropped=1)


async def test_wait_for_timeout_raises_without_recording(pyserver: PySocketIOServer) -> None:
    rec = Recorder()
    c = await SocketIOConnection.connect(pyserver.url, recorder=rec)
    with pytest.raises(OperationTimeoutError):
        await c.wait_for("nothing", timeout=0.1)
    await c.disconnect()
    assert rec.take_window().errors == {}


async def test_inbox_overflow_drops_oldest(pyserver: PySocketIOServer) -> None:
    rec = Recorder()
    c = await SocketIOConnection.connect(pyserver.url, recorder=rec, inbox_limit=3)
    await c.emit("push", {"n": 5})
    assert await c.wait_for("pushed", timeout=5) == 5  # sent after the ticks
    assert [await c.wait_for("tick") for _ in range(3)] == [{"i": 2}, {"i": 3}, {"i": 4}]
    await c.disconnect()
    w = rec.take_window()
    assert count(w, "sio_inbox_dropped", "tick") == 2 == count(w, "sio_unclaimed", "tick")


def test_the_default_inbox_limit_is_a_thousand_events() -> None:
    assert sio_transport.INBOX_LIMIT == 1_000
    with pytest.raises(UsageError):
        SocketIOConnection(Recorder(), codec=None, default_timeout=1, namespaces=("/",),
                           inbox_limit=0)


async def test_json_codec_applies_per_argument(pyserver: PySocketIOServer) -> None:
    rec = Recorder()
    c = await SocketIOConnection.connect(pyserver.url, recorder=rec, codec=JsonCodec())
    # encoded to JSON text on the way out, decoded on the way back; non-text passes through
    assert await c.call("echo", {"a": [1, 2]}, "plain") == ({"a": [1, 2]}, "plain")
    await c.disconnect()


async def test_polling_carries_large_batches(pyserver: PySocketIOServer) -> None:
    rec = Recorder()
    c = await SocketIOConnection.connect(pyserver.url, recorder=rec, transports=("polling",))
    results = await asyncio.gather(*(c.call("echo", i, "x" * 100) for i in range(50)))
    assert results == [(i, "x" * 100) for i in range(50)]
    await c.disconnect()
    w = rec.take_window()
    assert samples(w, SIO_ACK, "echo") == 50 and w.errors == {}


async def test_plain_http_polling_never_loads_the_ca_store(pyserver: PySocketIOServer) -> None:
    # building the default TLS context loads the CA store (~10 ms of every run's start-up,
    # far more on a busy machine): an http:// session has no use for it
    tls.default_ssl_context.cache_clear()
    c = await SocketIOConnection.connect(pyserver.url, recorder=Recorder(),
                                         transports=("polling",))
    assert await c.call("echo", 1) == 1
    await c.disconnect()
    assert tls.default_ssl_context.cache_info().currsize == 0


async def test_500_clients_5_calls_each(pyserver: PySocketIOServer) -> None:
    rec = Recorder()
    clients = await asyncio.gather(*(
        SocketIOConnection.connect(pyserver.url, recorder=rec) for _ in range(500)))

    async def five(c: SocketIOConnection, i: int) -> None:
        for j in range(5):
            assert await c.call("echo", {"i": i, "j": j}) == {"i": i, "j": j}

    await asyncio.gather(*(five(c, i) for i, c in enumerate(clients)))
    await asyncio.gather(*(c.disconnect() for c in clients))
    w = rec.take_window()
    stats = await pyserver.stats()
    assert w.errors == {}
    assert rec.connections == ConnectionCounts(attempted=500, succeeded=500)
    assert samples(w, SIO_ACK, "echo") == 2500 == count(w, SIO_EMIT, "echo")
    assert stats["connect"] == 500 and stats["echo"] == 2500
    assert count(w, SIO_EVENT_IN, "tick") == 0 and rec.in_flight == 0
    await eventually(lambda: pyserver.counts["disconnect"] == 500)


async def test_transports_may_be_one_string_and_bad_ones_are_usage_errors(
        pyserver: PySocketIOServer) -> None:
    rec = Recorder()
    c = await SocketIOConnection.connect(pyserver.url, recorder=rec, transports="polling")
    assert c.transport == "polling" and await c.call("echo", 1) == 1
    await c.disconnect()
    for bad in ("websockets", (), ("websocket", "websocket"), ("ws",)):
        with pytest.raises(UsageError, match="give \"websocket\", \"polling\", or both"):
            await SocketIOConnection.connect(pyserver.url, recorder=rec, transports=bad)
    assert rec.connections == ConnectionCounts(attempted=1, succeeded=1)
