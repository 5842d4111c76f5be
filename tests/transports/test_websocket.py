"""WebSocketConnection against real servers on 127.0.0.1: what it does and what it records."""

from __future__ import annotations

import asyncio
import base64
import json
import socket
import ssl
from pathlib import Path

import pytest
import uvloop

from horde.errors import (
    AppError,
    ConfigError,
    DnsError,
    HandshakeRejectedError,
    OperationTimeoutError,
    PeerClosedError,
    ProtocolError,
    TargetRefusedError,
    TlsError,
)
from horde.metrics.names import WS_CONNECT, WS_MSG_IN, WS_MSG_OUT, WS_REPLY
from horde.metrics.recorder import Recorder, Window
from horde.protocols.codec import Chain, FunctionCodec, JsonCodec
from horde.transports.websocket import WebSocketConnection
from horde.transports.ws_listener import classify_connect

from .ws_servers import (
    AiohttpWsServer,
    RawWsServer,
    answer_close,
    drain_until_eof,
    frame,
    read_client_frame,
    self_signed_cert,
)

pytestmark = pytest.mark.timeout(10)


@pytest.fixture
async def server():
    async with AiohttpWsServer() as srv:
        yield srv


@pytest.fixture
def rec() -> Recorder:
    return Recorder()


def count(window: Window, metric: str, name: str | None = None) -> int:
    return window.counters.get((metric, name), 0)


def samples(window: Window, metric: str, name: str | None = None) -> int:
    hist = window.latencies.get((metric, name))
    return 0 if hist is None else hist.get_total_count()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# -- happy paths ---------------------------------------------------------------------------


async def test_echo_request_records_latency_messages_and_bytes(server, rec):
    conn = await WebSocketConnection.connect(f"{server.url}/echo", recorder=rec)
    for i in range(10):
        assert await conn.request(f"hello-{i}", name="echo") == f"hello-{i}"
    await conn.close()

    w = rec.take_window()
    assert samples(w, WS_CONNECT) == 1
    assert samples(w, WS_REPLY, "echo") == 10
    assert count(w, WS_MSG_OUT) == count(w, WS_MSG_IN) == server.received == 10
    assert w.bytes_sent == w.bytes_received == sum(len(f"hello-{i}") for i in range(10))
    assert w.errors == {}
    assert w.peak_in_flight == 1 and rec.in_flight == 0
    c = rec.connections
    assert (c.attempted, c.succeeded, c.failed, c.dropped) == (1, 1, 0, 0)
    assert rec.open_connections == 0
    assert conn.closed and conn.close_code == 1000


async def test_an_idle_connection_keeps_no_connect_operation_or_waiter_list(server, rec):
    # per idle connection these were ~240 bytes and two objects the GC walks, for nothing
    conn = await WebSocketConnection.connect(f"{server.url}/echo", recorder=rec)
    assert conn._connect_op is None
    assert not isinstance(conn._inbox.waiters, list)
    assert await conn.request("hi", name="echo") == "hi"  # the first wait makes the list
    assert conn._inbox.waiters == []
    await conn.close()
    assert samples(rec.take_window(), WS_CONNECT) == 1 and rec.connections.succeeded == 1


async def test_subprotocol_negotiated(server, rec):
    conn = await WebSocketConnection.connect(
        f"{server.url}/echo", recorder=rec, subprotocols=["chat.v1", "other"]
    )
    plain = await WebSocketConnection.connect(f"{server.url}/echo", recorder=rec)
    assert conn.subprotocol == "chat.v1"
    assert plain.subprotocol is None
    await conn.close()
    await plain.close()
    assert rec.take_window().errors == {}


async def test_headers_reach_the_server(server, rec):
    conn = await WebSocketConnection.connect(
        f"{server.url}/headers", recorder=rec, headers={"X-Token": "abc", "Cookie": "sid=1"}
    )
    seen = json.loads(await conn.receive())
    assert seen["X-Token"] == "abc" and seen["Cookie"] == "sid=1"
    await conn.close()


