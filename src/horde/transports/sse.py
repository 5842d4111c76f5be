"""The Server-Sent Events client: an EventSource that records what it does.

One request with ``Accept: text/event-stream`` that stays open, on a connection borrowed
from the user's own HTTP client (as a browser's EventSource shares its HTTP connections):
a GET as EventSource sends, or any method with a body (an LLM API's ``POST`` with the
prompt, as ``fetch``-based SSE clients send). The
body goes piece by piece (:class:`~horde.transports.http_stream.BodyStream`) to the
sans-I/O :class:`~horde.protocols.sse.SseProtocol`; events are stamped with their arrival
time in ``data_received`` and queued for :meth:`SseConnection.next`, ``async for`` and
:meth:`SseConnection.stream`.

When the server ends the stream (or the connection drops), the client waits the server's
``retry:`` (else ``retry`` s) and asks again with ``Last-Event-ID`` (the same request,
body included), as the WHATWG spec says, counting ``sse_reconnect`` and
``connections.reconnected``; a 204 stops it for good and a non-200 status or another
content type fails it. A task exists only while waiting to reconnect.

Samples, under ``name``: ``sse_connect`` (request → response head, each (re)connect), the
``sse_event_in`` counter, and for :meth:`SseConnection.stream` the ``stream_*`` metrics.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Callable, Mapping
from time import perf_counter_ns
from typing import TYPE_CHECKING, Any

from horde.errors import (
    ConfigError,
    OperationTimeoutError,
    PeerClosedError,
    ProtocolError,
    TargetError,
)
from horde.metrics.names import SSE_CONNECT, SSE_EVENT_IN, SSE_RECONNECT
from horde.protocols.http import Headers
from horde.protocols.sse import SseEvent, SseProtocol
from horde.streams.meter import (
    CLOSED,
    COMPLETED,
    DEFAULT_STALL_AFTER,
    TIMEOUT,
    StreamMeter,
    StreamResult,
)
from horde.transports.http_stream import BodyStream, request_body

if TYPE_CHECKING:
    from horde.transports.http import HttpClient

__all__ = ["SseConnection"]

DEFAULT_RETRY = 3.0  # s before reconnecting until the server sends ``retry:`` (browsers: ~3 s)


class SseConnection:
    """A Server-Sent Events stream with reconnection: what ``await user.sse(url, ...)``
    returns; ``close`` ends it.

    Each (re)connect is an operation (``sse_connect``); events are counted
    (``sse_event_in``); a GET reconnects with ``Last-Event-ID`` when the server ends the
    stream, as a browser's EventSource does (``sse_reconnect``)::

        feed = await user.sse("/events", name="feed")
        event = await feed.next(timeout=5)           # or: async for event in feed
        answer = await feed.stream(name="answer", end=lambda ev: ev.event == "done")
    """

    def __init__(self, client: HttpClient, url: str, *, headers: Mapping[str, str] | None,
                 reconnect: bool, max_reconnects: int | None, retry: float, name: str,
                 timeout: float, method: str = "GET", body: bytes | None = None,
                 ctype: str | None = None) -> None:
        """An unopened client; only :meth:`connect` sends anything."""
        self._client = client
        self._recorder = client.recorder
        self._url = url
        self._method = method
        self._body, self._ctype = body, ctype
        self._headers = dict(headers or {})
        self._reconnect = reconnect
        self._max_reconnects = max_reconnects
        self._retry = retry
        self._timeout = timeout
        self._proto = SseProtocol()
        self._events: deque[tuple[int, SseEvent]] = deque()
        self._wake: asyncio.Future[None] | None = None
        self._stream: BodyStream | None = None
        self._head: asyncio.Future[int] | None = None
        self._task: asyncio.Task[None] | None = None
        self._over: TargetError | None = None  # set once no more events can come
        self._live = False  # the current response's head said 200: its body is events
        self._head_ns = 0
        self.name = name
        self.reconnects = 0
        self.status: int | None = None

    @property
    def last_event_id(self) -> str:
        """The id the next reconnect sends as ``Last-Event-ID`` (``""``: none yet)."""
        return self._proto.last_event_id

    @property
    def closed(self) -> bool:
        """Whether the subscription is over: closed, given up, or ended by the server."""
        return self._over is not None

    # -- opening ---------------------------------------------------------------------------

    @classmethod
    async def connect(cls, client: HttpClient, url: str, *,
                      headers: Mapping[str, str] | None = None, reconnect: bool | None = None,
                      max_reconnects: int | None = None, retry: float = DEFAULT_RETRY,
                      name: str | None = None, timeout: float | None = None,
                      method: str = "GET", json: Any = None,
                      data: bytes | str | None = None) -> SseConnection:
        """Send the request and wait (``timeout`` s) for a 200 ``text/event-stream`` head.
        Failing that, the error is recorded and raised.

        ``method`` with ``json`` or ``data`` as the body asks for events with something
        other than a GET (an LLM API's ``POST``). ``reconnect`` defaults to True for a GET
        (a feed) and False otherwise: reconnecting would send the request again.
        """
        method = method.upper()
        timeout = client.timeout if timeout is None else timeout
        body, ctype = request_body(json, data)
        if reconnect is None:
            reconnect = method == "GET"
        self = cls(client, url, headers=headers, reconnect=reconnect,
                   max_reconnects=max_reconnects, retry=retry, name=name or url,
                   timeout=timeout, method=method, body=body, ctype=ctype)
        await self._open()
        return self

    async def _open(self) -> None:
        """One request; returns once its head says the stream is on. Raises TargetError."""
        self._proto.reset()
        self._live = False
        headers = Headers({"Accept": "text/event-stream", "Cache-Control": "no-cache"})
        for name, value in self._headers.items():  # the scenario's win, whatever their case
            headers[name] = value
        if self._proto.last_event_id:
            headers["Last-Event-ID"] = self._proto.last_event_id
        loop = asyncio.get_running_loop()
        head = self._head = loop.create_future()
        stream = self._stream = BodyStream(self._on_head, self._on_piece)
        recorder = self._recorder
        op = recorder.begin(SSE_CONNECT, self.name)
        try:
            async with asyncio.timeout(self._timeout):
                await stream.open(self._client, self._method, self._url,
                                  timeout=self._timeout, headers=headers, body=self._body,
                                  ctype=self._ctype)
                stream.ended.add_done_callback(self._on_end)  # type: ignore[union-attr]
                status = await head
        except TimeoutError:
            self._live = False
            stream.release(recorder)
            exc = OperationTimeoutError(f"no SSE response head within {self._timeout:g} s",
                                   detail=self.name)
            recorder.fail(op, exc)
            raise exc from None
        except TargetError as exc:
            self._live = False
            stream.release(recorder)
            recorder.fail(op, exc)
            raise exc from None
        except BaseException as exc:
            recorder.end(op, exc)
            raise
        self.status = status
        if status != 200 and status != 204:
            self._live = False
            stream.release(recorder)
            category = f"http_{status}"
            recorder.fail_answered(op, category, self._head_ns,
                                   f"{self._method} {self._url} -> {status}")
            raise _recorded(ProtocolError(f"SSE answered {status}", detail=category))
        recorder.succeed(op, self._head_ns)  # the subscription was answered
        if status == 204:  # the server says: no more events, do not reconnect
            self._live = False
            stream.release(recorder)
            raise _recorded(PeerClosedError("the SSE server answered 204: no more events"))
        ctype = (stream.head.headers.get("content-type") or "").split(";")[0].strip()  # type: ignore[union-attr]
        if ctype.lower() != "text/event-stream":
            self._live = False
            stream.release(self._recorder)
            raise self._record(ProtocolError(f"SSE answered Content-Type {ctype!r}",
                                             detail="sse_content_type"))

    def _record(self, exc: TargetError) -> TargetError:
        self._recorder.target_error(exc)
        return exc

    # -- callbacks (inside data_received) -------------------------------------------------

    def _on_head(self, status: int, headers: Headers) -> None:
        self._head_ns = perf_counter_ns()
        self._live = status == 200
        head = self._head
        if head is not None and not head.done():
            head.set_result(status)

    def _on_piece(self, data: bytes) -> None:
        if not self._live:
            return  # an error page, not events
        events = self._proto.receive_data(data)
        if not events:
            return
        now = perf_counter_ns()
        self._recorder.count(SSE_EVENT_IN, self.name, len(events))
        self._events.extend((now, event) for event in events)
        self._wake_up()

    def _on_end(self, ended: asyncio.Future[Any]) -> None:
        """The response ended: clean end of body or a lost connection. Reconnect, maybe."""
        if not ended.cancelled():
            ended.exception()  # retrieved: a drop is handled here, not raised anywhere
        if self._over is not None or not self._live:
            return  # closed by us, or a failed (re)connect that _open deals with
        if self._stream is not None:
            self._stream.release(self._recorder)
        limit = self._max_reconnects
        if not self._reconnect or (limit is not None and self.reconnects >= limit):
            self._end(PeerClosedError("the SSE server ended the stream"))
            return
        self._task = asyncio.get_running_loop().create_task(self._reconnect_later())

    async def _reconnect_later(self) -> None:
        """Wait ``retry``, ask again with Last-Event-ID; repeat while allowed."""
        limit = self._max_reconnects
        while self._over is None:
            retry_ms = self._proto.retry_ms
            await asyncio.sleep(self._retry if retry_ms is None else retry_ms / 1000.0)
            self.reconnects += 1
            self.status = None
            try:
                await self._open()
            except TargetError as exc:
                if self.status == 204 or (limit is not None and self.reconnects >= limit):
                    self._end(_recorded(exc))
                    return
                continue
            self._recorder.reconnected()
            self._recorder.count(SSE_RECONNECT, self.name)
            return

    def _end(self, exc: TargetError) -> None:
        """No more events will come: waiters fail once the queue is empty."""
        if self._over is None:
            self._over = _recorded(exc)
            self._wake_up()

    def _wake_up(self) -> None:
        wake, self._wake = self._wake, None
        if wake is not None and not wake.done():
            wake.set_result(None)

    # -- consuming -------------------------------------------------------------------------

    async def _next_timed(self, deadline_ns: int) -> tuple[int, SseEvent]:
        """The next (arrival ns, event); OperationTimeoutError (not recorded) at the deadline,
        the end's TargetError once the stream is over and nothing is queued."""
        while True:
            if self._events:
                return self._events.popleft()
            if self._over is not None:
                raise self._over
            left = (deadline_ns - perf_counter_ns()) / 1e9
            if left <= 0:
                raise OperationTimeoutError("no SSE event within the timeout", detail=self.name)
            if self._wake is None:
                self._wake = asyncio.get_running_loop().create_future()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(left):
                    await asyncio.shield(self._wake)

    async def next(self, timeout: float | None = None) -> SseEvent:
        """The next event, queued ones first. A timeout is recorded and raised; once the
        stream is over for good, its PeerClosedError is raised."""
        deadline = perf_counter_ns() + int((self._timeout if timeout is None else timeout) * 1e9)
        try:
            return (await self._next_timed(deadline))[1]
        except OperationTimeoutError as exc:
            raise self._record(exc) from None

    def __aiter__(self) -> SseConnection:
        return self

    async def __anext__(self) -> SseEvent:
        try:
            return await self.next()
        except PeerClosedError:
            raise StopAsyncIteration from None

    async def stream(self, *, until: Callable[[SseEvent], bool] | None = None,
                     end: Callable[[SseEvent], bool] | None = None, name: str | None = None,
                     stall_after: float = DEFAULT_STALL_AFTER,
                     timeout: float | None = None,
                     first: Callable[[SseEvent], bool] | None = None,
                     started_at: float | None = None) -> StreamResult:
        """Consume events as one timed stream (see :mod:`horde.streams`) until the first one
        ``until`` accepts (included), or the first one ``end`` accepts (a closing event such
        as ``data: [DONE]``: neither a chunk nor a gap); ``first`` picks the event that
        counts as the first (``stream_first``, ``rate``). Ending early does not raise:
        ``reason`` is ``"timeout"`` (recorded) or ``"closed"`` (the stream is over and no
        reconnect is left).

        It starts now, or at ``started_at`` — a ``time.perf_counter()`` reading taken
        before the request that asked for this answer, for an API that takes the question
        in one request and streams the answer on a feed (submit, then subscribe): the time
        to the first event is then the user's. Events already queued count as arriving
        when they arrived (or at the start, if earlier). ``timeout`` counts from the call.
        """
        if until is None and end is None:
            raise ConfigError("a stream needs until= (its last event) or end= (its end event)")
        meter = StreamMeter(self._recorder, name or self.name, stall_after, first, started_at)
        wait = self._timeout if timeout is None else timeout
        deadline = perf_counter_ns() + int(wait * 1e9)
        try:
            while True:
                try:
                    at, event = await self._next_timed(deadline)
                except OperationTimeoutError:
                    exc = self._record(OperationTimeoutError(meter.timeout_message(),
                                                        detail=meter.name))
                    return meter.finish(TIMEOUT, error=exc)
                except TargetError as exc:
                    return meter.finish(CLOSED, error=exc)
                if end is not None and end(event):
                    meter.end_at(at)
                    return meter.finish(COMPLETED)
                meter.add_chunk(event, at)
                if until is not None and until(event):
                    return meter.finish(COMPLETED)
        except BaseException as exc:
            meter.interrupt(exc)
            raise

    # -- closing ---------------------------------------------------------------------------

    async def close(self) -> None:
        """Stop for good: the open response is dropped (a clean close), no reconnect."""
        if self._over is None:
            self._end(_recorded(PeerClosedError("the SSE client was closed")))
        task, self._task = self._task, None
        if task is not None and task is not asyncio.current_task():
            task.cancel()
            with contextlib.suppress(BaseException):
                await task
        if self._stream is not None:
            self._stream.release(self._recorder)


def _recorded(exc: TargetError) -> TargetError:
    """An end that is not an error to count again (our close, a 204, one already counted)."""
    exc.recorded = True
    return exc
