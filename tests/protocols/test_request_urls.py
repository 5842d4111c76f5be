"""URL resolution for requests: base joining, Host header, request target."""

from __future__ import annotations

import pytest

from horde.errors import UsageError
from horde.protocols.request_urls import UrlCache, parse_url, resolve_url


def test_relative_joined_to_base() -> None:
    url = resolve_url("/rooms/1/poll?x=1", "http://Example.com:8080/api/")
    assert url.key == ("http", "example.com", 8080)
    assert url.authority == "example.com:8080"
    assert url.path == "/rooms/1/poll" and url.target == "/rooms/1/poll?x=1"
    assert resolve_url("rooms", "http://h/api/").path == "/api/rooms"


def test_absolute_ignores_base_and_default_port_is_omitted() -> None:
    url = resolve_url("https://h.test/", "http://other/")
    assert url.key == ("https", "h.test", 443) and url.authority == "h.test"
    assert parse_url("http://h").target == "/"


def test_ipv6_authority_keeps_brackets() -> None:
    url = parse_url("http://[::1]:9000/x")
    assert url.host == "::1" and url.authority == "[::1]:9000"


def test_unsafe_characters_are_quoted() -> None:
    assert parse_url("http://h/a b/é?q=a b").target == "/a%20b/%C3%A9?q=a%20b"


@pytest.mark.parametrize("bad", ["ftp://h/", "http:///nohost", "http://h:99999/"])
def test_bad_urls_are_usage_errors(bad: str) -> None:
    with pytest.raises(UsageError):
        parse_url(bad)


def test_relative_without_base_is_usage_error() -> None:
    with pytest.raises(UsageError):
        resolve_url("/x", None)


def test_cache_is_bounded() -> None:
    cache = UrlCache("http://h/", limit=2)
    first = cache.resolve("/a")
    assert cache.resolve("/a") is first
    cache.resolve("/b")
    cache.resolve("/c")
    assert cache.resolve("/a") is not first and cache.resolve("/a") == first
