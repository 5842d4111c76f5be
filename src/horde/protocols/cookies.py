"""A small cookie jar, one per virtual user: enough of RFC 6265 for login sessions.

Set-Cookie lines are parsed with :mod:`http.cookies` (one cookie per line; attributes
Domain, Path, Max-Age, Expires, Secure). A cookie goes back on requests whose host
domain-matches and whose path path-matches; Max-Age <= 0 or a past Expires deletes it.
No public-suffix list, no SameSite: a load test talks to one site it trusts.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from http.cookies import CookieError, SimpleCookie


@dataclass(slots=True)
class Cookie:
    name: str
    value: str  # as received (still quoted if it was), so it goes back unchanged
    domain: str
    path: str
    host_only: bool = True
    secure: bool = False
    expires: float | None = None  # epoch seconds; None = session cookie

    def matches(self, host: str, path: str, secure: bool) -> bool:
        if self.secure and not secure:
            return False
        domain = self.domain
        if host != domain and (self.host_only or not host.endswith("." + domain)):
            return False
        cpath = self.path
        return path == cpath or (
            path.startswith(cpath) and (cpath.endswith("/") or path[len(cpath)] == "/")
        )


class CookieJar:
    """Cookies keyed by (domain, path, name), as RFC 6265 §5.3 replaces them."""

    __slots__ = ("_cookies",)

    def __init__(self) -> None:
        self._cookies: dict[tuple[str, str, str], Cookie] = {}

    def __len__(self) -> int:
        return len(self._cookies)

    def __iter__(self) -> Iterator[Cookie]:
        return iter(list(self._cookies.values()))

    def get(self, name: str, default: str | None = None) -> str | None:
        """The value of the first cookie called ``name`` (any domain/path)."""
        for cookie in self._cookies.values():
            if cookie.name == name:
                return cookie.value
        return default

    def set(self, name: str, value: str, domain: str, path: str = "/") -> None:
        """Add a cookie by hand (scenario code restoring a session, say)."""
        domain = domain.lower().lstrip(".")
        self._cookies[(domain, path, name)] = Cookie(name, value, domain, path, host_only=False)

    def clear(self) -> None:
        """Forget every cookie (a user logging out, or starting a new session)."""
        self._cookies.clear()

    def update(
        self, host: str, request_path: str, set_cookies: Iterable[str], now: float | None = None
    ) -> None:
        """Apply a response's Set-Cookie lines, received from ``host`` for ``request_path``."""
        now = time.time() if now is None else now
        for line in set_cookies:
            cookie = _parse(line, host, request_path, now)
            if cookie is None:
                continue
            key = (cookie.domain, cookie.path, cookie.name)
            if cookie.expires is not None and cookie.expires <= now:
                self._cookies.pop(key, None)
            else:
                self._cookies[key] = cookie

    def header_for(
        self, host: str, path: str, secure: bool, now: float | None = None
    ) -> str | None:
        """The Cookie header value for a request, or ``None`` when nothing matches."""
        if not self._cookies:
            return None
        found: list[Cookie] = []
        expired = False
        for cookie in self._cookies.values():
            if cookie.matches(host, path, secure):
                if cookie.expires is not None:
                    now = time.time() if now is None else now
                    if cookie.expires <= now:
                        expired = True
                        continue
                found.append(cookie)
        if expired:
            self._drop_expired(time.time() if now is None else now)
        if not found:
            return None
        if len(found) > 1:  # longer paths first (RFC 6265 §5.4)
            found.sort(key=lambda c: -len(c.path))
        return "; ".join(f"{c.name}={c.value}" for c in found)

    def _drop_expired(self, now: float) -> None:
        for key, cookie in list(self._cookies.items()):
            if cookie.expires is not None and cookie.expires <= now:
                del self._cookies[key]


def _parse(line: str, host: str, request_path: str, now: float) -> Cookie | None:
    """One Set-Cookie line to a Cookie, or None if it is invalid or not for ``host``."""
    jar = SimpleCookie()
    try:
        jar.load(line)
    except CookieError:
        return None
    if not jar:
        return None
    # One cookie per Set-Cookie line: a later "name" is an attribute SimpleCookie did not
    # know (Priority=High, say), not a second cookie.
    morsel = next(iter(jar.values()))
    domain_attr = morsel["domain"].lower().lstrip(".")
    if domain_attr:
        if host != domain_attr and not host.endswith("." + domain_attr):
            return None  # a site may not set cookies for another domain
        domain, host_only = domain_attr, False
    else:
        domain, host_only = host, True
    path = morsel["path"]
    if not path.startswith("/"):
        path = _default_path(request_path)
    expires: float | None = None
    max_age = morsel["max-age"]
    if max_age != "":
        try:
            expires = now + int(max_age)
        except ValueError:
            expires = None
    elif morsel["expires"]:
        try:
            expires = parsedate_to_datetime(morsel["expires"]).timestamp()
        except (TypeError, ValueError):
            expires = None
    return Cookie(
        morsel.key,
        morsel.coded_value,
        domain,
        path,
        host_only=host_only,
        secure=bool(morsel["secure"]),
        expires=expires,
    )


def _default_path(request_path: str) -> str:
    """RFC 6265 §5.1.4: the request path up to, not including, its last slash."""
    if not request_path.startswith("/"):
        return "/"
    cut = request_path.rfind("/")
    return request_path[:cut] if cut > 0 else "/"
