"""HTTP/1.1 client side without I/O: request bytes out, response bytes in, a Response out.

:class:`HttpProtocol` owns one connection's parsing state. The asyncio driver
(:mod:`horde.transports.http`) calls ``send_request`` and writes what it returns, feeds
every chunk it reads to ``receive_data`` (which returns the :class:`Response` once its last
byte arrived) and tells ``receive_eof`` when the peer closes, which either completes a
close-delimited body or means the response was cut short. One request at a time: horde
never pipelines, so anything that arrives while no request is outstanding is an error.

Parsing is httptools (llhttp) driven by callbacks on this object; this module only adds
what llhttp cannot know: the request method (a HEAD response has no body whatever its
Content-Length says), the end of a body delimited by the connection closing, and the
body's content coding, undone as it arrives (:mod:`horde.protocols.content_coding`) when
the request asked for it. ``body_received`` counts the body as it came (compressed).
"""

from __future__ import annotations

import json as _json
from collections.abc import Iterable, Mapping
from contextlib import suppress
from typing import Any, Protocol

from httptools import HttpParserError, HttpParserUpgrade, HttpResponseParser

from horde.errors import HttpStatusError, PeerClosedError, ProtocolError, UsageError
from horde.protocols.content_coding import BodyDecoder, decoder_for

USER_AGENT = "horde/0.1"

# Receiving states.
_IDLE, _HEAD, _BODY, _DONE = range(4)

_dict_get = dict.get
_dict_set = dict.__setitem__


class Headers(dict[str, str]):
    """Case-insensitive header mapping; keys are stored lower-case.

    A plain dict underneath so lookups stay C-speed (the parser fills it with
    ``dict.__setitem__``). A field repeated in a response is joined with ", " (RFC 9110
    §5.3); ``getall`` keeps the separate values, which matters for Set-Cookie whose Expires
    dates contain commas.
    """

    _multi: dict[str, list[str]] | None = None  # repeated fields only; rare, so lazy

    def __init__(self, items: Mapping[str, str] | Iterable[tuple[str, str]] = ()) -> None:
        super().__init__()
        pairs = items.items() if isinstance(items, Mapping) else items
        for key, value in pairs:
            self.add(key, value)

    def add(self, key: str, value: str) -> None:
        """Append one field, keeping earlier values of the same name."""
        key = key.lower()
        old = dict.get(self, key)
        if old is None:
            dict.__setitem__(self, key, value)
            return
        if self._multi is None:
            self._multi = {}
        values = self._multi.setdefault(key, [old])
        values.append(value)
        dict.__setitem__(self, key, ", ".join(values))

    def getall(self, key: str) -> list[str]:
        """Every value of a field, in the order received."""
        key = key.lower()
        if self._multi is not None and key in self._multi:
            return list(self._multi[key])
        value = dict.get(self, key)
        return [] if value is None else [value]

    def __getitem__(self, key: str) -> str:
        return dict.__getitem__(self, key.lower())

    def __setitem__(self, key: str, value: str) -> None:
        key = key.lower()
        if self._multi is not None:
            self._multi.pop(key, None)
        dict.__setitem__(self, key, value)

    def __delitem__(self, key: str) -> None:
        key = key.lower()
        if self._multi is not None:
            self._multi.pop(key, None)
        dict.__delitem__(self, key)

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and dict.__contains__(self, key.lower())

    def get(self, key: str, default: Any = None) -> Any:  # type: ignore[override]
        return dict.get(self, key.lower(), default)


