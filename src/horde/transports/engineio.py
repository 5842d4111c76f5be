"""Engine.IO v4 over the network: WebSocket on horde's client, long-polling on aiohttp, and
upgrade.

:class:`EngineIOConnection` only feeds, drains and writes; every rule lives in
:class:`~horde.protocols.engineio.EngineIOSession`. Each MESSAGE payload goes to the
``on_message`` callback *from the WebSocket's frame callback* — no task, no queue — because the
Socket.IO layer resolves ack futures right there (the hot path). PINGs are answered from the
same callback, so an idle WebSocket client owns no task and no timer. Long-polling (not a
hot path) lives in :mod:`horde.transports.engineio_polling`; the upgrade from it is here.

Foreign exceptions are mapped to :mod:`horde.errors` here (:func:`classify_io`), so the
Socket.IO layer only ever sees a ``TargetError``.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Callable, Mapping
from urllib.parse import urlencode, urlsplit

import aiohttp

from horde.errors import (
    DnsError,
    EngineIOProtocolError,
    PeerClosedError,
    ProtocolError,
    TargetError,
    TlsError,
    classify,
)
from horde.metrics.recorder import Recorder
from horde.protocols.engineio import EngineIOSession, Signal
from horde.protocols.websocket_frames import BINARY, CLOSE, CONTINUATION, TEXT, Frame
from horde.protocols.websocket_upgrade import parse_ws_url
from horde.safety.hosts import guard_url
from horde.safety.tls import default_ssl_context
from horde.transports.engineio_polling import LongPoll
from horde.transports.local_addresses import connect_from, local_addr
from horde.transports.shared import settle
from horde.transports.websocket import DEFAULT_MAX_MESSAGE_SIZE
from horde.transports.wire import tcp_bytes
from horde.transports.ws_client import WebSocketClient, open_websocket


def _tls(ctx: ssl.SSLContext | None) -> ssl.SSLContext:
    return ctx if ctx is not None else default_ssl_context()


def engineio_url(base: str, path: str, transport: str, sid: str | None = None) -> str:
    """``base``'s scheme, host and query + ``/<path>/?EIO=4&transport=...`` (like python-
    engineio, the base URL's own path is ignored: namespaces are passed explicitly)."""
    parts = urlsplit(base)
    secure = parts.scheme in ("https", "wss")
    if transport == "websocket":
        scheme = "wss" if secure else "ws"
    else:
        scheme = "https" if secure else "http"
    params = {"EIO": "4", "transport": transport}
    if sid is not None:
        params["sid"] = sid
    query = (parts.query + "&" if parts.query else "") + urlencode(params)
    return f"{scheme}://{parts.netloc}/{path.strip('/')}/?{query}"


def classify_io(exc: BaseException) -> TargetError:
    """:func:`horde.errors.classify`, taught aiohttp's exception types."""
    if isinstance(exc, EngineIOProtocolError):
        return ProtocolError(str(exc), detail="engineio")
    if isinstance(exc, aiohttp.ClientConnectorDNSError):
        return DnsError(str(exc))
    if isinstance(exc, aiohttp.ClientConnectorCertificateError | aiohttp.ClientSSLError):
        return TlsError(str(exc))
    if isinstance(exc, aiohttp.ClientConnectorError):
        return classify(exc.os_error)
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return PeerClosedError(str(exc) or "server disconnected")
    if isinstance(exc, aiohttp.ClientError):
        return ProtocolError(f"{type(exc).__name__}: {exc}")
    return classify(exc)


