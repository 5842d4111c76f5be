"""The Socket.IO v4 client transport: one :class:`SocketIOConnection` per virtual user.

Hand-written because python-socketio's client costs 11–19 CPU-s per 100k emit-with-ack
here; horde's budget is 4. The round trip is the hot path: ``call`` encodes, writes on the
WebSocket and awaits a bare future, and the WebSocket's frame callback decodes the ACK,
records the latency and resolves that future — no task, no queue, no timer per call: ack
and ``wait_for`` deadlines share one lazily re-armed timer per connection, which a new
deadline only touches when it is earlier than the armed one. Engine.IO lives in
:mod:`horde.transports.engineio`; the protocol rules in :mod:`horde.protocols.socketio`.

Received events go to the ``on`` handler of their (namespace, event) if any, to the first
matching ``wait_for``, and otherwise into a per-(namespace, event) queue so a ``wait_for``
called just after the event arrived still finds it; the queues of one connection hold at
most ``inbox_limit`` events together (:mod:`horde.transports.socketio_inbox`).
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Callable, Mapping, Sequence
from time import monotonic, perf_counter_ns
from typing import Any
from urllib.parse import urljoin

from horde.errors import (
    AppError,
    OperationTimeoutError,
    PeerClosedError,
    ProtocolError,
    SocketIOProtocolError,
    TargetError,
    UsageError,
    again,
)
from horde.metrics.names import (
    SIO_ACK,
    SIO_ACK_IN,
    SIO_CONNECT,
    SIO_EMIT,
    SIO_EVENT_IN,
    SIO_RECOVERY,
    SIO_REPLY,
)
from horde.metrics.operations import Operation
from horde.metrics.recorder import Recorder
from horde.protocols.codec import Codec, RawCodec
from horde.protocols.engineio import EngineIOSession
from horde.protocols.socketio import (
    AckReceived,
    Connected,
    ConnectRefused,
    Disconnected,
    EventReceived,
    SocketIOSession,
)
from horde.streams.meter import (
    COMPLETED,
    DEFAULT_STALL_AFTER,
    StreamMeter,
    StreamResult,
    reason_for,
)
from horde.transports.engineio import EngineIOConnection, classify_io
from horde.transports.inbox import stream_taker
from horde.transports.reconnect import BeforeReconnect, OnReconnect, Reconnect, Reconnector
from horde.transports.shared import error_detail, settle
from horde.transports.socketio_inbox import EMPTY, EventInbox, SocketIOEvent, unwrap

__all__ = ["INBOX_LIMIT", "SocketIOConnection", "SocketIOEvent"]

INBOX_LIMIT = 1_000
"""The most unclaimed events one connection keeps, all names together (``inbox_limit=``)."""
# ack id -> (future, its sio_ack operation, deadline ns, namespace)
_Pending = tuple[asyncio.Future[Any], Operation, int, str]


class SocketIOConnection:
    """A Socket.IO client whose connects, emits, acks, events and failures land in a
    :class:`Recorder`: what ``await user.socketio(url, ...)`` returns.

    What is counted: the connect (``sio_connect``), every emit (``sio_emit:EVENT``) and
    event in (``sio_event_in:EVENT``), each :meth:`call` (``sio_ack:NAME``) and
    :meth:`request` (``sio_reply:NAME``) as an operation, each :meth:`stream`; an event
    of ``error_events`` is an ``app_error``. Events nobody handles or waits for are queued
    for a later :meth:`wait_for`, bounded by ``inbox_limit`` (docs/socketio.md)::

        sio = await user.socketio(error_events=("error",), ignore=("teams_updated",))
        ack = await sio.call("create_team", {"team_name": "t1"})          # server acks
        team = await sio.request("join_team", {"team_name": "t1"}, reply="team_joined")
        event, data = await sio.wait_for(("game_start", "game_over"))
    """

    __slots__ = ("_acks", "_decode", "_eio", "_encode", "_error_detail", "_error_events",
                 "_inbox", "_inbox_limit", "_loop", "_lost", "_lost_told", "_namespaces",
                 "_offsets", "_pending_connect", "_pids",
                 "_reconnect", "_recorder", "_sio", "_timeout_ns", "_timer", "_timer_at",
                 "connected", "recovered", "sid", "sids")

    def __init__(self, recorder: Recorder, *, codec: Codec | None, default_timeout: float,
                 namespaces: Sequence[str], error_events: Sequence[str] = (),
                 inbox_limit: int = INBOX_LIMIT,
                 error_detail: Callable[[Any], object] | None = None) -> None:
        """An unconnected client; only :meth:`connect` opens anything."""
        # The codec applies per argument. Socket.IO already carries JSON values and bytes, so
        # RawCodec (the default) means "untouched" here: it must not turn dicts into text.
        raw = codec is None or type(codec) is RawCodec
        self._encode = None if raw else codec.encode
        self._decode = None if raw else codec.decode
        self._recorder = recorder
        self._timeout_ns = int(default_timeout * 1e9)
        self._namespaces = tuple(namespaces)
        if isinstance(error_events, str):
            error_events = (error_events,)
        self._error_events = frozenset(error_events) or None  # None: one test per event
        self._error_detail = error_detail
        self._sio = SocketIOSession()
        self._eio: EngineIOConnection | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._acks: dict[int, _Pending] = {}
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at = 0
        self._inbox: EventInbox | None = None  # made on first use: idle clients stay small
        if isinstance(inbox_limit, bool) or not isinstance(inbox_limit, int) or inbox_limit < 1:
            raise UsageError(f"inbox_limit must be a whole number of events ≥ 1: {inbox_limit!r}")
        self._inbox_limit = inbox_limit
        self._pending_connect: dict[str, asyncio.Future[None]] = {}
        self._lost: TargetError | None = None  # why Engine.IO ended, if it did
        self._lost_told = False  # the loss's own error has failed something already
        self._reconnect: Reconnector | None = None
        self._pids: dict[str, str] = {}  # namespace -> recovery session id, when offered
        self._offsets: dict[str, str] = {}  # namespace -> offset of the last event
        self.recovered: bool | None = None  # after a reconnect: did the server resume?
        self.connected = False
        self.sid: str | None = None
        self.sids: dict[str, str | None] = {}

    @property
    def transport(self) -> str:
        """``"websocket"`` or ``"polling"`` (it changes once an upgrade completes)."""
        return self._eio.session.transport if self._eio is not None else "websocket"

    # -- opening ---------------------------------------------------------------------------

    @classmethod
    async def connect(cls, url: str, *, recorder: Recorder, namespaces: Sequence[str] = ("/",),
                      transports: str | Sequence[str] = ("websocket",),
                      headers: Mapping[str, str] | None = None, auth: Any = None,
                      timeout: float = 10.0, ssl_context: ssl.SSLContext | None = None,
                      socketio_path: str = "socket.io", codec: Codec | None = None,
                      default_timeout: float = 30.0, reconnect: Reconnect | None = None,
                      on_reconnect: OnReconnect | None = None,
                      before_reconnect: BeforeReconnect | None = None,
                      error_events: Sequence[str] = (),
                      on: Mapping[str | tuple[str, str], Callable[..., Any]] | None = None,
                      ignore: Sequence[str | tuple[str, str]] = (),
                      inbox_limit: int = INBOX_LIMIT,
                      error_detail: Callable[[Any], object] | None = None,
                      ) -> SocketIOConnection:
        """Open Engine.IO on ``transports[0]``, connect every namespace, upgrade polling to
        WebSocket when both are allowed and the server offers it. Failures are recorded
        (``connect_failed``) and raised as :class:`~horde.errors.TargetError`.

        ``transports`` is ``"websocket"`` or ``"polling"``, or both in the order to try
        (``("polling", "websocket")``: start polling, then upgrade). Anything else is a
        :class:`~horde.errors.UsageError`, which ends the run (exit 2).

        With ``reconnect``, a connection the server drops is reopened in the background
        (see :mod:`horde.transports.reconnect`), resuming the session when the server
        offers connection-state recovery; ``await on_reconnect(conn)`` runs after each, and
        ``await before_reconnect(conn)`` before each attempt: it may return a new URL
        (relative to ``url``) for a server that forgot the session (docs/reliability.md).

        ``error_events`` names the events by which the application says something failed
        (e.g. ``("error",)``; default none). Each one is counted as an ``app_error`` whose
        detail is its message (the data's ``message`` field, else its text, shortened) and
        fails at once, with :class:`~horde.errors.AppError`, every operation waiting on its
        namespace: ``call``, ``request``, ``stream`` and ``wait_for`` — except a
        ``wait_for`` that names that event, which gets it. An ``on`` handler for it still
        runs; it is never queued. ``error_detail(data)`` says what the error was instead
        of its ``message`` field (the detail keys the counter: name the kind of error).

        ``on`` registers handlers before anything is sent, so the events a server emits as
        it accepts the connection (a ``connection_established``) reach them: ``{"event":
        handler}`` for the ``/`` namespace, ``{("/chat", "event"): handler}`` for another.
        (Without it, such events wait in the queue for a ``wait_for``; a handler set with
        :meth:`on` after the connect only sees later ones.) ``ignore`` names the events
        this scenario never reads (``("teams_updated",)``, or ``("/chat", "event")``
        pairs): :meth:`ignore` for each, from the first event on.

        ``inbox_limit`` bounds the events kept for a later ``wait_for`` that nobody waited
        for yet: at most that many (default 1,000) per connection, all names together; past
        it the oldest of the name with the most queued is dropped (``sio_inbox_dropped``).
        What is never taken counts as ``sio_unclaimed:EVENT`` and the end of the run names
        it: :meth:`ignore` the events a scenario does not read."""
        transports = _transports(transports)
        self = cls(recorder, codec=codec, default_timeout=default_timeout, namespaces=namespaces,
                   error_events=error_events, inbox_limit=inbox_limit,
                   error_detail=error_detail)
        self._loop = asyncio.get_running_loop()
        for key, handler in (on or {}).items():
            nsp, event = ("/", key) if isinstance(key, str) else key
            self.on(event, handler, namespace=nsp)
        for key in ignore:
            nsp, event = ("/", key) if isinstance(key, str) else key
            self.ignore(event, namespace=nsp)
        args = (url, tuple(transports), dict(headers or {}), auth, timeout, ssl_context,
                socketio_path)
        await self._open(*args)
        if reconnect is not None:
            self._reconnect = Reconnector(
                reconnect, recorder=recorder, prefix="sio", conn=self,
                reopen=lambda new_url: self._reopen(args, new_url), give_up=self._give_up,
                on_reconnect=on_reconnect, before_reconnect=before_reconnect)
        return self

    async def _open(self, url: str, transports: tuple[str, ...], hdrs: dict[str, str],
                    auth: Any, timeout: float, ssl_context: ssl.SSLContext | None,
                    socketio_path: str) -> None:
        recorder = self._recorder
        eio = self._eio = EngineIOConnection(
            EngineIOSession(transports[0]), recorder=recorder, on_message=self._on_message,
            on_lost=self._on_lost, ssl_context=ssl_context, timeout=timeout)
        op = recorder.connect_begin(SIO_CONNECT)
        try:
            async with asyncio.timeout(timeout):
                await eio.open(url, socketio_path, hdrs)
                for nsp in self._namespaces:
                    self._pending_connect[nsp] = self._loop.create_future()  # type: ignore[union-attr]
                    eio.send(self._sio.connect(nsp, self._auth_for(nsp, auth)))
                for fut in list(self._pending_connect.values()):
                    await fut
                if self._lost is not None:  # lost right after the namespaces came up
                    raise self._lost
                connected_ns = perf_counter_ns()
                hs = eio.session.handshake
                if (eio.session.transport == "polling" and "websocket" in transports
                        and hs is not None and "websocket" in hs.upgrades):
                    try:
                        await eio.upgrade(url, socketio_path, hdrs)
                    except (Exception, asyncio.CancelledError) as exc:
                        if eio.closed or isinstance(exc, asyncio.CancelledError):
                            raise
                        recorder.count("sio_upgrade_failed")
        except asyncio.CancelledError:
            recorder.connect_abandoned(op)
            await self._abandon()
            raise
        except Exception as exc:
            err = classify_io(exc)
            if isinstance(exc, TimeoutError):
                err.detail = err.detail or "sio_connect"
            recorder.connect_failed(op, err)
            await self._abandon()
            raise err from exc
        self._pending_connect.clear()
        self.connected = True
        recorder.connect_succeeded(op, connected_ns)  # the upgrade after is not the connect

    def _auth_for(self, namespace: str, auth: Any) -> Any:
        """The CONNECT payload: ``auth``, plus the session to resume when the server gave
        one (socket.io-client does the same: ``{pid, offset, ...auth}``)."""
        pid = self._pids.get(namespace)
        if pid is None or not (auth is None or isinstance(auth, dict)):
            return auth
        resume = {"pid": pid}
        offset = self._offsets.get(namespace)
        if offset is not None:
            resume["offset"] = offset
        return {**resume, **(auth or {})}

    async def _reopen(self, args: tuple[Any, ...], url: str | None) -> None:
        """One reconnect attempt: a fresh Engine.IO session behind this same object, at
        ``url`` (relative to the first) if ``before_reconnect`` gave one."""
        if url is not None:
            args = (urljoin(args[0], url), *args[1:])
        before = dict(self._pids)
        self._sio = SocketIOSession()
        self._lost = None
        self._lost_told = False
        self.sid, self.sids = None, {}
        await self._open(*args)
        if before:  # the server offered recovery: did it resume every namespace?
            self.recovered = all(self._pids.get(n) == pid for n, pid in before.items())
            self._recorder.count(SIO_RECOVERY, "recovered" if self.recovered else "lost")

    def _give_up(self, err: TargetError) -> None:
        """The reconnects failed: every later operation raises ``err`` (counted once)."""
        self._lost = err
        self._fail_pending(err, None)
        if self._inbox is not None:
            self._inbox.count_unclaimed()

    @property
    def reconnecting(self) -> bool:
        """True from a drop until the reconnect (and its ``on_reconnect``) is done."""
        return self._reconnect is not None and self._reconnect.pending

    @property
    def dropped(self) -> bool:
        """Lost (the server dropped it), not closed by this client, and not reconnecting."""
        return not self.connected and self._lost is not None and not self.reconnecting

    async def _reconnected(self, timeout: float | None) -> None:
        """Not connected: wait for a reconnect in progress (bounded by ``timeout``); raises
        the give-up error once the reconnects failed. ``_check`` then says the rest."""
        reconnector = self._reconnect
        if reconnector is not None:
            await reconnector.wait(self._timeout_ns if timeout is None else int(timeout * 1e9))

    async def _abandon(self) -> None:
        """A failed connect: close quietly, retrieve errors nobody will await."""
        for fut in self._pending_connect.values():
            if fut.done() and not fut.cancelled():
                fut.exception()
        self._pending_connect.clear()
        if self._eio is not None:
            await self._eio.close([])

    # -- sending ---------------------------------------------------------------------------

    def _check(self, namespace: str) -> EngineIOConnection:
        """The live Engine.IO connection, or the error an operation must fail with.
        (Our sessions use the default monotonic clock, so ``expires_at`` compares directly.)"""
        eio = self._eio
        if (self.connected and self._sio.namespaces.get(namespace) == "connected"
                and monotonic() <= eio.session.expires_at):  # type: ignore[union-attr]
            return eio  # type: ignore[return-value]
        return self._refuse(namespace)

    def _refuse(self, namespace: str) -> EngineIOConnection:
        """Raise why an operation cannot go out. Using a connection the server dropped
        fails, and counts, each time (the drop was counted once); using one this client
        disconnected is the scenario's doing, not the target's, and is never counted."""
        eio = self._eio
        if not self.connected or eio is None:
            lost = self._lost
            if lost is None:
                raise _recorded(PeerClosedError("the Socket.IO connection is closed"))
            if not self._lost_told:
                self._lost_told = True
                raise lost
            raise again(lost)
        if self._sio.namespaces.get(namespace) != "connected":
            if namespace not in self._namespaces:
                raise UsageError(f"namespace {namespace!r} was not in connect(namespaces=...)")
            raise PeerClosedError(f"namespace {namespace!r} was disconnected")
        if eio.session.is_expired(eio.session.now()):  # lazy pingTimeout: no timer per client
            lost = PeerClosedError("no PING from the server within pingInterval+pingTimeout")
            eio.lose(lost)  # counts it, as the drop; this operation fails by the same error
            raise lost
        return eio

    async def emit(self, event: str, *args: Any, namespace: str = "/") -> None:
        """Send an event without asking for an ack (waits out a reconnect in progress).
        Counted as ``sio_emit:EVENT``.

        Each of ``args`` is one argument of the event: ``emit(ev)`` sends none and
        ``emit(ev, None)`` one null argument — servers that check how many arguments a
        handler got (Flask-SocketIO, a Node handler reading ``args.length``) tell them
        apart. Several arguments arrive as several handler parameters, not as a list."""
        if not self.connected:
            await self._reconnected(None)
        eio = self._check(namespace)
        if self._encode is not None:
            args = tuple(map(self._encode, args))
        for payload in self._sio.encode_event(namespace, event, args):
            eio.send(payload)
        self._recorder.count(SIO_EMIT, event)

    async def call(self, event: str, *args: Any, namespace: str = "/", name: str | None = None,
                   timeout: float | None = None) -> Any:
        """Emit with an ack and return the ack's data (one value, ``None`` or a tuple).

        The latency (``sio_ack`` under ``name or event``) is taken in the frame callback, so
        the event loop's scheduling delay is not in it. A missing ack raises
        :class:`~horde.errors.OperationTimeoutError` after recording it.

        ``emit(ev)`` and ``call(ev)`` send no argument; ``call(ev, None)`` sends one null
        argument. Servers that check how many arguments a handler got tell them apart.
        """
        recorder = self._recorder
        op = recorder.begin(SIO_ACK, name or event)
        ack_id = None
        try:
            if not self.connected:  # a reconnect in progress: waited for, not in the latency
                await self._reconnected(timeout)
                op.start_ns = perf_counter_ns()
            eio = self._check(namespace)
            if self._encode is not None:
                args = tuple(map(self._encode, args))
            ack_id = self._sio.new_ack_id()
            payloads = self._sio.encode_event(namespace, event, args, ack_id)
            fut = self._loop.create_future()
            deadline = op.start_ns + (self._timeout_ns if timeout is None else int(timeout * 1e9))
            self._acks[ack_id] = (fut, op, deadline, namespace)
            if self._timer is None or deadline < self._timer_at:
                self._arm(deadline)
            recorder.count(SIO_EMIT, event)
            for payload in payloads:
                eio.send(payload)
            data = await fut  # the frame callback ends ``op`` (the timer, on a timeout)
        except BaseException as exc:
            if ack_id is not None:
                self._acks.pop(ack_id, None)
            recorder.end(op, exc)
            raise
        if self._decode is not None:
            data = [self._decode(a) if isinstance(a, str | bytes) else a for a in data]
        return unwrap(data)

    # -- receiving -------------------------------------------------------------------------

    def on(self, event: str, handler: Callable[..., Any] | None, namespace: str = "/") -> None:
        """Call ``handler(*args)`` for each ``event`` pushed from now on (``None`` removes).
        An async handler runs as a task; its exceptions count as the scenario's. Its return
        value answers a server event that asked for an ack. Events that came before (while
        connecting, too) stay queued for ``wait_for``: to see those, pass ``on=`` to
        :meth:`connect` (``user.socketio(..., on={...})``)."""
        handlers = self._events().handlers
        if handler is None:
            handlers.pop((namespace, event), None)
        else:
            handlers[(namespace, event)] = handler

    def ignore(self, event: str, namespace: str = "/") -> None:
        """Never queue ``event``: it is counted (``sio_event_in``) and otherwise dropped,
        as for a lobby broadcasting updates this scenario does not read. Queued ones go
        now. A ``wait_for`` still gets the ones arriving while it waits; :meth:`on` with a
        handler (or ``None``) replaces this."""
        self._events().ignore((namespace, event))

    async def wait_for(self, event: str | tuple[str, ...],
                       predicate: Callable[[Any], bool] | None = None, *,
                       namespace: str = "/", timeout: float | None = None) -> Any:
        """The data of the next ``event`` matching ``predicate``, queued ones first.
        Raises :class:`~horde.errors.OperationTimeoutError` (not recorded: the caller decides).

        Given a tuple of names, waits for the first of them and returns a
        :class:`~horde.SocketIOEvent` saying which came:
        ``event, data = await sio.wait_for(("team_joined", "error"))`` (``predicate``
        applies to each one's data; queued ones are looked at in the order given)."""
        inbox = self._events()
        keys = _keys(namespace, event)
        found = _take(inbox, keys, predicate)
        if found is not EMPTY:
            return found
        if not self.connected:
            await self._reconnected(timeout)
            found = _take(inbox, keys, predicate)  # replayed by a recovered session, maybe
            if found is not EMPTY:
                return found
        self._check(namespace)
        fut = self._loop.create_future()
        deadline = perf_counter_ns() + (
            self._timeout_ns if timeout is None else int(timeout * 1e9))
        label = f"wait_for {event if isinstance(event, str) else ' | '.join(event)}"
        inbox.wait(keys, fut, predicate, deadline, label)
        if self._timer is None or deadline < self._timer_at:
            self._arm(deadline)
        try:
            return await fut
        finally:  # given up, or one of several came: forget the waits left
            if fut.cancelled() or keys[0].__class__ is tuple:
                inbox.discard(keys, fut)

    async def request(self, event: str, *args: Any, reply: str | tuple[str, ...],
                      namespace: str = "/",
                      match: Callable[[Any], bool] | None = None, name: str | None = None,
                      timeout: float | None = None) -> Any:
        """Emit ``event`` and return the data of the ``reply`` event that answers it: the
        Socket.IO twin of a WebSocket ``request``, for servers that answer with an event
        instead of an ack.

        The reply is the first ``reply`` event arriving after the emit that ``match``
        accepts (``None``: any); events queued before it predate the emit and are left
        alone. Timed as ``sio_reply`` under ``name or event`` from the emit to the reply's
        frame; a missing reply is a ``timeout`` under that name and raises
        :class:`~horde.errors.OperationTimeoutError`. An event of ``error_events`` on the
        namespace fails it at once with :class:`~horde.errors.AppError`.

        ``reply`` may be a tuple of names: the first of them to come answers, returned as a
        :class:`~horde.SocketIOEvent` (``event, data = await sio.request(...)``).
        ``request(ev)`` sends no argument, ``request(ev, None)`` one null argument.
        """
        recorder = self._recorder
        op = recorder.begin(SIO_REPLY, name or event)
        key = _keys(namespace, reply)
        fut = None
        try:
            if not self.connected:
                await self._reconnected(timeout)
                op.start_ns = perf_counter_ns()
            eio = self._check(namespace)
            if self._encode is not None:
                args = tuple(map(self._encode, args))
            fut = self._loop.create_future()
            deadline = op.start_ns + (self._timeout_ns if timeout is None else int(timeout * 1e9))
            self._events().wait(key, fut, match, deadline, name or event, op)  # before the emit
            if self._timer is None or deadline < self._timer_at:
                self._arm(deadline)
            for payload in self._sio.encode_event(namespace, event, args):
                eio.send(payload)
            recorder.count(SIO_EMIT, event)
            found = await fut
        except BaseException as exc:
            if fut is not None:
                self._events().discard(key, fut)
            recorder.end(op, exc)
            raise
        if key[0].__class__ is tuple:  # one of several came: forget the others
            self._events().discard(key, fut)
        return found

    async def stream(self, event: str, *args: Any, chunk_event: str, name: str,
                     until: Callable[[Any], bool] | None = None,
                     end: Callable[[Any], bool] | None = None, namespace: str = "/",
                     match: Callable[[Any], bool] | None = None,
                     stall_after: float = DEFAULT_STALL_AFTER,
                     timeout: float | None = None,
                     first: Callable[[Any], bool] | None = None) -> StreamResult:
        """Emit ``event`` and consume the ``chunk_event`` events that answer it as one
        stream (see :mod:`horde.streams`), until the first chunk ``until`` accepts
        (included), or the first ``chunk_event`` that ``end`` accepts (a closing message:
        neither a chunk nor a gap).

        Chunks are the data of ``chunk_event`` events arriving after the emit that ``match``
        accepts (``None``: all), timed in the frame callback. Ending early does not raise:
        ``reason`` is ``"timeout"`` (counted as a ``timeout`` error under ``name``),
        ``"closed"`` (dropped mid-answer) or ``"failed"`` (an application error). A stream
        asked of a connection that is already gone (and not reconnecting) raises what
        closed it (counted once), as any operation on it does: the iteration fails and the
        user starts over. ``timeout`` bounds the whole stream
        (default: the connection's). ``first`` picks the chunk that counts as the first
        (``stream_first``, ``rate``).
        """
        meter = StreamMeter(self._recorder, name, stall_after, first)
        key = (namespace, chunk_event)
        fut = None
        sent = False
        try:
            take = stream_taker(meter, match, until, end)
            if not self.connected:
                await self._reconnected(timeout)
                meter.restart()
            eio = self._check(namespace)
            fut = self._loop.create_future()
            deadline = meter.started_ns + (
                self._timeout_ns if timeout is None else int(timeout * 1e9))
            self._events().wait(key, fut, take, deadline, name)  # before the emit
            if self._timer is None or deadline < self._timer_at:
                self._arm(deadline)
            if self._encode is not None:
                args = tuple(map(self._encode, args))
            for payload in self._sio.encode_event(namespace, event, args):
                eio.send(payload)
            sent = True
            self._recorder.count(SIO_EMIT, event)
            await fut
        except TargetError as exc:  # a timeout, a drop, or no connection at all
            result = meter.finish(reason_for(exc, sent=sent), error=exc)
            if not sent and not self.connected and not self.reconnecting:
                raise  # a dead connection: the step ends, as any operation on it (counted)
            return result
        except BaseException as exc:
            if fut is not None:
                self._events().discard(key, fut)
            meter.interrupt(exc)
            raise
        return meter.finish(COMPLETED)

    def _events(self) -> EventInbox:
        inbox = self._inbox
        if inbox is None:
            recorder = self._recorder
            inbox = self._inbox = EventInbox(
                self._inbox_limit, recorder.scenario_exception, recorder)
        return inbox

    def _on_message(self, data: str | bytes) -> None:
        """Every Engine.IO MESSAGE, from the WebSocket's frame callback or the poll loop."""
        try:
            ev = self._sio.receive_message(data)
        except SocketIOProtocolError as exc:
            self._eio.lose(ProtocolError(str(exc), detail="socketio"))
            return
        cls = ev.__class__
        if cls is AckReceived:
            recorder = self._recorder
            recorder.count(SIO_ACK_IN, None)
            entry = self._acks.pop(ev.id, None)
            if entry is not None and not entry[0].done():
                recorder.succeed(entry[1])  # timed as the ack is parsed
                entry[0].set_result(ev.args)
        elif cls is EventReceived:
            self._on_event(ev)
        elif cls is Connected:
            self.sids[ev.namespace] = ev.sid
            if ev.pid is not None:
                if self._pids.get(ev.namespace) != ev.pid:  # a new session: old offsets void
                    self._offsets.pop(ev.namespace, None)
                self._pids[ev.namespace] = ev.pid
            if self.sid is None or ev.namespace == "/":
                self.sid = ev.sid
            settle(self._pending_connect.get(ev.namespace))
        elif cls is ConnectRefused:
            err = AppError(f"connect_error on {ev.namespace}: {ev.message}")
            settle(self._pending_connect.get(ev.namespace), err)
        elif cls is Disconnected:
            self._on_namespace_lost(ev.namespace)

    def _on_event(self, ev: EventReceived) -> None:
        self._recorder.count(SIO_EVENT_IN, ev.event)
        args = ev.args
        if self._pids and ev.id is None and args and args[-1].__class__ is str:
            # with recovery on, the server appends each event's offset (handlers see it too,
            # as with socket.io-client); a reconnect sends the last one back
            self._offsets[ev.namespace] = args[-1]
        if self._decode is not None:
            args = [self._decode(a) if isinstance(a, str | bytes) else a for a in args]
        ack = None if ev.id is None else lambda reply: self._ack(ev, reply)
        errors = self._error_events
        if errors is not None and ev.event in errors:
            self._on_error_event(ev.namespace, ev.event, args)
            self._events().deliver((ev.namespace, ev.event), args, ack, queue=False)
            return
        self._events().deliver((ev.namespace, ev.event), args, ack)

    def _on_error_event(self, namespace: str, event: str, args: list[Any]) -> None:
        """One of ``error_events``: counted once as an ``app_error``, and everything
        waiting on ``namespace`` fails by it, but a ``wait_for`` that asked for it."""
        data = unwrap(args)
        try:
            detail = error_detail(data, self._error_detail)
        except Exception as exc:  # the scenario's function is broken: count it, go on
            self._recorder.scenario_exception(exc)
            detail = error_detail(data)
        err = AppError(f"{event!r} event: {detail}", detail=detail)
        self._recorder.target_error(err)
        for ack_id, entry in list(self._acks.items()):
            if entry[3] == namespace:
                del self._acks[ack_id]
                if not entry[0].done():
                    self._recorder.fail(entry[1], err)
                    entry[0].set_exception(err)
        if self._inbox is not None:
            self._inbox.fail(err, namespace, keep=(namespace, event))

    def _ack(self, ev: EventReceived, reply: Any) -> None:
        """Answer a server event that asked for an ack, with the handler's return value."""
        if not self.connected:
            return
        args = () if reply is None else reply if isinstance(reply, tuple) else (reply,)
        for payload in self._sio.encode_ack(ev.namespace, ev.id, args):  # type: ignore[arg-type]
            self._eio.send(payload)  # type: ignore[union-attr]

    # -- deadlines: one lazily re-armed timer per connection ------------------------------

    def _arm(self, deadline_ns: int) -> None:
        if self._timer is not None:
            self._timer.cancel()
        delay = max(deadline_ns - perf_counter_ns(), 0) / 1e9
        self._timer = self._loop.call_later(delay, self._expire)
        self._timer_at = deadline_ns

    def _expire(self) -> None:
        self._timer = None
        now = perf_counter_ns() + 1_000_000  # uvloop timers tick in ms and may fire early
        earliest = 0
        for ack_id, (fut, op, deadline, _) in list(self._acks.items()):
            if deadline <= now:
                del self._acks[ack_id]
                if not fut.done():
                    exc = OperationTimeoutError(f"no ack for {op.name!r} in time", detail=op.name)
                    self._recorder.fail(op, exc)
                    fut.set_exception(exc)
            elif not earliest or deadline < earliest:
                earliest = deadline
        if self._inbox is not None:
            later = self._inbox.expire(now)
            if later and (not earliest or later < earliest):
                earliest = later
        if earliest:
            self._arm(earliest)

    # -- closing ---------------------------------------------------------------------------

    def _on_namespace_lost(self, namespace: str) -> None:
        err = PeerClosedError(f"server disconnected namespace {namespace}")
        if not self._sio.namespaces:  # the last one: the whole connection is gone
            self._eio.lose(err)
            return
        self._recorder.target_error(err)
        self._fail_pending(_recorded(err), namespace)

    def _on_lost(self, err: TargetError) -> None:
        """Engine.IO ended without us asking: count it once, fail whatever waits."""
        self._lost = err
        if not self.connected:  # still connecting: connect() records and raises it
            for fut in self._pending_connect.values():
                settle(fut, err)
            return
        self.connected = False
        self._recorder.target_error(err)
        self._recorder.connection_closed(dropped=True)
        self._lost_told = bool(self._acks) or (self._inbox is not None and any(
            self._inbox.waiters.values()))
        self._fail_pending(err, None)
        # A server that disconnected the last namespace meant it (socket.io-client does not
        # reconnect then either); a lost transport leaves the namespaces in place.
        if self._reconnect is not None and self._sio.namespaces:
            self._reconnect.start()
        elif self._inbox is not None:  # over for good: what nobody took is unclaimed
            self._inbox.count_unclaimed()

    def _fail_pending(self, err: TargetError, namespace: str | None) -> None:
        for ack_id, entry in list(self._acks.items()):
            if namespace is None or entry[3] == namespace:
                del self._acks[ack_id]
                if not entry[0].done():
                    self._recorder.fail(entry[1], err)
                    entry[0].set_exception(err)
        if self._inbox is not None:
            self._inbox.fail(err, namespace)
        if namespace is None and self._timer is not None:
            self._timer.cancel()
            self._timer = None

    async def disconnect(self) -> None:
        """Leave every namespace and close Engine.IO; counted as a clean close."""
        reconnector, self._reconnect = self._reconnect, None
        if reconnector is not None:  # ours, not a drop: never reconnect after it
            reconnector.stop(_recorded(PeerClosedError("connection closed by the client")))
        if self._inbox is not None:
            self._inbox.count_unclaimed()
        if not self.connected or self._eio is None:
            return
        self.connected = False
        packets: list[str | bytes] = ["4" + self._sio.disconnect(nsp)
                                      for nsp in list(self._sio.namespaces)]
        self._fail_pending(_recorded(PeerClosedError("connection closed by the client")), None)
        if self._inbox is not None:
            self._inbox.cancel_handlers()
        self._recorder.connection_closed(dropped=False)
        await self._eio.close(packets)


TRANSPORTS = ("websocket", "polling")


def _transports(transports: str | Sequence[str]) -> tuple[str, ...]:
    """``transports=`` as a tuple: a plain string is one transport."""
    chosen = (transports,) if isinstance(transports, str) else tuple(transports)
    if (not chosen or len(set(chosen)) != len(chosen)
            or any(t not in TRANSPORTS for t in chosen)):
        raise UsageError(f"transports={transports!r}: give \"websocket\", \"polling\", or "
                         "both in the order to try, e.g. (\"polling\", \"websocket\")")
    return chosen


def _keys(namespace: str, event: str | tuple[str, ...]) -> Any:
    """The inbox key of one event, or a tuple of keys for one of several."""
    if isinstance(event, str):
        return (namespace, event)
    if not event or not all(isinstance(e, str) for e in event):
        raise UsageError(f"event names must be a name or a tuple of names: {event!r}")
    return tuple((namespace, e) for e in event)


def _take(inbox: EventInbox, keys: Any, predicate: Callable[[Any], bool] | None) -> Any:
    if keys[0].__class__ is tuple:
        return inbox.take_first(keys, predicate)
    return inbox.take(keys, predicate)


def _recorded(err: TargetError) -> TargetError:
    """An error that must not be counted again: the drop that caused it already was."""
    err.recorded = True
    return err

