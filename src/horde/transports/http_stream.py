"""Streamed HTTP responses on horde's own HTTP client: body pieces as they arrive.

The normal request path collects the body and resolves one future at the last byte. A
stream borrows a connection from the same keep-alive pool, installs a
:class:`~horde.protocols.http.BodySink` on it (one ``is None`` check per body callback on
the normal path, nothing else), and gets the head and every body piece from inside
``data_received``, so each chunk is timed when it arrived. A piece is what llhttp hands
over: one HTTP chunk of a chunked body, or part of one when the network split it.

:class:`BodyStream` is the shared part (open, pieces, end, release); ``HttpClient.stream``
(:func:`stream_request`) and the SSE client (:mod:`horde.transports.sse`) build on it.
"""

from __future__ import annotations

import asyncio
import json as _json
from collections.abc import Callable, Container, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from horde.errors import ClosedByPeer, OperationTimeout, TargetError
from horde.protocols.http import Headers, Response
from horde.streams.meter import CLOSED, COMPLETED, TIMEOUT, StreamMeter, StreamResult

if TYPE_CHECKING:
    from horde.transports.http import HttpClient
    from horde.transports.http_connection import HttpConnection
    from horde.transports.http_pool import HostPool

__all__ = ["BodyStream", "stream_request"]


class BodyStream:
    """One request whose response arrives through ``on_head``/``on_piece`` callbacks.

    ``ended`` resolves with the (body-less) Response when the body is complete, or fails
    with a :class:`TargetError` when the connection is lost first. :meth:`release` gives the
    connection back to the pool when it can carry another request, else closes it.
    """

    __slots__ = ("_on_head", "_on_piece", "conn", "ended", "head", "pool")

    def __init__(self, on_head: Callable[[int, Headers], None] | None,
                 on_piece: Callable[[bytes], None]) -> None:
        self._on_head = on_head
        self._on_piece = on_piece
        self.conn: HttpConnection | None = None
        self.pool: HostPool | None = None
        self.ended: asyncio.Future[Response] | None = None
        self.head: Response | None = None  # status and headers, once they arrived

    async def open(self, client: HttpClient, method: str, url: str, *, timeout: float,
                   headers: Mapping[str, str] | None = None, body: bytes | None = None,
                   ctype: str | None = None, fresh: bool = False) -> None:
        """Get a pooled connection (within ``timeout``) and write the request on it."""
        target = client._urls.resolve(url)
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
        self.ended = conn.send(data_out, method)
        client.recorder.add_bytes(sent=len(data_out))

    # -- BodySink: called inside data_received ---------------------------------------------

    def on_head(self, status: int, headers: Headers) -> None:
        self.head = Response(status, headers, b"")
        if self._on_head is not None:
            self._on_head(status, headers)

    def on_piece(self, data: bytes) -> None:
        self._on_piece(data)

    # -- the end ---------------------------------------------------------------------------

    def release(self, recorder: Any) -> None:
        """Done with it: back to the pool if the body completed cleanly, else closed."""
        conn, self.conn = self.conn, None
        if conn is None:
            return
        conn.stream_to(None)
        recorder.add_bytes(received=conn.received)
        ended = self.ended
        if ended is not None and ended.done() and not ended.cancelled() \
                and ended.exception() is None:
            self.pool.release(conn)  # type: ignore[union-attr]
        else:
            conn.close()


async def stream_request(
    client: HttpClient, method: str, url: str, *, until: Callable[[bytes], bool] | None,
    name: str | None, stall_after: float, timeout: float | None,
    params: Mapping[str, Any] | None, headers: Mapping[str, str] | None, json: Any,
    data: bytes | str | None, ok_status: Container[int] | None,
) -> StreamResult:
    """See :meth:`HttpClient.stream`."""
    method = method.upper()
    if params:
        url = f"{url}{'&' if '?' in url else '?'}{urlencode(params, doseq=True)}"
    body, ctype = _body(json, data)
    label = name or client._urls.resolve(url).path
    timeout = client.timeout if timeout is None else timeout
    rec = client.recorder
    loop = asyncio.get_running_loop()
    rec.request_started()
    try:
        for attempt in range(2):  # a stale keep-alive gets one retry, as in request()
            meter = StreamMeter(rec, label, stall_after)
            done: asyncio.Future[bool] = loop.create_future()
            stream = BodyStream(None, _piece_handler(meter, until, done))
            timer = loop.call_later(timeout, _expire, done, timeout, label)
            try:
                await stream.open(client, method, url, timeout=timeout, headers=headers,
                                  body=body, ctype=ctype, fresh=attempt > 0)
                stream.ended.add_done_callback(lambda f, d=done: _settle(d, f))  # type: ignore[union-attr]
                await done
                reason = COMPLETED
            except OperationTimeout as exc:
                rec.target_error(exc)
                reason = TIMEOUT
            except ClosedByPeer as exc:
                conn = stream.conn
                if (attempt == 0 and conn is not None and conn.reused and conn.received == 0):
                    stream.release(rec)
                    continue
                rec.target_error(exc)
                reason = CLOSED
            except TargetError as exc:
                rec.target_error(exc)
                reason = CLOSED
            finally:
                timer.cancel()
                stream.release(rec)
                if done.done() and not done.cancelled():
                    done.exception()  # retrieved: a timeout that struck while connecting
            return _finish(client, meter, reason, stream.head, ok_status)
        raise AssertionError("unreachable")  # pragma: no cover
    finally:
        rec.request_finished()


def _piece_handler(meter: StreamMeter, until: Callable[[bytes], bool] | None,
                   done: asyncio.Future[bool]) -> Callable[[bytes], None]:
    def on_piece(data: bytes) -> None:
        if done.done():  # until() already ended the stream: later pieces are not ours
            return
        meter.add_chunk(data)
        if until is not None:
            try:
                if until(data):
                    done.set_result(True)
            except Exception as exc:  # the scenario's predicate is broken: tell its caller
                done.set_exception(exc)

    return on_piece


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


def _expire(done: asyncio.Future[bool], timeout: float, label: str) -> None:
    if not done.done():
        done.set_exception(OperationTimeout(f"stream {label!r} not over within {timeout:g} s",
                                            detail=label))


def _body(json: Any, data: bytes | str | None) -> tuple[bytes | None, str | None]:
    if json is not None:
        return _json.dumps(json, separators=(",", ":")).encode(), "application/json"
    if data is not None:
        if isinstance(data, str):
            return data.encode(), "text/plain; charset=utf-8"
        return data, None
    return None, None


def _finish(client: HttpClient, meter: StreamMeter, reason: str, head: Response | None,
            ok_status: Container[int] | None) -> StreamResult:
    if head is not None:
        status = head.status
        if status >= 400 and (ok_status is None or status not in ok_status):
            head.ok = False
            client.recorder.error(f"http_{status}")
        elif ok_status is not None and status in ok_status:
            head.ok = True
    return meter.finish(reason, head)
