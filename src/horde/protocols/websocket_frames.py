"""RFC 6455 frames without sockets: what horde's WebSocket client reads and writes.

A :class:`FrameParser` is fed what a server sent and returns whole frames. It refuses
what RFC 6455 forbids a server — a masked frame, an unknown opcode, a fragmented or
oversized control frame, a length not in its shortest form, a data frame over the
message limit — with a :class:`FrameError` that carries the close code to answer with.
:func:`read_close` checks a CLOSE's code and reason; :func:`encode_frame` builds a client
frame, masked as the RFC requires of clients.

horde parses frames itself, rather than through picows, for memory: picows keeps a 2 KB
read buffer and a 1 KB write buffer for every connection, fixed in its source, which is
7.4 KB per idle WebSocket where the socket and its transport take 2.6 KB
(bench/ws_idle_floor.py, docs/benchmarks.md). This parser holds nothing between frames.
"""

from __future__ import annotations

import struct
from random import getrandbits

CONTINUATION, TEXT, BINARY = 0x0, 0x1, 0x2
CLOSE, PING, PONG = 0x8, 0x9, 0xA
RSV1 = 0b100  # Frame.rsv's bit for permessage-deflate; RSV2 and RSV3 are 0b010 and 0b001
OPCODES = frozenset({CONTINUATION, TEXT, BINARY, CLOSE, PING, PONG})

PROTOCOL_ERROR, INVALID_TEXT, TOO_BIG = 1002, 1007, 1009
CONTROL_MAX = 125  # bytes of payload a control frame may carry
# Codes a CLOSE may carry (RFC 6455 §7.4, IANA registry); 3000-4999 are for applications.
_CLOSE_CODES = frozenset({1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013,
                          1014})

_HEAD16 = struct.Struct("!BBH")
_HEAD64 = struct.Struct("!BBQ")


class FrameError(Exception):
    """What the server sent breaks RFC 6455: the connection ends with ``code``."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


class Frame:
    """One frame as received: ``rsv`` holds the three reserved bits (RSV1 is 0b100)."""

    __slots__ = ("fin", "opcode", "payload", "rsv")

    def __init__(self, opcode: int, fin: bool, rsv: int, payload: bytes) -> None:
        self.opcode = opcode
        self.fin = fin
        self.rsv = rsv
        self.payload = payload


class FrameParser:
    """Bytes in, frames out. Between frames it holds nothing; a frame split across reads
    is held until the bytes it needs have all arrived (one copy, however many reads)."""

    __slots__ = ("_held", "_need", "error", "max_size")

    def __init__(self, max_size: int) -> None:
        self.max_size = max_size  # a data frame's payload limit (a message's is the caller's)
        self._held: bytearray | None = None
        self._need = 0
        self.error: FrameError | None = None  # set once: nothing is parsed after it

    def feed(self, data: bytes) -> list[Frame]:
        """The frames ``data`` completes, in order. The frames before a violation are
        returned; the violation is then in :attr:`error` and the rest is ignored."""
        if self.error is not None:
            return []
        held = self._held
        if held is None and len(data) >= 2 and data[1] < 126 and data[1] + 2 == len(data):
            # the usual read: one whole small unmasked frame, checked as _parse would
            first = data[0]
            opcode = first & 0x0F
            if opcode in OPCODES and (opcode < CLOSE or first >= 0x80):
                return [Frame(opcode, first >= 0x80, (first >> 4) & 0b111, data[2:])]
        if held is not None:
            held += data
            if len(held) < self._need:
                return []
            data, self._held = bytes(held), None
        frames: list[Frame] = []
        try:
            pos = self._parse(data, frames)
        except FrameError as exc:
            self.error = exc
            return frames
        if pos < len(data):
            self._held = bytearray(data[pos:])
        return frames

    def _parse(self, data: bytes, frames: list[Frame]) -> int:
        """Append every whole frame of ``data`` to ``frames``; where the rest begins."""
        pos, size = 0, len(data)
        while size - pos >= 2:
            first, second = data[pos], data[pos + 1]
            opcode = first & 0x0F
            length = second & 0x7F
            _check_header(first, second, opcode, length)
            start = pos + 2
            if length >= 126:
                wide = 2 if length == 126 else 8
                if size - start < wide:
                    self._need = 2 + wide
                    return pos
                length = int.from_bytes(data[start:start + wide])
                start += wide
                if length < (126 if wide == 2 else 65536) or length >> 63:
                    raise FrameError(PROTOCOL_ERROR, "payload length not in its shortest form")
            if length > self.max_size and opcode < CLOSE:
                raise FrameError(TOO_BIG, f"frame of {length} bytes, over {self.max_size}")
            stop = start + length
            if stop > size:
                self._need = stop - pos
                return pos
            frames.append(Frame(opcode, first >= 0x80, (first >> 4) & 0b111, data[start:stop]))
            pos = stop
        self._need = 2
        return pos


def _check_header(first: int, second: int, opcode: int, length: int) -> None:
    """What a frame's first two bytes may not say, coming from a server."""
    if second & 0x80:
        raise FrameError(PROTOCOL_ERROR, "masked frame from the server (RFC 6455 §5.1)")
    if opcode not in OPCODES:
        raise FrameError(PROTOCOL_ERROR, f"unknown opcode {opcode:#x}")
    if opcode >= CLOSE and (first < 0x80 or length > CONTROL_MAX):
        raise FrameError(PROTOCOL_ERROR, f"control frame {opcode:#x} fragmented or too long")


def read_close(payload: bytes) -> tuple[int | None, str]:
    """A CLOSE's code (None when it carries none) and reason; FrameError if invalid."""
    if not payload:
        return None, ""
    if len(payload) == 1:
        raise FrameError(PROTOCOL_ERROR, "CLOSE with a one-byte code")
    code = int.from_bytes(payload[:2])
    if code not in _CLOSE_CODES and not 3000 <= code <= 4999:
        raise FrameError(PROTOCOL_ERROR, f"CLOSE with invalid code {code}")
    try:
        return code, payload[2:].decode()
    except UnicodeDecodeError:
        raise FrameError(INVALID_TEXT, "CLOSE reason is not valid UTF-8") from None


def close_payload(code: int, reason: bytes = b"") -> bytes:
    """A CLOSE's payload: the code, then the reason (cut to fit a control frame)."""
    return code.to_bytes(2) + reason[:CONTROL_MAX - 2]


def encode_frame(opcode: int, payload: bytes, rsv: int = 0, fin: bool = True) -> bytes:
    """A client frame: header, a fresh 4-byte masking key, the payload XORed with it."""
    n = len(payload)
    first = (0x80 if fin else 0) | rsv << 4 | opcode
    if n < 126:
        head = bytes((first, 0x80 | n))
    elif n < 65536:
        head = _HEAD16.pack(first, 0xFE, n)
    else:
        head = _HEAD64.pack(first, 0xFF, n)
    key = getrandbits(32).to_bytes(4, "little")
    return head + key + mask(payload, key)


def mask(payload: bytes, key: bytes) -> bytes:
    """``payload`` XORed with the repeated 4-byte ``key`` (RFC 6455 §5.3), as one big-int
    XOR: linear, in C, with no per-byte Python loop."""
    n = len(payload)
    if not n:
        return b""
    keys = (key * ((n + 3) >> 2))[:n]
    return (int.from_bytes(payload, "little") ^ int.from_bytes(keys, "little")).to_bytes(
        n, "little")
