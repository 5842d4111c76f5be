"""horde: load testing for real-time web apps (WebSocket, Socket.IO, HTTP, streaming).

A scenario file marks ``async def`` functions with the decorators below; each behaviour
receives a :class:`User`. See the README for a tour and docs/ for guides.
"""

from horde.config.model import RunConfig
from horde.engine.runner import RunContext, run
from horde.errors import (
    AppError,
    CheckFailed,
    ClosedByPeer,
    ConfigError,
    ConnectError,
    HandshakeRejected,
    HordeError,
    HttpStatusError,
    OperationTimeout,
    ProtocolError,
    ReconnectFailed,
    ScenarioError,
    TargetError,
    UsageError,
)
from horde.protocols.codec import JSON, RAW, Chain, Codec, FunctionCodec, JsonCodec, RawCodec
from horde.protocols.http import Response
from horde.scenario.feeders import Feeder, FeederExhausted
from horde.scenario.loader import load_scenario
from horde.scenario.markers import behaviour, on_start, on_stop, setup, shape, teardown
from horde.scenario.model import Scenario
from horde.scenario.params import Params
from horde.scenario.think import (
    choice,
    constant,
    human_like,
    lognormal,
    normal,
    response_pattern,
    uniform,
)
from horde.scenario.user import User
from horde.secrets import secret
from horde.streams import StreamResult
from horde.together.groups import Group, GroupBroken
from horde.together.roles import group, role
from horde.transports.reconnect import Reconnect
from horde.version import __version__

__all__ = [
    "JSON",
    "RAW",
    "AppError",
    "Chain",
    "CheckFailed",
    "ClosedByPeer",
    "Codec",
    "ConfigError",
    "ConnectError",
    "Feeder",
    "FeederExhausted",
    "FunctionCodec",
    "Group",
    "GroupBroken",
    "HandshakeRejected",
    "HordeError",
    "HttpStatusError",
    "JsonCodec",
    "OperationTimeout",
    "Params",
    "ProtocolError",
    "RawCodec",
    "Reconnect",
    "ReconnectFailed",
    "Response",
    "RunConfig",
    "RunContext",
    "Scenario",
    "ScenarioError",
    "StreamResult",
    "TargetError",
    "UsageError",
    "User",
    "__version__",
    "behaviour",
    "choice",
    "constant",
    "group",
    "human_like",
    "load_scenario",
    "lognormal",
    "normal",
    "on_start",
    "on_stop",
    "response_pattern",
    "role",
    "run",
    "secret",
    "setup",
    "shape",
    "teardown",
    "uniform",
]