class _Listener:
    """The WebSocket's callbacks → the owning connection. Kept tiny: one per WebSocket."""

    __slots__ = ("_frags", "owner", "primary")

    def __init__(self, owner: EngineIOConnection, primary: bool) -> None:
        self.owner = owner
        self.primary = primary  # False for an upgrade's probe socket until it takes over
        self._frags: bytearray | None = None  # a fragmented message being put together

    def on_ws_connected(self, client: WebSocketClient) -> None:
        pass  # the OPEN packet, not the 101, opens an Engine.IO session

    def on_ws_frame(self, client: WebSocketClient, frame: Frame) -> None:
        kind = frame.opcode
        if kind == TEXT and frame.fin:
            payload = frame.payload
            try:
                self.owner.receive(payload.decode(), len(payload))
            except UnicodeDecodeError:
                client.send_close(1007, b"TEXT frame is not valid UTF-8")
                client.disconnect()
        elif kind == BINARY and frame.fin:
            self.owner.receive(frame.payload, len(frame.payload))
        elif kind == CLOSE:
            code = (client.close_received or (None, ""))[0]
            client.send_close(1000 if code is None else code)
            client.disconnect()
        elif kind <= BINARY:  # fragments: rare, so the slow way
            if kind != CONTINUATION:
                self._frags = bytearray(b"T" if kind == TEXT else b"B")
            if self._frags is not None:
                self._frags += frame.payload
                if frame.fin:
                    data, self._frags = bytes(self._frags), None
                    msg = data[1:].decode() if data[:1] == b"T" else data[1:]
                    self.owner.receive(msg, len(data) - 1)

    def on_ws_disconnected(self, client: WebSocketClient) -> None:
        recorder = self.owner._recorder
        recorder.add_wire(recorder.socketio, tcp_bytes(client.transport))
        self.owner.ws_lost(self.primary)

    def pause_writing(self) -> None:
        pass  # Socket.IO writes small packets; the kernel's buffer absorbs them

    def resume_writing(self) -> None:
        pass


