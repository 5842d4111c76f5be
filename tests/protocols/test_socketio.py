"""Socket.IO v5 client session, driven with plain strings (no sockets)."""

from __future__ import annotations

import pytest

from horde.errors import SocketIOProtocolError
from horde.protocols.socketio import (
    AckReceived,
    Connected,
    ConnectRefused,
    Disconnected,
    EventReceived,
    SocketIOSession,
)


def connected(*namespaces: str) -> SocketIOSession:
    s = SocketIOSession()
    for nsp in namespaces:
        s.connect(nsp)
        prefix = "" if nsp == "/" else nsp + ","
        assert s.receive_message(f'0{prefix}{{"sid":"s-{nsp}"}}') == Connected(nsp, f"s-{nsp}")
    return s


def test_connect_packets() -> None:
    s = SocketIOSession()
    assert s.connect("/") == "0"
    assert s.connect("/chat", {"token": "t"}) == '0/chat,{"token":"t"}'
    assert s.namespaces == {"/": "connecting", "/chat": "connecting"}
    assert s.receive_message('0/chat,{"sid":"abc"}') == Connected("/chat", "abc")
    assert s.namespaces["/chat"] == "connected"


def test_connect_error_with_message_and_plain() -> None:
    s = SocketIOSession()
    s.connect("/")
    assert s.receive_message('4{"message":"bad auth","data":{"x":1}}') == ConnectRefused(
        "/", "bad auth", {"x": 1})
    assert "/" not in s.namespaces
    s.connect("/a")
    assert s.receive_message('4/a,"nope"') == ConnectRefused("/a", "nope", None)


def test_unrequested_connect_is_protocol_error() -> None:
    with pytest.raises(SocketIOProtocolError):
        SocketIOSession().receive_message('0/x,{"sid":"a"}')


def test_disconnect_both_ways() -> None:
    s = connected("/", "/chat")
    assert s.disconnect("/chat") == "1/chat,"
    assert s.receive_message("1") == Disconnected("/")
    assert s.namespaces == {}


def test_event_encoding() -> None:
    s = SocketIOSession()
    assert s.encode_event("/", "hi", ()) == ['2["hi"]']
    assert s.encode_event("/", "hi", (1, {"a": [True, None]})) == ['2["hi",1,{"a":[true,null]}]']
    assert s.encode_event("/", "hi", ("x",), ack_id=12) == ['212["hi","x"]']
    assert s.encode_event("/chat", "hi", ("x",), ack_id=3) == ['2/chat,3["hi","x"]']


def test_ack_ids_unique_per_connection() -> None:
    s = SocketIOSession()
    assert [s.new_ack_id() for _ in range(3)] == [1, 2, 3]


def test_binary_event_encoding() -> None:
    s = SocketIOSession()
    out = s.encode_event("/", "up", (b"\x00\x01", {"k": b"zz"}), ack_id=7)
    assert out == [
        '52-7["up",{"_placeholder":true,"num":0},{"k":{"_placeholder":true,"num":1}}]',
        b"\x00\x01", b"zz"]
    assert s.encode_event("/ns", "up", (b"a",)) == ['51-/ns,["up",{"_placeholder":true,"num":0}]',
                                                    b"a"]


def test_ack_encoding_for_server_requests() -> None:
    s = SocketIOSession()
    assert s.encode_ack("/", 5, ["ok"]) == ['35["ok"]']
    assert s.encode_ack("/c", 5, []) == ["3/c,5[]"]
    assert s.encode_ack("/", 5, [b"x"]) == ['61-5[{"_placeholder":true,"num":0}]', b"x"]


@pytest.mark.parametrize(("text", "expected"), [
    ('2["news",{"a":1},2]', EventReceived("/", "news", [{"a": 1}, 2])),
    ('2/chat,["news"]', EventReceived("/chat", "news", [])),
    ('27["q","x"]', EventReceived("/", "q", ["x"], 7)),
    ('31["pong"]', AckReceived("/", 1, ["pong"])),
    ("342[]", AckReceived("/", 42, [])),
    ('3/chat,9["a","b"]', AckReceived("/chat", 9, ["a", "b"])),
    ("35", AckReceived("/", 5, [])),
])
def test_receive_events_and_acks(text: str, expected: object) -> None:
    s = connected("/", "/chat")
    assert s.receive_message(text) == expected


def test_binary_event_reassembly() -> None:
    s = connected("/")
    assert s.receive_message('52-["bin",{"_placeholder":true,"num":0},'
                             '{"_placeholder":true,"num":1}]') is None
    assert s.receive_message(b"\x01") is None
    assert s.receive_message(b"\x02\x03") == EventReceived("/", "bin", [b"\x01", b"\x02\x03"])


def test_binary_ack_reassembly() -> None:
    s = connected("/")
    assert s.receive_message('61-/chat,4[{"_placeholder":true,"num":0}]') is None
    assert s.receive_message(b"data") == AckReceived("/chat", 4, [b"data"])


@pytest.mark.parametrize("bad", [
    "", "9", "2", '2[1,"x"]', "2[]", '2{"a":1}', "3[1]", '3x["a"]', "31[not json",
    '2["a"', '22-["x"]'])
def test_invalid_packets(bad: str) -> None:
    s = connected("/")
    with pytest.raises(SocketIOProtocolError):
        s.receive_message(bad)


def test_attachment_without_packet_and_text_while_pending() -> None:
    s = connected("/")
    with pytest.raises(SocketIOProtocolError):
        s.receive_message(b"stray")
    s.receive_message('51-["bin",{"_placeholder":true,"num":0}]')
    with pytest.raises(SocketIOProtocolError):
        s.receive_message('2["x"]')


def test_connect_carries_the_recovery_pid_when_offered():
    s = SocketIOSession()
    s.connect("/")
    assert s.receive_message('0{"sid":"a","pid":"p1"}') == Connected("/", "a", "p1")
    s.connect("/x")
    assert s.receive_message('0/x,{"sid":"b","pid":7}') == Connected("/x", "b", None)