async def test_wait_for_leaves_other_messages_queued(server, rec):
    conn = await WebSocketConnection.connect(f"{server.url}/push/4", recorder=rec)
    assert await conn.wait_for(lambda m: m == "msg-2") == "msg-2"
    assert [await conn.receive() for _ in range(3)] == ["msg-0", "msg-1", "msg-3"]
    # request() ignores what was queued before its send: the reply is the echo.
    conn2 = await WebSocketConnection.connect(f"{server.url}/push/2", recorder=rec)
    await conn2.wait_for(lambda m: m == "msg-1")
    assert await conn2.request("ping", name="p", match=lambda m: m == "ping") == "ping"
    assert await conn2.receive() == "msg-0"
    await conn.close()
    await conn2.close()
    w = rec.take_window()
    assert count(w, WS_MSG_IN) == 4 + 2 + 1 and samples(w, WS_REPLY, "p") == 1


async def test_on_message_is_listen_only(server, rec):
    seen: list[str] = []
    conn = await WebSocketConnection.connect(
        f"{server.url}/push/5", recorder=rec, event_key=lambda m: m.split("-")[0]
    )
    await asyncio.sleep(0.05)  # some arrive before the handler exists: handed over too
    conn.on_message(seen.append)
    await conn.send("last")
    for _ in range(1000):  # up to 10 s, for a busy machine
        if len(seen) == 6:
            break
        await asyncio.sleep(0.01)
    assert seen == [*(f"msg-{i}" for i in range(5)), "last"]
    with pytest.raises(OperationTimeoutError):
        await conn.receive(timeout=0.05)  # nothing was queued
    await conn.close()
    w = rec.take_window()
    assert count(w, WS_MSG_IN, "msg") == 5 and count(w, WS_MSG_IN, "last") == 1
    assert w.errors == {("timeout", "receive"): 1}


async def test_handler_errors_are_scenario_exceptions(server, rec):
    def handler(message: str) -> None:
        raise ValueError(message)

    conn = await WebSocketConnection.connect(f"{server.url}/push/2", recorder=rec)
    conn.on_message(handler)
    assert await conn.request("x", name="x") == "x"  # a pending request still gets its reply
    await conn.close()
    w = rec.take_window()
    assert w.errors == {("scenario_exception", "ValueError"): 2}
    assert count(w, WS_MSG_IN) == 3


async def test_cancelled_receive_does_not_swallow_a_message(server, rec):
    conn = await WebSocketConnection.connect(f"{server.url}/echo", recorder=rec)
    stray = asyncio.ensure_future(conn.receive())
    await asyncio.sleep(0)
    stray.cancel()
    assert await conn.request("mine", name="m") == "mine"
    await conn.close()
    assert rec.take_window().errors == {}


async def test_binary_frames_round_trip(server, rec):
    conn = await WebSocketConnection.connect(f"{server.url}/echo", recorder=rec)
    payload = bytes(range(256)) * 40
    assert await conn.request(payload, name="bin") == payload
    await conn.close()
    w = rec.take_window()
    assert w.bytes_sent == w.bytes_received == len(payload)
    assert server.last_received == payload


async def test_fragmented_messages_are_assembled(rec):
    text = "Hello wörld".encode()  # 'ö' is split across two fragments below

    async def script(reader, writer):
        writer.write(
            frame(0x1, text[:7], fin=False)
            + frame(0x9, b"hb")  # a PING between fragments: allowed, auto-ponged
            + frame(0x0, text[7:8], fin=False)
            + frame(0x0, text[8:])
            + frame(0x2, b"\x00\x01", fin=False)
            + frame(0x0, b"\x02")
        )
        opcode, payload = await read_client_frame(reader)
        assert (opcode, payload) == (0xA, b"hb")
        await answer_close(reader, writer)

    async with RawWsServer(script) as srv:
        conn = await WebSocketConnection.connect(srv.url, recorder=rec)
        assert await conn.receive() == "Hello wörld"
        assert await conn.receive() == b"\x00\x01\x02"
        await conn.close()
    w = rec.take_window()
    assert count(w, WS_MSG_IN) == 2
    assert w.bytes_received == len(text) + 3
    assert w.errors == {}


