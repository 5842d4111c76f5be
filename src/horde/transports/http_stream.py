"""Streamed HTTP responses on horde's own HTTP client: body pieces as they arrive.

The normal request path collects the body and resolves one future at the last byte. A
stream borrows a connection from the same keep-alive pool, installs a
:class:`~horde.protocols.http.BodySink` on it (one ``is None`` check per body callback on
the normal path, nothing else), and gets the head and every body piece from inside
``data_received``, so each chunk is timed when it arrived. A piece is what llhttp hands
over: one HTTP chunk of a chunked body, or part of one when the network split it — decoded,
when the body is compressed (a piece zlib still buffers is no piece yet).

:class:`BodyStream` is the shared part (open, pieces, end, release); ``HttpClient.stream``
(:func:`stream_request`) and the SSE client (:mod:`horde.transports.sse`) build on it.
"""

from __future__ import annotations

import asyncio
import json as _json
from collections.abc import Callable, Container, Mapping
from time import perf_counter_ns
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import urlencode

from horde.errors import OperationTimeoutError, PeerClosedError, TargetError
from horde.metrics.names import SSE_EVENT_IN
from horde.metrics.recorder import Recorder
from horde.protocols.http import Headers, Response
from horde.protocols.request_urls import Url, UrlCache
from horde.protocols.sse import SseProtocol
from horde.streams.meter import COMPLETED, FAILED, StreamMeter, StreamResult, reason_for

if TYPE_CHECKING:
    from horde.transports.http_connection import HttpConnection
    from horde.transports.http_pool import HostPool

__all__ = ["BodyStream", "request_body", "stream_request"]


class Client(Protocol):
    """What a stream borrows from the HTTP client it belongs to
    (:class:`~horde.transports.http.HttpClient`): its recorder and timeout, and — inside
    this package only — its URL cache, pools and request encoding, so a streamed request
    is sent exactly as :meth:`~horde.transports.http.HttpClient.request` sends one."""

    recorder: Recorder
    timeout: float
    _urls: UrlCache
    _pools: dict[tuple[str, str, int], HostPool]

    def _decoding(self, headers: Mapping[str, str] | None,
                  decompress: bool | None) -> tuple[Mapping[str, str] | None, bool]: ...

    def _encode(self, method: str, url: Url, headers: Mapping[str, str] | None,
                body: bytes | None, ctype: str | None) -> bytes: ...

    def _new_pool(self, loop: asyncio.AbstractEventLoop, url: Url) -> HostPool: ...


class BodyStream:
    """One request whose response arrives through ``on_head``/``on_piece`` callbacks.

    ``ended`` resolves with the (body-less) Response when the body is complete, or fails
    with a :class:`TargetError` when the connection is lost first. :meth:`release` gives the
    connection back to the pool when it can carry another request, else closes it.
    """

    __slots__ = ("_on_head", "_on_piece", "body_bytes", "conn", "ended", "head", "pool")

    def __init__(self, on_head: Callable[[int, Headers], None] | None,
                 on_piece: Callable[[bytes], None]) -> None:
        self._on_head = on_head
        self._on_piece = on_piece
        self.conn: HttpConnection | None = None
        self.pool: HostPool | None = None
        self.ended: asyncio.Future[Response] | None = None
        self.head: Response | None = None  # status and headers, once they arrived
        self.body_bytes = 0  # body pieces received (decoded)

    async def open(self, client: Client, method: str, url: str, *, timeout: float,
                   headers: Mapping[str, str] | None = None, body: bytes | None = None,
                   ctype: str | None = None, fresh: bool = False,
                   decompress: bool | None = None) -> None:
        """Get a pooled connection (within ``timeout``) and write the request on it;
        ``decompress`` as in :meth:`HttpClient.request`."""
        target = client._urls.resolve(url)
        headers, decode = client._decoding(headers, decompress)
        data_out = client._encode(method, target, headers, body, ctype)
        loop = asyncio.get_running_loop()
        pool = client._pools.get(target.key)
        if pool is None:
            pool = client._pools[target.key] = client._new_pool(loop, target)
        conn = None if fresh else pool.take_idle()
        if conn is None:
            conn = await pool.acquire(loop.time() + timeout, fresh)
        self.pool, self.conn = pool, conn
        conn.stream_to(self)
        self.ended = conn.send(data_out, method, decode)
        client.recorder.add_bytes(len(body) if body else 0, 0, client.recorder.http)

    # -- BodySink: called inside data_received ---------------------------------------------

    def on_head(self, status: int, headers: Headers) -> None:
        self.head = Response(status, headers, b"")
        if self._on_head is not None:
            self._on_head(status, headers)

    def on_piece(self, data: bytes) -> None:
        self.body_bytes += len(data)
        self._on_piece(data)

    # -- the end ---------------------------------------------------------------------------

    def release(self, recorder: Any) -> None:
        """Done with it: back to the pool if the body completed cleanly, else closed."""
        conn, self.conn = self.conn, None
        if conn is None:
            return
        conn.stream_to(None)
        carried = conn.body_received  # compressed, if it was
        recorder.add_bytes(0, carried, recorder.http)
        if self.body_bytes != carried:
            recorder.add_decoded(recorder.http, 0, self.body_bytes - carried)
        self.body_bytes = 0
        ended = self.ended
        if ended is not None and ended.done() and not ended.cancelled() \
                and ended.exception() is None:
            self.pool.release(conn)  # type: ignore[union-attr]
        else:
            conn.close()


