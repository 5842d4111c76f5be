"""One client WebSocket on the event loop's own TCP (or TLS) transport.

:func:`open_websocket` connects, sends the upgrade and waits for the 101; from then on the
:class:`WebSocketClient` turns what arrives into frames (:mod:`horde.protocols.websocket_frames`)
for its :class:`FrameListener`, answers PINGs, and writes the frames it is asked to. It
keeps what an idle connection needs and no more — no read or write buffer of its own,
nothing of the handshake — which is why horde has it rather than picows: 7.4 KB per
idle connection through picows, the transport's own 2.6 KB plus about 0.3 KB here
(bench/ws_idle_floor.py, docs/benchmarks.md).

A server that breaks RFC 6455 gets a CLOSE with the code its fault calls for, and the
socket ends; the listener then sees :attr:`WebSocketClient.close_sent` set and
:attr:`WebSocketClient.close_received` not, and reads it as a protocol error.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import ssl
from collections.abc import Callable
from typing import Protocol

from horde.errors import HandshakeRejectedError, PeerClosedError, ProtocolError
from horde.protocols.websocket_frames import (
    CLOSE,
    PING,
    PONG,
    Frame,
    FrameError,
    FrameParser,
    close_payload,
    encode_frame,
    read_close,
)
from horde.protocols.websocket_upgrade import (
    UpgradeError,
    UpgradeReader,
    WsUrl,
    new_key,
    upgrade_request,
)
from horde.transports.shared import HANDSHAKE_CUT

_log = logging.getLogger(__name__)
INTERNAL_ERROR = 1011  # RFC 6455 §7.4.1: the endpoint met a condition it cannot go on with


class FrameListener(Protocol):
    """What a :class:`WebSocketClient` reports to, from the event loop's callbacks."""

    def on_ws_connected(self, client: WebSocketClient) -> None: ...

    def on_ws_frame(self, client: WebSocketClient, frame: Frame) -> None: ...

    def on_ws_disconnected(self, client: WebSocketClient) -> None: ...

    def pause_writing(self) -> None: ...

    def resume_writing(self) -> None: ...


Accept = Callable[[UpgradeReader], FrameListener]
"""Called with the server's 101: the listener for the connection, or raise to refuse it."""


