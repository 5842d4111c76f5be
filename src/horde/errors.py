"""Every error a user of horde can meet, and whose fault it is.

::

    HordeError
    ├── UsageError                  the user's fault: bad scenario, config, option or URL.
    │   ├── ScenarioError           the CLI prints one line (file:line when known), exit 2.
    │   └── ConfigError
    ├── FeederExhaustedError        a ``unique`` feeder has handed out every row
    │                               (counted as the scenario's exception)
    ├── GroupBrokenError            this user's group failed; the user stops
    ├── WorkerLostError             a worker process or node is gone (--on-worker-lost)
    └── TargetError                 the target's fault: recorded as a failed operation under
        │                           its ``category``; a run never stops because of one.
        ├── ConnectError                    (category = the specific kind below)
        │   ├── TargetRefusedError          connection_refused
        │   ├── DnsError                    dns_failure
        │   ├── TlsError                    tls_error
        │   ├── BlockedHostError            blocked_host (refused by --allow/--deny-hosts,
        │   │                               nothing sent; the host kept)
        │   └── HandshakeRejectedError      handshake_rejected (HTTP status kept)
        ├── OperationTimeoutError           timeout
        ├── PeerClosedError                 closed_by_peer (close code kept)
        ├── ProtocolError                   protocol_error (bad frame, packet or response)
        │   ├── EngineIOProtocolError       not Engine.IO v4 (from the sans-I/O session)
        │   ├── SocketIOProtocolError       not Socket.IO v5
        │   └── SubprotocolMismatchError    a WebSocket subprotocol we did not offer
        ├── AppError                        app_error (server's error event, connect_error)
        ├── ReconnectFailedError            reconnect_failed (gave up; detail ws / sio)
        ├── HttpStatusError                 http_<status>, from ``raise_for_status()``
        └── CheckFailedError                check_failed

Anything else raised from scenario code is the scenario's own exception: counted as
``scenario_exception`` with its type and first traceback. An exception escaping horde's
own code is a bug in horde and is allowed to crash loudly.

Foreign exceptions (OSError, ssl, aiohttp, httptools ...) are mapped to these types at the
transport boundary by :func:`classify`, so nothing above the transports sees them. The
earlier names (``ClosedByPeer``, ``OperationTimeout``, ``CheckFailed`` …) still import,
with a DeprecationWarning naming the new one.
"""

from __future__ import annotations

import asyncio
import copy
import socket
import ssl
import warnings


class HordeError(Exception):
    """Base of every error horde raises on purpose."""


class UsageError(HordeError):
    """The user gave horde something it cannot use. Shown as one line; exit code 2."""


class ScenarioError(UsageError):
    """The scenario file is missing, broken or defines no behaviour."""


class ConfigError(UsageError):
    """A configuration value or command-line option is invalid."""


class FeederExhaustedError(HordeError):
    """Every row of a ``unique`` feeder has been handed out (``horde.Feeder``): the user
    that asked gets this, counted as the scenario's exception, and two users never
    share a row."""


class WorkerLostError(HordeError):
    """A worker that no longer answers: its process or node is gone. The run names it,
    with its users, in results.json ``workers.lost``, then goes on or aborts as
    ``--on-worker-lost`` says; it never hangs."""

    def __init__(self, worker: int, reason: str) -> None:
        super().__init__(f"worker {worker}: {reason}")
        self.worker = worker
        self.reason = reason


class GroupBrokenError(HordeError):
    """This user's group has failed; the user stops (the failure that broke it was counted
    once, where it happened: nothing is counted again for the members that stop)."""


class TargetError(HordeError):
    """The system under test failed an operation. ``category`` names its error counter."""

    category = "target_error"

    def __init__(self, message: str = "", *, detail: str | None = None) -> None:
        super().__init__(message or self.category)
        self.detail = detail
        self.recorded = False  # set once counted, so the engine never counts it twice


class ConnectError(TargetError):
    """A connection could not be established."""

    category = "connect_error"


class TargetRefusedError(ConnectError):
    """The target's host refused the TCP connection: nothing listens on the port."""

    category = "connection_refused"


class DnsError(ConnectError):
    """The target's host name did not resolve."""

    category = "dns_failure"


class TlsError(ConnectError):
    """The TLS handshake failed: an untrusted certificate, a wrong host name, no common
    protocol (``--ca-bundle`` trusts a private certificate)."""

    category = "tls_error"


class BlockedHostError(ConnectError):
    """horde refused to connect: the host policy (``--allow-hosts``/``--deny-hosts``) says
    no. Nothing was sent to the host; ``detail`` names it."""

    category = "blocked_host"


class HandshakeRejectedError(ConnectError):
    """The server answered the WebSocket/Socket.IO handshake with a non-upgrade status."""

    category = "handshake_rejected"

    def __init__(self, message: str = "", *, status: int | None = None) -> None:
        super().__init__(message, detail=str(status) if status is not None else None)
        self.status = status


