"""The WebSocket client transport: one :class:`WebSocketConnection` per virtual user socket.

The socket, the upgrade, framing, masking and auto-pong are the
:class:`~horde.transports.ws_client.WebSocketClient`'s, on the event loop's own transport
(horde's rather than picows' for memory: see that module). This module owns the rest:
assembling fragmented messages, rejecting frames no extension was negotiated for, the
close handshake, and turning all of it into samples on the :class:`Recorder`.

Frames are handled in :mod:`horde.transports.ws_listener`, messages wait in
:mod:`horde.transports.inbox`. Per round trip there is no task, no log line and no timer
(timeouts share one lazily re-armed timer per connection).

``compression=True`` offers permessage-deflate as browsers do; when the server accepts,
every message goes out compressed (RSV1) and compressed ones coming in are inflated
(:mod:`horde.protocols.permessage_deflate`, on frames that carry RSV1).
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Callable, Mapping, Sequence
from functools import lru_cache
from time import perf_counter_ns
from typing import Any
from urllib.parse import urljoin

from horde.errors import (
    ConfigError,
    OperationTimeoutError,
    PeerClosedError,
    SubprotocolMismatchError,
    TargetError,
    again,
)
from horde.metrics.names import WS_CONNECT, WS_REPLY
from horde.metrics.operations import Operation
from horde.metrics.recorder import Recorder
from horde.protocols.codec import RAW, Codec, RawCodec
from horde.protocols.permessage_deflate import accept as accept_deflate
from horde.protocols.permessage_deflate import offer as offer_deflate
from horde.protocols.websocket_frames import RSV1
from horde.protocols.websocket_upgrade import UpgradeReader, WsUrl, parse_ws_url
from horde.safety.hosts import guard_url
from horde.safety.tls import default_ssl_context
from horde.streams.meter import (
    COMPLETED,
    DEFAULT_STALL_AFTER,
    StreamMeter,
    StreamResult,
    reason_for,
)
from horde.transports.inbox import EMPTY, Inbox, Predicate, stream_taker
from horde.transports.local_addresses import connect_from, local_addr
from horde.transports.reconnect import BeforeReconnect, OnReconnect, Reconnect, Reconnector
from horde.transports.ws_client import WebSocketClient, open_websocket
from horde.transports.ws_listener import BINARY, TEXT, Listener, classify_connect

__all__ = ["DEFAULT_MAX_MESSAGE_SIZE", "WebSocketConnection"]

DEFAULT_TIMEOUT = 30.0  # receive / wait_for / request
DEFAULT_MAX_MESSAGE_SIZE = 16 * 1024 * 1024


@lru_cache(maxsize=1024)
def _parsed(url: str) -> WsUrl:
    """``url`` read as a WebSocket address; ConfigError when it is not one. Cached: a
    run's users open the same few URLs, and parsing one anew costs 3 % of an open."""
    try:
        return parse_ws_url(url)
    except ValueError as exc:
        raise ConfigError(f"invalid WebSocket URL {url!r}: {exc}") from None