class WebSocketClient(asyncio.Protocol):
    """The client side of one WebSocket, from the upgrade to the socket's end."""

    __slots__ = ("_accept", "_ended", "_key", "_opened", "_parser", "_request", "_upgrade",
                 "close_received", "close_sent", "listener", "transport")

    def __init__(self, request: bytes, key: str, accept: Accept, max_size: int) -> None:
        self._key: str | None = key
        self._accept: Accept | None = accept
        self._upgrade: UpgradeReader | None = UpgradeReader()
        self._parser = FrameParser(max_size)
        self._opened: asyncio.Future[None] | None = asyncio.get_running_loop().create_future()
        self._ended: asyncio.Future[None] | None = None  # made when someone waits for it
        self.transport: asyncio.Transport | None = None
        self.listener: FrameListener | None = None  # set by the 101
        self.close_sent: tuple[int, str] | None = None  # our CLOSE: (code, reason)
        self.close_received: tuple[int | None, str] | None = None  # the server's
        self._request: bytes | None = request  # written as the socket connects

    @property
    def upgraded(self) -> bool:
        """The 101 arrived and a listener took the connection."""
        return self.listener is not None

    # -- the event loop's callbacks ---------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        request, self._request = self._request, None
        transport.write(request)  # type: ignore[attr-defined]

    def data_received(self, data: bytes) -> None:
        if self._upgrade is not None:
            rest = self._read_upgrade(data)
            if not rest:
                return
            data = rest
        parser = self._parser
        frames = parser.feed(data)
        listener = self.listener
        try:
            for frame in frames:
                if frame.opcode < CLOSE:
                    listener.on_ws_frame(self, frame)  # type: ignore[union-attr]
                elif not self._control(frame):
                    return
        except Exception as exc:  # a bug of horde's own: shown, and the connection ends
            _log.exception("WebSocket frame handler failed")
            self._refuse(FrameError(INTERNAL_ERROR, f"client failed: {type(exc).__name__}"))
            return
        if parser.error is not None:
            self._refuse(parser.error)

    def connection_lost(self, exc: Exception | None) -> None:
        if self._opened is not None:  # before the 101: the server hung up on the upgrade
            self._open_failed(PeerClosedError(HANDSHAKE_CUT))
        elif self.listener is not None:
            self.listener.on_ws_disconnected(self)
        ended = self._ended
        if ended is None:
            self._ended = ended = asyncio.get_running_loop().create_future()
        if not ended.done():
            ended.set_result(None)

    def pause_writing(self) -> None:
        if self.listener is not None:
            self.listener.pause_writing()

    def resume_writing(self) -> None:
        if self.listener is not None:
            self.listener.resume_writing()

    # -- the upgrade ------------------------------------------------------------------------

    def _read_upgrade(self, data: bytes) -> bytes | None:
        """Feed the reply; at its end, hand the connection to a listener (or refuse it).
        Returns what followed the reply's headers once the upgrade is done."""
        reader = self._upgrade
        assert reader is not None
        try:
            rest = reader.feed(data)
            if rest is None:
                return None
            if reader.status != 101:
                raise HandshakeRejectedError(
                    f"server answered the upgrade with {reader.status}", status=reader.status)
            why = reader.check(self._key)  # type: ignore[arg-type]
            if why is not None:
                raise UpgradeError(why)
            listener = self._accept(reader)  # type: ignore[misc]
        except UpgradeError as exc:
            self._open_failed(ProtocolError(f"invalid handshake response: {exc}",
                                            detail="handshake"))
            return None
        except Exception as exc:  # a refusal, ours (a subprotocol) or the server's (a status)
            self._open_failed(exc)
            return None
        self._upgrade = self._accept = self._key = None
        self.listener = listener
        opened, self._opened = self._opened, None
        listener.on_ws_connected(self)
        if opened is not None and not opened.done():
            opened.set_result(None)
        return rest

    def _open_failed(self, exc: BaseException) -> None:
        opened, self._opened = self._opened, None
        if opened is not None and not opened.done():
            opened.set_exception(exc)
        if self.transport is not None:
            self.transport.abort()

    async def opened(self) -> None:
        """Wait for the 101 (or raise why there was none)."""
        if self._opened is not None:
            await self._opened

    # -- frames -----------------------------------------------------------------------------

    def _control(self, frame: Frame) -> bool:
        """A PING answered, a PONG passed on, a CLOSE checked and passed on. False when
        the server broke the protocol and nothing after it may be read."""
        opcode = frame.opcode
        if opcode == PING:
            self._write(PONG, frame.payload)
            return True
        if opcode == CLOSE:
            if self.close_received is not None:
                self._refuse(FrameError(1002, "a second CLOSE"))
                return False
            try:
                self.close_received = read_close(frame.payload)
            except FrameError as exc:
                self._refuse(exc)
                return False
        self.listener.on_ws_frame(self, frame)  # type: ignore[union-attr]
        return True

    def _refuse(self, exc: FrameError) -> None:
        """The server broke RFC 6455: CLOSE with the code it calls for, and hang up."""
        self._parser.error = exc  # nothing more is read
        self.send_close(exc.code, exc.reason.encode())
        self.disconnect()

    # -- what the connection's owner calls ---------------------------------------------------

    def send(self, opcode: int, payload: bytes, rsv: int = 0) -> None:
        """Send one whole message as one frame; nothing once our CLOSE is sent."""
        if self.close_sent is None:
            self._write(opcode, payload, rsv)

    def _write(self, opcode: int, payload: bytes, rsv: int = 0) -> None:
        transport = self.transport
        if transport is not None and not transport.is_closing():
            transport.write(encode_frame(opcode, payload, rsv))

    def send_close(self, code: int = 1000, reason: bytes = b"") -> None:
        """Our CLOSE, once: the server is to answer with its own, then hang up."""
        if self.close_sent is None:
            self.close_sent = (code, reason.decode(errors="replace"))
            self._write(CLOSE, close_payload(code, reason))

    def disconnect(self, graceful: bool = True) -> None:
        """End the socket: after what is queued has gone (``graceful``), or at once."""
        transport = self.transport
        if transport is not None:
            if graceful:
                transport.close()
            else:
                transport.abort()

    async def wait_disconnected(self) -> None:
        """Wait for the socket's end (and the listener's ``on_ws_disconnected``)."""
        if self._ended is None:
            self._ended = asyncio.get_running_loop().create_future()
        await asyncio.shield(self._ended)


async def open_websocket(
    url: WsUrl,
    accept: Accept,
    *,
    headers: list[tuple[str, str]],
    ssl_context: ssl.SSLContext | None,
    max_size: int,
    sock: socket.socket | None = None,
) -> WebSocketClient:
    """Connect to ``url``, upgrade, and return the client once ``accept`` took the 101.

    Raises what the connect raised (OSError), HandshakeRejectedError for any other
    status, ProtocolError for a 101 that is not a valid upgrade, PeerClosedError when the
    server hung up unanswered, and whatever ``accept`` raised. Cancelled or failed
    before the 101, the socket is closed; after it, the connection is the caller's."""
    key = new_key()
    client = WebSocketClient(upgrade_request(url, key, headers), key, accept, max_size)
    loop = asyncio.get_running_loop()
    tls = ssl_context if url.secure else None
    try:
        if sock is None:
            await loop.create_connection(lambda: client, url.host, url.port, ssl=tls)
        else:
            await loop.create_connection(lambda: client, sock=sock, ssl=tls,
                                         server_hostname=url.host if tls else None)
        await client.opened()
    except BaseException:
        if not client.upgraded:
            client.disconnect(graceful=False)
        raise
    return client
