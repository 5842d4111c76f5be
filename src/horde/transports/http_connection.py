"""One keep-alive HTTP connection: the asyncio Protocol driving an HttpProtocol.

The thin I/O half of :class:`~horde.protocols.http.HttpProtocol`: ``send`` writes a request
with one ``transport.write`` and returns one future, ``data_received`` feeds the parser and
resolves it. No task per request: the caller's own task awaits the future. Timestamps are
taken in the callbacks themselves (first byte, last byte), so the event loop's scheduling
delay before the caller resumes is not counted as server time.

A connection records its own end (``connection_closed``) exactly once, and tells its
:class:`~horde.transports.http_pool.HostPool` so the slot is freed.
"""

from __future__ import annotations

import asyncio
from time import perf_counter_ns
from typing import Protocol

from horde.errors import OperationTimeoutError, PeerClosedError, ProtocolError
from horde.metrics.recorder import Recorder
from horde.protocols.http import BodySink, HttpProtocol, Response
from horde.transports.wire import tcp_bytes


class Slots(Protocol):
    """What a connection needs of the pool that holds it
    (:class:`~horde.transports.http_pool.HostPool`): its loop, its recorder, and to be
    told when the connection is gone, so its slot is freed."""

    loop: asyncio.AbstractEventLoop
    recorder: Recorder

    def discard(self, conn: HttpConnection) -> None: ...


