"""horde's WebSocket client on real sockets: what the handshake and the frame layer do with
servers that answer PINGs, split frames, send frames with the 101, or get it wrong."""

from __future__ import annotations

import asyncio

import pytest
from tests.transports.raw_server import RawServer
from tests.transports.ws_servers import (
    RawWsServer,
    answer_close,
    drain_until_eof,
    frame,
    read_client_frame,
)

from horde.errors import HandshakeRejectedError, ProtocolError
from horde.metrics.names import WS_CONNECT
from horde.metrics.recorder import Recorder
from horde.transports.websocket import WebSocketConnection


@pytest.fixture
def rec() -> Recorder:
    return Recorder()


async def arrived(seen: list[tuple[int, bytes]]) -> None:
    """Wait (10 s at most) until the server has read what the client sent: its CLOSE."""
    for _ in range(1000):
        if seen:
            return
        await asyncio.sleep(0.01)


async def test_a_ping_is_answered_with_its_payload_and_the_connection_goes_on(rec):
    pongs: list[tuple[int, bytes]] = []

    async def script(reader, writer):
        writer.write(frame(0x9, b"are you there"))
        pongs.append(await read_client_frame(reader))
        writer.write(frame(0x1, b"after the ping"))
        await answer_close(reader, writer)

    async with RawWsServer(script) as srv:
        conn = await WebSocketConnection.connect(srv.url, recorder=rec)
        assert await conn.receive(timeout=10) == "after the ping"
        await conn.close()
    assert pongs == [(0xA, b"are you there")]
    assert rec.take_window().errors == {}


async def test_frames_sent_with_the_101_and_split_anywhere_arrive_whole(rec):
    big = bytes(range(256)) * 4096  # 1 MiB: a 64-bit length, many reads

    async def script(reader, writer):
        wire = frame(0x2, big) + frame(0x1, b"end")
        for at in range(0, len(wire), 65_000):
            writer.write(wire[at:at + 65_000])
            await writer.drain()
        await answer_close(reader, writer)

    class Eager(RawWsServer):  # the first frame in the very packet of the 101
        async def _upgrade_then_run(self, reader, writer):
            self.extra_headers = b""
            original = writer.write

            def with_a_frame(data: bytes) -> None:  # the 101, and only the 101
                writer.write = original  # type: ignore[method-assign]
                original(data + frame(0x1, b"early"))

            writer.write = with_a_frame  # type: ignore[method-assign]
            await super()._upgrade_then_run(reader, writer)

    async with Eager(script) as srv:
        conn = await WebSocketConnection.connect(srv.url, recorder=rec)
        assert await conn.receive(timeout=10) == "early"
        assert await conn.receive(timeout=10) == big
        assert await conn.receive(timeout=10) == "end"
        await conn.close()


async def handshake_server(answer: bytes) -> tuple[asyncio.Server, int]:
    async def reply(reader, writer):
        await reader.readuntil(b"\r\n\r\n")
        writer.write(answer)
        await drain_until_eof(reader)
        writer.close()

    server = await asyncio.start_server(reply, "127.0.0.1", 0)
    return server, server.sockets[0].getsockname()[1]


async def test_a_101_with_the_wrong_accept_is_a_handshake_error(rec):
    server, port = await handshake_server(
        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        b"Sec-WebSocket-Accept: bm90IHRoZSByaWdodCBvbmU=\r\n\r\n")
    with pytest.raises(ProtocolError, match="Accept"):
        await WebSocketConnection.connect(f"ws://127.0.0.1:{port}/", recorder=rec, timeout=5)
    server.close()
    window = rec.take_window()
    assert window.errors == {("protocol_error", "handshake"): 1}
    assert window.outcomes[(WS_CONNECT, None)].failed == 1
    assert rec.open_connections == 0 and rec.in_flight == 0


async def test_a_redirect_is_a_refused_upgrade(rec):
    server, port = await handshake_server(
        b"HTTP/1.1 302 Found\r\nLocation: /elsewhere\r\nContent-Length: 0\r\n\r\n")
    with pytest.raises(HandshakeRejectedError) as info:
        await WebSocketConnection.connect(f"ws://127.0.0.1:{port}/", recorder=rec, timeout=5)
    server.close()
    assert info.value.status == 302
    assert rec.take_window().errors == {("handshake_rejected", "302"): 1}


async def test_a_close_with_a_code_no_one_may_send_is_a_protocol_error(rec):
    closes: list[tuple[int, bytes]] = []

    async def script(reader, writer):
        writer.write(frame(0x8, (1005).to_bytes(2)))
        closes.append(await read_client_frame(reader))
        await drain_until_eof(reader)

    async with RawWsServer(script) as srv:
        conn = await WebSocketConnection.connect(srv.url, recorder=rec)
        with pytest.raises(ProtocolError):
            await conn.receive(timeout=10)
        await arrived(closes)
    assert closes[0][0] == 0x8 and int.from_bytes(closes[0][1][:2]) == 1002
    assert conn.close_code == 1002
    assert list(rec.take_window().errors) == [("protocol_error", "bad_frame")]
    assert rec.connections.dropped == 1


async def test_an_idle_client_holds_no_buffer_and_no_handshake(rec):
    """What an idle connection keeps is what its memory figure rests on
    (bench/ws_idle_floor.py): slots only, nothing of the upgrade, nothing read ahead."""
    async def script(reader, writer):
        writer.write(frame(0x1, b"x" * 300)[:100])  # a frame's start, then nothing for now
        await answer_close(reader, writer)

    async with RawWsServer(script) as srv:
        conn = await WebSocketConnection.connect(srv.url, recorder=rec)
        client = conn._transport
        assert client is not None and not hasattr(client, "__dict__")
        assert client._upgrade is None and client._request is None and client._key is None
        for _ in range(500):
            if client._parser._held is not None:
                break
            await asyncio.sleep(0.01)
        assert client._parser._held is not None  # a partial frame waits for the rest
        await conn.close()


async def test_a_plain_http_server_is_no_websocket(rec):
    async def script(reader, writer):
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"SSH-2.0-OpenSSH_9.6\r\n")
        await drain_until_eof(reader)

    async with RawServer(script) as srv:
        with pytest.raises(ProtocolError, match="handshake"):
            await WebSocketConnection.connect(f"ws://127.0.0.1:{srv.port}/", recorder=rec,
                                              timeout=5)
    assert list(rec.take_window().errors) == [("protocol_error", "handshake")]


async def test_a_failure_of_hordes_own_frame_handling_ends_the_connection_visibly(
        rec, monkeypatch, caplog):
    """A bug in the listener must not vanish into the event loop's log with the socket
    left half alive: it is logged, the server gets 1011, and the drop is counted."""
    from horde.transports.ws_listener import Listener

    def broken(self, client, frame):
        raise RuntimeError("bug")

    closes: list[tuple[int, bytes]] = []

    async def script(reader, writer):
        await read_client_frame(reader)  # once the handler is broken
        writer.write(frame(0x1, b"boom"))
        closes.append(await read_client_frame(reader))
        await drain_until_eof(reader)

    async with RawWsServer(script) as srv:
        conn = await WebSocketConnection.connect(srv.url, recorder=rec)
        monkeypatch.setattr(Listener, "on_ws_frame", broken)
        await conn.send("go")
        with pytest.raises(ProtocolError):
            await conn.receive(timeout=10)
        await arrived(closes)
    assert int.from_bytes(closes[0][1][:2]) == 1011
    assert list(rec.take_window().errors) == [("protocol_error", "client_failed")]
    assert "frame handler failed" in caplog.text
