"""HttpProtocol with plain byte strings: no sockets, every split point."""

from __future__ import annotations

import pytest

from horde.errors import PeerClosedError, ProtocolError, UsageError
from horde.protocols.http import (
    Headers,
    HttpProtocol,
    Response,
    encode_request,
    format_headers,
)

CONTENT_LENGTH = (
    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 13\r\n"
    b"Set-Cookie: a=1; Path=/\r\nSet-Cookie: b=2; Expires=Wed, 21 Oct 2037 07:28:00 GMT\r\n"
    b"\r\n"
    b'{"ok": true }'
)
CHUNKED = (
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
    b"5\r\nhello\r\n1;ext=1\r\n \r\n5\r\nworld\r\n0\r\nX-Trailer: t\r\n\r\n"
)
CLOSE_DELIMITED = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the end"


def feed_split(data: bytes, at: int, method: str = "GET") -> tuple[HttpProtocol, list[Response]]:
    proto = HttpProtocol()
    proto.expect_response(method)
    got = [r for part in (data[:at], data[at:]) if part for r in [proto.receive_data(part)] if r]
    return proto, got


@pytest.mark.parametrize("at", range(len(CONTENT_LENGTH) + 1))
def test_content_length_body_at_every_split(at: int) -> None:
    proto, got = feed_split(CONTENT_LENGTH, at)
    assert len(got) == 1
    response = got[0]
    assert response.status == 200
    assert response.body == b'{"ok": true }'
    assert response.json() == {"ok": True}
    assert response.headers["CONTENT-TYPE"] == "application/json"
    assert response.headers.getall("set-cookie") == [
        "a=1; Path=/",
        "b=2; Expires=Wed, 21 Oct 2037 07:28:00 GMT",
    ]
    assert proto.keep_alive and not proto.expecting


@pytest.mark.parametrize("at", range(len(CHUNKED) + 1))
def test_chunked_body_at_every_split(at: int) -> None:
    proto, got = feed_split(CHUNKED, at)
    assert [r.body for r in got] == [b"hello world"]
    assert "x-trailer" not in got[0].headers  # trailers are not headers
    assert proto.keep_alive


def test_chunked_byte_by_byte() -> None:
    proto = HttpProtocol()
    proto.expect_response("GET")
    results = [proto.receive_data(CHUNKED[i : i + 1]) for i in range(len(CHUNKED))]
    assert results[:-1] == [None] * (len(CHUNKED) - 1)
    assert results[-1] is not None and results[-1].body == b"hello world"


@pytest.mark.parametrize("at", range(len(CLOSE_DELIMITED) + 1))
def test_close_delimited_body_ends_at_eof(at: int) -> None:
    proto, got = feed_split(CLOSE_DELIMITED, at)
    assert got == []
    response = proto.receive_eof()
    assert response is not None and response.body == b"until the end"
    assert response.text == "until the end"
    assert not proto.keep_alive


def test_eof_mid_body_is_closed_by_peer() -> None:
    proto = HttpProtocol()
    proto.expect_response("GET")
    assert proto.receive_data(CONTENT_LENGTH[:-3]) is None
    with pytest.raises(PeerClosedError, match="body"):
        proto.receive_eof()


def test_eof_before_any_byte_is_closed_by_peer() -> None:
    proto = HttpProtocol()
    proto.expect_response("GET")
    with pytest.raises(PeerClosedError, match="headers"):
        proto.receive_eof()


def test_eof_while_idle_is_nothing() -> None:
    assert HttpProtocol().receive_eof() is None


@pytest.mark.parametrize(
    "garbage",
    [
        b"FOO BAR\r\n\r\n",
        b"HTTP/1.1 abc OK\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n",
    ],
)
def test_malformed_response_is_protocol_error(garbage: bytes) -> None:
    proto = HttpProtocol()
    proto.expect_response("GET")
    with pytest.raises(ProtocolError, match="malformed"):
        proto.receive_data(garbage)


def test_data_without_request_is_protocol_error() -> None:
    with pytest.raises(ProtocolError, match="no request"):
        HttpProtocol().receive_data(b"HTTP/1.1 408 Request Timeout\r\n\r\n")


def test_keep_alive_responses_in_sequence() -> None:
    proto = HttpProtocol()
    for i in range(3):
        body = b"x" * i
        data = b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)
        proto.expect_response("GET")
        response = proto.receive_data(data)
        assert response is not None and response.body == body


