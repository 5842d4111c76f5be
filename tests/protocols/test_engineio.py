"""Engine.IO v4 client session, driven with plain strings (no sockets)."""

from __future__ import annotations

import pytest

from horde.errors import EngineIOProtocolError
from horde.protocols.engineio import EngineIOSession, Signal, parse_open

OPEN = (
    '0{"sid":"abc","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":20000,'
    '"maxPayload":1000000}'
)


class FakeClock:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


def opened(transport: str = "websocket", clock: FakeClock | None = None) -> EngineIOSession:
    s = EngineIOSession(transport, clock=clock or FakeClock())
    assert s.receive_packet(OPEN) is Signal.OPENED
    return s


def test_open_handshake_parsed() -> None:
    s = opened()
    hs = s.handshake
    assert hs is not None
    assert (hs.sid, hs.upgrades, hs.ping_interval, hs.ping_timeout, hs.max_payload) == (
        "abc", ("websocket",), 25.0, 20.0, 1_000_000)
    assert s.state == "open"


@pytest.mark.parametrize("bad", ["4hello", "0", "0{}", '0{"sid":"x"}', "0[1,2]", "zz"])
def test_bad_open_is_protocol_error(bad: str) -> None:
    s = EngineIOSession("websocket")
    with pytest.raises(EngineIOProtocolError):
        s.receive_packet(bad)


def test_binary_before_open_is_protocol_error() -> None:
    with pytest.raises(EngineIOProtocolError):
        EngineIOSession("polling").receive_packet(b"\x01")


def test_message_payloads() -> None:
    s = opened()
    assert s.receive_packet('42["a",1]') == '2["a",1]'
    assert s.receive_packet(b"\x00\x01") == b"\x00\x01"
    assert s.receive_packet("4") == ""
    assert s.encode_message("2[1]") == "42[1]"
    assert s.encode_message(b"\xff") == b"\xff"


def test_ping_queues_pong_and_refreshes_liveness() -> None:
    clock = FakeClock()
    s = opened(clock=clock)
    assert not s.is_expired(clock.t + 45.0)
    assert s.is_expired(clock.t + 45.1)
    clock.t += 30
    assert s.receive_packet("2") is Signal.PING
    assert s.data_to_send() == ["3"]
    assert s.data_to_send() == []
    assert not s.is_expired(clock.t + 45.0)
    assert s.receive_packet("2probe") is Signal.PING
    assert s.data_to_send() == ["3probe"]


def test_noop_close_and_unknown() -> None:
    s = opened()
    assert s.receive_packet("6") is Signal.NOOP
    assert s.receive_packet("3") is Signal.NOOP  # stray pong
    with pytest.raises(EngineIOProtocolError):
        s.receive_packet("9garbage")
    with pytest.raises(EngineIOProtocolError):
        s.receive_packet("")
    assert s.receive_packet("1") is Signal.CLOSED
    assert s.state == "closed"
    assert not s.is_expired(1e9)
    assert s.receive_packet("42[]") is Signal.NOOP  # late packet after close


def test_our_close() -> None:
    s = opened()
    assert s.close() == "1"
    assert s.state == "closed"


def test_upgrade_probe_sequence() -> None:
    s = opened("polling")
    assert s.receive_packet("3probe") is Signal.NOOP  # not upgrading: a stray pong
    assert s.start_upgrade() == "2probe"
    assert s.receive_packet("3probe") is Signal.PROBED
    assert s.transport == "polling"
    assert s.finish_upgrade() == "5"
    assert s.transport == "websocket"
    assert not s.upgrading


def test_upgrade_needs_open_polling() -> None:
    with pytest.raises(EngineIOProtocolError):
        opened("websocket").start_upgrade()
    with pytest.raises(EngineIOProtocolError):
        EngineIOSession("polling").start_upgrade()
    with pytest.raises(ValueError):
        EngineIOSession("carrier-pigeon")


def test_payload_framing_roundtrip() -> None:
    body = '2\x1e42["x",{"a":1}]\x1ebAAEC'
    assert EngineIOSession.decode_payload(body) == ["2", '42["x",{"a":1}]', b"\x00\x01\x02"]
    assert EngineIOSession.decode_payload("") == []
    assert EngineIOSession.encode_payload(["3", '42["x"]', b"\x00\x01\x02"]) == (
        '3\x1e42["x"]\x1ebAAEC')
    many = "\x1e".join(["6"] * 40)  # python-engineio's Payload caps at 16; we don't
    assert len(EngineIOSession.decode_payload(many)) == 40


def test_take_payload_respects_packet_and_size_limits() -> None:
    s = EngineIOSession("polling")
    s.receive_packet(OPEN.replace("1000000", "10"))
    pending: list[str | bytes] = ["4" + "x" * 20, "41", "42"]
    assert s.take_payload(pending) == "4" + "x" * 20  # first always goes, even if too big
    assert s.take_payload(pending) == "41\x1e42"
    assert pending == []
    pending = ["6"] * 40
    s.handshake.max_payload = 10**6  # type: ignore[union-attr]
    assert s.take_payload(pending).count("6") == 16 and len(pending) == 24


@pytest.mark.parametrize("bad", ["4a\x1e\x1e4b", "b!!!notbase64"])
def test_bad_payload(bad: str) -> None:
    with pytest.raises(EngineIOProtocolError):
        EngineIOSession.decode_payload(bad)


def test_parse_open_defaults() -> None:
    hs = parse_open('0{"sid":"s","pingInterval":1000,"pingTimeout":500}')
    assert hs.upgrades == () and hs.max_payload == 1_000_000 and hs.ping_timeout == 0.5
