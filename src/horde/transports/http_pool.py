"""Keep-alive HTTP connections: one asyncio Protocol per TCP connection, a pool per host.

:class:`HttpConnection` is the thin driver of :class:`~horde.protocols.http.HttpProtocol`:
it writes a request with one ``transport.write``, feeds what it reads to the parser and
resolves one future per response. No task per request: the caller's own task awaits the
future, and timestamps are taken in the callbacks themselves (first byte, last byte) so
the event loop's scheduling delay is not counted as server time.

:class:`HostPool` keeps the idle connections to one (scheme, host, port), most recently
used first, opens new ones up to a cap and queues callers beyond it. Opening records the
connect samples; connections record their own closing.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import ssl
from collections import deque
from time import perf_counter

from horde.errors import ClosedByPeer, DnsError, OperationTimeout, ProtocolError, classify
from horde.metrics.names import HTTP_CONNECT
from horde.metrics.recorder import Recorder
from horde.protocols.http import HttpProtocol, Response


class HttpConnection(asyncio.Protocol):
    """One TCP (or TLS) connection carrying one request at a time."""

    __slots__ = (
        "_gone",
        "_loop",
        "_lost",
        "_pool",
        "_proto",
        "_waiter",
        "closed",
        "done_at",
        "first_byte_at",
        "received",
        "reused",
        "sent_at",
        "transport",
    )

    def __init__(self, pool: HostPool) -> None:
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
        self.sent_at = self.first_byte_at = self.done_at = 0.0

    # -- used by the client ----------------------------------------------------------------

    def send(self, data: bytes, method: str) -> asyncio.Future[Response]:
        """Write one encoded request; the future resolves to its Response or a TargetError."""
        waiter = self._loop.create_future()
        self._waiter = waiter
        self._proto.expect_response(method)
        self.received = 0
        self.first_byte_at = 0.0
        self.sent_at = perf_counter()
        self.transport.write(data)  # type: ignore[union-attr]
        return waiter

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
        now = perf_counter()
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
        if self._lost is not None and not self._lost.done():
            self._lost.set_result(None)
        waiter, self._waiter = self._waiter, None
        if self.closed:  # closed by us (already recorded), or never counted open
            if waiter is not None and not waiter.done():
                waiter.set_exception(ClosedByPeer("connection closed"))
            return
        if waiter is None or waiter.done():
            self._forget(dropped=False)  # an idle connection closed by the server
            return
        try:
            response = self._proto.receive_eof()
        except ClosedByPeer as error:
            if exc is not None:
                error = ClosedByPeer(f"{error}: {type(exc).__name__}: {exc}")
            # Nothing received on a reused connection: the server closed it as idle just
            # as we wrote; the client retries, so this is not a drop.
            self._forget(dropped=not (self.received == 0 and self.reused))
            waiter.set_exception(error)
            return
        self._forget(dropped=False)  # the close ended a close-delimited body
        self.done_at = perf_counter()
        if response is None:  # pragma: no cover - expecting was true
            waiter.set_exception(ClosedByPeer("connection closed"))
        else:
            waiter.set_result(response)

    def _forget(self, *, dropped: bool) -> None:
        self.closed = True
        self._pool.discard(self)
        self._pool.recorder.connection_closed(dropped=dropped)


class HostPool:
    """Connections to one (scheme, host, port): idle LIFO, a cap, and a queue beyond it."""

    __slots__ = (
        "closed",
        "host",
        "idle",
        "limit",
        "loop",
        "port",
        "recorder",
        "size",
        "ssl",
        "waiters",
    )

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        recorder: Recorder,
        host: str,
        port: int,
        ssl_context: ssl.SSLContext | None,
        limit: int,
    ) -> None:
        self.loop = loop
        self.recorder = recorder
        self.host = host
        self.port = port
        self.ssl = ssl_context
        self.limit = max(1, limit)
        self.idle: list[HttpConnection] = []
        self.size = 0  # open or opening connections
        self.waiters: deque[asyncio.Future[HttpConnection | None]] = deque()
        self.closed = False  # the client closed: connections still in use close on release

    def take_idle(self) -> HttpConnection | None:
        """The most recently used idle connection that is still open (no await: hot path)."""
        idle = self.idle
        while idle:
            conn = idle.pop()
            if not conn.closed and not conn.transport.is_closing():  # type: ignore[union-attr]
                conn.reused = True
                return conn
            conn.close()
        return None

    async def acquire(self, deadline: float, fresh: bool = False) -> HttpConnection:
        """An idle connection, a new one (below the cap) or the next one released.

        ``fresh`` skips idle ones (a retry after a stale keep-alive). Failing to connect, or
        to get a connection by ``deadline`` (loop time), is recorded and raised as TargetError.
        """
        while True:
            if not fresh:
                conn = self.take_idle()
                if conn is not None:
                    return conn
            elif self.idle and self.size >= self.limit:
                self.idle.pop(0).close()  # make room for the fresh one
            if self.size < self.limit:
                self.size += 1
                try:
                    return await self._open(deadline)
                except BaseException:
                    self.size -= 1
                    self._wake_one(None)
                    raise
            waiter: asyncio.Future[HttpConnection | None] = self.loop.create_future()
            self.waiters.append(waiter)
            try:
                async with asyncio.timeout_at(deadline):
                    conn = await waiter
            except BaseException as exc:
                self._abandon(waiter)
                if isinstance(exc, TimeoutError):
                    error = OperationTimeout("no pooled connection became free in time")
                    self.recorder.target_error(error)
                    raise error from None
                raise
            if conn is not None and not conn.closed:
                conn.reused = True
                return conn

    def release(self, conn: HttpConnection) -> None:
        """A request finished on ``conn``: keep it for the next one, or close it."""
        if self.closed or not conn.keep_alive:
            conn.close()
            return
        while self.waiters:
            waiter = self.waiters.popleft()
            if not waiter.done():
                waiter.set_result(conn)
                return
        self.idle.append(conn)

    def discard(self, conn: HttpConnection) -> None:
        """``conn`` is closed: free its slot (called once per connection)."""
        self.size -= 1
        if conn in self.idle:
            self.idle.remove(conn)
        self._wake_one(None)

    def close(self) -> list[HttpConnection]:
        """Close the idle connections now and the busy ones when they are released."""
        self.closed = True
        closing = self.idle[:]
        for conn in closing:
            conn.close()
        return closing

    def _abandon(self, waiter: asyncio.Future[HttpConnection | None]) -> None:
        """A waiter gave up: pass on whatever it was handed, so no other waiter starves."""
        if not waiter.done():
            waiter.cancel()
        elif not waiter.cancelled():
            conn = waiter.result()
            if conn is None:
                self._wake_one(None)
            else:
                self.release(conn)

    def _wake_one(self, value: HttpConnection | None) -> None:
        while self.waiters:
            waiter = self.waiters.popleft()
            if not waiter.done():
                waiter.set_result(value)
                return

    async def _open(self, deadline: float) -> HttpConnection:
        recorder = self.recorder
        recorder.connect_attempted()
        started = perf_counter()
        try:
            async with asyncio.timeout_at(deadline):
                conn = await self._connect()
            if conn.transport is None or conn.transport.is_closing():
                raise ClosedByPeer("connection closed right after it was opened")
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            error = classify(exc)
            recorder.connect_failed(error)
            raise error from exc
        recorder.latency(HTTP_CONNECT, None, int((perf_counter() - started) * 1e6))
        recorder.connect_succeeded()
        conn.closed = False
        return conn

    async def _connect(self) -> HttpConnection:
        """Resolve, then try each address in turn, so a refusal stays a refusal (the loop's
        own multi-address connect folds distinct errors into one plain OSError)."""
        host, port, loop = self.host, self.port, self.loop
        try:
            ipaddress.ip_address(host)
            addresses = [(socket.AF_INET6 if ":" in host else socket.AF_INET, host)]
        except ValueError:
            infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
            addresses = list(dict.fromkeys((info[0], info[4][0]) for info in infos))
            if not addresses:
                raise DnsError(f"no address for {host}") from None
        errors: list[OSError] = []
        for family, address in addresses:
            try:
                _, conn = await loop.create_connection(
                    lambda: HttpConnection(self),
                    address,
                    port,
                    family=family,
                    ssl=self.ssl,
                    server_hostname=host if self.ssl is not None else None,
                )
                return conn  # type: ignore[return-value]
            except (ssl.SSLError, ssl.CertificateError):
                raise  # the server answered; another address will not change that
            except OSError as exc:
                errors.append(exc)
        refused = [e for e in errors if isinstance(e, ConnectionRefusedError)]
        raise (refused or errors)[0]
