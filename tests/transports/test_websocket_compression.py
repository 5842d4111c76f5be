"""permessage-deflate against real servers on 127.0.0.1: aiohttp's (compression on by
default) and websockets' (with window and context-takeover limits)."""

from __future__ import annotations

import asyncio
import json

import pytest
from websockets.asyncio.server import ServerConnection, serve
from websockets.extensions.permessage_deflate import ServerPerMessageDeflateFactory

from horde.errors import ProtocolError
from horde.metrics.recorder import Recorder
from horde.report.results import _bytes
from horde.transports.websocket import WebSocketConnection

from .ws_servers import AiohttpWsServer, RawWsServer

TICK = json.dumps({"type": "price", "symbol": "ACME", "bid": 101.25, "ask": 101.5,
                   "book": [[100 + i / 4, 10 * i] for i in range(20)]})


async def test_aiohttp_negotiates_and_messages_round_trip() -> None:
    recorder = Recorder()
    async with AiohttpWsServer() as server:
        ws = await WebSocketConnection.connect(
            f"{server.url}/headers", recorder=recorder, compression=True)
        assert ws.compressed
        headers = json.loads(await ws.receive())
        assert headers["Sec-WebSocket-Extensions"] == "permessage-deflate; client_max_window_bits"
        for i in range(50):  # the window is kept across messages (context takeover)
            assert await ws.request(f"{TICK} {i}", name="tick") == f"{TICK} {i}"
        assert await ws.request(TICK.encode(), name="bin") == TICK.encode()
        await ws.close()
        assert server.received == 51
        assert server.last_received == TICK.encode()  # the server inflated what we sent
    plain = sum(len(f"{TICK} {i}") for i in range(50)) + len(TICK)
    traffic = recorder.websocket
    # carried compressed both ways (the first message's headers JSON was too)
    assert traffic.payload_sent < plain // 3
    assert traffic.payload_sent + traffic.inflated_sent == plain
    assert traffic.payload_received < len(TICK) * 51 // 3 + len(json.dumps(headers))
    results = _bytes(recorder.traffic)["by_protocol"]["websocket"]
    assert results["decoded_sent"] == plain
    assert results["decoded_received"] > results["payload_received"] * 3
    assert recorder.take_window().errors == {}


async def test_without_the_option_nothing_is_offered() -> None:
    recorder = Recorder()
    async with AiohttpWsServer() as server:
        ws = await WebSocketConnection.connect(f"{server.url}/headers", recorder=recorder)
        headers = json.loads(await ws.receive())
        assert not ws.compressed and "Sec-WebSocket-Extensions" not in headers
        assert await ws.request(TICK, name="tick") == TICK
        await ws.close()
    assert recorder.websocket.inflated_sent == recorder.websocket.inflated_received == 0


@pytest.mark.parametrize("takeover", [True, False])
async def test_websockets_server_with_limits(takeover: bool) -> None:
    answers: list[str] = []

    async def echo(conn: ServerConnection) -> None:
        answers.append(conn.response.headers.get("Sec-WebSocket-Extensions", ""))
        async for message in conn:
            await conn.send(message)

    factory = ServerPerMessageDeflateFactory(
        server_no_context_takeover=not takeover, client_no_context_takeover=not takeover,
        server_max_window_bits=10, client_max_window_bits=10)
    recorder = Recorder()
    async with serve(echo, "127.0.0.1", 0, compression=None, extensions=[factory]) as server:
        port = server.sockets[0].getsockname()[1]
        ws = await WebSocketConnection.connect(
            f"ws://127.0.0.1:{port}/", recorder=recorder, compression=True)
        assert ws.compressed
        big = TICK * 200  # past a 1 KB window: the limit matters
        for message in (TICK, TICK, big, "é" * 3000, b"\x00\x01" * 5000):
            assert await ws.request(message, name="echo") == message
        await ws.close()
    assert "client_max_window_bits=10" in answers[0]
    assert ("no_context_takeover" in answers[0]) is not takeover
    assert recorder.take_window().errors == {}


async def test_an_answer_not_offered_fails_the_connect() -> None:
    async def idle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()

    recorder = Recorder()
    bogus = b"Sec-WebSocket-Extensions: permessage-deflate; mystery=1\r\n"
    async with RawWsServer(idle, extra_headers=bogus) as server:
        with pytest.raises(ProtocolError) as caught:
            await WebSocketConnection.connect(server.url, recorder=recorder, compression=True,
                                              timeout=5)
    assert caught.value.detail == "extension"
    assert recorder.connections.failed == 1


async def test_rsv1_on_a_connection_without_the_extension_is_still_refused() -> None:
    async def compressed_anyway(reader: asyncio.StreamReader,
                                writer: asyncio.StreamWriter) -> None:
        writer.write(b"\xc1\x07" + bytes.fromhex("f248cdc9c90700"))  # RFC 7692's "Hello"
        await reader.read()

    recorder = Recorder()
    async with RawWsServer(compressed_anyway) as server:
        ws = await WebSocketConnection.connect(server.url, recorder=recorder)
        with pytest.raises(ProtocolError):
            await ws.receive(timeout=5)
    assert ("protocol_error", "reserved_bits") in recorder.take_window().errors


async def test_a_negotiated_rfc_example_is_inflated() -> None:
    async def hello(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"\xc1\x07" + bytes.fromhex("f248cdc9c90700"))
        writer.write(b"\xc1\x05" + bytes.fromhex("f200110000"))  # the same, window kept
        writer.write(b"\x41\x03" + bytes.fromhex("f248cd") + b"\x80\x04"  # fragmented
                     + bytes.fromhex("c9c90700"))
        await reader.read(100)  # our CLOSE
        writer.close()

    recorder = Recorder()
    accepted = b"Sec-WebSocket-Extensions: permessage-deflate\r\n"
    async with RawWsServer(hello, extra_headers=accepted) as server:
        ws = await WebSocketConnection.connect(server.url, recorder=recorder, compression=True)
        assert [await ws.receive(timeout=5) for _ in range(3)] == ["Hello"] * 3
        await ws.close()
    assert recorder.websocket.payload_received == 7 + 5 + 7
    assert recorder.websocket.inflated_received == 15 - 19
