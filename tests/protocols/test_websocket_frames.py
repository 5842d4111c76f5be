"""RFC 6455 frames without sockets: split and joined reads, the violations a server can
commit and the close code each one gets, and client frames as a server unmasks them."""

from __future__ import annotations

import struct

import pytest

from horde.protocols.websocket_frames import (
    BINARY,
    CLOSE,
    CONTINUATION,
    PING,
    RSV1,
    TEXT,
    FrameError,
    FrameParser,
    close_payload,
    encode_frame,
    mask,
    read_close,
)


def server_frame(opcode: int, payload: bytes, *, fin: bool = True, rsv: int = 0) -> bytes:
    """A frame as a server writes it: unmasked, in the shortest length form."""
    first = (0x80 if fin else 0) | rsv << 4 | opcode
    n = len(payload)
    if n < 126:
        return bytes((first, n)) + payload
    if n < 65536:
        return struct.pack("!BBH", first, 126, n) + payload
    return struct.pack("!BBQ", first, 127, n) + payload


def unmask(frame: bytes) -> tuple[int, int, bytes]:
    """What a server reads from a client frame: (first byte, length, payload)."""
    assert frame[1] & 0x80, "a client frame is masked"
    n, at = frame[1] & 0x7F, 2
    if n == 126:
        n, at = int.from_bytes(frame[2:4]), 4
    elif n == 127:
        n, at = int.from_bytes(frame[2:10]), 10
    key, body = frame[at:at + 4], frame[at + 4:]
    assert len(body) == n
    return frame[0], n, bytes(b ^ key[i % 4] for i, b in enumerate(body))


