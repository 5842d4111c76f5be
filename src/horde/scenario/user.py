"""The handle a behaviour receives: one virtual user and everything it may do.

A ``User`` opens instrumented connections (HTTP, WebSocket, Socket.IO) that all record
into the run's recorder, waits (think time), checks and times things. Per-user state
lives in ``user.state``; what the scenario's ``@setup`` returned is ``user.shared``.
Every connection the user opens is closed for it when the user stops.

Transports are imported here, eagerly: importing them lazily at a user's first connect
blocked the event loop for ~150 ms in the middle of the load and showed up as latency.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import ssl
import time
from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import asynccontextmanager, contextmanager
from time import perf_counter_ns
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from horde.coordination.hub import Hub
from horde.errors import AppError, CheckFailedError, UsageError
from horde.metrics import names
from horde.metrics.values import TIME_UNITS, Better, spec_for
from horde.protocols import target_urls
from horde.protocols.http import Headers
from horde.protocols.http_defaults import Auth, authorization
from horde.scenario import sleeper
from horde.scenario.think import ThinkTime, sample_seconds
from horde.transports.http import HttpClient
from horde.transports.sse import SseConnection
from horde.transports.websocket import WebSocketConnection

if TYPE_CHECKING:
    from horde.coordination.broadcasts import UserBroadcasts
    from horde.coordination.events import Events
    from horde.coordination.groups import Group
    from horde.delivery.isolation import UserIsolation
    from horde.delivery.ordering import UserOrdering
    from horde.metrics.recorder import Recorder
    from horde.transports.socketio import SocketIOConnection


_SHARED_RNG = random.Random()
CONNECT_TIMEOUT_S = 10.0  # connect + handshake, unless --timeout (or timeout=) is shorter


class _Schedule:
    """Intended start times every ``interval`` seconds from the first call."""

    __slots__ = ("_due", "interval")

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self._due: float | None = None

    def next_due(self, now: float) -> float:
        due = now if self._due is None else self._due
        self._due = due + self.interval
        return due


class User:
    """One virtual user: what every behaviour and hook receives as ``user``.

    Its connections (``user.http``, ``await user.websocket(...)``, ``await
    user.socketio(...)``, ``await user.sse(...)``) record into the run, and are closed for
    it when it stops. ``user.state`` is its own namespace across iterations,
    ``user.shared`` what ``@setup`` returned, ``user.params`` the scenario's parameters,
    ``user.rng`` its random generator (reproducible with ``--seed``), ``user.group`` its
    group when it has a role in one."""

    def __init__(
        self,
        user_id: int,
        *,
        target: str,
        recorder: Recorder,
        stopping: asyncio.Event,
        shared: Any = None,
        params: Any = None,
        seed: int | None = None,
        timeout: float = 30.0,
        hub: Hub | None = None,
        role: str | None = None,
        group: Group | None = None,
        member: int = 0,
        ssl_context: ssl.SSLContext | None = None,
        on_error: str = "continue",
    ) -> None:
        self.id = user_id
        """This user's number, unique in the run (from 0)."""
        self.on_error = on_error
        """After a failed iteration: ``"continue"``, or ``"restart"`` the user."""
        self.role = role
        """Its role's name (``ROLES``), or ``None``."""
        self.group = group
        """The :class:`~horde.Group` this user belongs to, if its role is in one."""
        self.member = member
        """Its place in the group: 0 is the first member."""
        self._hub = hub
        self.target = target
        """The run's ``--target`` URL; relative URLs are resolved against it."""
        self.shared = shared
        """What ``@setup`` returned (the same object for every user)."""
        self.params = params
        """The scenario's ``Params``, with ``--param`` applied."""
        self.state = SimpleNamespace()
        """This user's own namespace, kept across its iterations; empty again after a
        restart or a failed ``@on_start`` (docs/reliability.md, "A user's life")."""
        self._life_begun = False  # @on_start began and @on_stop has not run since (engine)
        self._seed = seed
        self._rng: random.Random | None = None
        self.iteration = 0
        """How many iterations this user has begun."""
        self.recorder = recorder
        """Where its connections record (the engine's; scenarios rarely need it)."""
        self.timeout = timeout
        """Default seconds an operation may take (``--timeout``)."""
        self._stopping = stopping
        self._ssl = ssl_context  # the run's TLS settings (--ca-bundle, --insecure)
        self._http: HttpClient | None = None
        self._pacers: dict[str, _Schedule] | None = None  # made by the first paced()
        self._connections: list[Any] = []

    @property
    def rng(self) -> random.Random:
        """This user's random numbers: its own seeded generator in a ``--seed`` run, else
        one shared generator (a Random holds 2.5 KB of state: too much per idle user)."""
        if self._rng is None:
            self._rng = _SHARED_RNG if self._seed is None else random.Random(self._seed)
        return self._rng

    @property
    def name(self) -> str:
        """How reports name this user: ``team-3/1`` (group and place), ``dashboard-0``
        (role and id) or ``user-7``."""
        if self.group is not None:
            return f"{self.group.id}/{self.member}"
        return f"{self.role or 'user'}-{self.id}"

    @property
    def events(self) -> Events:
        """Run-wide named events: ``signal(name)``, ``await wait(name, count, timeout)``."""
        return self._require_hub().events

    @property
    def broadcasts(self) -> UserBroadcasts:
        """Fan-out latency and reach: ``subscribe(topic)``, ``sent(topic, key)`` before
        triggering, ``received(topic, key, sent_at=None)`` on receipt (docs/push-checks.md)."""
        return self._require_hub().broadcasts.view(self.name)

    @property
    def isolation(self) -> UserIsolation:
        """Session isolation: ``own(token)``, then ``inspect(payload)`` on what arrives."""
        return self._require_hub().isolation.view(self.name)

    @property
    def ordering(self) -> UserOrdering:
        """Sequence checks: ``observe(stream, seq)`` counts gaps, duplicates, reordering."""
        return self._require_hub().ordering.view(self.name)

    def _require_hub(self) -> Hub:
        if self._hub is None:
            self._hub = Hub(self.recorder)
        return self._hub

    @property
    def stopping_event(self) -> asyncio.Event:
        """Set when the run is ending (the engine's loop checks it between iterations)."""
        return self._stopping

    @property
    def stopping(self) -> bool:
        """True once the run is ending: long loops inside a behaviour should return."""
        return self._stopping.is_set()

    # -- connections -----------------------------------------------------------------------

    @property
    def http(self) -> HttpClient:
        """This user's HTTP client: keep-alive connections and cookies of its own."""
        if self._http is None:
            self._http = HttpClient(
                recorder=self.recorder,
                base_url=target_urls.http_url(self.target, "/"),
                timeout=self.timeout,
                ssl_context=self._ssl,
            )
        return self._http

    async def websocket(self, url: str = "/", **options: Any) -> WebSocketConnection:
        """Open a WebSocket to ``url`` (relative to the target). See WebSocketConnection."""
        options.setdefault("default_timeout", self.timeout)
        options.setdefault("timeout", min(CONNECT_TIMEOUT_S, self.timeout))
        options.setdefault("ssl_context", self._ssl)
        full = target_urls.ws_url(self.target, url)
        self._send_cookies(full, options)
        conn = await WebSocketConnection.connect(full, recorder=self.recorder, **options)
        self._keep(conn)
        return conn

    async def socketio(self, url: str | None = None, **options: Any) -> SocketIOConnection:
        """Open a Socket.IO client to ``url`` (default: the target). See SocketIOConnection."""
        options.setdefault("default_timeout", self.timeout)
        options.setdefault("timeout", min(CONNECT_TIMEOUT_S, self.timeout))
        options.setdefault("ssl_context", self._ssl)
        full = target_urls.http_url(self.target, url or "/")
        self._send_cookies(full, options, f"/{options.get('socketio_path', 'socket.io')}/")
        # imported here: aiohttp (Engine.IO's polling) is 0.3-0.7 s of start-up that a run
        # without Socket.IO never needs; a scenario that names socketio has it imported
        # before its load (horde.scenario.transports_needed)
        from horde.transports.socketio import SocketIOConnection

        conn = await SocketIOConnection.connect(full, recorder=self.recorder, **options)
        self._keep(conn)
        return conn

    async def sse(
        self,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        reconnect: bool | None = None,
        max_reconnects: int | None = None,
        name: str | None = None,
        method: str = "GET",
        json: Any = None,
        data: bytes | str | None = None,
        auth: Auth | None = None,
        **options: Any,
    ) -> SseConnection:
        """Open a Server-Sent Events stream at ``url`` (relative to the target) on this
        user's HTTP client. A GET (the default) reconnects with Last-Event-ID as a browser's
        EventSource does; another ``method`` sends ``json`` or ``data`` as its body (an LLM
        API's POST) and does not reconnect unless ``reconnect=True``. See SseConnection.
        ``user.http.headers`` and ``user.http.auth`` apply; ``headers`` and ``auth`` (as
        in ``user.http.request``) override them for this stream."""
        options.setdefault("timeout", self.timeout)
        if auth is not None:  # every reconnect of the stream sends it too
            headers = Headers(headers or {})
            headers["Authorization"] = authorization(auth)
        conn = await SseConnection.connect(
            self.http, url, headers=headers, reconnect=reconnect,
            max_reconnects=max_reconnects, name=name, method=method, json=json, data=data,
            **options,
        )
        self._keep(conn)
        return conn

    def _send_cookies(self, url: str, options: dict[str, Any], path: str | None = None
                      ) -> None:
        """A browser sends a page's cookies with its WebSocket upgrade, so a user sends its
        HTTP client's (a session cookie from a login over HTTP) with the handshake: those
        that match ``url``'s host and ``path`` (the URL's own unless given), unless the
        scenario gives a Cookie itself."""
        if self._http is None:
            return
        parts = urlsplit(url)
        secure = parts.scheme in ("https", "wss")
        path = path if path is not None else parts.path or "/"
        cookie = self._http.cookies.header_for(parts.hostname or "", path, secure)
        headers = dict(options.get("headers") or {})
        if cookie is None or any(name.lower() == "cookie" for name in headers):
            return
        headers["Cookie"] = cookie
        options["headers"] = headers

    def has_dropped_connection(self) -> bool:
        """One of this user's connections was dropped by the server and is not coming back
        (no reconnect in progress): every operation on it can only fail."""
        return any(getattr(conn, "dropped", False) for conn in self._connections)

    def _keep(self, conn: Any) -> None:
        """Remember ``conn`` so :meth:`close` closes it, dropping those already closed: a
        user opening a connection per iteration held every one of them (4 KB each)."""
        self._connections = [c for c in self._connections if not _is_closed(c)]
        self._connections.append(conn)

    # -- pacing and measuring --------------------------------------------------------------

    def think(self, wait: ThinkTime) -> asyncio.Future[None]:
        """Sleep for a think time: ``await user.think(2)`` (the engine cancels the sleep
        when the run stops). The wait is drawn, and starts, when ``think`` is called. All
        the users sleeping on a loop share one timer (:mod:`horde.scenario.sleeper`): an
        idle user holds a future, not a coroutine and a timer."""
        return sleeper.sleep(sample_seconds(wait, self.rng))

    def check(self, condition: Any, name: str, *, fatal: bool = False) -> bool:
        """Count a failed check under ``check_failed:{name}``; with ``fatal`` also raise."""
        if condition:
            self.recorder.count("checks_passed", name)
            return True
        self.recorder.error(CheckFailedError.category, name, f"check failed: {name}")
        if fatal:
            raise CheckFailedError(f"check failed: {name}", detail=name)
        return False

    def error(self, category: str = AppError.category, detail: str | None = None) -> None:
        """Count an error the app made — a refused answer, a wrong reply — without
        raising: the iteration goes on, so one bad answer need not fail it or restart the
        user. Counted under ``category`` (``"app_error"`` unless the scenario names its
        own, e.g. ``"join_refused"``) with ``detail`` (the server's message), in
        results.json's ``errors`` and the summary, like any error: a run without
        thresholds fails on it. It is no operation, so ``errors.rate`` does not see it
        (fail the operation itself for that: raise, or a transport's ``error_when``)::

            reply = await ws.request({"join": room}, name="join")
            if reply.get("error"):
                user.error("join_refused", reply["error"])
        """
        if not category or not isinstance(category, str):
            raise UsageError(f"user.error() needs a category name, not {category!r}")
        example = f"{category}: {detail}" if detail else category
        self.recorder.error(category, detail, example)

    def record(self, name: str, value: float, *, unit: str = "ms",
               better: Better | None = None, operation: bool = True) -> None:
        """Record something the scenario measured itself.

        A time (``unit`` ``"ms"``, the default, ``"s"`` or ``"us"``) — e.g. from a server's
        timestamp — is an ok operation under ``timer:{name}`` that took ``value``. A time
        that is no operation of this user's — the queue wait or processing time a server
        reports, a delay read from a message — takes ``operation=False``: it is then a
        value in its unit (below), and the operations, their rate and ``errors.rate`` do
        not count it.

        Anything else — tokens per second, answer sizes, queue depths — is a *value*:
        ``user.record("tokens_per_s", 87.5, unit="tokens/s", better="higher")``. Values
        land in results.json's ``values`` section (count, mean, p50…max in their unit) and
        their own table and chart, never among latencies. ``better`` (``"higher"``,
        ``"lower"`` or ``None``: neither) is how ``horde compare`` judges a change;
        thresholds read ``values.NAME.p50`` and the like. A name keeps the unit and
        direction of its first use; values must be finite and not negative."""
        factor = TIME_UNITS.get(unit)
        if factor is not None and operation and better in (None, "lower"):
            end = perf_counter_ns()
            recorder = self.recorder
            start = end - int(value * factor * 1e6)
            recorder.succeed(recorder.begin(names.USER_TIMER, name, start), end)
            return
        self.recorder.value(name, value, spec_for(unit, better))

    @contextmanager
    def timer(self, name: str) -> Iterator[None]:
        """Time a block of scenario code as an operation under ``timer:{name}``: ok when it
        completes, failed (under what it raised) when it raises."""
        recorder = self.recorder
        op = recorder.begin(names.USER_TIMER, name)
        try:
            yield
        except BaseException as exc:
            recorder.end(op, exc)
            raise
        recorder.succeed(op)

    @asynccontextmanager
    async def paced(self, interval: float, name: str) -> AsyncIterator[float]:
        """Run the block on a fixed schedule, every ``interval`` s, timed from when it
        *should* have started.

        A user blocked by a slow reply sends its next messages late; timing them from
        their actual send hides the stall (coordinated omission). This records the
        block's latency from its intended start as ``intended:{name}``, next to the
        transports' own (naive) latencies. Late blocks run at once, without waiting,
        until the schedule is caught up.
        """
        if self._pacers is None:
            self._pacers = {}
        due = self._pacers.setdefault(name, _Schedule(interval)).next_due(time.perf_counter())
        wait = due - time.perf_counter()
        if wait > 0:
            await asyncio.sleep(wait)
        yield due
        self.recorder.latency(names.INTENDED, name, int((time.perf_counter() - due) * 1e6))

    def count(self, name: str, n: int = 1) -> None:
        """A scenario-defined counter (e.g. ``teams_created``), reported under counters."""
        self.recorder.count("custom", name, n)

    def reconnected(self) -> None:
        """Count a connection the scenario reopened after losing one, as
        ``connections.reconnected`` (the transport counted the loss in ``dropped``)."""
        self.recorder.reconnected()

    # -- lifecycle (engine only) -----------------------------------------------------------

    async def close(self) -> None:
        """Close everything this user opened; never raises (the run is ending anyway)."""
        if self._hub is not None:
            self._hub.forget(self.name)
        for conn in reversed(self._connections):
            closer = getattr(conn, "close", None) or getattr(conn, "disconnect", None)
            with contextlib.suppress(Exception):  # closing a broken connection may fail
                await closer()
        self._connections.clear()
        if self._http is not None:
            with contextlib.suppress(Exception):
                await self._http.close()
            self._http = None


def _is_closed(conn: Any) -> bool:
    """WebSocket and SSE connections say ``closed``; Socket.IO says ``connected``. One
    that is reconnecting is not closed: the user must still close it at the end."""
    if getattr(conn, "reconnecting", False):
        return False
    return getattr(conn, "closed", False) is True or getattr(conn, "connected", True) is False
