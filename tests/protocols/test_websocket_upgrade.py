"""The WebSocket opening handshake without sockets: URLs, the request, and the replies
that do and do not complete an upgrade."""

from __future__ import annotations

import pytest

from horde.protocols.websocket_upgrade import (
    MAX_HEADER_BYTES,
    UpgradeError,
    UpgradeReader,
    WsUrl,
    accept_for,
    new_key,
    parse_ws_url,
    upgrade_request,
)

KEY = "dGhlIHNhbXBsZSBub25jZQ=="  # RFC 6455 §1.3's example


def test_the_rfcs_example_accept() -> None:
    assert accept_for(KEY) == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="


@pytest.mark.parametrize(("url", "parsed"), [
    ("ws://127.0.0.1:8080/chat?room=1", WsUrl(False, "127.0.0.1", 8080, "/chat?room=1",
                                              "127.0.0.1:8080")),
    ("wss://example.test", WsUrl(True, "example.test", 443, "/", "example.test")),
    ("ws://example.test:80/", WsUrl(False, "example.test", 80, "/", "example.test")),
    ("ws://[::1]:9000/x", WsUrl(False, "::1", 9000, "/x", "[::1]:9000")),
])
def test_urls(url: str, parsed: WsUrl) -> None:
    assert parse_ws_url(url) == parsed


@pytest.mark.parametrize(("url", "words"), [
    ("http://127.0.0.1/", "scheme"), ("ws:///path", "no host"), ("ws://h:99999/", "(?i)port"),
])
def test_bad_urls_say_what_is_wrong(url: str, words: str) -> None:
    with pytest.raises(ValueError, match=words):
        parse_ws_url(url)


def test_the_request_asks_for_the_upgrade_with_the_callers_headers() -> None:
    url = parse_ws_url("ws://127.0.0.1:8080/chat")
    text = upgrade_request(url, KEY, [("Cookie", "a=1"), ("Sec-WebSocket-Protocol", "mqtt")])
    lines = text.decode().split("\r\n")
    assert lines[0] == "GET /chat HTTP/1.1"
    assert "Host: 127.0.0.1:8080" in lines and f"Sec-WebSocket-Key: {KEY}" in lines
    assert {"Upgrade: websocket", "Connection: Upgrade", "Sec-WebSocket-Version: 13",
            "Cookie: a=1", "Sec-WebSocket-Protocol: mqtt"} <= set(lines)
    assert text.endswith(b"\r\n\r\n")


def test_a_host_header_replaces_the_urls() -> None:
    text = upgrade_request(parse_ws_url("ws://127.0.0.1:1/"), KEY, [("Host", "chat.test")])
    assert text.decode().count("Host:") == 1 and "Host: chat.test" in text.decode()


def test_keys_are_fresh_16_byte_values() -> None:
    assert new_key() != new_key() and len(new_key()) == 24


def reply(status: str = "101 Switching Protocols", **headers: str) -> bytes:
    fields = {"Upgrade": "websocket", "Connection": "Upgrade",
              "Sec-WebSocket-Accept": accept_for(KEY)} | headers
    lines = [f"HTTP/1.1 {status}"] + [f"{k.replace('_', '-')}: {v}" for k, v in fields.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def test_a_101_in_pieces_with_frames_behind_it() -> None:
    reader = UpgradeReader()
    wire = reply(Sec_WebSocket_Protocol="mqtt") + b"\x81\x02hi"
    assert reader.feed(wire[:20]) is None
    assert reader.feed(wire[20:]) == b"\x81\x02hi"
    assert reader.status == 101 and reader.check(KEY) is None
    assert reader.headers["sec-websocket-protocol"] == "mqtt"


@pytest.mark.parametrize(("headers", "words"), [
    ({"Sec_WebSocket_Accept": "wrong"}, "Accept"),
    ({"Connection": "keep-alive"}, "Connection"),
])
def test_a_101_that_is_no_upgrade(headers: dict[str, str], words: str) -> None:
    reader = UpgradeReader()
    reader.feed(reply(**headers))
    assert words in (reader.check(KEY) or "")


def test_a_refusal_is_read_with_its_status() -> None:
    reader = UpgradeReader()
    body = b"go away"
    wire = (f"HTTP/1.1 403 Forbidden\r\nContent-Length: {len(body)}\r\n\r\n").encode() + body
    assert reader.feed(wire) == b""
    assert reader.status == 403


def test_not_http_and_endless_headers_are_refused() -> None:
    with pytest.raises(UpgradeError, match="not an HTTP reply"):
        UpgradeReader().feed(b"SSH-2.0-OpenSSH\r\n\r\n")
    reader = UpgradeReader()
    reader.feed(b"HTTP/1.1 101 OK\r\n")
    with pytest.raises(UpgradeError, match="over"):
        for _ in range(MAX_HEADER_BYTES // 1000 + 1):
            reader.feed(b"X-Pad: " + b"a" * 991 + b"\r\n")