async def stream_request(
    client: Client, method: str, url: str, *, until: Callable[[bytes], bool] | None,
    name: str | None, stall_after: float, timeout: float | None,
    params: Mapping[str, Any] | None, headers: Mapping[str, str] | None, json: Any,
    data: bytes | str | None, ok_status: Container[int] | None,
    decompress: bool | None = None, sse: bool = False, end: Callable[[Any], bool] | None = None,
    first: Callable[[Any], bool] | None = None, started_at: float | None = None,
) -> StreamResult:
    """See :meth:`HttpClient.stream`."""
    method = method.upper()
    if sse:
        headers = _accepting_events(headers)
    if params:
        url = f"{url}{'&' if '?' in url else '?'}{urlencode(params, doseq=True)}"
    body, ctype = request_body(json, data)
    label = name or client._urls.resolve(url).path
    timeout = client.timeout if timeout is None else timeout
    rec = client.recorder
    loop = asyncio.get_running_loop()
    meter = StreamMeter(rec, label, stall_after, first, started_at)
    for attempt in range(2):  # a stale keep-alive gets one retry, as in request()
        done: asyncio.Future[bool] = loop.create_future()
        answer = _Answer(meter, until, end, done, ok_status, f"{method} {url}",
                         SseProtocol() if sse else None)
        stream = BodyStream(answer.on_head, answer.on_piece)
        timer = loop.call_later(timeout, _expire, done, meter)
        sent = False
        try:
            await stream.open(client, method, url, timeout=timeout, headers=headers,
                              body=body, ctype=ctype, fresh=attempt > 0,
                              decompress=decompress)
            sent = True
            stream.ended.add_done_callback(lambda f, d=done: _settle(d, f))  # type: ignore[union-attr]
            await done
        except PeerClosedError as exc:
            conn = stream.conn
            if attempt == 0 and conn is not None and conn.reused and conn.received == 0:
                stream.release(rec)
                meter.restart()
                continue
            return _ended(meter, stream, answer, reason_for(exc, sent=sent), exc)
        except TargetError as exc:  # a timeout, a refused connect, garbage
            return _ended(meter, stream, answer, reason_for(exc, sent=sent), exc)
        except BaseException as exc:
            meter.interrupt(exc)
            raise
        finally:
            timer.cancel()
            stream.release(rec)
            if done.done() and not done.cancelled():
                done.exception()  # retrieved: a timeout that struck while connecting
        return _ended(meter, stream, answer, FAILED if answer.failed else COMPLETED, None)
    raise AssertionError("unreachable")  # pragma: no cover


