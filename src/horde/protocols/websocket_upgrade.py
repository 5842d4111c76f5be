"""The WebSocket opening handshake without sockets: the URL, the upgrade request, the reply.

:func:`parse_ws_url` reads a ``ws://`` or ``wss://`` URL; :func:`upgrade_request` writes
the HTTP/1.1 GET that asks for the upgrade, as browsers send it; an
:class:`UpgradeReader` is fed the server's reply (parsed by httptools) until its headers
are complete, then :meth:`UpgradeReader.check` says whether it accepted: a 101 with the
``Sec-WebSocket-Accept`` that proves it read our key (RFC 6455 §4.1).
"""

from __future__ import annotations

import base64
import hashlib
import os
from dataclasses import dataclass
from urllib.parse import urlsplit

import httptools

_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"  # RFC 6455 §1.3
MAX_HEADER_BYTES = 64 * 1024  # a reply whose headers never end is not a WebSocket server


class UpgradeError(Exception):
    """The server's reply to the upgrade is not a valid WebSocket handshake."""


@dataclass(frozen=True, slots=True)
class WsUrl:
    """Where a WebSocket connects: host and port for the socket, the rest for the GET."""

    secure: bool
    host: str
    port: int
    target: str  # path and query, as sent on the request line
    host_header: str  # the port only when it is not the scheme's default


def parse_ws_url(url: str) -> WsUrl:
    """``url`` read as a WebSocket address; ValueError naming what is wrong with it."""
    parts = urlsplit(url)
    if parts.scheme not in ("ws", "wss"):
        raise ValueError(f"scheme must be ws or wss, not {parts.scheme!r}")
    host = parts.hostname
    if not host:
        raise ValueError("no host")
    secure = parts.scheme == "wss"
    default = 443 if secure else 80
    port = parts.port or default  # ValueError for a port out of range or not a number
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    named = f"[{host}]" if ":" in host else host
    return WsUrl(secure, host, port, target,
                 named if port == default else f"{named}:{port}")


def new_key() -> str:
    """A fresh ``Sec-WebSocket-Key``: 16 random bytes, base64."""
    return base64.b64encode(os.urandom(16)).decode()


def accept_for(key: str) -> str:
    """The ``Sec-WebSocket-Accept`` a server that read ``key`` must answer with."""
    return base64.b64encode(hashlib.sha1(key.encode() + _GUID).digest()).decode()


def upgrade_request(url: WsUrl, key: str, headers: list[tuple[str, str]]) -> bytes:
    """The GET asking for the upgrade; a ``Host`` in ``headers`` replaces the URL's."""
    own_host = any(name.lower() == "host" for name, _ in headers)
    lines = [f"GET {url.target} HTTP/1.1"]
    if not own_host:
        lines.append(f"Host: {url.host_header}")
    lines += ["Upgrade: websocket", "Connection: Upgrade", "Sec-WebSocket-Version: 13",
              f"Sec-WebSocket-Key: {key}"]
    lines += [f"{name}: {value}" for name, value in headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


class UpgradeReader:
    """The server's reply, read until its headers end (httptools' callbacks land here).

    :meth:`feed` returns None while headers are still to come, then the bytes that
    followed them: the first frames, which a server may send in the same packet."""

    __slots__ = ("_parser", "_seen", "done", "headers", "status")

    def __init__(self) -> None:
        self._parser = httptools.HttpResponseParser(self)
        self._seen = 0
        self.status = 0
        self.headers: dict[str, str] = {}  # names lowercased; a repeated one joined by ", "
        self.done = False

    def feed(self, data: bytes) -> bytes | None:
        """Parse ``data``; UpgradeError when it is not HTTP or its headers never end."""
        self._seen += len(data)
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserUpgrade as upgrade:
            return data[upgrade.args[0]:]
        except httptools.HttpParserError as exc:
            if self.done:  # a 101 that asks for no upgrade: check() says why it fails
                return b""
            raise UpgradeError(f"not an HTTP reply: {exc}") from None
        if self.done:
            return b""  # a reply without Upgrade (a refusal, or a broken 101): no frames
        if self._seen > MAX_HEADER_BYTES:
            raise UpgradeError(f"reply headers over {MAX_HEADER_BYTES} bytes")
        return None

    def check(self, key: str) -> str | None:
        """Why this 101 is not a valid upgrade for ``key``, or None when it is."""
        headers = self.headers
        if headers.get("upgrade", "").lower() != "websocket":
            return f"Upgrade header is {headers.get('upgrade')!r}, not 'websocket'"
        connection = [v.strip().lower() for v in headers.get("connection", "").split(",")]
        if "upgrade" not in connection:
            return f"Connection header is {headers.get('connection')!r}, not 'Upgrade'"
        if headers.get("sec-websocket-accept") != accept_for(key):
            return "Sec-WebSocket-Accept does not match the key sent"
        return None

    # -- httptools callbacks ----------------------------------------------------------------

    def on_header(self, name: bytes, value: bytes) -> None:
        key, text = name.decode("latin-1").lower(), value.decode("latin-1")
        before = self.headers.get(key)
        self.headers[key] = text if before is None else f"{before}, {text}"

    def on_headers_complete(self) -> None:
        self.status = self._parser.get_status_code()
        self.done = True