def test_head_response_has_no_body_and_the_connection_stays_usable() -> None:
    proto = HttpProtocol()
    proto.expect_response("HEAD")
    response = proto.receive_data(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n")
    assert response is not None and response.body == b"" and proto.keep_alive
    proto.expect_response("GET")
    response = proto.receive_data(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi")
    assert response is not None and response.body == b"hi"


def test_no_body_statuses_complete_without_length() -> None:
    proto = HttpProtocol()
    for status in (204, 304):
        proto.expect_response("GET")
        response = proto.receive_data(b"HTTP/1.1 %d X\r\n\r\n" % status)
        assert response is not None and response.status == status and response.body == b""


def test_interim_100_continue_is_skipped() -> None:
    proto = HttpProtocol()
    proto.expect_response("POST")
    data = (
        b"HTTP/1.1 100 Continue\r\nX-A: 1\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 1\r\n\r\nk"
    )
    response = proto.receive_data(data)
    assert response is not None and response.status == 201 and response.body == b"k"
    assert "x-a" not in response.headers


INTERIM = (
    b"HTTP/1.1 100 Continue\r\nX-A: 1\r\n\r\n"
    b"HTTP/1.1 201 Created\r\nContent-Length: 5\r\nX-B: 2\r\n\r\nk\r\n\r\n"
)


@pytest.mark.parametrize("at", range(len(INTERIM) + 1))
def test_interim_then_final_head_at_every_split(at: int) -> None:
    _, got = feed_split(INTERIM, at, "POST")
    assert [(r.status, r.body) for r in got] == [(201, b"k\r\n\r\n")]
    assert dict(got[0].headers) == {"content-length": "5", "x-b": "2"}


def test_header_fields_are_parsed_only_when_read(monkeypatch: pytest.MonkeyPatch) -> None:
    # A Python call per header field was a tenth of a request's CPU: fields wait as bytes
    import horde.protocols.http as http

    parsed: list[bytes] = []
    real = http.parse_head
    monkeypatch.setattr(http, "parse_head", lambda head: parsed.append(head) or real(head))
    _, (response,) = feed_split(CONTENT_LENGTH, len(CONTENT_LENGTH))
    assert response._may_have(b"set-cookie") and not response._may_have(b"content-encoding")
    assert parsed == []
    assert response.headers["content-length"] == "13"
    assert len(response.headers.getall("set-cookie")) == 2
    assert parsed == [CONTENT_LENGTH[: CONTENT_LENGTH.index(b"\r\n\r\n") + 4]]


@pytest.mark.parametrize(
    ("head", "alive"),
    [
        (b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", True),
        (b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n", False),
        (b"HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n", False),
        (b"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n", True),
    ],
)
def test_keep_alive_follows_version_and_connection(head: bytes, alive: bool) -> None:
    for method in ("GET", "HEAD"):
        proto = HttpProtocol()
        proto.expect_response(method)
        assert proto.receive_data(head) is not None
        assert proto.keep_alive is alive


def test_status_reported_as_is() -> None:
    proto = HttpProtocol()
    proto.expect_response("GET")
    response = proto.receive_data(b"HTTP/1.1 503 Busy\r\nContent-Length: 0\r\n\r\n")
    assert response is not None and response.status == 503 and not response.ok


def test_send_request_encodes_one_bytes_object() -> None:
    proto = HttpProtocol()
    data = proto.send_request("POST", "/a?b=1", "Host: h\r\nContent-Length: 2\r\n", b"{}")
    assert data == b"POST /a?b=1 HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\n\r\n{}"
    assert proto.expecting
    with pytest.raises(RuntimeError):
        proto.expect_response("GET")


def test_encode_request_round_trips_decoded_header_bytes() -> None:
    value = b"caf\xc3\xa9 \xff".decode("utf-8", "surrogateescape")
    data = encode_request("GET", "/", format_headers({"Cookie": value}), None)
    assert data == b"GET / HTTP/1.1\r\nCookie: caf\xc3\xa9 \xff\r\n\r\n"


@pytest.mark.parametrize(
    "headers", [{"X-A": "1\r\nEvil: yes"}, {"X-A\r\n": "1"}, {"X:A": "1"}, {"X": "a\nb"}]
)
def test_header_injection_is_refused(headers: dict[str, str]) -> None:
    with pytest.raises(UsageError):
        format_headers(headers)


def test_headers_are_case_insensitive() -> None:
    headers = Headers({"Content-Type": "a"})
    headers.add("X-Multi", "1")
    headers.add("x-multi", "2")
    assert headers["content-type"] == headers.get("CONTENT-TYPE") == "a"
    assert "Content-type" in headers and 3 not in headers
    assert headers["X-MULTI"] == "1, 2" and headers.getall("x-multi") == ["1", "2"]
    headers["X-Multi"] = "3"
    assert headers.getall("x-multi") == ["3"]
    del headers["CONTENT-TYPE"]
    assert headers.getall("content-type") == [] and headers.get("content-type", "-") == "-"


def test_response_text_uses_charset() -> None:
    headers = Headers({"Content-Type": 'text/plain; charset="latin-1"'})
    assert Response(200, headers, "é".encode("latin-1")).text == "é"
    bogus = Headers({"Content-Type": "text/plain; charset=nope"})
    assert Response(200, bogus, "é".encode()).text == "é"


def test_raise_for_status_ends_a_step_without_counting_the_error_twice():
    from horde.errors import HttpStatusError
    from horde.protocols.http import Headers, Response

    fine = Response(200, Headers(), b"{}")
    assert fine.raise_for_status() is fine
    with pytest.raises(HttpStatusError) as info:
        Response(503, Headers(), b"busy").raise_for_status()
    assert info.value.category == "http_503" and info.value.status == 503
    assert info.value.recorded  # the client counted it when the response arrived