async def test_json_codec(server, rec):
    conn = await WebSocketConnection.connect(f"{server.url}/echo", recorder=rec, codec=JsonCodec())
    reply = await conn.request({"op": "add", "id": 7}, name="add", match=lambda m: m["id"] == 7)
    assert reply == {"op": "add", "id": 7}
    assert server.last_received == '{"op":"add","id":7}'
    await conn.close()


async def test_error_when_fails_requests_and_streams_and_counts_app_error(server, rec):
    conn = await WebSocketConnection.connect(
        f"{server.url}/echo", recorder=rec, codec=JsonCodec(),
        error_when=lambda m: m.get("type") == "error")
    joined = lambda m: m.get("type") == "joined"  # noqa: E731 - the echo never says it
    with pytest.raises(AppError, match="no such team") as info:
        await conn.request({"type": "error", "message": "no such team"}, name="join",
                           match=joined, timeout=8)
    assert info.value.detail == "no such team"
    assert await conn.receive(timeout=5) == {"type": "error", "message": "no such team"}
    result = await conn.stream({"type": "error", "message": "busy"}, name="tokens",
                               match=joined, until=bool, timeout=8)
    assert (result.completed, result.reason) == (False, "failed")
    assert await conn.request({"type": "ok"}, name="echo") == {"type": "ok"}
    await conn.close()
    w = rec.take_window()
    assert w.errors == {("app_error", "no such team"): 1, ("app_error", "busy"): 1}
    assert w.outcomes[(WS_REPLY, "join")].failures == {("app_error", "no such team"): 1}
    assert rec.in_flight == 0


async def test_error_detail_names_the_kind_of_error_not_each_message(server, rec):
    """A Jupyter error reply has no ``message`` field: its text, with a unique msg_id,
    made one app_error row per message (74 rows for one exception)."""
    def ename(m: dict) -> str:
        return m["content"]["ename"]

    conn = await WebSocketConnection.connect(
        f"{server.url}/echo", recorder=rec, codec=JsonCodec(),
        error_when=lambda m: m.get("status") == "error", error_detail=ename)
    for msg_id in ("a1", "b2", "c3"):
        await conn.send({"status": "error", "msg_id": msg_id,
                         "content": {"ename": "ZeroDivisionError"}})
        await conn.receive(timeout=5)
    await conn.send({"status": "error", "msg_id": "d4"})  # ename() raises: the default
    await conn.receive(timeout=5)
    await conn.close()
    errors = rec.take_window().errors
    assert errors[("app_error", "ZeroDivisionError")] == 3
    assert errors[("scenario_exception", "KeyError")] == 1
    assert errors[("app_error", '{\'status\': \'error\', \'msg_id\': \'d4\'}')] == 1


async def test_chained_codec_transforms_both_ways(server, rec):
    b64 = FunctionCodec(
        encode=lambda s: base64.b64encode(s.encode()).decode(),
        decode=lambda d: base64.b64decode(d).decode(),
    )
    conn = await WebSocketConnection.connect(
        f"{server.url}/echo", recorder=rec, codec=Chain(JsonCodec(), b64)
    )
    assert await conn.request({"n": 1}, name="enc") == {"n": 1}
    assert server.last_received == base64.b64encode(b'{"n":1}').decode()
    await conn.close()


@pytest.mark.parametrize("how", ["hang_up", "close_frame"])
async def test_a_close_the_scenario_asked_for_is_no_drop(rec, how):
    """An MQTT client says DISCONNECT and the broker hangs up: counted as a drop
    (closed_by_peer 1006, in 1 to 24 of 102 users' @on_stop, as the race fell)."""
    async def goodbye(reader, writer):
        opcode, payload = await read_client_frame(reader)
        assert opcode == 0x2  # binary
        assert payload == b"\xe0\x00"  # MQTT DISCONNECT
        if how == "close_frame":
            writer.write(frame(0x8, (1000).to_bytes(2, "big")))
            await writer.drain()
            await drain_until_eof(reader)

    async with RawWsServer(goodbye) as srv:
        conn = await WebSocketConnection.connect(srv.url, recorder=rec)
        await conn.send(b"\xe0\x00")
        conn.expect_close()
        for _ in range(500):  # until the server's close has come (it is its doing: no clock)
            if conn.closed:
                break
            await asyncio.sleep(0.02)
        assert conn.closed and not conn.dropped
        await conn.close()  # the user's end: a no-op now
    assert rec.take_window().errors == {}
    assert (rec.connections.succeeded, rec.connections.dropped) == (1, 0)
    assert rec.open_connections == 0


