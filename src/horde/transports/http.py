"""The HTTP/1.1 client a virtual user holds: keep-alive pools, a cookie jar, samples.

Hand-written on the event loop's own transports because it is the hot path: measured
here, aiohttp's client cost ~9x the CPU of a bare uvloop+httptools loop. So a request
makes no Task, builds its bytes in one string, goes out with one ``transport.write`` and
comes back as one resolved future (see :mod:`horde.transports.http_pool`).

Samples per request (``name`` if given, else the URL path): ``http_req`` (written → last
byte) and ``http_ttfb`` (→ first byte) in µs, bytes both ways, the in-flight gauge, and
``http_<status>`` errors for statuses >= 400 not listed in ``ok_status``. Such a Response
is still returned; timeouts, drops and garbage are recorded and raised as TargetErrors.

Default headers and auth, as Locust's ``client.headers``: ``client.headers`` is a mutable
mapping sent with every request, stream and SSE request of the client
(``user.http.headers.update({"X-Tenant": "t1"})``); ``client.auth = ("user", "pw")``
(Basic) or ``= "token"`` (Bearer) sets its ``Authorization``. A request's own
``headers=`` override them field by field, its ``auth=`` overrides both. Cookies the
server sets are kept per client (``client.cookies``) and sent back where they match.

Compression as browsers do it: requests say ``Accept-Encoding: gzip, deflate`` and a
compressed body is decoded as it arrives (``decompress=False``, per client or per
request, turns both off). Bytes received count the body as the network carried it; the
decoded size is counted beside it (results.json ``bytes.decoded_received``).
"""

from __future__ import annotations

import asyncio
import json as _json
import ssl
from collections.abc import Callable, Container, Coroutine, Mapping
from typing import Any
from urllib.parse import urlencode

from horde.errors import PeerClosedError, ProtocolError, TargetError
from horde.metrics.names import HTTP_REQ, HTTP_STATUS_OK, HTTP_TTFB
from horde.metrics.recorder import Recorder
from horde.protocols.content_coding import ACCEPT_ENCODING
from horde.protocols.cookies import CookieJar
from horde.protocols.http import USER_AGENT, Headers, Response, encode_request, format_headers
from horde.protocols.http_defaults import Auth, DefaultHeaders, authorization
from horde.protocols.request_urls import Url, UrlCache, resolve_url
from horde.safety.tls import default_ssl_context
from horde.streams.meter import DEFAULT_STALL_AFTER, StreamResult
from horde.transports.http_connection import HttpConnection
from horde.transports.http_pool import HostPool
from horde.transports.http_stream import stream_request

__all__ = ["HttpClient", "Response"]

IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE"})
BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})  # send Content-Length: 0 without a body
REDIRECTS = frozenset({301, 302, 303, 307, 308})
MAX_REDIRECTS = 5
PLAIN_CACHE = 512  # (method, url) pairs whose request bytes a client keeps