class EngineIOConnection:
    """One Engine.IO session over the wire. ``on_message`` gets MESSAGE payloads and
    ``on_lost`` gets the error when the session ends without us asking."""

    __slots__ = ("_on_lost", "_on_message", "_opened", "_poll", "_probe", "_recorder", "_ssl",
                 "_timeout", "_ws", "closed", "lost", "session")

    def __init__(self, session: EngineIOSession, *, recorder: Recorder,
                 on_message: Callable[[str | bytes], None],
                 on_lost: Callable[[TargetError], None],
                 ssl_context: ssl.SSLContext | None = None, timeout: float = 10.0) -> None:
        self.session = session
        self._recorder = recorder
        self._on_message = on_message
        self._on_lost = on_lost
        self._ssl = ssl_context
        self._timeout = timeout
        self._ws: WebSocketClient | None = None
        self._poll: LongPoll | None = None
        self._opened: asyncio.Future[None] | None = None
        self._probe: asyncio.Future[None] | None = None
        self.lost = False  # ended without us asking (on_lost has run)
        self.closed = False  # ended either way

    # -- receiving (called from the WebSocket's callbacks and the poll loop) ----------------

    def receive(self, pkt: str | bytes, nbytes: int) -> None:
        """One Engine.IO packet in: a message goes up, a control packet is acted on."""
        self._recorder.add_bytes(0, nbytes, self._recorder.socketio)
        try:
            result = self.session.receive_packet(pkt)
        except EngineIOProtocolError as exc:
            self.lose(ProtocolError(str(exc), detail="engineio"))
            return
        if result.__class__ is not Signal:
            self._on_message(result)  # type: ignore[arg-type]
        elif result is Signal.PING:
            for pong in self.session.data_to_send():
                self.write(pong)
        elif result is Signal.OPENED:
            settle(self._opened)
        elif result is Signal.PROBED:
            settle(self._probe)
        elif result is Signal.CLOSED:
            self.lose(PeerClosedError("server closed the Engine.IO session"))

    def ws_lost(self, primary: bool) -> None:
        if primary:
            if not self.closed:
                self.lose(PeerClosedError("WebSocket connection lost"))
        else:
            settle(self._probe, PeerClosedError("upgrade WebSocket lost during the probe"))
        settle(self._opened, PeerClosedError("connection closed during the Engine.IO handshake"))

    def fail(self, exc: BaseException) -> None:
        """A transport failure (foreign exception or TargetError): lose the session."""
        if not self.closed:
            self.lose(classify_io(exc))

    def lose(self, err: TargetError) -> None:
        """The session ended without us asking: tear down, then tell the owner once."""
        if self.closed:
            return
        self.lost = self.closed = True
        settle(self._opened, err)
        settle(self._probe, err)
        if self._ws is not None:
            self._ws.disconnect()
        if self._poll is not None:
            self._poll.abort()
        self._on_lost(err)

    # -- sending ---------------------------------------------------------------------------

    def send(self, payload: str | bytes) -> None:
        """Send one MESSAGE payload (hot path on WebSocket: encode and write, nothing else)."""
        ws = self._ws
        if ws is not None and payload.__class__ is str:
            data = ("4" + payload).encode()  # type: ignore[operator]
            ws.send(TEXT, data)
            self._recorder.add_bytes(len(data), 0, self._recorder.socketio)
        else:
            self.write(self.session.encode_message(payload))

    def write(self, pkt: str | bytes) -> None:
        """Send one Engine.IO packet on whichever transport is current."""
        if self.closed:
            return
        ws = self._ws
        if ws is not None:
            data = pkt.encode() if isinstance(pkt, str) else pkt
            ws.send(TEXT if isinstance(pkt, str) else BINARY, data)
            self._recorder.add_bytes(len(data), 0, self._recorder.socketio)
        elif self._poll is not None:
            self._poll.send(pkt)

    # -- opening ---------------------------------------------------------------------------

    async def open(self, base: str, path: str, headers: dict[str, str]) -> None:
        """Handshake on the session's transport; return once the OPEN packet is in."""
        await guard_url(base)  # --allow/--deny-hosts, either transport: before any packet
        self._opened = asyncio.get_running_loop().create_future()
        if self.session.transport == "websocket":
            try:
                self._ws, _ = await self._ws_connect(engineio_url(base, path, "websocket"),
                                                     headers, primary=True)
            except BaseException:
                self._opened = None  # nobody waits for it now: a close must not fail it
                raise
        else:
            url = engineio_url(base, path, "polling")
            tls = _tls(self._ssl) if url.startswith("https:") else None
            self._poll = LongPoll(self, self._recorder, tls, headers)
            await self._poll.handshake(url)
            await self._opened
            self._poll.start(f"{url}&sid={self.session.handshake.sid}")  # type: ignore[union-attr]
            return
        await self._opened

    async def _ws_connect(self, url: str, headers: Mapping[str, str], *, primary: bool
                          ) -> tuple[WebSocketClient, _Listener]:
        where = parse_ws_url(url)
        listener = _Listener(self, primary)
        async with asyncio.timeout(self._timeout):
            source = local_addr()  # --local-ips: None unless given
            sock = None if source is None else await connect_from(source, where.host,
                                                                  where.port)
            client = await open_websocket(
                where, lambda _reply: listener, headers=list(headers.items()),
                ssl_context=_tls(self._ssl) if where.secure else None,
                max_size=DEFAULT_MAX_MESSAGE_SIZE, sock=sock)
        return client, listener

    async def upgrade(self, base: str, path: str, headers: Mapping[str, str]) -> None:
        """Polling → WebSocket: probe, drain the last poll, UPGRADE. On failure polling goes
        on and the error is raised for the caller to count."""
        poll, hs = self._poll, self.session.handshake
        assert poll is not None and hs is not None
        headers = dict(headers)
        cookie = poll.cookie_header(engineio_url(base, path, "polling"))
        if cookie:  # the polling session's (sticky) cookies, beside the scenario's own
            given = next((v for k, v in headers.items() if k.lower() == "cookie"), None)
            headers = {k: v for k, v in headers.items() if k.lower() != "cookie"}
            headers["Cookie"] = f"{given}; {cookie}" if given else cookie
        self._probe = asyncio.get_running_loop().create_future()
        probe = self.session.start_upgrade()
        try:
            ws, listener = await self._ws_connect(
                engineio_url(base, path, "websocket", hs.sid), headers, primary=False)
            try:
                ws.send(TEXT, probe.encode())
                await self._probe
                leftover = await poll.pause()  # the server ends the pending GET with a NOOP
                if self.closed:
                    raise PeerClosedError("session closed during the upgrade")
                ws.send(TEXT, self.session.finish_upgrade().encode())
            except BaseException:
                ws.disconnect()
                raise
        except BaseException:
            self.session.abort_upgrade()
            if not self.closed:
                poll.resume()
            raise
        self._ws, self._poll = ws, None
        listener.primary = True
        for pkt in leftover:
            self.write(pkt)
        await poll.close()

    # -- closing ---------------------------------------------------------------------------

    async def close(self, packets: list[str | bytes]) -> None:
        """Our close: send ``packets`` (Socket.IO DISCONNECTs) and CLOSE, then tear down."""
        if self.closed:
            return
        for pkt in packets:
            self.write(pkt)
        self.write(self.session.close())
        self.closed = True
        settle(self._opened, PeerClosedError("closed by the client"))
        ws, poll = self._ws, self._poll
        if ws is not None:
            ws.send_close()
            ws.disconnect()
            await ws.wait_disconnected()
        if poll is not None:
            await poll.flush(self._timeout)
            await poll.close()