async def test_a_close_nobody_asked_for_is_still_a_drop(rec):
    async def hang_up(reader, writer):
        await read_client_frame(reader)

    async with RawWsServer(hang_up) as srv:
        conn = await WebSocketConnection.connect(srv.url, recorder=rec)
        await conn.send(b"\xe0\x00")
        for _ in range(500):
            if conn.closed:
                break
            await asyncio.sleep(0.02)
        assert conn.dropped
        await conn.close()
    assert rec.take_window().errors == {("closed_by_peer", "1006"): 1}
    assert rec.connections.dropped == 1


async def test_a_paused_reader_makes_the_server_buffer_and_loses_nothing(rec):
    """A slow consumer, as the server sees it: while the client does not read, the server
    cannot get rid of what it writes (26 MB: more than the kernel's buffers hold); once
    the client reads again, every message arrives, in order."""
    count, size = 400, 64 * 1024
    drained = asyncio.Event()
    resumed = asyncio.Event()

    async def flood(reader, writer):
        for i in range(count):
            writer.write(frame(0x2, i.to_bytes(4, "big") + bytes(size - 4)))
        await writer.drain()  # returns once the client has read enough of it
        drained.set()
        await resumed.wait()
        await answer_close(reader, writer)

    async with RawWsServer(flood) as srv:
        conn = await WebSocketConnection.connect(srv.url, recorder=rec, max_message_size=size)
        conn.pause_reading()
        await asyncio.sleep(0.5)  # reading, the client would take it all in milliseconds
        assert not drained.is_set()
        conn.resume_reading()
        got = [int.from_bytes((await conn.receive(timeout=10))[:4], "big")
               for _ in range(count)]
        await asyncio.wait_for(drained.wait(), 10)
        resumed.set()
        await conn.close()
    assert got == list(range(count))
    assert rec.take_window().errors == {}


# -- failures to connect -------------------------------------------------------------------


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
async def test_connection_refused(rec, host):
    with pytest.raises(TargetRefusedError):
        await WebSocketConnection.connect(f"ws://{host}:{free_port()}/", recorder=rec)
    w = rec.take_window()
    assert w.errors == {("connection_refused", None): 1}
    c = rec.connections
    assert (c.attempted, c.succeeded, c.failed) == (1, 0, 1)
    assert rec.open_connections == 0


async def test_dns_failure(rec):
    with pytest.raises(DnsError):
        await WebSocketConnection.connect("ws://nonexistent.invalid/", recorder=rec)
    assert rec.take_window().errors == {("dns_failure", None): 1}
    assert rec.connections.failed == 1


async def test_handshake_rejected_keeps_status(server, rec):
    with pytest.raises(HandshakeRejectedError) as info:
        await WebSocketConnection.connect(f"{server.url}/reject/403", recorder=rec)
    assert info.value.status == 403
    assert rec.take_window().errors == {("handshake_rejected", "403"): 1}
    assert rec.connections.failed == 1