@pytest.mark.parametrize("size", [0, 1, 125, 126, 65535, 65536, 200_000])
def test_every_length_form_round_trips_through_a_split_read(size: int) -> None:
    payload = bytes(range(256)) * (size // 256) + bytes(range(size % 256))
    wire = server_frame(BINARY, payload) + server_frame(TEXT, b"next")
    parser = FrameParser(max_size=1 << 20)
    frames = []
    for at in range(0, len(wire), 7000):  # reads that cut headers and payloads anywhere
        frames += parser.feed(wire[at:at + 7000])
    assert [(f.opcode, f.payload) for f in frames] == [(BINARY, payload), (TEXT, b"next")]
    assert parser.error is None


def test_one_byte_at_a_time() -> None:
    wire = server_frame(TEXT, b"x" * 300) + server_frame(PING, b"p")
    parser = FrameParser(max_size=1024)
    frames = [f for i in range(len(wire)) for f in parser.feed(wire[i:i + 1])]
    assert [(f.opcode, f.payload) for f in frames] == [(TEXT, b"x" * 300), (PING, b"p")]


def test_fin_and_reserved_bits_are_read() -> None:
    [first, last] = FrameParser(1024).feed(server_frame(TEXT, b"a", fin=False, rsv=RSV1)
                                           + server_frame(CONTINUATION, b"b"))
    assert (first.fin, first.rsv, last.fin, last.rsv) == (False, RSV1, True, 0)


@pytest.mark.parametrize(("wire", "code", "words"), [
    (b"\x81\x81abcd\x00", 1002, "masked"),
    (server_frame(0x3, b"x"), 1002, "opcode"),
    (server_frame(PING, b"x", fin=False), 1002, "control"),
    (bytes((0x89, 126)) + (200).to_bytes(2) + b"x" * 200, 1002, "control"),
    (bytes((0x82, 126)) + (5).to_bytes(2) + b"x" * 5, 1002, "shortest"),
    (bytes((0x82, 127)) + (70_000).to_bytes(8)[:2] + (5).to_bytes(6), 1002, "shortest"),
    (bytes((0x82, 127)) + (1 << 63).to_bytes(8), 1002, "shortest"),
    (server_frame(BINARY, b"x" * 2000), 1009, "over 1024"),
])
def test_what_a_server_may_not_send(wire: bytes, code: int, words: str) -> None:
    parser = FrameParser(max_size=1024)
    good = server_frame(TEXT, b"fine")
    frames = parser.feed(good + wire)
    assert [f.payload for f in frames] == [b"fine"]  # what came before is still delivered
    assert parser.error is not None and parser.error.code == code
    assert words in parser.error.reason
    assert parser.feed(good) == []  # nothing is read after a violation


@pytest.mark.parametrize("wire", [
    b"\x81\x80" + b"k" * 128,  # masked, empty, and a read as long as the length byte says
    b"\x82\x7e" + (126).to_bytes(2) + b"x" * 124,  # a 16-bit length: 2 bytes short
])
def test_a_read_the_size_of_its_length_byte_is_no_small_frame(wire: bytes) -> None:
    parser = FrameParser(max_size=1024)
    frames = parser.feed(wire)
    assert frames == [] and (parser.error is not None) == (wire[1] == 0x80)
    if parser.error is None:
        assert [f.payload for f in parser.feed(b"yy")] == [b"x" * 124 + b"yy"]


def test_an_oversize_frame_is_refused_from_its_header_alone() -> None:
    parser = FrameParser(max_size=1024)
    assert parser.feed(bytes((0x82, 127)) + (10**9).to_bytes(8)) == []
    assert parser.error is not None and parser.error.code == 1009


def test_between_frames_nothing_is_held() -> None:
    parser = FrameParser(max_size=1024)
    parser.feed(server_frame(TEXT, b"a" * 100)[:50])
    assert parser._held is not None
    parser.feed(server_frame(TEXT, b"a" * 100)[50:])
    assert parser._held is None


@pytest.mark.parametrize(("payload", "expected"), [
    (b"", (None, "")),
    (close_payload(1000), (1000, "")),
    (close_payload(4001, b"bye"), (4001, "bye")),
    (close_payload(3000, "ünï".encode()), (3000, "ünï")),
])
def test_a_valid_close(payload: bytes, expected: tuple[int | None, str]) -> None:
    assert read_close(payload) == expected


@pytest.mark.parametrize(("payload", "code"), [
    (b"\x03", 1002),  # one byte: half a code
    (close_payload(1005), 1002),  # may not be sent
    (close_payload(1006), 1002),
    (close_payload(2000), 1002),
    (close_payload(5000), 1002),
    (close_payload(1000, b"\xff"), 1007),
])
def test_an_invalid_close(payload: bytes, code: int) -> None:
    with pytest.raises(FrameError) as info:
        read_close(payload)
    assert info.value.code == code


def test_a_close_reason_is_cut_to_fit_a_control_frame() -> None:
    assert len(close_payload(1000, b"r" * 500)) == 125


@pytest.mark.parametrize("size", [0, 3, 125, 126, 65536])
def test_a_client_frame_is_masked_and_unmasks_to_its_payload(size: int) -> None:
    payload = bytes(i % 251 for i in range(size))
    first, n, body = unmask(encode_frame(BINARY, payload, rsv=RSV1))
    assert (first, n, body) == (0x80 | RSV1 << 4 | BINARY, size, payload)
    assert unmask(encode_frame(TEXT, b"abc", fin=False))[0] == TEXT  # FIN clear


def test_each_frame_gets_a_fresh_key() -> None:
    keys = {encode_frame(TEXT, b"same")[2:6] for _ in range(20)}
    assert len(keys) > 1


def test_masking_twice_gives_the_payload_back() -> None:
    payload = bytes(range(256)) * 3 + b"tail"
    assert mask(mask(payload, b"\x01\x02\x03\x04"), b"\x01\x02\x03\x04") == payload
    assert mask(b"\x00\x00\x00\x00\x00", b"abcd") == b"abcda"


def test_close_frame_opcode() -> None:
    first, n, body = unmask(encode_frame(CLOSE, close_payload(1000, b"done")))
    assert (first, body) == (0x80 | CLOSE, b"\x03\xe8done")
    assert n == 6
