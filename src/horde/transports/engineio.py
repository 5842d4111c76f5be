"""Engine.IO v4 over the network: WebSocket on picows, long-polling on aiohttp, and upgrade.

:class:`EngineIOConnection` only feeds, drains and writes; every rule lives in
:class:`~horde.protocols.engineio.EngineIOSession`. Each MESSAGE payload goes to the
``on_message`` callback *from the picows frame callback* — no task, no queue — because the
Socket.IO layer resolves ack futures right there (the hot path). PINGs are answered from the
same callback, so an idle WebSocket client owns no task and no timer. Polling is not a hot
path: it runs one GET loop task plus a POST task while there is something to write.

Foreign exceptions are mapped to :mod:`horde.errors` here (:func:`classify_io`), so the
Socket.IO layer only ever sees a ``TargetError``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
from collections.abc import Callable, Mapping
from urllib.parse import urlencode, urlsplit

import aiohttp
from picows import WSHandshakeError, WSListener, WSMsgType, WSTransport, ws_connect

from horde.errors import (
    ClosedByPeer,
    DnsError,
    HandshakeRejected,
    ProtocolError,
    TargetError,
    TlsError,
    classify,
)
from horde.metrics.recorder import Recorder
from horde.protocols.engineio import EngineIOProtocolError, EngineIOSession, Signal

# picows's minimum; it grows on demand. Its 16 KiB default is most of an idle client's RSS.
# aiofastnet's transport (picows's default when installed) costs ~5 KB more per idle client
# (measured 16 KB against 11 KB RSS, 3,000 clients) for no CPU difference we could measure.
WS_READ_BUFFER = 2048
TEXT, BINARY, CLOSE = WSMsgType.TEXT, WSMsgType.BINARY, WSMsgType.CLOSE
CONT = WSMsgType.CONTINUATION
_POST_HEADERS = {"Content-Type": "text/plain;charset=UTF-8"}
_BACKGROUND: set[asyncio.Task[None]] = set()  # keeps fire-and-forget cleanups referenced
# A LoggerAdapter (not a Logger) stops picows from creating a child Logger per connection.
_PICOWS_LOG = logging.LoggerAdapter(logging.getLogger("horde.transports.picows"), {})
_default_tls: ssl.SSLContext | None = None


def _tls(ctx: ssl.SSLContext | None) -> ssl.SSLContext:
    """One shared default context: building one loads the CA store, far too slow per client."""
    global _default_tls
    if ctx is not None:
        return ctx
    if _default_tls is None:
        _default_tls = ssl.create_default_context()
    return _default_tls


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
    """:func:`horde.errors.classify`, taught picows's and aiohttp's exception types."""
    if isinstance(exc, WSHandshakeError):
        status = getattr(exc.response, "status", None)
        if status is not None:
            return HandshakeRejected(f"WebSocket handshake answered HTTP {int(status)}",
                                     status=int(status))
        return ProtocolError(f"bad WebSocket handshake: {exc}")
    if isinstance(exc, EngineIOProtocolError):
        return ProtocolError(str(exc))
    if isinstance(exc, aiohttp.ClientConnectorDNSError):
        return DnsError(str(exc))
    if isinstance(exc, aiohttp.ClientConnectorCertificateError | aiohttp.ClientSSLError):
        return TlsError(str(exc))
    if isinstance(exc, aiohttp.ClientConnectorError):
        return classify(exc.os_error)
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return ClosedByPeer(str(exc) or "server disconnected")
    if isinstance(exc, aiohttp.ClientError):
        return ProtocolError(f"{type(exc).__name__}: {exc}")
    return classify(exc)


class _Listener(WSListener):
    """picows callbacks → the owning connection. Kept tiny: one per WebSocket."""

    __slots__ = ("_frags", "owner", "primary")

    def __init__(self, owner: EngineIOConnection, primary: bool) -> None:
        self.owner = owner
        self.primary = primary  # False for an upgrade's probe socket until it takes over
        self._frags: bytearray | None = None  # a fragmented message being put together

    def on_ws_frame(self, transport: WSTransport, frame) -> None:
        kind = frame.msg_type
        if kind is TEXT and frame.fin:
            self.owner.receive(frame.get_payload_as_utf8_text(), frame.payload_size)
        elif kind is BINARY and frame.fin:
            self.owner.receive(frame.get_payload_as_bytes(), frame.payload_size)
        elif kind is CLOSE:
            transport.send_close(frame.get_close_code())
            transport.disconnect()
        elif kind in (TEXT, BINARY, CONT):  # fragments: rare, so the slow way
            if kind is not CONT:
                self._frags = bytearray(b"T" if kind is TEXT else b"B")
            if self._frags is not None:
                self._frags += frame.get_payload_as_bytes()
                if frame.fin:
                    data, self._frags = bytes(self._frags), None
                    msg = data[1:].decode() if data[:1] == b"T" else data[1:]
                    self.owner.receive(msg, len(data) - 1)

    def on_ws_disconnected(self, transport: WSTransport) -> None:
        self.owner.ws_lost(self.primary)


class EngineIOConnection:
    """One Engine.IO session over the wire. ``on_message`` gets MESSAGE payloads and
    ``on_lost`` gets the error when the session ends without us asking."""

    __slots__ = ("_http", "_lost", "_on_lost", "_on_message", "_opened", "_pause", "_poll_task",
                 "_poll_url", "_post_task", "_probe", "_recorder", "_ssl", "_timeout", "_wbuf",
                 "_ws", "closed", "session")

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
        self._ws: WSTransport | None = None
        self._http: aiohttp.ClientSession | None = None
        self._poll_url = ""
        self._poll_task: asyncio.Task[None] | None = None
        self._post_task: asyncio.Task[None] | None = None
        self._wbuf: list[str | bytes] = []
        self._pause = False
        self._opened: asyncio.Future[None] | None = None
        self._probe: asyncio.Future[None] | None = None
        self._lost = False
        self.closed = False

    # -- receiving (called from picows callbacks and the poll loop) ------------------------

    def receive(self, pkt: str | bytes, nbytes: int) -> None:
        """One Engine.IO packet in: a message goes up, a control packet is acted on."""
        self._recorder.add_bytes(received=nbytes)
        try:
            result = self.session.receive_packet(pkt)
        except EngineIOProtocolError as exc:
            self.lose(ProtocolError(str(exc)))
            return
        if result.__class__ is not Signal:
            self._on_message(result)  # type: ignore[arg-type]
        elif result is Signal.PING:
            for pong in self.session.data_to_send():
                self.write(pong)
        elif result is Signal.OPENED:
            _resolve(self._opened)
        elif result is Signal.PROBED:
            _resolve(self._probe)
        elif result is Signal.CLOSED:
            self.lose(ClosedByPeer("server closed the Engine.IO session"))

    def ws_lost(self, primary: bool) -> None:
        if primary:
            if not self.closed:
                self.lose(ClosedByPeer("WebSocket connection lost"))
        elif self._probe is not None and not self._probe.done():
            self._probe.set_exception(ClosedByPeer("upgrade WebSocket lost during the probe"))
        _fail(self._opened, ClosedByPeer("connection closed during the Engine.IO handshake"))

    def lose(self, err: TargetError) -> None:
        """The session ended without us asking: tear down, then tell the owner once."""
        if self._lost or self.closed:
            return
        self._lost = True
        self.closed = True
        _fail(self._opened, err)
        _fail(self._probe, err)
        self._teardown()
        self._on_lost(err)

    # -- sending ---------------------------------------------------------------------------

    def send(self, payload: str | bytes) -> None:
        """Send one MESSAGE payload (hot path on WebSocket: encode and write, nothing else)."""
        ws = self._ws
        if ws is not None and payload.__class__ is str:
            data = ("4" + payload).encode()  # type: ignore[operator]
            ws.send(TEXT, data)
            self._recorder.add_bytes(sent=len(data))
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
            self._recorder.add_bytes(sent=len(data))
        else:
            self._queue(pkt)

    # -- opening ---------------------------------------------------------------------------

    async def open(self, base: str, path: str, headers: Mapping[str, str]) -> None:
        """Handshake on the session's transport; return once the OPEN packet is in."""
        self._opened = asyncio.get_running_loop().create_future()
        if self.session.transport == "websocket":
            self._ws, _ = await self._ws_connect(engineio_url(base, path, "websocket"), headers,
                                                 primary=True)
        else:
            await self._poll_open(engineio_url(base, path, "polling"), headers)
        await self._opened

    async def _ws_connect(self, url: str, headers: Mapping[str, str], *, primary: bool
                          ) -> tuple[WSTransport, _Listener]:
        tls = _tls(self._ssl) if url.startswith("wss:") else None
        return await ws_connect(  # type: ignore[return-value]
            lambda: _Listener(self, primary), url, ssl_context=tls, logger_name=_PICOWS_LOG,
            websocket_handshake_timeout=self._timeout, extra_headers=headers or None,
            enable_auto_ping=False, read_buffer_init_size=WS_READ_BUFFER,
            use_aiofastnet=False, max_redirects=0)

    async def _poll_open(self, url: str, headers: Mapping[str, str]) -> None:
        self._http = aiohttp.ClientSession(headers=headers)
        async with self._http.get(url, ssl=_tls(self._ssl)) as resp:
            if resp.status != 200:
                raise HandshakeRejected(f"polling handshake answered HTTP {resp.status}",
                                        status=resp.status)
            body = await resp.read()
        self._receive_payload(body)
        hs = self.session.handshake
        if hs is None or self.closed:
            _fail(self._opened, ProtocolError(f"polling handshake had no OPEN: {body[:80]!r}"))
            await self._opened  # raises the first error
        assert hs is not None
        self._poll_url = f"{url}&sid={hs.sid}"
        self._poll_task = asyncio.get_running_loop().create_task(self._poll_loop())

    # -- long-polling ----------------------------------------------------------------------

    def _receive_payload(self, body: bytes) -> None:
        try:
            packets = self.session.decode_payload(body.decode())
        except (UnicodeDecodeError, EngineIOProtocolError) as exc:
            self.lose(ProtocolError(f"bad polling payload: {exc}"))
            return
        for pkt in packets:
            if self.closed:
                return
            self.receive(pkt, 0)
        self._recorder.add_bytes(received=len(body))

    async def _poll_loop(self) -> None:
        hs = self.session.handshake
        assert hs is not None and self._http is not None
        # The server holds a GET for up to pingInterval; give it pingTimeout on top.
        timeout = aiohttp.ClientTimeout(total=hs.ping_interval + hs.ping_timeout + 5)
        try:
            while not self.closed and not self._pause:
                async with self._http.get(self._poll_url, ssl=_tls(self._ssl),
                                          timeout=timeout) as resp:
                    body = await resp.read()
                    if resp.status != 200:
                        raise ClosedByPeer(f"poll answered HTTP {resp.status}: {body[:80]!r}")
                self._receive_payload(body)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            if not self.closed:
                self.lose(classify_io(exc))

    def _queue(self, pkt: str | bytes) -> None:
        if self.closed:
            return
        self._wbuf.append(pkt)
        self._kick_post()

    def _kick_post(self) -> None:
        if self._wbuf and self._post_task is None and not self._pause:
            self._post_task = asyncio.get_running_loop().create_task(self._post_loop())

    async def _post_loop(self) -> None:
        """One POST at a time (Engine.IO servers reject overlapping ones), batching."""
        assert self._http is not None
        try:
            while self._wbuf and not self._lost:
                body = self.session.take_payload(self._wbuf).encode()
                async with self._http.post(self._poll_url, data=body, headers=_POST_HEADERS,
                                           ssl=_tls(self._ssl)) as resp:
                    await resp.read()
                    if resp.status != 200:
                        raise ClosedByPeer(f"POST answered HTTP {resp.status}")
                self._recorder.add_bytes(sent=len(body))
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            if not self.closed:
                self.lose(classify_io(exc))
        finally:
            self._post_task = None

    # -- upgrade ---------------------------------------------------------------------------

    async def upgrade(self, base: str, path: str, headers: Mapping[str, str]) -> None:
        """Polling → WebSocket: probe, drain the last poll, UPGRADE. On failure polling goes
        on and the error is raised for the caller to count."""
        hs = self.session.handshake
        assert hs is not None and self._http is not None
        headers = dict(headers)
        cookies = self._http.cookie_jar.filter_cookies(engineio_url(base, path, "polling"))
        if cookies:
            headers["Cookie"] = "; ".join(f"{k}={m.value}" for k, m in cookies.items())
        url = engineio_url(base, path, "websocket", hs.sid)
        self._probe = asyncio.get_running_loop().create_future()
        probe = self.session.start_upgrade()
        try:
            ws, listener = await self._ws_connect(url, headers, primary=False)
        except BaseException:
            self.session.abort_upgrade()
            raise
        try:
            ws.send(TEXT, probe.encode())
            await self._probe
            self._pause = True  # the server ends the pending GET with a NOOP
            for task in (self._poll_task, self._post_task):
                if task is not None:
                    await task
            if self.closed:
                raise ClosedByPeer("session closed during the upgrade")
            ws.send(TEXT, self.session.finish_upgrade().encode())
        except BaseException:
            self.session.abort_upgrade()
            ws.disconnect()
            if self._pause and not self.closed:
                self._pause = False
                self._poll_task = asyncio.get_running_loop().create_task(self._poll_loop())
                self._kick_post()
            raise
        self._ws = ws
        listener.primary = True
        self._poll_task = None
        pending, self._wbuf = self._wbuf, []
        for pkt in pending:
            self.write(pkt)
        http, self._http = self._http, None
        await http.close()

    # -- closing ---------------------------------------------------------------------------

    async def close(self, packets: list[str | bytes]) -> None:
        """Our close: send ``packets`` (Socket.IO DISCONNECTs) and CLOSE, then tear down."""
        if self.closed:
            return
        for pkt in packets:
            self.write(pkt)
        self.write(self.session.close())
        if self._ws is None and self._post_task is not None:
            with contextlib.suppress(Exception):  # a dead server must not stall our close
                await asyncio.wait_for(asyncio.shield(self._post_task), self._timeout)
        self.closed = True
        ws = self._ws
        self._teardown()
        if ws is not None:
            await ws.wait_disconnected()
        if self._http is not None:
            await self._http.close()

    def _teardown(self) -> None:
        self.closed = True
        if self._ws is not None:
            self._ws.send_close()
            self._ws.disconnect()
        for task in (self._poll_task, self._post_task):
            if task is not None and task is not asyncio.current_task():
                task.cancel()
        if self._http is not None and self._lost:
            http, self._http = self._http, None
            task = asyncio.get_running_loop().create_task(http.close())
            _BACKGROUND.add(task)
            task.add_done_callback(_BACKGROUND.discard)


def _resolve(fut: asyncio.Future[None] | None) -> None:
    if fut is not None and not fut.done():
        fut.set_result(None)


def _fail(fut: asyncio.Future[None] | None, exc: BaseException) -> None:
    if fut is not None and not fut.done():
        fut.set_exception(exc)
