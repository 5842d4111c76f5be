"""Engine.IO long-polling on aiohttp: the GET loop and the POST queue of one session.

Not a hot path (polling exists for clients behind proxies that refuse WebSocket, and as
the first leg of an upgrade), so it is plain asyncio: one task loops on GET, each answer is
split into packets by :class:`~horde.protocols.engineio.EngineIOSession` and fed to the
owning :class:`~horde.transports.engineio.EngineIOConnection`; writes are batched into one
POST at a time (Node's engine.io rejects overlapping POSTs, python-engineio more than 16
packets per POST). :meth:`LongPoll.pause` is the upgrade's "drain the last poll" step.
"""

from __future__ import annotations

import asyncio
import ssl
from typing import Protocol

import aiohttp
from yarl import URL

from horde.errors import (
    EngineIOProtocolError,
    HandshakeRejectedError,
    PeerClosedError,
    ProtocolError,
)
from horde.metrics.recorder import Recorder
from horde.protocols.engineio import EngineIOSession
from horde.safety.hosts import guard_url
from horde.transports.local_addresses import local_addr


class PollOwner(Protocol):
    """What a long poll needs of the Engine.IO connection that owns it
    (:class:`~horde.transports.engineio.EngineIOConnection`): its session, whether it
    ended, and where packets and failures go."""

    session: EngineIOSession
    closed: bool  # ended either way
    lost: bool  # ended without being asked

    def receive(self, pkt: str | bytes, nbytes: int) -> None: ...

    def fail(self, exc: BaseException) -> None: ...

_POST_HEADERS = {"Content-Type": "text/plain;charset=UTF-8"}
_BACKGROUND: set[asyncio.Task[None]] = set()  # keeps fire-and-forget cleanups referenced


async def _guard_redirect(_session: object, _ctx: object,
                          params: aiohttp.TraceRequestRedirectParams) -> None:
    """aiohttp follows redirects itself: each hop's host passes --allow/--deny-hosts too."""
    location = params.response.headers.get("Location")
    if location:
        await guard_url(str(params.url.join(URL(location))))


_REDIRECT_GUARD = aiohttp.TraceConfig()
_REDIRECT_GUARD.on_request_redirect.append(_guard_redirect)