class Response:
    """One HTTP response. ``url``, ``elapsed_ms`` and ``ok`` are filled in by the client.

    Its headers are parsed when first read: most load-test requests never look at them,
    and a Python call per header field was a tenth of a request's CPU (docs/benchmarks.md,
    "Where an HTTP request's CPU goes"). Until then the response keeps its head as bytes.
    """

    __slots__ = ("_head", "_headers", "_lower", "body", "elapsed_ms", "ok", "status", "url")

    def __init__(self, status: int, headers: Headers | None, body: bytes,
                 head: bytes = b"", lower: bytes | None = None) -> None:
        self.status = status
        self._headers = headers
        self._head = head  # the raw head the headers are parsed from (when None)
        self._lower = head.lower() if lower is None else lower  # for _may_have
        self.body = body
        self.url = ""
        self.elapsed_ms = 0.0
        self.ok = status < 400

    @property
    def headers(self) -> Headers:
        """The response's header fields (case-insensitive; repeated ones joined, see
        :class:`Headers`), parsed from its head on first use."""
        headers = self._headers
        if headers is None:
            headers = self._headers = parse_head(self._head)
        return headers

    def _may_have(self, name: bytes) -> bool:
        """False only if no header field ``name`` (lower-case) is present; no parsing."""
        if self._headers is not None:
            return _dict_get(self._headers, name.decode("latin-1")) is not None
        return name in self._lower

    @property
    def text(self) -> str:
        """The body decoded with the Content-Type charset (UTF-8 if none), never raising."""
        charset = "utf-8"
        ctype = self.headers.get("content-type")
        if ctype and "charset=" in ctype:
            charset = ctype.split("charset=", 1)[1].split(";", 1)[0].strip().strip('"') or charset
        try:
            return self.body.decode(charset, "replace")
        except LookupError:
            return self.body.decode("utf-8", "replace")

    def json(self) -> Any:
        """The body parsed as JSON (raises ``ValueError`` if it is not JSON)."""
        return _json.loads(self.body)

    def raise_for_status(self) -> Response:
        """End the scenario's step on an error status (>= 400 and not in ``ok_status``):
        raises :class:`~horde.errors.HttpStatusError`, which is not counted a second time.
        Returns the response itself when it is fine, so calls can be chained."""
        if self.ok:
            return self
        raise HttpStatusError(f"HTTP {self.status} from {self.url}", status=self.status)

    def __repr__(self) -> str:
        return f"<Response {self.status} {self.url} {len(self.body)}B>"


def format_headers(headers: Mapping[str, str | None]) -> str:
    """``Name: value\\r\\n`` lines for user-supplied headers; refuses CR/LF injection. A
    ``None`` value sends nothing (it removes a client's default header of that name)."""
    lines = []
    for name, value in headers.items():
        if value is None:
            continue
        value = str(value)
        if "\r" in name or "\n" in name or ":" in name or "\r" in value or "\n" in value:
            raise UsageError(f"invalid HTTP header {name!r}: {value!r}")
        lines.append(f"{name}: {value}\r\n")
    return "".join(lines)


def encode_request(method: str, target: str, header_block: str, body: bytes | None) -> bytes:
    """The request as one bytes object, so the driver can send it with one write.

    ``header_block`` is preformatted ``Name: value\\r\\n`` lines (Host included); the
    caller adds Content-Length when it sends a body. UTF-8 with surrogateescape so header
    values decoded from a response (e.g. cookies) go back out byte for byte.
    """
    head = f"{method} {target} HTTP/1.1\r\n{header_block}\r\n".encode("utf-8", "surrogateescape")
    return head + body if body else head


class _HeadReader:
    """Collects the header fields of a response head for :func:`parse_head`."""

    __slots__ = ("done", "headers", "parser")

    def __init__(self) -> None:
        self.headers = Headers.__new__(Headers)
        self.done = False
        self.parser: HttpResponseParser | None = None

    def on_header(self, name: bytes, value: bytes) -> None:
        if not self.done:  # later calls are chunked trailers: ignored
            key = name.lower().decode("latin-1")
            text = value.decode("utf-8", "surrogateescape")
            headers = self.headers
            if _dict_get(headers, key) is None:
                _dict_set(headers, key, text)
            else:
                headers.add(key, text)

    def on_headers_complete(self) -> None:
        status = self.parser.get_status_code()  # type: ignore[union-attr]
        if 100 <= status < 200:  # an interim response's fields are not the final ones
            self.headers = Headers.__new__(Headers)
        else:
            self.done = True


