"""CookieJar: Set-Cookie in, Cookie header out, no I/O and a fixed clock."""

from __future__ import annotations

from horde.protocols.cookies import CookieJar

NOW = 1_700_000_000.0


def jar_with(*lines: str, host: str = "example.com", path: str = "/login") -> CookieJar:
    jar = CookieJar()
    jar.update(host, path, lines, now=NOW)
    return jar


def test_sent_back_to_matching_host_and_path() -> None:
    jar = jar_with("sid=abc; Path=/; HttpOnly", "pref=x; Path=/app")
    assert jar.header_for("example.com", "/", False, now=NOW) == "sid=abc"
    assert jar.header_for("example.com", "/app/x", False, now=NOW) == "pref=x; sid=abc"
    assert jar.header_for("example.com", "/apple", False, now=NOW) == "sid=abc"
    assert jar.header_for("other.com", "/", False, now=NOW) is None
    assert jar.header_for("sub.example.com", "/", False, now=NOW) is None  # host-only
    assert jar.get("sid") == "abc" and len(jar) == 2


def test_domain_attribute_covers_subdomains_and_rejects_others() -> None:
    jar = jar_with(
        "a=1; Domain=.example.com; Path=/", "b=2; Domain=evil.com", host="www.example.com"
    )
    assert jar.header_for("api.example.com", "/", False, now=NOW) == "a=1"
    assert jar.get("b") is None


def test_default_path_is_the_request_directory() -> None:
    jar = jar_with("a=1", path="/api/v1/login")
    assert jar.header_for("example.com", "/api/v1/rooms", False, now=NOW) == "a=1"
    assert jar.header_for("example.com", "/api", False, now=NOW) is None


def test_max_age_zero_and_past_expires_delete() -> None:
    jar = jar_with("sid=abc; Path=/", "other=1; Path=/")
    jar.update("example.com", "/logout", ["sid=; Max-Age=0; Path=/"], now=NOW)
    jar.update(
        "example.com", "/", ["other=; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Path=/"], now=NOW
    )
    assert len(jar) == 0 and jar.header_for("example.com", "/", False, now=NOW) is None


def test_cookies_expire_with_time() -> None:
    jar = jar_with("sid=abc; Max-Age=10; Path=/")
    assert jar.header_for("example.com", "/", False, now=NOW + 5) == "sid=abc"
    assert jar.header_for("example.com", "/", False, now=NOW + 11) is None
    assert len(jar) == 0


def test_secure_cookies_only_over_https() -> None:
    jar = jar_with("s=1; Secure; Path=/")
    assert jar.header_for("example.com", "/", False, now=NOW) is None
    assert jar.header_for("example.com", "/", True, now=NOW) == "s=1"


def test_replaced_by_same_name_domain_path() -> None:
    jar = jar_with("sid=1; Path=/")
    jar.update("example.com", "/", ["sid=2; Path=/"], now=NOW)
    assert jar.header_for("example.com", "/", False, now=NOW) == "sid=2"


def test_quoted_value_goes_back_unchanged_and_unknown_attributes_are_ignored() -> None:
    jar = jar_with('q="a b"; Path=/; Priority=High; SameSite=Lax')
    assert jar.header_for("example.com", "/", False, now=NOW) == 'q="a b"'


def test_garbage_is_ignored() -> None:
    jar = jar_with("", ";;;", "=novalue")
    assert len(jar) == 0


def test_set_by_hand_and_clear() -> None:
    jar = CookieJar()
    jar.set("token", "t", "example.com")
    assert jar.header_for("www.example.com", "/x", False) == "token=t"
    assert [c.name for c in jar] == ["token"]
    jar.clear()
    assert len(jar) == 0