class _Answer:
    """The response as it arrives, inside ``data_received``: the head decides whether the
    body is the stream asked for (chunks, timed) or an error page (kept as the body)."""

    __slots__ = ("_done", "_end", "_events", "_example", "_meter", "_ok_status", "_until",
                 "error_body", "failed")

    def __init__(self, meter: StreamMeter, until: Callable[[Any], bool] | None,
                 end: Callable[[Any], bool] | None, done: asyncio.Future[bool],
                 ok_status: Container[int] | None, example: str,
                 events: SseProtocol | None) -> None:
        self._meter = meter
        self._until = until
        self._end = end
        self._done = done
        self._ok_status = ok_status
        self._example = example
        self._events = events  # parses the body into SSE events (sse=True), else None
        self.failed = False
        self.error_body = bytearray()

    def ok_listed(self, status: int) -> bool:
        return self._ok_status is not None and status in self._ok_status

    def on_head(self, status: int, headers: Headers) -> None:
        if status >= 400 and not self.ok_listed(status):
            self.failed = True
            self._meter.fail_status(f"http_{status}", f"{self._example} -> {status}")
        elif self._events is not None and status < 300:
            ctype = (headers.get("content-type") or "").split(";")[0].strip().lower()
            if ctype != "text/event-stream":  # e.g. one JSON answer: not the stream asked for
                self.failed = True
                self._meter.fail_status("sse_content_type",
                                        f"{self._example} -> {status} {ctype or 'no type'}")

    def on_piece(self, data: bytes) -> None:
        done = self._done
        if done.done():  # until() already ended the stream: later pieces are not ours
            return
        if self.failed:
            self.error_body += data
            return
        if self._events is None:
            self._take(data, 0)
            return
        events = self._events.receive_data(data)
        if events:
            now = perf_counter_ns()
            self._meter.count(SSE_EVENT_IN, len(events))  # messages, as a feed's events are
            for event in events:
                if self._take(event, now):
                    return

    def _take(self, chunk: Any, at_ns: int) -> bool:
        """One chunk (a body piece or an event); True once it ended the stream."""
        done = self._done
        try:
            if self._end is not None and self._end(chunk):
                self._meter.end_at(at_ns)
                done.set_result(True)
                return True
            self._meter.add_chunk(chunk, at_ns)
            if self._until is not None and self._until(chunk):
                done.set_result(True)
                return True
        except Exception as exc:  # the scenario's predicate is broken: tell its caller
            done.set_exception(exc)
            return True
        return False


def _ended(meter: StreamMeter, stream: BodyStream, answer: _Answer, reason: str,
           error: TargetError | None) -> StreamResult:
    """Finish the stream; an error status's page becomes ``response.body``."""
    head = stream.head
    if head is not None:
        if answer.failed:
            head.ok = False
            head.body = bytes(answer.error_body)
        elif answer.ok_listed(head.status):
            head.ok = True
    return meter.finish(reason, head, error)


def _settle(done: asyncio.Future[bool], ended: asyncio.Future[Response]) -> None:
    """The body ended (or the connection did): that ends the stream, unless until() did."""
    if ended.cancelled():
        return
    exc = ended.exception()
    if not done.done():
        if exc is None:
            done.set_result(False)
        else:
            done.set_exception(exc)


def _expire(done: asyncio.Future[bool], meter: StreamMeter) -> None:
    if not done.done():
        done.set_exception(OperationTimeoutError(meter.timeout_message(), detail=meter.name))


def _accepting_events(headers: Mapping[str, str] | None) -> Mapping[str, str]:
    """The request's headers, saying ``Accept: text/event-stream`` unless they say else."""
    merged = Headers(headers or {})
    if "accept" not in merged:
        merged["Accept"] = "text/event-stream"
    return merged


def request_body(json: Any, data: bytes | str | None) -> tuple[bytes | None, str | None]:
    """A request's body and Content-Type: ``json`` (not None) as compact JSON, else
    ``data`` (text as UTF-8), else none."""
    if json is not None:
        return _json.dumps(json, separators=(",", ":")).encode(), "application/json"
    if data is not None:
        if isinstance(data, str):
            return data.encode(), "text/plain; charset=utf-8"
        return data, None
    return None, None