class WebSocketConnection:
    """A client WebSocket whose every send, reply, close and failure lands in a Recorder:
    what ``await user.websocket(url, ...)`` returns.

    Received messages go, in order of preference, to a pending ``receive``/``wait_for``/
    ``request`` whose predicate matches, then to the ``on_message`` handler if one is set,
    else into the bounded inbox (the oldest dropped past its limit, counted).

    What is counted: the connect (``ws_connect``, an operation), every message in and out
    (``ws_msg_in``/``ws_msg_out``, payload and wire bytes), each :meth:`request` as an
    operation (``ws_reply:NAME``) and each :meth:`stream`; a drop is ``closed_by_peer``
    and fails whatever waits. Timeouts default to the run's ``--timeout``::

        ws = await user.websocket("/ws", codec=horde.JSON)
        reply = await ws.request({"type": "ping"}, name="ping",
                                 match=lambda m: m.get("type") == "pong")
        answer = await ws.stream({"ask": "hi"}, name="answer", end=lambda m: m["done"])
    """

    __slots__ = (
        "_close_exc",
        "_close_timeout",
        "_closing",
        "_connect_op",
        "_connected",
        "_default_timeout_ns",
        "_deflate",
        "_drop_told",
        "_encode",
        "_inbox",
        "_listener",
        "_reconnect",
        "_recorder",
        "_transport",
        "_write_paused",
        "close_code",
        "closed",
        "subprotocol",
    )  # fmt: skip

    def __init__(
        self,
        recorder: Recorder,
        *,
        codec: Codec | None = None,
        event_key: Callable[[Any], str | None] | None = None,
        inbox_limit: int = 10_000,
        default_timeout: float = DEFAULT_TIMEOUT,
        max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE,
    ) -> None:
        """Set up an unconnected connection; only :meth:`connect` opens the socket."""
        codec = codec if codec is not None else RAW
        raw = type(codec) is RawCodec  # skip the identity decode call on the hot path
        self._recorder = recorder
        self._encode: Callable[[Any], str | bytes] | None = None if raw else codec.encode
        self._inbox = Inbox(inbox_limit, recorder)
        self._listener = Listener(
            self, recorder, None if raw else codec.decode, event_key, self._inbox, max_message_size
        )
        self._default_timeout_ns = int(default_timeout * 1e9)
        self._close_timeout = 10.0
        self._transport: WebSocketClient | None = None
        self._write_paused: asyncio.Future[None] | None = None
        self._connected = False
        self._closing = False
        self._close_exc: TargetError | None = None
        self._reconnect: Reconnector | None = None
        self._connect_op: Operation | None = None
        self._drop_told = False  # the drop's own error has failed something already
        self._deflate: Any = None  # the DeflateSession, when permessage-deflate was agreed
        self.subprotocol: str | None = None
        self.closed = False
        self.close_code: int | None = None

    # -- opening ----------------------------------------------------------------------------

    @classmethod
    async def connect(
        cls,
        url: str,
        *,
        recorder: Recorder,
        headers: Mapping[str, str] | None = None,
        subprotocols: Sequence[str] = (),
        codec: Codec | None = None,
        timeout: float = 10.0,
        ssl_context: ssl.SSLContext | None = None,
        event_key: Callable[[Any], str | None] | None = None,
        inbox_limit: int = 10_000,
        default_timeout: float = DEFAULT_TIMEOUT,
        max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE,
        reconnect: Reconnect | None = None,
        on_reconnect: OnReconnect | None = None,
        compression: bool = False,
        before_reconnect: BeforeReconnect | None = None,
        error_when: Predicate | None = None,
        error_detail: Callable[[Any], object] | None = None,
    ) -> WebSocketConnection:
        """Open ``url`` (ws:// or wss://) within ``timeout`` s, recording the attempt.

        Raises the classified :class:`TargetError` (already recorded) when it fails, and
        :class:`ConfigError` (not recorded: the user's fault) for a malformed URL.
        With ``reconnect``, a connection the peer drops is reopened in the background
        (see :mod:`horde.transports.reconnect`); ``await on_reconnect(conn)`` runs after
        each reconnect, before the operations waiting for it resume; ``await
        before_reconnect(conn)`` runs before each attempt and may return a new URL (relative
        to ``url``) for a server that forgot the session: see docs/reliability.md.
        ``compression`` offers permessage-deflate (see :attr:`compressed`).

        ``error_when(message)`` tells the application's error messages apart (e.g.
        ``lambda m: m.get("type") == "error"``; default: none are). Each one it accepts is
        counted as an ``app_error`` whose detail is its ``message`` field (or its text,
        shortened) and fails at once, with :class:`~horde.errors.AppError`, the ``request``
        and ``stream`` waiting on this connection; then it is delivered as any message
        (to a ``receive``/``wait_for``, the handler or the inbox). ``error_detail(message)``
        says what the error was instead, when its ``message`` field does not, e.g.
        ``lambda m: m["content"]["ename"]``: the detail keys the ``app_error`` counter, so
        it must name the kind of error, not carry a per-message id.
        """
        secure = _parsed(url).secure
        conn = cls(
            recorder,
            codec=codec,
            event_key=event_key,
            inbox_limit=inbox_limit,
            default_timeout=default_timeout,
            max_message_size=max_message_size,
        )
        conn._close_timeout = timeout
        conn._listener.error_when = error_when
        conn._listener.error_detail = error_detail
        if secure and ssl_context is None:
            ssl_context = default_ssl_context()
        args = (url, headers, tuple(subprotocols), timeout, ssl_context, max_message_size,
                compression)
        await conn._open(*args)
        if reconnect is not None:
            conn._reconnect = Reconnector(
                reconnect, recorder=conn._recorder, prefix="ws", conn=conn,
                reopen=lambda new_url: conn._reopen(args, new_url), give_up=conn._give_up,
                on_reconnect=on_reconnect, before_reconnect=before_reconnect)
        return conn

    async def _reopen(self, args: tuple[Any, ...], url: str | None) -> None:
        """One reconnect attempt: a fresh socket behind this same object, at ``url``
        (relative to the first) if ``before_reconnect`` gave one."""
        listener = self._listener
        listener.frag_type = listener.frag_buf = None
        self._connected = False
        if url is not None:
            args = (urljoin(args[0], url), *args[1:])
        await self._open(*args)

    def _give_up(self, err: TargetError) -> None:
        """The reconnects failed: every later operation raises ``err`` (counted once)."""
        self._close_exc = err
        self._inbox.fail_all(err)

    @property
    def reconnecting(self) -> bool:
        """True from a drop until the reconnect (and its ``on_reconnect``) is done."""
        return self._reconnect is not None and self._reconnect.pending

    @property
    def compressed(self) -> bool:
        """True when the server agreed to permessage-deflate: messages travel compressed
        both ways; ``bytes.by_protocol.websocket`` counts them as carried (payload) and
        inflated (decoded)."""
        return self._deflate is not None

    @property
    def dropped(self) -> bool:
        """Closed by the server (or lost), not by this client, and not reconnecting."""
        return self.closed and not self._closing and not self.reconnecting

    async def _open(
        self, url: str, headers: Mapping[str, str] | None, subprotocols: tuple[str, ...],
        timeout: float, ssl_context: ssl.SSLContext | None, max_message_size: int,
        compression: bool = False,
    ) -> None:  # fmt: skip
        recorder = self._recorder
        op = self._connect_op = recorder.connect_begin(WS_CONNECT)
        extra = list(headers.items()) if headers else []
        if subprotocols:
            extra.append(("Sec-WebSocket-Protocol", ", ".join(subprotocols)))
        if compression:
            extra.append(("Sec-WebSocket-Extensions", offer_deflate()))

        def accept(response: UpgradeReader) -> Listener:
            # Runs when the 101 arrives; raising refuses it and the socket is dropped.
            chosen = response.headers.get("sec-websocket-protocol")
            if chosen is not None and chosen not in subprotocols:
                raise SubprotocolMismatchError(f"server chose subprotocol {chosen!r}",
                                               detail="subprotocol")
            self.subprotocol = chosen
            # fresh zlib streams per socket; an answer RFC 7692 rejects fails the connect
            deflate = accept_deflate(response.headers.get("sec-websocket-extensions")) \
                if compression else None
            self._deflate = self._listener.deflate = deflate
            return self._listener

        where = _parsed(url)
        try:
            async with asyncio.timeout(timeout):
                await guard_url(url)  # --allow/--deny-hosts: before any packet is sent
                source = local_addr()  # --local-ips: None unless given
                sock = None if source is None else await connect_from(
                    source, where.host, where.port)
                # a redirect is a refusal (its status): browsers fail it too
                await open_websocket(where, accept, headers=extra, ssl_context=ssl_context,
                                     max_size=max_message_size, sock=sock)
        except asyncio.CancelledError:
            recorder.connect_abandoned(op)  # a no-op if the 101 came first: a success
            raise
        except Exception as exc:
            if self._connected:  # the timeout struck between the 101 and our resumption
                return
            err = classify_connect(exc, timeout)
            recorder.connect_failed(op, err)
            raise err from exc

    def _on_connected(self, client: WebSocketClient) -> None:
        """The client calls this (via the listener) right after the 101: the handshake's end."""
        self._transport = client
        self._connected = True
        if self._close_exc is not None:  # a reconnect: this object is live again
            self._close_exc = self.close_code = None
            self._drop_told = False
            self.closed = False
        op, self._connect_op = self._connect_op, None  # ended: an idle socket need not keep it
        if op is not None:
            self._recorder.connect_succeeded(op)

    # -- sending ----------------------------------------------------------------------------

    async def send(self, message: Any) -> None:
        """Encode and send one message: ``str`` → TEXT frame, ``bytes`` → BINARY frame."""
        if self.closed:
            await self._reconnected(None)
        self._send_now(message)
        if self._write_paused is not None:
            await self._drain()

    async def _drain(self) -> None:
        """Wait until the peer reads again (write flow control), at most the default
        timeout: a server that stops reading must not hang a user forever."""
        paused = self._write_paused
        if paused is None:
            return
        try:
            await asyncio.wait_for(asyncio.shield(paused), self._default_timeout_ns / 1e9)
        except TimeoutError:
            exc = OperationTimeoutError("the peer stopped reading: send timed out",
                                        detail="ws_send")
            self._recorder.target_error(exc)
            raise exc from None

    def _send_now(self, message: Any) -> None:
        if self.closed:
            raise self._closed_error()
        encode = self._encode
        if encode is not None:
            data = encode(message)
        elif isinstance(message, (str, bytes)):  # a tuple: `str | bytes` is built per call
            data = message
        else:
            data = RAW.encode(message)
        if isinstance(data, str):
            data = data.encode()
            kind = TEXT
        else:
            kind = BINARY
        if self._deflate is not None:
            self._send_deflated(kind, data)
            return
        self._transport.send(kind, data)  # type: ignore[union-attr]
        self._recorder.ws_message_sent(len(data))

    def _send_deflated(self, kind: int, data: bytes) -> None:
        """One message compressed (RSV1): counted as carried, its plain size beside it."""
        packed = self._deflate.encode(data)
        self._transport.send(kind, packed, RSV1)  # type: ignore[union-attr]
        recorder = self._recorder
        recorder.ws_message_sent(len(packed))
        recorder.add_decoded(recorder.websocket, len(data) - len(packed), 0)

    # -- receiving --------------------------------------------------------------------------

    async def receive(self, timeout: float | None = None) -> Any:
        """The next decoded message: the oldest queued one, or the next to arrive."""
        inbox = self._inbox
        message = inbox.pop()
        if message is not EMPTY:
            return message
        if self._close_exc is not None:
            await self._reconnected(timeout)
            message = inbox.pop()  # arrived while the on_reconnect hook ran
            if message is not EMPTY:
                return message
        deadline = perf_counter_ns() + self._timeout_ns(timeout)
        return await inbox.wait(None, deadline, "receive")

    async def wait_for(self, predicate: Predicate, timeout: float | None = None) -> Any:
        """The next message matching ``predicate``; the others stay queued for receive()."""
        inbox = self._inbox
        message = inbox.pop_match(predicate)
        if message is not EMPTY:
            return message
        if self._close_exc is not None:
            await self._reconnected(timeout)
            message = inbox.pop_match(predicate)
            if message is not EMPTY:
                return message
        deadline = perf_counter_ns() + self._timeout_ns(timeout)
        return await inbox.wait(predicate, deadline, "wait_for")

    async def request(
        self,
        message: Any,
        *,
        name: str,
        match: Predicate | None = None,
        timeout: float | None = None,
    ) -> Any:
        """Send ``message`` and return its reply, recording the latency as WS_REPLY ``name``.

        The reply is the first message *arriving after the send* that ``match`` accepts
        (``None``: any). Queued messages are not considered: they predate the send.
        A timeout is recorded under ``("timeout", name)``.
        """
        recorder = self._recorder
        op = recorder.begin(WS_REPLY, name)
        try:
            if self.closed:  # a reconnect in progress: waited for, and not in the latency
                await self._reconnected(timeout)
                op.start_ns = perf_counter_ns()
            self._send_now(message)  # raises once the connection is closed
            if self._write_paused is not None:
                await self._drain()
            if timeout is None:
                deadline = op.start_ns + self._default_timeout_ns
            else:
                deadline = op.start_ns + self._timeout_ns(timeout)
            # the listener ends ``op`` as the reply is parsed (or the inbox on a timeout)
            return await self._inbox.wait(match, deadline, name, op)
        except BaseException as exc:
            recorder.end(op, exc)
            raise

    async def stream(
        self,
        message: Any,
        *,
        name: str,
        until: Predicate | None = None,
        end: Predicate | None = None,
        match: Predicate | None = None,
        stall_after: float = DEFAULT_STALL_AFTER,
        timeout: float | None = None,
        first: Predicate | None = None,
    ) -> StreamResult:
        """Send ``message`` and consume its streamed reply as chunks (see :mod:`horde.streams`).

        Chunks are the messages arriving after the send that ``match`` accepts (``None``:
        all). The stream ends with the first chunk ``until`` accepts (included), or with the
        first message ``end`` accepts — a closing control message, which is neither a chunk
        nor a gap. Chunks are timed in the frame callback as they arrive: one future waits
        for the whole stream, no task wakes per chunk. Ending early does not raise: the
        result says ``completed=False`` with ``reason`` ``"timeout"`` (counted as a
        ``timeout`` error under ``name``), ``"closed"`` (dropped mid-answer) or ``"failed"``
        (an ``error_when`` message), and how many chunks had arrived. A stream asked of a
        connection that is already gone (and not reconnecting) raises what closed it
        (counted once), as any operation on it does: the iteration fails and the user
        starts over rather than loop on a dead socket. ``timeout``
        bounds the whole stream (default: the connection's default timeout). ``first``
        picks the chunk that counts as the first (``stream_first``, ``rate``).
        """
        meter = StreamMeter(self._recorder, name, stall_after, first)
        sent = False
        try:
            take = stream_taker(meter, match, until, end)
            if self.closed:
                await self._reconnected(timeout)
                meter.restart()
            self._send_now(message)  # raises once the connection is closed
            sent = True
            if self._write_paused is not None:
                await self._drain()
            deadline = meter.started_ns + self._timeout_ns(timeout)
            await self._inbox.wait(take, deadline, name)
        except TargetError as exc:  # a timeout (counted by the inbox's timer) or a drop
            result = meter.finish(reason_for(exc, sent=sent), error=exc)
            if not sent and self.closed and not self.reconnecting:
                raise  # a dead connection: the step ends, as any operation on it (counted)
            return result
        except BaseException as exc:
            meter.interrupt(exc)
            raise
        return meter.finish(COMPLETED)

    async def _reconnected(self, timeout: float | None) -> None:
        """Closed: wait for a reconnect in progress (bounded by ``timeout``), else raise why.
        A send during a reconnect waits rather than fails, so a scenario's loop rides over
        a drop; what it waited for is counted as ``ws_reconnect``, not as its latency."""
        reconnector = self._reconnect
        if reconnector is not None and reconnector.pending:
            await reconnector.wait(self._timeout_ns(timeout))
            if not self.closed:
                return
        raise self._closed_error()

    def _timeout_ns(self, timeout: float | None) -> int:
        return self._default_timeout_ns if timeout is None else int(timeout * 1e9)

    def on_message(self, handler: Callable[[Any], None] | None) -> None:
        """Consume messages listen-only: each one nobody waits for goes to ``handler``.

        Messages already queued are handed over at once. ``None`` goes back to queueing.
        A handler that raises is counted as a scenario exception; delivery goes on.
        """
        self._listener.handler = handler
        if handler is not None:
            for message in self._inbox.drain():
                self._listener.call_handler(message)

    # -- a slow reader ----------------------------------------------------------------------

    def pause_reading(self) -> None:
        """Stop reading from the socket, as a slow or frozen client does: the server's
        messages pile up in the kernel's buffers, then in the server's own, which is how
        a test sees what the server does with a consumer that cannot keep up (buffer,
        drop, disconnect it). Nothing is lost: :meth:`resume_reading` reads on. A paused
        connection's own requests and streams time out as any others would."""
        if self._transport is not None and not self.closed:
            self._transport.transport.pause_reading()  # type: ignore[union-attr]

    def resume_reading(self) -> None:
        """Read again after :meth:`pause_reading`: what waited is delivered in order."""
        if self._transport is not None and not self.closed:
            self._transport.transport.resume_reading()  # type: ignore[union-attr]

    # -- closing ----------------------------------------------------------------------------

    def expect_close(self) -> None:
        """The server is about to close this connection because the scenario asked it to
        (an MQTT DISCONNECT, a logout message): its close — a CLOSE frame, or the socket
        hung up — is then the end this client wanted, neither a drop nor an error, and no
        reconnect follows. Messages can still be sent and received until it comes::

            await ws.send(DISCONNECT)
            ws.expect_close()
        """
        self._closing = True
        self._stop_reconnecting()

    def _stop_reconnecting(self) -> None:
        """This client ends the connection: not a drop, so never reconnect after it."""
        reconnector, self._reconnect = self._reconnect, None
        if reconnector is not None:
            reconnector.stop(_uncounted(PeerClosedError("connection closed by this client")))

    async def close(self, code: int = 1000, reason: str = "") -> None:
        """Close the handshake way: send CLOSE, wait for the server's CLOSE or the TCP end."""
        self._stop_reconnecting()
        transport = self._transport
        if self.closed or transport is None:
            return
        self.closed = True
        self._closing = True
        self.close_code = code  # ours, whatever the server answers with
        transport.send_close(code, reason.encode())
        try:
            async with asyncio.timeout(self._close_timeout):
                await transport.wait_disconnected()
        except TimeoutError:
            transport.disconnect(graceful=False)
        self._finish(None, code, dropped=False)

    def _finish(self, exc: TargetError | None, code: int, *, dropped: bool) -> None:
        """The connection is over: record it once, fail the waiters, wake blocked senders.

        ``exc`` is the error to count (None when we closed it ourselves). Called by the
        listener for peer closes, lost connections and protocol errors, and by close().
        """
        if self._close_exc is not None:
            return
        self.closed = True
        if not self._closing:
            self.close_code = code
        recorder = self._recorder
        if self._connected:
            recorder.connection_closed(dropped=dropped)
        if exc is None:
            exc = _uncounted(PeerClosedError("connection closed by this client", code=code))
        else:
            recorder.target_error(exc)  # marks it recorded: the engine won't count it again
        self._close_exc = exc
        self._drop_told = bool(self._inbox.waiters)  # they fail by the drop, counted once
        self._inbox.fail_all(exc)
        self._resume_writing()
        if dropped and self._reconnect is not None:
            self._reconnect.start()

    def _closed_error(self) -> TargetError:
        """What an operation on this closed connection raises. The first one to find it
        dropped fails by the drop itself (counted once, when it happened); every later one
        by a fresh error, counted, so a user hammering a dead socket shows it. A connection
        this client closed was not the target's doing and is never counted."""
        exc = self._close_exc
        if exc is None:
            return _uncounted(PeerClosedError("connection is closing", code=self.close_code))
        if not exc.recorded or self._closing:
            return exc
        if not self._drop_told:
            self._drop_told = True
            return exc
        return again(exc)

    # -- flow control (client → listener → here) --------------------------------------------

    def _pause_writing(self) -> None:
        if self._write_paused is None:
            self._write_paused = asyncio.get_running_loop().create_future()

    def _resume_writing(self) -> None:
        paused, self._write_paused = self._write_paused, None
        if paused is not None and not paused.done():
            paused.set_result(None)


def _uncounted(exc: TargetError) -> TargetError:
    """An error from using a connection we closed ourselves: never counted as the target's."""
    exc.recorded = True
    return exc

