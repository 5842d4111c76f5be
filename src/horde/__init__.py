"""horde: load testing for real-time web apps (WebSocket, Socket.IO, HTTP, streaming).

A scenario file marks ``async def`` functions with the decorators below; each behaviour
receives a :class:`User`. See the README for a tour and docs/ for guides.

Importing horde costs nothing: each public name is imported from the module that owns it
the first time it is used (PEP 562), so ``horde --help``, the pytest plugin and a
command's start-up (when a Ctrl-C must already be caught) stay fast.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_OWNERS = {
    "JSON": "horde.protocols.codec",
    "RAW": "horde.protocols.codec",
    "AppError": "horde.errors",
    "Chain": "horde.protocols.codec",
    "CheckFailed": "horde.errors",
    "ClosedByPeer": "horde.errors",
    "Codec": "horde.protocols.codec",
    "ConfigError": "horde.errors",
    "ConnectError": "horde.errors",
    "Feeder": "horde.scenario.feeders",
    "FeederExhausted": "horde.scenario.feeders",
    "FunctionCodec": "horde.protocols.codec",
    "Group": "horde.together.groups",
    "GroupBroken": "horde.together.groups",
    "HandshakeRejected": "horde.errors",
    "HordeError": "horde.errors",
    "HttpStatusError": "horde.errors",
    "JsonCodec": "horde.protocols.codec",
    "OperationTimeout": "horde.errors",
    "Params": "horde.scenario.params",
    "ProtocolError": "horde.errors",
    "RawCodec": "horde.protocols.codec",
    "Reconnect": "horde.transports.reconnect",
    "ReconnectFailed": "horde.errors",
    "Response": "horde.protocols.http",
    "RunConfig": "horde.config.model",
    "RunContext": "horde.engine.runner",
    "Scenario": "horde.scenario.model",
    "ScenarioError": "horde.errors",
    "StreamResult": "horde.streams",
    "TargetError": "horde.errors",
    "UsageError": "horde.errors",
    "User": "horde.scenario.user",
    "__version__": "horde.version",
    "behaviour": "horde.scenario.markers",
    "choice": "horde.scenario.think",
    "constant": "horde.scenario.think",
    "group": "horde.together.roles",
    "human_like": "horde.scenario.think",
    "load_scenario": "horde.scenario.loader",
    "lognormal": "horde.scenario.think",
    "normal": "horde.scenario.think",
    "on_start": "horde.scenario.markers",
    "on_stop": "horde.scenario.markers",
    "response_pattern": "horde.scenario.think",
    "role": "horde.together.roles",
    "run": "horde.engine.runner",
    "secret": "horde.secrets",
    "setup": "horde.scenario.markers",
    "shape": "horde.scenario.markers",
    "teardown": "horde.scenario.markers",
    "uniform": "horde.scenario.think",
}

__all__ = sorted(_OWNERS)


def __getattr__(name: str) -> Any:
    owner = _OWNERS.get(name)
    if owner is None:
        raise AttributeError(f"module 'horde' has no attribute {name!r}")
    # Not cached in this module: whoever reloads horde's modules (pytest's in-process
    # pytester does) must get the names of the modules now loaded, one class of each.
    return getattr(import_module(owner), name)


def __dir__() -> list[str]:
    return sorted({*globals(), *_OWNERS})

