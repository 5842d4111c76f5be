"""Every error horde knows about, and whose fault it is.

::

    HordeError
    ├── UsageError            the user's fault: bad scenario, config, option or URL.
    │   ├── ScenarioError     the CLI prints one line (file:line when known), exit 2.
    │   └── ConfigError
    └── TargetError           the target's fault: recorded as a failed sample under its
        │                     ``category``; a run never stops because of one.
        ├── ConnectError              (category = the specific kind below)
        │   ├── ConnectionRefusedError_   connection_refused
        │   ├── DnsError                  dns_failure
        │   ├── TlsError                  tls_error
        │   ├── BlockedHost               blocked_host (refused by --allow/--deny-hosts,
        │   │                             nothing sent; the host kept)
        │   └── HandshakeRejected         handshake_rejected (HTTP status kept)
        ├── OperationTimeout              timeout
        ├── ClosedByPeer                  closed_by_peer (close code kept)
        ├── ProtocolError                 protocol_error (bad frame or packet)
        ├── AppError                      app_error (server's error event, connect_error)
        ├── ReconnectFailed               reconnect_failed (gave up; detail ws / sio)
        └── CheckFailed                   check_failed

Anything else raised from scenario code is the scenario's own exception: counted as
``scenario_exception`` with its type and first traceback. An exception escaping horde's
own code is a bug in horde and is allowed to crash loudly.

Foreign exceptions (OSError, ssl, picows, httptools ...) are mapped to these types at the
transport boundary by :func:`classify`, so nothing above the transports sees them.
"""

from __future__ import annotations

import asyncio
import copy
import socket
import ssl


class HordeError(Exception):
    """Base of every error horde raises on purpose."""


class UsageError(HordeError):
    """The user gave horde something it cannot use. Shown as one line; exit code 2."""


class ScenarioError(UsageError):
    """The scenario file is missing, broken or defines no behaviour."""


class ConfigError(UsageError):
    """A configuration value or command-line option is invalid."""


class GroupBroken(HordeError):
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


class ConnectionRefusedError_(ConnectError):  # the builtin name is taken
    category = "connection_refused"


class DnsError(ConnectError):
    category = "dns_failure"


class TlsError(ConnectError):
    category = "tls_error"


class BlockedHost(ConnectError):
    """horde refused to connect: the host policy (``--allow-hosts``/``--deny-hosts``) says
    no. Nothing was sent to the host; ``detail`` names it."""

    category = "blocked_host"


class HandshakeRejected(ConnectError):
    """The server answered the WebSocket/Socket.IO handshake with a non-upgrade status."""

    category = "handshake_rejected"

    def __init__(self, message: str = "", *, status: int | None = None) -> None:
        super().__init__(message, detail=str(status) if status is not None else None)
        self.status = status


class OperationTimeout(TargetError):
    """No answer in time: a reply, ack, reply event, stream, connect or ``wait_for``
    past its timeout (the connection's ``timeout``, ``--timeout``, or the call's own)."""

    category = "timeout"


class ClosedByPeer(TargetError):
    """The peer closed or dropped the connection while we still wanted it."""

    category = "closed_by_peer"

    def __init__(self, message: str = "", *, code: int | None = None) -> None:
        super().__init__(message, detail=str(code) if code is not None else None)
        self.code = code


class ProtocolError(TargetError):
    """The target broke its protocol: a malformed frame, packet or HTTP response, or an
    answer of the wrong kind (an SSE request answered without ``text/event-stream``)."""

    category = "protocol_error"


class AppError(TargetError):
    """The application said no: a Socket.IO connect_error or an error event."""

    category = "app_error"


class ReconnectFailed(TargetError):
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


class CheckFailed(TargetError):
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
        return OperationTimeout(text)
    if isinstance(exc, socket.gaierror):
        return DnsError(text)
    if isinstance(exc, ssl.SSLError | ssl.CertificateError):
        return TlsError(text)
    if isinstance(exc, ConnectionRefusedError):
        return ConnectionRefusedError_(text)
    if isinstance(exc, ConnectionResetError | BrokenPipeError | ConnectionAbortedError | EOFError):
        return ClosedByPeer(text)
    if isinstance(exc, OSError):
        return ConnectError(text, detail=exc.__class__.__name__)
    return ProtocolError(text, detail=exc.__class__.__name__)