def parse_head(head: bytes) -> Headers:
    """The header fields of the (last, final) response head in ``head``: raw bytes the
    connection's parser already accepted, parsed again by llhttp with a callback per
    field, so the fields are exactly what a parse as they arrived would have given."""
    reader = _HeadReader()
    parser = reader.parser = HttpResponseParser(reader)
    # An error can only come past the head (it was accepted once): not ours to judge.
    with suppress(HttpParserError, HttpParserUpgrade):
        parser.feed_data(head)
    reader.parser = None
    return reader.headers


class BodySink(Protocol):
    """Receives a streamed response as it is parsed; must not raise (it runs inside the
    parser's callbacks)."""

    def on_head(self, status: int, headers: Headers) -> None: ...

    def on_piece(self, data: bytes) -> None: ...


class HttpProtocol:
    """Response parsing state of one client connection (see the module docstring)."""

    __slots__ = (
        "_body",
        "_chunks",
        "_decode",
        "_decoder",
        "_head",
        "_head_from",
        "_head_request",
        "_headers",
        "_lower",
        "_parser",
        "_response",
        "_state",
        "body_received",
        "keep_alive",
        "sink",
    )

    def __init__(self) -> None:
        self._parser = HttpResponseParser(self)
        self._state = _IDLE
        self._head_request = False
        # The head is kept as bytes and parsed only when something needs its fields: the
        # chunks read while in _HEAD, where the current head starts in them (after any
        # interim 1xx heads), then the head itself and its fields once parsed.
        self._chunks: list[bytes] = []
        self._head_from = 0
        self._head = self._lower = b""
        self._headers: Headers | None = None
        self._body: list[bytes] = []
        self._response: Response | None = None
        self.keep_alive = True  # whether the connection may carry another request
        self._decode = False  # undo the current response's Content-Encoding
        self._decoder: BodyDecoder | None = None
        self.body_received = 0  # the current response's body bytes as they came
        # A streamed response's receiver: gets the head and each body piece as it arrives
        # instead of the body being collected (the Response's body is then empty).
        self.sink: BodySink | None = None

    # -- driver API --------------------------------------------------------------------

    @property
    def expecting(self) -> bool:
        """True while a request is outstanding and its response is not complete."""
        return self._state != _IDLE

    def send_request(
        self, method: str, target: str, header_block: str, body: bytes | None = None
    ) -> bytes:
        """Arm the parser for the reply to this request and return the request's bytes."""
        self.expect_response(method)
        return encode_request(method, target, header_block, body)

    def expect_response(self, method: str, decode: bool = False) -> None:
        """Arm the parser for the reply to a request the caller encoded itself; with
        ``decode`` its body is decoded as its Content-Encoding says (gzip, deflate)."""
        if self._state != _IDLE:
            raise RuntimeError("HttpProtocol: a request is already outstanding")
        if self._head_request:
            # The previous HEAD reply left llhttp expecting a body that never came.
            self._parser = HttpResponseParser(self)
        self._head_request = method == "HEAD"
        self._decode = decode
        self._decoder = None
        self.body_received = 0
        self._state = _HEAD
        self._chunks = []
        self._head_from = 0
        self._headers = None
        self._body = []

    def receive_data(self, data: bytes) -> Response | None:
        """Feed bytes read from the socket; return the Response once it is complete.

        Raises :class:`ProtocolError` for bytes that are not a valid HTTP/1.x response or
        that arrive while no request is outstanding.
        """
        state = self._state
        if state == _IDLE:
            raise ProtocolError("response data received while no request was outstanding")
        if state == _HEAD:
            self._chunks.append(data)
        try:
            self._parser.feed_data(data)
        except HttpParserUpgrade as exc:
            raise ProtocolError("unexpected protocol upgrade in response") from exc
        except HttpParserError as exc:
            if isinstance(exc.__context__, ProtocolError):  # raised in a callback: decoding
                raise exc.__context__ from None
            raise ProtocolError(f"malformed HTTP response: {exc}") from exc
        if self._state == _DONE:
            return self._take()
        return None

    def receive_eof(self) -> Response | None:
        """The peer closed. Returns the Response if that ended a close-delimited body,
        ``None`` if no request was outstanding; raises :class:`PeerClosedError` otherwise."""
        state = self._state
        if state == _IDLE:
            return None
        if state == _DONE:
            return self._take()
        if state == _BODY and not self._framed():
            self.keep_alive = False
            self._finish()
            return self._take()
        self._state = _IDLE
        if state == _HEAD:
            raise PeerClosedError("connection closed before the response headers were complete")
        raise PeerClosedError("connection closed before the response body was complete")

    # -- httptools callbacks -------------------------------------------------------------
    # No on_header: httptools then makes no call per field (see Response).

    def on_headers_complete(self) -> None:
        chunks = self._chunks
        data = chunks[0] if len(chunks) == 1 else b"".join(chunks)
        self._chunks = [data]
        start = self._head_from
        end = data.find(b"\r\n\r\n", start)  # llhttp insists on CRLF: the head's end
        end = len(data) if end < 0 else end + 4
        status = self._parser.get_status_code()
        if 100 <= status < 200:
            self._head_from = end  # interim response (100 Continue): the next head follows
            return
        self._head = data[start:end]
        self._lower = self._head.lower()  # searched, not parsed: see Response
        self._chunks = []
        self._state = _BODY
        if self._decode and b"content-encoding" in self._lower:
            self._decoder = decoder_for(_dict_get(self._fields(), "content-encoding"))
        if self.sink is not None:
            self.sink.on_head(status, self._fields())
        if self._head_request:
            self.keep_alive = _keeps_alive(self._parser, self._fields())
            self._finish()

    def on_body(self, body: bytes) -> None:
        if self._state == _BODY:
            self.body_received += len(body)
            if self._decoder is not None:
                body = self._decoder.feed(body)
                if not body:
                    return
            sink = self.sink
            if sink is None:
                self._body.append(body)
            else:
                sink.on_piece(body)

    def on_message_complete(self) -> None:
        if self._state == _BODY:  # (in _HEAD: the end of an interim 1xx response)
            self.keep_alive = self._parser.should_keep_alive()
            self._finish()

    # -- internals -------------------------------------------------------------------------

    def _fields(self) -> Headers:
        """The current response's header fields, parsed from its head once."""
        headers = self._headers
        if headers is None:
            headers = self._headers = parse_head(self._head)
        return headers

    def _framed(self) -> bool:
        """Whether the body has its own end (a length or chunking), not the close."""
        headers = self._fields()
        te = _dict_get(headers, "transfer-encoding")
        if te is None:
            return _dict_get(headers, "content-length") is not None
        return te.rstrip().lower().endswith("chunked")

    def _finish(self) -> None:
        decoder, self._decoder = self._decoder, None
        if decoder is not None and not self._head_request:
            tail = decoder.finish()
            if tail:
                if self.sink is None:
                    self._body.append(tail)
                else:
                    self.sink.on_piece(tail)
        body = self._body
        data = body[0] if len(body) == 1 else b"".join(body)
        self._response = Response(self._parser.get_status_code(), self._headers, data,
                                  self._head, self._lower)
        self._body = []
        self._state = _DONE

    def _take(self) -> Response:
        response = self._response
        assert response is not None
        self._response = None
        self._state = _IDLE
        return response


def _keeps_alive(parser: HttpResponseParser, headers: Headers) -> bool:
    """Keep-alive decided from version and Connection alone (llhttp would wait for a body)."""
    connection = (headers.get("connection") or "").lower()
    if parser.get_http_version() == "1.0":
        return "keep-alive" in connection
    return "close" not in connection