class HttpClient:
    """One per virtual user (``user.http``): keep-alive connections per (scheme, host,
    port), a cookie jar, default headers and auth. Creating one does no I/O; ``close``
    releases everything.

    Every request is an operation (``http_req:NAME``, with ``http_ttfb:NAME`` and each new
    connection's ``http_connect``); a status of 400 or more is an error ``http_STATUS``
    unless listed in ``ok_status``; bodies are decoded (gzip, deflate) and counted as the
    network carried them::

        r = await user.http.post("/login", json={"user": "u1"}, name="login")
        r.raise_for_status()
        rooms = (await user.http.get("/rooms", name="rooms", ok_status=(429,))).json()
        answer = await user.http.stream("POST", "/v1/chat/completions", json=prompt,
                                        sse=True, end=lambda ev: ev.data == "[DONE]")
        user.http.headers["X-Tenant"] = "t1"   # on every later request of this user
        user.http.auth = r.json()["token"]     # Authorization: Bearer <token>
    """

    def __init__(
        self,
        *,
        recorder: Recorder,
        base_url: str | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: float = 30.0,
        ssl_context: ssl.SSLContext | None = None,
        max_connections_per_host: int = 6,
        decompress: bool = True,
        auth: Auth | None = None,
    ) -> None:
        self.recorder = recorder
        self.decompress = decompress  # ask for gzip/deflate and decode it
        self.base_url = base_url
        self.timeout = timeout
        self.cookies = CookieJar()
        """The cookies servers set on this client, sent back on the requests they match
        (domain, path, Secure, expiry): ``cookies.get("session")``, ``cookies.set(name,
        value, domain)``, ``cookies.clear()``."""
        self._urls = UrlCache(base_url)
        defaults = {"User-Agent": USER_AGENT, "Accept": "*/*"}
        if decompress:
            defaults["Accept-Encoding"] = ACCEPT_ENCODING
        self.headers = DefaultHeaders(defaults)
        """Headers sent with every request of this client (its streams and SSE
        included), a mutable mapping: ``client.headers.update({"X-Tenant": "t1"})``,
        ``del client.headers["X-Tenant"]``. A request's ``headers=`` override them."""
        self.headers.update(headers or {})
        self._auth: Auth | None = None
        if auth is not None:
            self.auth = auth
        self._ssl = ssl_context
        self._max_per_host = max_connections_per_host
        self._pools: dict[tuple[str, str, int], HostPool] = {}
        self._plains: dict[tuple[str, str], _Plain] = {}
        self._loop: asyncio.AbstractEventLoop | None = None

    @property
    def auth(self) -> Auth | None:
        """This client's credentials: ``("user", "password")`` sends Basic, a string
        sends ``Bearer <token>``, on every request; ``None`` stops sending them. Setting
        it sets (or removes) the ``Authorization`` default header."""
        return self._auth

    @auth.setter
    def auth(self, auth: Auth | None) -> None:
        if auth is None:
            self.headers.pop("Authorization", None)
        else:
            self.headers["Authorization"] = authorization(auth)
        self._auth = auth

    # -- the verbs -----------------------------------------------------------------------

    def get(self, url: str, **kw: Any) -> Coroutine[Any, Any, Response]:
        """A GET request: :meth:`request` with ``method="GET"`` (same keywords)."""
        return self.request("GET", url, **kw)  # no coroutine of its own: one await less

    def post(self, url: str, **kw: Any) -> Coroutine[Any, Any, Response]:
        """A POST request: :meth:`request` with ``method="POST"`` (same keywords)."""
        return self.request("POST", url, **kw)  # no coroutine of its own: one await less

    def put(self, url: str, **kw: Any) -> Coroutine[Any, Any, Response]:
        """A PUT request: :meth:`request` with ``method="PUT"`` (same keywords)."""
        return self.request("PUT", url, **kw)  # no coroutine of its own: one await less

    def patch(self, url: str, **kw: Any) -> Coroutine[Any, Any, Response]:
        """A PATCH request: :meth:`request` with ``method="PATCH"`` (same keywords)."""
        return self.request("PATCH", url, **kw)  # no coroutine of its own: one await less

    def delete(self, url: str, **kw: Any) -> Coroutine[Any, Any, Response]:
        """A DELETE request: :meth:`request` with ``method="DELETE"`` (same keywords)."""
        return self.request("DELETE", url, **kw)  # no coroutine of its own: one await less

    def head(self, url: str, **kw: Any) -> Coroutine[Any, Any, Response]:
        """A HEAD request: :meth:`request` with ``method="HEAD"`` (same keywords)."""
        return self.request("HEAD", url, **kw)  # no coroutine of its own: one await less

    def options(self, url: str, **kw: Any) -> Coroutine[Any, Any, Response]:
        """A OPTIONS request: :meth:`request` with ``method="OPTIONS"`` (same keywords)."""
        return self.request("OPTIONS", url, **kw)  # no coroutine of its own: one await less

    async def request(
        self,
        method: str,
        url: str,
        *,
        name: str | None = None,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        json: Any = None,
        data: bytes | str | None = None,
        timeout: float | None = None,
        ok_status: Container[int] | None = None,
        follow_redirects: bool = False,
        decompress: bool | None = None,
        auth: Auth | None = None,
    ) -> Response:
        """Send one request and return its Response (any status); see the module docstring.

        ``url`` is absolute or relative to ``base_url``; ``params`` are added to its query.
        ``json`` (not None) or ``data`` is the body. ``timeout`` bounds the whole request,
        connecting and waiting for a pooled connection included. With
        ``follow_redirects`` up to 5 redirects are followed, each recorded as a request.
        ``decompress`` overrides the client's: False asks for ``identity`` and leaves a
        body as it came. ``headers`` override the client's :attr:`headers` field by field
        (``None`` as a value leaves that default out); ``auth`` (as :attr:`auth`) overrides
        its credentials for this request. A redirect to another origin is followed
        without ``Authorization``.
        """
        # One coroutine does the whole exchange: every extra await level costs CPU here.
        body: bytes | None = None
        ctype: str | None = None
        if (params or headers or json is not None or data is not None or auth is not None
                or decompress is not None):
            method = method.upper()
            target = self._urls.resolve(url)
            target, body, ctype = _with_body(target, params, json, data)
            if auth is not None:
                headers = self._authorized(headers, auth)
            headers, decode = self._decoding(headers, decompress)
            data_out = self._encode(method, target, headers, body, ctype)
        else:  # the common case: the bytes of (method, url) as they were last sent
            plain = self._plain(method, url)
            method, target, data_out = plain.method, plain.target, plain.data
            decode = self.decompress
        rec = self.recorder
        loop = self._loop
        if loop is None:
            loop = self._loop = asyncio.get_running_loop()
        if timeout is None:
            timeout = self.timeout
        key = target.key
        pool = self._pools.get(key)
        if pool is None:
            pool = self._pools[key] = self._new_pool(loop, target)
        label = name or target.path
        op = rec.begin(HTTP_REQ, label)
        try:
            retried = False
            conn = pool.take_idle()
            deadline = loop.time() + timeout
            while True:
                if conn is None:
                    conn = await pool.acquire(deadline, retried)
                waiter = conn.send(data_out, method, decode, deadline, timeout, label)
                try:
                    response = await waiter
                except PeerClosedError:
                    if not retried and conn.received == 0 and (method in IDEMPOTENT or conn.reused):
                        retried = True  # a stale keep-alive: once more on a new connection
                        conn = None
                        continue
                    raise
                except TargetError:
                    rec.add_bytes(len(body) if body else 0, 0, rec.http)
                    conn.close()
                    raise
                except BaseException:  # cancelled: the connection is mid-exchange, drop it
                    conn.close()
                    raise
                break
        except BaseException as exc:
            rec.end(op, exc)
            raise
        # timed from the request's write to its last byte, both stamped in the callbacks
        op.start_ns = sent_at = conn.sent_at
        done_at = conn.done_at
        rec.latency(HTTP_TTFB, label, (conn.first_byte_at - sent_at) // 1000)
        received = conn.body_received  # as carried: compressed, if it was
        rec.add_bytes(len(body) if body else 0, received, rec.http)
        if len(response.body) != received:
            rec.add_decoded(rec.http, 0, len(response.body) - received)
        pool.release(conn)
        response.url = target.url
        response.elapsed_ms = (done_at - sent_at) / 1e6
        status = response.status
        if status >= 400 and (ok_status is None or status not in ok_status):
            response.ok = False
            category = f"http_{status}"
            example = None
            if category not in rec.error_examples:
                example = f"{method} {target.url} -> {status}: {response.body[:200]!r}"
            rec.fail_answered(op, category, done_at, example, len(data_out), conn.received)
        else:
            if ok_status is not None and status in ok_status:
                response.ok = True
                if status >= 400:  # declared ok: not an error, but still in the figures
                    rec.count(HTTP_STATUS_OK, str(status))
            rec.succeed(op, done_at, len(data_out), conn.received)
        if response._may_have(b"set-cookie"):  # no header parsing unless it may
            self.cookies.update(target.host, target.path, response.headers.getall("set-cookie"))
        if follow_redirects and status in REDIRECTS:
            return await self._follow(
                response, method, name, headers, body, ctype, timeout, ok_status, decode
            )
        return response

    async def stream(
        self,
        method: str,
        url: str,
        *,
        until: Callable[[bytes], bool] | None = None,
        name: str | None = None,
        stall_after: float = DEFAULT_STALL_AFTER,
        timeout: float | None = None,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        json: Any = None,
        data: bytes | str | None = None,
        ok_status: Container[int] | None = None,
        decompress: bool | None = None,
        sse: bool = False,
        end: Callable[[Any], bool] | None = None,
        first: Callable[[Any], bool] | None = None,
        auth: Auth | None = None,
        started_at: float | None = None,
    ) -> StreamResult:
        """Send one request and take its body as chunks, timed as they arrive (a chunked
        reply, an LLM token stream...). See :mod:`horde.transports.http_stream`.

        The stream ends when the body does, or at the first chunk ``until`` accepts (the
        connection is then closed: the rest of the body is not read). Ending early does
        not raise: ``reason`` is ``"timeout"`` (``timeout`` bounds the whole stream) or
        ``"closed"``, recorded as errors. ``result.response`` holds the status and headers;
        a status >= 400 not in ``ok_status`` is counted as ``http_<status>``. Recorded as
        ``stream_*`` metrics under ``name`` (default: the URL path), not as ``http_req``.
        A compressed body is decoded piece by piece (``decompress`` as in :meth:`request`):
        chunks are decoded bytes, so a piece zlib is still buffering is not a chunk yet.

        With ``sse=True`` the body is read as Server-Sent Events (``Accept:
        text/event-stream`` is sent): chunks are :class:`~horde.protocols.sse.SseEvent`
        values, each timed when its blank line arrived, however the network split it —
        an LLM API's streamed answer to a POST. ``end`` accepts a closing chunk that is
        neither a chunk nor a gap (``end=lambda e: e.data == "[DONE]"``). Another
        Content-Type than ``text/event-stream`` fails the stream as ``sse_content_type``.
        ``first`` picks the chunk that counts as the first (``stream_first``, ``rate``):
        e.g. the first event with content, not a role-only one. The client's
        :attr:`headers` and :attr:`auth` apply, overridden by ``headers`` and ``auth``.

        The clock starts when the request is written, or at ``started_at`` (a
        ``time.perf_counter()`` reading) when an earlier request asked the question and
        this one fetches the answer (submit, then fetch: see docs/streams.md); ``timeout``
        counts from the call either way.
        """
        if auth is not None:
            headers = self._authorized(headers, auth)
        return await stream_request(
            self, method, url, until=until, name=name, stall_after=stall_after,
            timeout=timeout, params=params, headers=headers, json=json, data=data,
            ok_status=ok_status, decompress=decompress, sse=sse, end=end, first=first,
            started_at=started_at,
        )

    async def close(self) -> None:
        """Close every connection (recorded as clean closes) and forget the pools."""
        closing: list[HttpConnection] = []
        for pool in self._pools.values():
            closing.extend(pool.close())
        self._pools.clear()
        for conn in closing:
            await conn.wait_closed(1.0)

    # -- helpers -------------------------------------------------------------------------

    async def _follow(
        self,
        response: Response,
        method: str,
        name: str | None,
        headers: Mapping[str, str] | None,
        body: bytes | None,
        ctype: str | None,
        timeout: float | None,
        ok_status: Container[int] | None,
        decompress: bool,
    ) -> Response:
        """Follow up to MAX_REDIRECTS Location headers, each hop a request of its own.

        Credentials stay with the origin they were meant for, as browsers do: a hop to
        another scheme, host or port is sent without ``Authorization`` (the client's or
        the request's); cookies go by their own domain anyway."""
        origin = resolve_url(response.url, None).key
        for _ in range(MAX_REDIRECTS):
            location = response.headers.get("location")
            if response.status not in REDIRECTS or not location:
                return response
            if resolve_url(location, response.url).key != origin:
                headers = _without_credentials(headers)
            if response.status == 303 or (response.status in (301, 302) and method == "POST"):
                method = "GET" if method != "HEAD" else method
                body = ctype = None
            if ctype is not None:  # re-sent as bytes: keep the JSON/text content type
                merged = Headers({"Content-Type": ctype})
                for key, value in (headers or {}).items():
                    merged[key] = value
                headers = merged
            response = await self.request(
                method,
                resolve_url(location, response.url).url,
                name=name,
                headers=headers,
                data=body,
                timeout=timeout,
                ok_status=ok_status,
                decompress=decompress,
            )
        if response.status in REDIRECTS and response.headers.get("location"):
            error = ProtocolError(
                f"more than {MAX_REDIRECTS} redirects", detail="too_many_redirects"
            )
            self.recorder.target_error(error)
            raise error
        return response

    def _plain(self, method: str, url: str) -> _Plain:
        """The request bytes of (method, url) without headers or body of its own: made
        once, and again only when the default headers or the matching cookies changed."""
        plain = self._plains.get((method, url))
        if plain is None:
            if len(self._plains) >= PLAIN_CACHE:
                self._plains.clear()
            plain = self._plains[(method, url)] = _Plain(method.upper(), self._urls.resolve(url))
        target = plain.target
        cookie = self.cookies.header_for(target.host, target.path, target.scheme == "https")
        if plain.version != self.headers.version or plain.cookie != cookie:
            plain.data = self._encode(plain.method, target, None, None, None)
            plain.version = self.headers.version
            plain.cookie = cookie
        return plain

    def _encode(
        self,
        method: str,
        url: Url,
        headers: Mapping[str, str] | None,
        body: bytes | None,
        ctype: str | None,
    ) -> bytes:
        """Host, default and per-request headers, cookies and framing, in one header block."""
        given = Headers(headers) if headers else None
        lines = []
        if given is None:
            lines.append(f"Host: {url.authority}\r\n{self.headers.block()}")
        else:
            if "host" not in given:
                lines.append(f"Host: {url.authority}\r\n")
            lines.append(self.headers.block_without(given))
            lines.append(format_headers(headers))  # type: ignore[arg-type]
        cookie = self.cookies.header_for(url.host, url.path, url.scheme == "https")
        if cookie is not None and not (given and "cookie" in given):
            lines.append(f"Cookie: {cookie}\r\n")
        if body is not None or method in BODY_METHODS:
            if ctype is not None and not (given and "content-type" in given):
                lines.append(f"Content-Type: {ctype}\r\n")
            lines.append(f"Content-Length: {len(body) if body else 0}\r\n")
        return encode_request(method, url.target, "".join(lines), body)

    @staticmethod
    def _authorized(headers: Mapping[str, str] | None, auth: Auth) -> Headers:
        """A request's headers with ``auth`` as its Authorization (over ``headers``')."""
        merged = Headers(headers or {})
        merged["Authorization"] = authorization(auth)
        return merged

    def _decoding(self, headers: Mapping[str, str] | None,
                  decompress: bool | None) -> tuple[Mapping[str, str] | None, bool]:
        """A request's headers and whether its body is decoded, given its ``decompress``:
        overriding the client's means saying so in ``Accept-Encoding``."""
        decode = self.decompress if decompress is None else decompress
        if decode is not self.decompress:
            merged = Headers(headers or {})
            if "accept-encoding" not in merged:
                merged["Accept-Encoding"] = ACCEPT_ENCODING if decode else "identity"
            headers = merged
        return headers, decode

    def _new_pool(self, loop: asyncio.AbstractEventLoop, url: Url) -> HostPool:
        context = None
        if url.scheme == "https":
            context = self._ssl or default_ssl_context()
        return HostPool(loop, self.recorder, url.host, url.port, context, self._max_per_host)


class _Plain:
    """A (method, url)'s encoded request with what it was encoded for."""

    __slots__ = ("cookie", "data", "method", "target", "version")

    def __init__(self, method: str, target: Url) -> None:
        self.method = method
        self.target = target
        self.data = b""
        self.version = -1  # the client's DefaultHeaders.version the bytes were made with
        self.cookie: str | None = None


def _with_body(
    target: Url, params: Mapping[str, Any] | None, json: Any, data: bytes | str | None
) -> tuple[Url, bytes | None, str | None]:
    """``target`` with ``params`` in its query, the body and its Content-Type."""
    if params:
        query = urlencode(params, doseq=True)
        joined = f"{target.query}&{query}" if target.query else query
        base = target.url.split("#", 1)[0].split("?", 1)[0]
        target = target._replace(query=joined, url=f"{base}?{joined}")
    if json is not None:
        body = _json.dumps(json, separators=(",", ":")).encode()
        return target, body, "application/json"
    if data is not None:
        if isinstance(data, str):
            return target, data.encode(), "text/plain; charset=utf-8"
        return target, data, None
    return target, None, None


def _without_credentials(headers: Mapping[str, str] | None) -> Headers:
    """``headers`` with no Authorization, the client's default one removed too (None)."""
    stripped = Headers({k: v for k, v in (headers or {}).items() if k.lower() != "authorization"})
    dict.__setitem__(stripped, "authorization", None)
    return stripped