class HttpConnection(asyncio.Protocol):
    """One TCP (or TLS) connection carrying one request at a time."""

    __slots__ = (
        "_deadline",
        "_gone",
        "_label",
        "_loop",
        "_lost",
        "_pool",
        "_proto",
        "_timeout",
        "_timer",
        "_timer_at",
        "_waiter",
        "closed",
        "done_at",
        "first_byte_at",
        "received",
        "reused",
        "sent_at",
        "transport",
    )

    def __init__(self, pool: Slots) -> None:
        self._pool = pool
        self._loop = pool.loop
        self._proto = HttpProtocol()
        self._waiter: asyncio.Future[Response] | None = None
        self._lost: asyncio.Future[None] | None = None  # only made if someone waits
        self._gone = False  # connection_lost has run
        self.transport: asyncio.Transport | None = None
        self.closed = True  # until the pool has counted it open; then once more at the end
        self.reused = False  # carried a request before the current one
        self.received = 0  # bytes of the current response
        self.sent_at = self.first_byte_at = self.done_at = 0  # perf_counter_ns
        # The current request's deadline (loop time) and one timer for the connection,
        # re-armed only when it fires early or a request's deadline comes before it.
        self._deadline = self._timer_at = 0.0
        self._timeout = 0.0
        self._label = ""
        self._timer: asyncio.TimerHandle | None = None

    # -- used by the client ----------------------------------------------------------------

    def send(self, data: bytes, method: str, decode: bool = False, deadline: float = 0.0,
             timeout: float = 0.0, label: str = "") -> asyncio.Future[Response]:
        """Write one encoded request; the future resolves to its Response or a TargetError.
        With ``decode`` the body is decoded as its Content-Encoding says, as it arrives.
        A ``deadline`` arms :meth:`expire_at` (``timeout`` and ``label`` for its error)."""
        if deadline:  # expire_at, inlined: this runs once per request
            self._deadline = deadline
            self._timeout = timeout
            self._label = label
            if self._timer is None or deadline < self._timer_at:
                self._arm(deadline)
        waiter = self._loop.create_future()
        self._waiter = waiter
        self._proto.expect_response(method, decode)
        self.received = 0
        self.first_byte_at = 0
        self.sent_at = perf_counter_ns()
        self.transport.write(data)  # type: ignore[union-attr]
        return waiter

    def expire_at(self, deadline: float, timeout: float, label: str) -> None:
        """Fail the request just sent with OperationTimeoutError if it is not answered by
        ``deadline`` (loop time). No timer per request: the connection's one timer is
        moved only when it would fire late; firing early, it re-arms for the deadline."""
        self._deadline = deadline
        self._timeout = timeout
        self._label = label
        if self._timer is None or deadline < self._timer_at:
            self._arm(deadline)

    def _arm(self, deadline: float) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer = self._loop.call_at(deadline, self._check_deadline)
        self._timer_at = deadline

    def _check_deadline(self) -> None:
        self._timer = None
        waiter = self._waiter
        if waiter is None or waiter.done():
            return  # nothing outstanding: the next request arms it again
        if self._loop.time() < self._deadline:
            self._arm(self._deadline)
            return
        waiter.set_exception(OperationTimeoutError(
            f"no complete response within {self._timeout:g} s", detail=self._label))

    def stream_to(self, sink: BodySink | None) -> None:
        """Hand the next response's head and body pieces to ``sink`` as they are parsed
        (``None``: collect the body again). Pieces are delivered inside ``data_received``."""
        self._proto.sink = sink

    @property
    def body_received(self) -> int:
        """The current (or last) response's body bytes as the network carried them:
        compressed, if it was; ``len(response.body)`` is the decoded size."""
        return self._proto.body_received

    @property
    def keep_alive(self) -> bool:
        return self._proto.keep_alive and not self.closed

    def close(self) -> None:
        """Close it ourselves: a clean close (``dropped=False``), recorded right away."""
        if not self.closed:
            self._forget(dropped=False)
            self.transport.close()  # type: ignore[union-attr]

    async def wait_closed(self, timeout: float) -> None:
        """Wait until the transport has let go of the socket (bounded), then abort."""
        if self.transport is None or self._gone:
            return
        if self._lost is None:
            self._lost = self._pool.loop.create_future()
        if not self._lost.done():
            try:
                await asyncio.wait_for(asyncio.shield(self._lost), timeout)
            except TimeoutError:
                self.transport.abort()

    # -- asyncio.Protocol ----------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        now = perf_counter_ns()
        if self.received == 0:
            self.first_byte_at = now
        self.received += len(data)
        waiter = self._waiter
        if waiter is None:
            # Nothing outstanding (e.g. a server's "408" on an idle connection): not a
            # response to anything, so not an error; the connection is simply unusable.
            if self.closed:
                self.transport.close()  # type: ignore[union-attr]
            else:
                self.close()
            return
        try:
            response = self._proto.receive_data(data)
        except ProtocolError as exc:
            self._waiter = None
            if not waiter.done():
                waiter.set_exception(exc)
            self.close()
            return
        if response is not None:
            self.done_at = now
            self._waiter = None
            if not waiter.done():
                waiter.set_result(response)

    def eof_received(self) -> bool | None:
        return None  # let the transport close; connection_lost settles the response

    def connection_lost(self, exc: Exception | None) -> None:
        self._gone = True
        self._pool.recorder.add_wire(self._pool.recorder.http, tcp_bytes(self.transport))
        if self._lost is not None and not self._lost.done():
            self._lost.set_result(None)
        waiter, self._waiter = self._waiter, None
        if self.closed:  # closed by us (already recorded), or never counted open
            if waiter is not None and not waiter.done():
                waiter.set_exception(PeerClosedError("connection closed"))
            return
        if waiter is None or waiter.done():
            self._forget(dropped=False)  # an idle connection closed by the server
            return
        try:
            response = self._proto.receive_eof()
        except PeerClosedError as error:
            if exc is not None:
                error = PeerClosedError(f"{error}: {type(exc).__name__}: {exc}")
            # Nothing received on a reused connection: the server closed it as idle just
            # as we wrote; the client retries, so this is not a drop.
            self._forget(dropped=not (self.received == 0 and self.reused))
            waiter.set_exception(error)
            return
        except ProtocolError as error:  # a close-delimited body that does not decode
            self._forget(dropped=True)
            waiter.set_exception(error)
            return
        self._forget(dropped=False)  # the close ended a close-delimited body
        self.done_at = perf_counter_ns()
        if response is None:  # pragma: no cover - expecting was true
            waiter.set_exception(PeerClosedError("connection closed"))
        else:
            waiter.set_result(response)

    def _forget(self, *, dropped: bool) -> None:
        self.closed = True
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._pool.discard(self)
        self._pool.recorder.connection_closed(dropped=dropped)
