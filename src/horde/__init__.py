"""horde: load testing for real-time web apps (WebSocket, Socket.IO, HTTP, streaming).

A scenario file marks ``async def`` functions with the decorators below; each behaviour
receives a :class:`User`. See the README for a tour and docs/ for guides.

Importing horde costs nothing: each public name is imported from the module that owns it
the first time it is used (PEP 562), so ``horde --help``, the pytest plugin and a
command's start-up (when a Ctrl-C must already be caught) stay fast.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

_OWNERS = {
    "JSON": "horde.protocols.codec",
    "RAW": "horde.protocols.codec",
    "__version__": "horde.version",
    "analyze": "horde.report.analysis",
    "AppError": "horde.errors",
    "behaviour": "horde.scenario.markers",
    "Chain": "horde.protocols.codec",
    "CheckFailedError": "horde.errors",
    "choice": "horde.scenario.think",
    "PeerClosedError": "horde.errors",
    "Codec": "horde.protocols.codec",
    "Distribution": "horde.scenario.think",
    "ConfigError": "horde.errors",
    "ConnectError": "horde.errors",
    "fixed": "horde.scenario.think",
    "Events": "horde.coordination.events",
    "Feeder": "horde.scenario.feeders",
    "FeederExhaustedError": "horde.errors",
    "FunctionCodec": "horde.protocols.codec",
    "Group": "horde.coordination.groups",
    "group": "horde.coordination.roles",
    "GroupBrokenError": "horde.errors",
    "HandshakeRejectedError": "horde.errors",
    "HordeError": "horde.errors",
    "HttpClient": "horde.transports.http",
    "HttpStatusError": "horde.errors",
    "human_like": "horde.scenario.think",
    "JsonCodec": "horde.protocols.codec",
    "load_scenario": "horde.scenario.loader",
    "lognormal": "horde.scenario.think",
    "normal": "horde.scenario.think",
    "on_start": "horde.scenario.markers",
    "on_stop": "horde.scenario.markers",
    "OperationTimeoutError": "horde.errors",
    "Params": "horde.scenario.params",
    "ProtocolError": "horde.errors",
    "RawCodec": "horde.protocols.codec",
    "Reconnect": "horde.transports.reconnect",
    "ReconnectFailedError": "horde.errors",
    "Response": "horde.protocols.http",
    "response_pattern": "horde.scenario.think",
    "role": "horde.coordination.roles",
    "run": "horde.assembly",
    "RunConfig": "horde.config.model",
    "RunContext": "horde.engine.runner",
    "Scenario": "horde.scenario.model",
    "ScenarioError": "horde.errors",
    "secret": "horde.redaction",
    "serve_dashboard": "horde.live.dashboard",
    "setup": "horde.scenario.markers",
    "shape": "horde.scenario.markers",
    "SocketIOConnection": "horde.transports.socketio",
    "SocketIOEvent": "horde.transports.socketio_inbox",
    "SseConnection": "horde.transports.sse",
    "SseEvent": "horde.protocols.sse",
    "StreamResult": "horde.streams",
    "TargetError": "horde.errors",
    "teardown": "horde.scenario.markers",
    "uniform": "horde.scenario.think",
    "UsageError": "horde.errors",
    "User": "horde.scenario.user",
    "UserBroadcasts": "horde.coordination.broadcasts",
    "UserIsolation": "horde.delivery.isolation",
    "UserOrdering": "horde.delivery.ordering",
    "WebSocketConnection": "horde.transports.websocket",
    "BlockedHostError": "horde.errors",
    "DnsError": "horde.errors",
    "EngineIOProtocolError": "horde.errors",
    "SocketIOProtocolError": "horde.errors",
    "SubprotocolMismatchError": "horde.errors",
    "TargetRefusedError": "horde.errors",
    "TlsError": "horde.errors",
    "WorkerLostError": "horde.errors",
    "write_reports": "horde.report.formats",
}

__all__ = sorted(_OWNERS)

if TYPE_CHECKING:  # what type checkers, IDEs and the API reference see; tested equal to _OWNERS
    from horde.assembly import run
    from horde.config.model import RunConfig
    from horde.coordination.broadcasts import UserBroadcasts
    from horde.coordination.events import Events
    from horde.coordination.groups import Group
    from horde.coordination.roles import group, role
    from horde.delivery.isolation import UserIsolation
    from horde.delivery.ordering import UserOrdering
    from horde.engine.runner import RunContext
    from horde.errors import (
        AppError,
        BlockedHostError,
        CheckFailedError,
        ConfigError,
        ConnectError,
        DnsError,
        EngineIOProtocolError,
        FeederExhaustedError,
        GroupBrokenError,
        HandshakeRejectedError,
        HordeError,
        HttpStatusError,
        OperationTimeoutError,
        PeerClosedError,
        ProtocolError,
        ReconnectFailedError,
        ScenarioError,
        SocketIOProtocolError,
        SubprotocolMismatchError,
        TargetError,
        TargetRefusedError,
        TlsError,
        UsageError,
        WorkerLostError,
    )
    from horde.live.dashboard import serve_dashboard
    from horde.protocols.codec import JSON, RAW, Chain, Codec, FunctionCodec, JsonCodec, RawCodec
    from horde.protocols.http import Response
    from horde.protocols.sse import SseEvent
    from horde.redaction import secret
    from horde.report.analysis import analyze
    from horde.report.formats import write_reports
    from horde.scenario.feeders import Feeder
    from horde.scenario.loader import load_scenario
    from horde.scenario.markers import behaviour, on_start, on_stop, setup, shape, teardown
    from horde.scenario.model import Scenario
    from horde.scenario.params import Params
    from horde.scenario.think import (
        Distribution,
        choice,
        fixed,
        human_like,
        lognormal,
        normal,
        response_pattern,
        uniform,
    )
    from horde.scenario.user import User
    from horde.streams import StreamResult
    from horde.transports.http import HttpClient
    from horde.transports.reconnect import Reconnect
    from horde.transports.socketio import SocketIOConnection
    from horde.transports.socketio_inbox import SocketIOEvent
    from horde.transports.sse import SseConnection
    from horde.transports.websocket import WebSocketConnection
    from horde.version import __version__


def __getattr__(name: str) -> Any:
    owner = _OWNERS.get(name)
    if owner is None:
        return _renamed(name)
    # Not cached in this module: whoever reloads horde's modules (pytest's in-process
    # pytester does) must get the names of the modules now loaded, one class of each.
    return getattr(import_module(owner), name)


def _renamed(name: str) -> Any:
    """A name horde had before (an error without ``Error`` at the end, the think time
    ``constant``): still there, with a DeprecationWarning that says what it is now."""
    errors, think = import_module("horde.errors"), import_module("horde.scenario.think")
    found = errors.renamed(name, stacklevel=4) or think.renamed(name, stacklevel=4)
    if found is None:
        raise AttributeError(f"module 'horde' has no attribute {name!r}")
    return found


def __dir__() -> list[str]:
    return sorted({*globals(), *_OWNERS})

