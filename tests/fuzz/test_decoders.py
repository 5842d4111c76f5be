"""Every message decoder fed random input: it returns a parsed value or raises horde's
documented error for that decoder — never another exception, never a hang (each example
has a deadline). Inputs mix pure noise with mutations of valid messages, so the parsers
get past their first byte."""

from __future__ import annotations

import contextlib
import time

from hypothesis import example, given
from hypothesis import strategies as st

from horde.errors import (
    EngineIOProtocolError,
    PeerClosedError,
    ProtocolError,
    SocketIOProtocolError,
)
from horde.protocols.codec import JsonCodec
from horde.protocols.cookies import CookieJar
from horde.protocols.engineio import EngineIOSession, parse_open
from horde.protocols.http import HttpProtocol, Response
from horde.protocols.socketio import SocketIOSession
from horde.protocols.sse import SseEvent, SseProtocol

from .settings import FUZZ

# -- building blocks -------------------------------------------------------------------

# Characters parsers trip on: separators, quotes, brackets, control and line breaks, a BOM,
# and digits that are not ASCII (str.isdigit() says yes, int() may say no).
TRICKY = st.sampled_from(list('0123456789[]{}",:;/-=\x1e\0\r\n \ufeff\u00b3\u0661\uff11.e+'))
NOISE = st.text(st.one_of(TRICKY, st.characters()), max_size=12)


def _spliced(valid: list[str]) -> st.SearchStrategy[str]:
    """A valid sample with random text inserted, cut or replaced somewhere."""
    def splice(sample: str, at: float, cut: int, noise: str) -> str:
        i = int(at * len(sample))
        return sample[:i] + noise + sample[i + cut:]

    return st.builds(splice, st.sampled_from(valid), st.floats(0, 1), st.integers(0, 8), NOISE)


def _chunks(data: bytes, cuts: list[int]) -> list[bytes]:
    """``data`` split at the given offsets, as a socket might deliver it."""
    points = sorted({c % (len(data) + 1) for c in cuts})
    pieces, last = [], 0
    for p in [*points, len(data)]:
        pieces.append(data[last:p])
        last = p
    return [p for p in pieces if p]


# -- HTTP/1.1 responses ----------------------------------------------------------------

HTTP_SAMPLES = [
    "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
    "HTTP/1.0 404 Not Found\r\n\r\nclose-delimited body",
    "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\nSet-Cookie: a=b\r\n\r\n",
    "HTTP/1.1 301 Moved\r\nLocation: /x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
]
HTTP_INPUT = st.one_of(
    st.binary(max_size=300),
    _spliced(HTTP_SAMPLES).map(lambda s: s.encode("utf-8", "surrogatepass")),
)


@FUZZ
@given(HTTP_INPUT, st.lists(st.integers(0, 400), max_size=6),
       st.sampled_from(["GET", "HEAD", "POST"]), st.booleans())
def test_http_response_parser(data: bytes, cuts: list[int], method: str, eof: bool) -> None:
    proto = HttpProtocol()
    proto.expect_response(method)
    try:
        for piece in _chunks(data, cuts):
            response = proto.receive_data(piece)
            if response is not None:
                assert isinstance(response, Response) and 100 <= response.status <= 999
                proto.expect_response(method)  # a second response may follow
        if eof:
            response = proto.receive_eof()
            assert response is None or isinstance(response, Response)
    except (ProtocolError, PeerClosedError):
        pass


# -- Engine.IO ----------------------------------------------------------------------------

OPEN = '0{"sid":"abc","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}'
EIO_SAMPLES = [OPEN, "2", "3probe", "4hello", "40", "6", "1", "4{\"a\":1}", "bAQID"]
EIO_PACKET = st.one_of(st.text(max_size=80), _spliced(EIO_SAMPLES), _spliced(EIO_SAMPLES), st.binary(max_size=20))


@FUZZ
@given(st.lists(EIO_PACKET, max_size=8), st.sampled_from(["websocket", "polling"]),
       st.booleans())
def test_engineio_packets(packets: list, transport: str, opened: bool) -> None:
    session = EngineIOSession(transport, clock=time.monotonic)
    if opened:
        session.receive_packet(OPEN)
    for pkt in packets:
        with contextlib.suppress(EngineIOProtocolError):
            session.receive_packet(pkt)
    session.data_to_send()


@FUZZ
@given(st.one_of(st.text(max_size=200),
                 st.lists(_spliced(EIO_SAMPLES), max_size=5).map("\x1e".join)))
