"""Request URLs: resolve what a scenario wrote against the base URL, once per distinct URL.

Scenario code writes ``"/rooms/1/poll"`` or a full ``https://…`` URL; a request needs the
connection key (scheme, host, port), the Host header and the request target. Splitting a
URL costs microseconds, so :class:`UrlCache` remembers the last few hundred.
"""

from __future__ import annotations

from typing import NamedTuple
from urllib.parse import quote, urljoin, urlsplit

from horde.errors import UsageError

DEFAULT_PORTS = {"http": 80, "https": 443}
_SAFE_PATH = "/%:@!$&'()*+,;=-._~"
_SAFE_QUERY = _SAFE_PATH + "?"


class Url(NamedTuple):
    """An absolute http(s) URL split for sending."""

    scheme: str
    host: str  # lower-case, IPv6 without brackets
    port: int
    authority: str  # the Host header: host, plus ":port" when not the default
    path: str  # percent-encoded, never empty
    query: str  # without "?", percent-encoded, may be empty
    url: str  # the absolute URL as given (or joined)

    @property
    def target(self) -> str:
        """The request target: path plus query."""
        return f"{self.path}?{self.query}" if self.query else self.path

    @property
    def key(self) -> tuple[str, str, int]:
        """What a keep-alive connection is shared by."""
        return (self.scheme, self.host, self.port)


def parse_url(url: str) -> Url:
    """Split an absolute http(s) URL; anything else is the user's mistake."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS:
        raise UsageError(f"unsupported URL (need http:// or https://): {url!r}")
    host = parts.hostname
    if not host:
        raise UsageError(f"URL has no host: {url!r}")
    try:
        port = parts.port or DEFAULT_PORTS[scheme]
    except ValueError as exc:
        raise UsageError(f"bad port in URL {url!r}") from exc
    shown = f"[{host}]" if ":" in host else host
    authority = shown if port == DEFAULT_PORTS[scheme] else f"{shown}:{port}"
    path = parts.path or "/"
    if not path.isascii() or " " in path:
        path = quote(path, safe=_SAFE_PATH)
    query = parts.query
    if query and (not query.isascii() or " " in query):
        query = quote(query, safe=_SAFE_QUERY)
    return Url(scheme, host, port, authority, path, query, url)


def resolve_url(url: str, base: str | None) -> Url:
    """``url`` if absolute, else joined to ``base`` (RFC 3986 rules, like a browser)."""
    if url.startswith(("http://", "https://", "HTTP://", "HTTPS://")):
        return parse_url(url)
    if base is None:
        raise UsageError(f"relative URL {url!r} needs a base_url")
    return parse_url(urljoin(base, url))


class UrlCache:
    """Memoises :func:`resolve_url` for one base URL; bounded so varying URLs cannot grow it."""

    __slots__ = ("_base", "_cache", "_limit")

    def __init__(self, base: str | None, limit: int = 512) -> None:
        if base is not None:
            parse_url(base)  # fail at construction, not on the first request
        self._base = base
        self._cache: dict[str, Url] = {}
        self._limit = limit

    def resolve(self, url: str) -> Url:
        found = self._cache.get(url)
        if found is None:
            found = resolve_url(url, self._base)
            if len(self._cache) >= self._limit:
                self._cache.clear()
            self._cache[url] = found
        return found