async def test_a_server_that_closes_during_the_handshake_fails_the_connect(rec):
    """Mosquitto, offered a subprotocol it does not speak, reads the upgrade and closes
    the socket without an answer: the connect returned a connection neither open nor
    closed, nothing was counted, its operation stayed in flight, and every later send
    raised AttributeError (blamed on the scenario)."""
    async def hang_up(reader, writer):
        await reader.readuntil(b"\r\n\r\n")
        writer.close()

    server = await asyncio.start_server(hang_up, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    with pytest.raises(PeerClosedError, match="handshake"):
        await WebSocketConnection.connect(f"ws://127.0.0.1:{port}/", recorder=rec, timeout=5)
    server.close()
    window = rec.take_window()
    assert list(window.errors) == [("closed_by_peer", None)]
    assert window.outcomes[(WS_CONNECT, None)].failed == 1
    c = rec.connections
    assert (c.attempted, c.succeeded, c.failed) == (1, 0, 1)
    assert rec.open_connections == 0 and rec.in_flight == 0


async def test_connect_timeout(rec):
    hung_up = asyncio.Event()

    async def never_answers(reader, writer):
        await drain_until_eof(reader)
        hung_up.set()

    server = await asyncio.start_server(never_answers, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    with pytest.raises(OperationTimeoutError):
        await WebSocketConnection.connect(f"ws://127.0.0.1:{port}/", recorder=rec, timeout=0.2)
    await asyncio.wait_for(hung_up.wait(), 2)  # the abandoned socket does not linger
    server.close()
    assert rec.take_window().errors == {("timeout", "ws_connect"): 1}
    assert rec.connections.failed == 1 and rec.open_connections == 0


async def test_a_connect_horde_abandons_is_unfinished_not_failed(rec):
    """A run ending mid-handshake must not lower the target's connection success rate, and
    must not vanish either: the attempt is unfinished."""

    async def never_answers(reader, writer):
        await drain_until_eof(reader)

    server = await asyncio.start_server(never_answers, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    task = asyncio.ensure_future(
        WebSocketConnection.connect(f"ws://127.0.0.1:{port}/", recorder=rec, timeout=5)
    )
    await asyncio.sleep(0.1)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    server.close()
    c = rec.connections
    assert (c.attempted, c.succeeded, c.failed, c.unfinished) == (1, 0, 0, 1)
    window = rec.take_window()
    assert window.errors == {} and window.outcomes[("ws_connect", None)].unfinished == 1


async def test_subprotocol_we_did_not_offer_fails_the_connect(rec):
    async def script(reader, writer):
        await drain_until_eof(reader)

    async with RawWsServer(script, b"Sec-WebSocket-Protocol: evil\r\n") as srv:
        with pytest.raises(ProtocolError):
            await WebSocketConnection.connect(srv.url, recorder=rec, subprotocols=["chat.v1"])
    assert rec.take_window().errors == {("protocol_error", "subprotocol"): 1}
    assert rec.connections.failed == 1 and rec.open_connections == 0


def test_several_refusing_addresses_still_count_as_refused():
    joined = OSError(
        "Multiple exceptions: [Errno 111] Connect call failed ('::1', 9, 0, 0), "
        "[Errno 111] Connect call failed ('127.0.0.1', 9)"
    )
    assert type(classify_connect(joined, 1.0)) is TargetRefusedError
    mixed = OSError("Multiple exceptions: [Errno 111] refused, [Errno 101] unreachable")
    assert type(classify_connect(mixed, 1.0)) is not TargetRefusedError


async def test_bad_url_is_the_users_fault(rec):
    with pytest.raises(ConfigError):
        await WebSocketConnection.connect("http://example.com/", recorder=rec)
    assert rec.connections.attempted == 0


@pytest.fixture(scope="module")
def cert(tmp_path_factory) -> tuple[Path, Path]:
    return self_signed_cert(tmp_path_factory.mktemp("tls"))


async def test_tls_untrusted_certificate_then_trusted(cert, rec):
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_ctx.load_cert_chain(*cert)
    async with AiohttpWsServer(ssl_context=server_ctx) as srv:
        with pytest.raises(TlsError):
            await WebSocketConnection.connect(f"{srv.url}/echo", recorder=rec)
        trusting = ssl.create_default_context(cafile=str(cert[0]))
        conn = await WebSocketConnection.connect(
            f"{srv.url}/echo", recorder=rec, ssl_context=trusting
        )
        assert await conn.request("secret", name="tls") == "secret"
        await conn.close()
    w = rec.take_window()
    assert w.errors == {("tls_error", None): 1}
    assert (rec.connections.failed, rec.connections.succeeded) == (1, 1)


async def test_wss_to_plain_tcp_is_a_tls_error(server, rec):
    with pytest.raises(TlsError):
        await WebSocketConnection.connect(f"wss://127.0.0.1:{server.port}/echo", recorder=rec)
    assert rec.take_window().errors == {("tls_error", None): 1}


# -- failures once connected ---------------------------------------------------------------


async def test_request_timeout_is_counted_once(server, rec):
    conn = await WebSocketConnection.connect(f"{server.url}/silent", recorder=rec)
    with pytest.raises(OperationTimeoutError) as info:
        await conn.request("anyone?", name="ask", timeout=0.1)
    rec.target_error(info.value)  # already counted
    conn2 = await WebSocketConnection.connect(
        f"{server.url}/silent", recorder=rec, default_timeout=0.1
    )
    with pytest.raises(OperationTimeoutError):
        await conn2.receive()
    await conn.close()
    await conn2.close()
    w = rec.take_window()
    assert w.errors == {("timeout", "ask"): 1, ("timeout", "receive"): 1}
    assert samples(w, WS_REPLY, "ask") == 0 and rec.in_flight == 0
    assert rec.connections.dropped == 0


@pytest.mark.parametrize("code", [1001, 1011, 4000])
async def test_server_close_codes_count_as_closed_by_peer(server, rec, code):
    conn = await WebSocketConnection.connect(f"{server.url}/close/{code}", recorder=rec)
    waiter = asyncio.ensure_future(conn.receive())
    with pytest.raises(PeerClosedError) as info:
        await conn.request("bye?", name="bye")
    assert info.value.code == code
    rec.target_error(info.value)  # what the engine does with an escaping error: no recount
    with pytest.raises(PeerClosedError):
        await waiter
    with pytest.raises(PeerClosedError):  # later calls fail the same way, not counted again
        await conn.send("more")
    await conn.close()  # a no-op now
    w = rec.take_window()
    assert w.errors == {("closed_by_peer", str(code)): 1}
    assert conn.closed and conn.close_code == code
    assert rec.connections.dropped == 1 and rec.open_connections == 0 and rec.in_flight == 0


async def test_server_dropping_tcp_mid_reply(rec):
    async def script(reader, writer):
        await read_client_frame(reader)
        writer.write(frame(0x1, b"half of this reply")[:8])
        await writer.drain()
        writer.transport.abort()

    async with RawWsServer(script) as srv:
        conn = await WebSocketConnection.connect(srv.url, recorder=rec)
        with pytest.raises(PeerClosedError) as info:
            await conn.request("q", name="q")
    assert info.value.code == 1006 and conn.close_code == 1006
    w = rec.take_window()
    assert w.errors == {("closed_by_peer", "1006"): 1}
    assert count(w, WS_MSG_IN) == 0 and samples(w, WS_REPLY, "q") == 0
    assert rec.connections.dropped == 1 and rec.open_connections == 0


MALFORMED = {
    "bad_opcode": (frame(0x3, b"x"), "bad_frame", 1002),
    "reserved_bits": (frame(0x1, b"x", rsv=4), "reserved_bits", 1002),
    "invalid_utf8": (frame(0x1, b"\xff\xfe"), "invalid_utf8", 1007),
    "oversize": (frame(0x2, b"x" * 2000), "too_big", 1009),
    "fragmented_oversize": (
        frame(0x2, b"x" * 800, fin=False) + frame(0x0, b"x" * 800),
        "too_big",
        1009,
    ),
    "stray_continuation": (frame(0x0, b"x"), "bad_fragment", 1002),
    "masked_by_server": (b"\x81\x81abcd\x00", "bad_frame", 1002),
}


@pytest.mark.parametrize("case", MALFORMED)
async def test_malformed_frame_is_a_protocol_error(rec, case):
    data, detail, code = MALFORMED[case]
    client_close: list[tuple[int, bytes]] = []
    fine_read = asyncio.Event()

    async def script(reader, writer):
        writer.write(frame(0x1, b"fine"))
        await writer.drain()
        # only once the client has it: picows drops a good frame parsed in one read with a
        # bad one, and a busy machine can leave both in the socket for one read
        await fine_read.wait()
        writer.write(data)
        client_close.append(await read_client_frame(reader))
        await drain_until_eof(reader)

    async with RawWsServer(script) as srv:
        conn = await WebSocketConnection.connect(srv.url, recorder=rec, max_message_size=1024)
        assert await conn.receive() == "fine"
        fine_read.set()
        with pytest.raises(ProtocolError):
            await conn.receive(timeout=10)
        for _ in range(1000):
            if client_close:
                break
            await asyncio.sleep(0.01)
    assert client_close[0][0] == 0x8 and int.from_bytes(client_close[0][1][:2]) == code
    assert conn.close_code == code
    w = rec.take_window()
    assert list(w.errors) == [("protocol_error", detail)]
    assert count(w, WS_MSG_IN) == 1
    assert rec.connections.dropped == 1 and rec.open_connections == 0


async def test_inbox_overflow_drops_oldest(server, rec):
    conn = await WebSocketConnection.connect(f"{server.url}/push/5", recorder=rec, inbox_limit=3)
    assert await conn.request("x", name="x", match=lambda m: m == "x") == "x"
    assert [await conn.receive() for _ in range(3)] == ["msg-2", "msg-3", "msg-4"]
    await conn.close()
    assert count(rec.take_window(), "ws_inbox_overflow") == 2


async def test_own_close_is_not_an_error(server, rec):
    conn = await WebSocketConnection.connect(f"{server.url}/echo", recorder=rec)
    pending = asyncio.ensure_future(conn.receive())
    await asyncio.sleep(0)
    await conn.close(4001, "done")
    assert conn.closed and conn.close_code == 4001
    with pytest.raises(PeerClosedError):
        await pending
    with pytest.raises(PeerClosedError) as info:
        await conn.request("late", name="late")
    rec.target_error(info.value)  # ours, not the target's: never counted
    w = rec.take_window()
    assert w.errors == {} and count(w, WS_MSG_OUT) == 0
    assert rec.connections.dropped == 0 and rec.open_connections == 0


# -- scale and loops -------------------------------------------------------------------------


async def test_500_connections_5_requests_each(server, rec):
    async def user(i: int) -> None:
        conn = await WebSocketConnection.connect(f"{server.url}/echo", recorder=rec)
        for j in range(5):
            assert await conn.request(f"{i}:{j}", name="echo") == f"{i}:{j}"
        await conn.close()

    await asyncio.gather(*(user(i) for i in range(500)))
    w = rec.take_window()
    assert w.errors == {}
    assert server.received == count(w, WS_MSG_OUT) == count(w, WS_MSG_IN) == 2500
    assert samples(w, WS_REPLY, "echo") == 2500 and samples(w, WS_CONNECT) == 500
    c = rec.connections
    assert (c.attempted, c.succeeded, c.failed, c.dropped) == (500, 500, 0, 0)
    assert rec.open_connections == 0 and rec.in_flight == 0


def test_timeouts_tls_and_replies_under_uvloop(cert):
    """uvloop's clock ticks in milliseconds and it has its own TLS: both must still work."""

    async def main() -> Window:
        rec = Recorder()
        server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        server_ctx.load_cert_chain(*cert)
        async with AiohttpWsServer(ssl_context=server_ctx) as srv:
            with pytest.raises(TlsError):
                await WebSocketConnection.connect(f"{srv.url}/echo", recorder=rec)
        async with AiohttpWsServer() as srv:
            conn = await WebSocketConnection.connect(f"{srv.url}/echo", recorder=rec)
            assert await conn.request("a", name="a", timeout=5) == "a"
            with pytest.raises(OperationTimeoutError):
                await conn.wait_for(lambda m: False, timeout=0.05)
            with pytest.raises(OperationTimeoutError):
                await conn.request("b", name="b", match=lambda m: m == "never", timeout=0.05)
            await conn.close()
        return rec.take_window()

    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        w = runner.run(main())
    assert w.errors == {("tls_error", None): 1, ("timeout", "wait_for"): 1, ("timeout", "b"): 1}
    assert samples(w, WS_REPLY, "a") == 1