class LongPoll:
    """Long-polling for one Engine.IO session; reports every failure to ``owner.fail``."""

    __slots__ = ("_http", "_owner", "_paused", "_poll_task", "_post_task", "_recorder", "_ssl",
                 "_url", "pending")

    def __init__(self, owner: PollOwner, recorder: Recorder,
                 ssl_context: ssl.SSLContext | None, headers: dict[str, str]) -> None:
        self._owner = owner
        self._recorder = recorder
        # None for http://: aiohttp's True (its default) is then never used
        self._ssl: ssl.SSLContext | bool = True if ssl_context is None else ssl_context
        source = local_addr()  # --local-ips: one source address for the whole session
        self._http = aiohttp.ClientSession(
            headers=headers, trace_configs=[_REDIRECT_GUARD],
            connector=None if source is None else aiohttp.TCPConnector(local_addr=source))
        self._url = ""
        self._paused = False
        self._poll_task: asyncio.Task[None] | None = None
        self._post_task: asyncio.Task[None] | None = None
        self.pending: list[str | bytes] = []  # packets waiting for the next POST

    async def handshake(self, url: str) -> None:
        """The opening GET; its packets (the OPEN first) go to the owner."""
        async with self._http.get(url, ssl=self._ssl) as resp:
            if resp.status != 200:
                raise HandshakeRejectedError(f"polling handshake answered HTTP {resp.status}",
                                        status=resp.status)
            body = await resp.read()
        self._deliver(body)
        if self._owner.session.handshake is None and not self._owner.closed:
            raise ProtocolError(f"polling handshake had no OPEN packet: {body[:80]!r}")

    def start(self, url: str) -> None:
        """Begin polling ``url`` (the handshake URL plus ``&sid=``)."""
        self._url = url
        self.resume()

    def cookie_header(self, url: str) -> str | None:
        """Cookies the server set (sticky sessions), for the upgrade's WebSocket handshake."""
        cookies = self._http.cookie_jar.filter_cookies(url)  # type: ignore[arg-type]
        return "; ".join(f"{k}={m.value}" for k, m in cookies.items()) or None

    # -- receiving -------------------------------------------------------------------------

    def _deliver(self, body: bytes) -> None:
        owner = self._owner
        try:
            packets = owner.session.decode_payload(body.decode())
        except (UnicodeDecodeError, EngineIOProtocolError) as exc:
            owner.fail(ProtocolError(f"bad polling payload: {exc}"))
            return
        self._recorder.add_bytes(0, len(body), self._recorder.socketio)
        for pkt in packets:
            if owner.closed:
                return
            owner.receive(pkt, 0)

    async def _poll_loop(self) -> None:
        hs = self._owner.session.handshake
        assert hs is not None
        # The server holds a GET for up to pingInterval; give it pingTimeout on top.
        timeout = aiohttp.ClientTimeout(total=hs.ping_interval + hs.ping_timeout + 5)
        try:
            while not self._owner.closed and not self._paused:
                async with self._http.get(self._url, ssl=self._ssl, timeout=timeout) as resp:
                    body = await resp.read()
                    if resp.status != 200:
                        raise PeerClosedError(f"poll answered HTTP {resp.status}: {body[:80]!r}")
                self._deliver(body)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            self._owner.fail(exc)

    # -- sending ---------------------------------------------------------------------------

    def send(self, pkt: str | bytes) -> None:
        self.pending.append(pkt)
        self._kick()

    def _kick(self) -> None:
        if self.pending and self._post_task is None and not self._paused and self._url:
            self._post_task = asyncio.get_running_loop().create_task(self._post_loop())

    async def _post_loop(self) -> None:
        """One POST at a time, each carrying as much of ``pending`` as the server allows."""
        owner = self._owner
        try:
            while self.pending and not owner.lost:
                body = owner.session.take_payload(self.pending).encode()
                async with self._http.post(self._url, data=body, headers=_POST_HEADERS,
                                           ssl=self._ssl) as resp:
                    await resp.read()
                    if resp.status != 200:
                        raise PeerClosedError(f"POST answered HTTP {resp.status}")
                self._recorder.add_bytes(len(body), 0, self._recorder.socketio)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            owner.fail(exc)
        finally:
            self._post_task = None

    async def flush(self, timeout: float) -> None:
        """Wait (at most ``timeout``) for queued packets to be POSTed: our CLOSE, say."""
        if self._post_task is not None:  # a dead server must not stall our close
            await asyncio.wait({self._post_task}, timeout=timeout)

    # -- upgrade and closing ---------------------------------------------------------------

    async def pause(self) -> list[str | bytes]:
        """Stop polling once the pending GET ends (the server ends it with a NOOP when the
        probe arrives) and the last POST is done; return what was still to be sent."""
        self._paused = True
        tasks = {t for t in (self._poll_task, self._post_task) if t is not None}
        if tasks:
            await asyncio.wait(tasks)  # never raises: failures went to owner.fail already
        pending, self.pending = self.pending, []
        return pending

    def resume(self) -> None:
        self._paused = False
        if self._poll_task is None or self._poll_task.done():
            self._poll_task = asyncio.get_running_loop().create_task(self._poll_loop())
        self._kick()

    def abort(self) -> None:
        """Stop now (from a callback): cancel the loops, close the HTTP session soon."""
        for task in (self._poll_task, self._post_task):
            if task is not None and task is not asyncio.current_task():
                task.cancel()
        if not self._http.closed:
            closing = asyncio.get_running_loop().create_task(self._http.close())
            _BACKGROUND.add(closing)
            closing.add_done_callback(_BACKGROUND.discard)

    async def close(self) -> None:
        for task in (self._poll_task, self._post_task):
            if task is not None and task is not asyncio.current_task():
                task.cancel()
        await self._http.close()
