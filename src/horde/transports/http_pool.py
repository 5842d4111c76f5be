"""The keep-alive pool of one HTTP client for one (scheme, host, port).

:class:`HostPool` keeps the idle connections, most recently used first (the likeliest to
be still open), opens new ones up to a cap and queues callers beyond it. Opening is where
connect samples are recorded and foreign connect errors are mapped to the precise
TargetError (refused, DNS, TLS, timeout); connections record their own closing.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import ssl
from collections import deque
from typing import Any

from horde.errors import DnsError, OperationTimeoutError, PeerClosedError, classify
from horde.metrics.names import HTTP_CONNECT
from horde.metrics.recorder import Recorder
from horde.safety.hosts import check_addresses
from horde.transports.http_connection import HttpConnection
from horde.transports.local_addresses import connect_from, local_addr


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
                    error = OperationTimeoutError("no pooled connection became free in time",
                                             detail="http_pool")
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
        op = recorder.connect_begin(HTTP_CONNECT)
        try:
            async with asyncio.timeout_at(deadline):
                conn = await self._connect()
            if conn.transport is None or conn.transport.is_closing():
                raise PeerClosedError("connection closed right after it was opened")
        except asyncio.CancelledError:
            recorder.connect_abandoned(op)
            raise
        except Exception as exc:
            error = classify(exc)
            if isinstance(error, OperationTimeoutError):
                error.detail = error.detail or "http_connect"
            recorder.connect_failed(op, error)
            raise error from exc
        recorder.connect_succeeded(op)
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
        check_addresses(host, addresses)  # --allow/--deny-hosts: before any packet is sent
        errors: list[OSError] = []
        for family, address in addresses:
            try:
                return await self._connect_to(family, address)
            except (ssl.SSLError, ssl.CertificateError):
                raise  # the server answered; another address will not change that
            except OSError as exc:
                errors.append(exc)
        refused = [e for e in errors if isinstance(e, ConnectionRefusedError)]
        raise (refused or errors)[0]

    async def _connect_to(self, family: int, address: str) -> HttpConnection:
        """One connection to one resolved address; from the next ``--local-ips`` source
        address when there is a list (bound by horde: see ``connect_from``)."""
        tls: dict[str, Any] = {"ssl": self.ssl,
                               "server_hostname": self.host if self.ssl is not None else None}
        source = local_addr()
        if source is None:
            _, conn = await self.loop.create_connection(
                lambda: HttpConnection(self), address, self.port, family=family, **tls)
        else:
            sock = await connect_from(source, address, self.port)
            try:
                _, conn = await self.loop.create_connection(
                    lambda: HttpConnection(self), sock=sock, **tls)
            except BaseException:
                sock.close()  # a no-op once the transport owns it
                raise
        return conn  # type: ignore[return-value]