def test_engineio_polling_payload(body: str) -> None:
    try:
        packets = EngineIOSession.decode_payload(body)
    except EngineIOProtocolError:
        return
    assert all(isinstance(p, str | bytes) for p in packets)


@FUZZ
@given(st.one_of(st.text(max_size=120), _spliced([OPEN]),
                 st.dictionaries(st.sampled_from(["sid", "upgrades", "pingInterval",
                                                  "pingTimeout", "maxPayload"]),
                                 st.one_of(st.none(), st.booleans(), st.integers(),
                                           st.floats(), st.text(max_size=5),
                                           st.lists(st.text(max_size=5), max_size=2)))
                 .map(lambda d: "0" + __import__("json").dumps(d))))
def test_engineio_open_packet(pkt: str) -> None:
    with contextlib.suppress(EngineIOProtocolError):
        parse_open(pkt)


# -- Socket.IO ----------------------------------------------------------------------------

SIO_SAMPLES = [
    "0", '0{"sid":"x"}', "0/chat,", '2["event",1,{"a":[2]}]', '21["ask","q"]', '31["ok"]',
    "3", '4{"message":"no"}', "1", "1/chat,", '51-["bin",{"_placeholder":true,"num":0}]',
    '61-[{"_placeholder":true,"num":0}]', '2/chat,7["e"]', "3 1[]",
]
# type, attachments-, namespace, ack id, payload: each part plausible or not
SIO_SHAPED = st.builds(
    "".join,
    st.tuples(st.sampled_from(list("0123456x")), st.sampled_from(["", "1-", "2-", "x-"]),
              st.sampled_from(["", "/chat,", "/", "/x"]), st.text(TRICKY, max_size=4),
              st.one_of(st.sampled_from(['["e",1]', "[]", '{"sid":"s"}', '"s"', "[", "null"]),
                        NOISE)),
)
SIO_MESSAGE = st.one_of(st.text(max_size=60), _spliced(SIO_SAMPLES), SIO_SHAPED,
                        st.binary(max_size=8))


@FUZZ
@given(st.lists(SIO_MESSAGE, max_size=6), st.booleans())
@example(['31\u00b3["ok"]'], False)  # found: str.isdigit() took "1³" for an ack id, int() did not
def test_socketio_messages(messages: list, connecting: bool) -> None:
    session = SocketIOSession()
    if connecting:
        session.connect("/")
        session.connect("/chat")
    for message in messages:
        with contextlib.suppress(SocketIOProtocolError):
            session.receive_message(message)


# -- SSE, the JSON codec, cookies ---------------------------------------------------------

SSE_SAMPLES = ["data: a\n\n", "event: x\ndata: 1\nid: 7\n\n", ": ping\n", "retry: 10\r\n",
               "\ufeffdata: b\r\rdata: c\n\n", "id: \0\n"]


@FUZZ
@given(st.one_of(st.binary(max_size=200),
                 _spliced(SSE_SAMPLES).map(lambda s: s.encode("utf-8", "surrogatepass"))),
       st.lists(st.integers(0, 200), max_size=6))
def test_sse_parser(data: bytes, cuts: list[int]) -> None:
    proto = SseProtocol()
    for piece in _chunks(data, cuts):
        events = proto.receive_data(piece)
        assert all(isinstance(e, SseEvent) for e in events)
    assert proto.retry_ms is None or proto.retry_ms >= 0


@FUZZ
@given(st.one_of(st.text(max_size=100), st.binary(max_size=100),
                 _spliced(['{"a": [1, 2.5, null, true]}', "[1e999]", '"\\ud800"', "NaN"])))
def test_json_codec_decode(data: str | bytes) -> None:
    JsonCodec().decode(data)  # JSON or, when it is not JSON, the input itself: never raises


COOKIE_SAMPLES = [
    "sid=abc; Path=/; HttpOnly", "a=b; Domain=.example.com; Max-Age=0",
    "c=d; Expires=Wed, 21 Oct 2015 07:28:00 GMT; Secure", 'q="quoted"; Path=/api',
    "x=y; Max-Age=99999999999999999999", "e=f; Expires=Thu, 31 Dec 9999 23:59:59 GMT",
]


@FUZZ
@given(st.lists(st.one_of(st.text(max_size=60), _spliced(COOKIE_SAMPLES)), max_size=5),
       st.sampled_from(["example.com", "a.example.com", "127.0.0.1", "[::1]", ""]),
       st.text(max_size=20))
def test_cookie_jar(lines: list[str], host: str, path: str) -> None:
    jar = CookieJar()
    jar.update(host, path or "/", lines)
    header = jar.header_for(host, path or "/", secure=True)
    assert header is None or isinstance(header, str)