class OperationTimeoutError(TargetError):
    """No answer in time: a reply, ack, reply event, stream, connect or ``wait_for``
    past its timeout (the connection's ``timeout``, ``--timeout``, or the call's own)."""

    category = "timeout"


class PeerClosedError(TargetError):
    """The peer closed or dropped the connection while we still wanted it."""

    category = "closed_by_peer"

    def __init__(self, message: str = "", *, code: int | None = None) -> None:
        super().__init__(message, detail=str(code) if code is not None else None)
        self.code = code


class ProtocolError(TargetError):
    """The target broke its protocol: a malformed frame, packet or HTTP response, or an
    answer of the wrong kind (an SSE request answered without ``text/event-stream``)."""

    category = "protocol_error"


class EngineIOProtocolError(ProtocolError):
    """The server sent something that is not Engine.IO v4."""


class SocketIOProtocolError(ProtocolError):
    """The server sent a packet that is not valid Socket.IO v5."""


class SubprotocolMismatchError(ProtocolError):
    """The server picked a WebSocket subprotocol we did not offer (RFC 6455 §4.1: the
    client must fail the connection)."""


class AppError(TargetError):
    """The application said no: a Socket.IO connect_error or an error event."""

    category = "app_error"


class ReconnectFailedError(TargetError):
    """A dropped connection with a reconnect policy could not be reopened in
    ``max_attempts`` tries; every later operation on it raises this (counted once)."""

    category = "reconnect_failed"


class HttpStatusError(TargetError):
    """An HTTP error status a scenario chose to stop on (``response.raise_for_status()``).
    The client already counted it as ``http_<status>``, so it is never counted again."""

    def __init__(self, message: str, *, status: int) -> None:
        super().__init__(message, detail=str(status))
        self.category = f"http_{status}"
        self.status = status
        self.recorded = True


class CheckFailedError(TargetError):
    """A ``user.check(condition, name, fatal=True)`` that did not hold (a non-fatal
    check only counts ``check_failed:NAME`` and returns ``False``)."""

    category = "check_failed"


def again(exc: TargetError) -> TargetError:
    """A fresh, not yet counted copy of ``exc`` for one more use of a dead connection.

    The drop (or the reconnect's giving up) was counted once when it happened; every later
    operation on that connection fails on its own and must be counted on its own, or a
    user hammering a dead socket would show no errors at all.
    """
    fresh = copy.copy(exc)
    fresh.recorded = False
    fresh.__traceback__ = None
    fresh.args = (f"connection was closed earlier: {exc}",)
    return fresh


def classify(exc: BaseException) -> TargetError:
    """Map a foreign exception raised by I/O to the most specific :class:`TargetError`.

    Called only at the transport boundary. Unknown exceptions become a generic
    ``ProtocolError`` carrying the original type name, so they are still counted.
    """
    if isinstance(exc, TargetError):
        return exc
    text = f"{type(exc).__name__}: {exc}"
    if isinstance(exc, (asyncio.TimeoutError, TimeoutError)):
        return OperationTimeoutError(text)
    if isinstance(exc, socket.gaierror):
        return DnsError(text)
    if isinstance(exc, ssl.SSLError | ssl.CertificateError):
        return TlsError(text)
    if isinstance(exc, ConnectionRefusedError):
        return TargetRefusedError(text)
    if isinstance(exc, ConnectionResetError | BrokenPipeError | ConnectionAbortedError | EOFError):
        return PeerClosedError(text)
    if isinstance(exc, OSError):
        return ConnectError(text, detail=exc.__class__.__name__)
    return ProtocolError(text, detail=exc.__class__.__name__)


_RENAMED = {
    "ClosedByPeer": "PeerClosedError",
    "OperationTimeout": "OperationTimeoutError",
    "CheckFailed": "CheckFailedError",
    "ConnectionRefusedError_": "TargetRefusedError",
    "GroupBroken": "GroupBrokenError",
    "BlockedHost": "BlockedHostError",
    "HandshakeRejected": "HandshakeRejectedError",
    "ReconnectFailed": "ReconnectFailedError",
    "FeederExhausted": "FeederExhaustedError",
    "SubprotocolMismatch": "SubprotocolMismatchError",
    "WorkerLost": "WorkerLostError",
}
"""Old name → new name: the names every error had before they all ended in ``Error``."""


def renamed(name: str, stacklevel: int = 3) -> type[HordeError] | None:
    """The error once called ``name``, with a DeprecationWarning that names it now;
    ``None`` if no error had that name."""
    new = _RENAMED.get(name)
    if new is None:
        return None
    warnings.warn(f"horde: {name} is now {new}", DeprecationWarning, stacklevel=stacklevel)
    return globals()[new]  # type: ignore[no-any-return]


def __getattr__(name: str) -> type[HordeError]:
    error = renamed(name)
    if error is None:
        raise AttributeError(f"module 'horde.errors' has no attribute {name!r}")
    return error
