"""The public API is exactly what horde/__init__.py exports: adding or dropping a name is
a decision, made here on purpose."""

import horde

EXPECTED = {
    # scenario files
    "behaviour", "on_start", "on_stop", "setup", "teardown", "shape", "User", "RunContext",
    # think time
    "fixed", "uniform", "normal", "lognormal", "human_like", "choice", "response_pattern",
    "Distribution",
    # codecs
    "Codec", "JSON", "RAW", "JsonCodec", "RawCodec", "FunctionCodec", "Chain",
    # running from Python
    "run", "RunConfig", "load_scenario", "Scenario", "Params",
    # users acting together
    "role", "group", "Group", "GroupBrokenError",
    # HTTP
    "Response", "HttpStatusError",
    # streamed replies
    "StreamResult", "SseEvent",
    # Socket.IO: which of several events came
    "SocketIOEvent",
    # reconnection
    "Reconnect", "ReconnectFailedError",
    # data and secrets
    "Feeder", "FeederExhaustedError", "secret",
    # connection and helper types a behaviour gets (for type hints)
    "HttpClient", "WebSocketConnection", "SocketIOConnection", "SseConnection", "Events",
    "UserBroadcasts", "UserIsolation", "UserOrdering",
    # results from Python
    "write_reports", "analyze", "serve_dashboard",
    # errors
    "HordeError", "UsageError", "ScenarioError", "ConfigError", "TargetError",
    "ConnectError", "HandshakeRejectedError", "OperationTimeoutError", "PeerClosedError",
    "ProtocolError", "AppError", "CheckFailedError", "TargetRefusedError", "DnsError",
    "TlsError", "BlockedHostError", "EngineIOProtocolError", "SocketIOProtocolError",
    "SubprotocolMismatchError", "WorkerLostError",
    "__version__",
}


def test_exported_names_are_exactly_the_public_api():
    assert set(horde.__all__) == EXPECTED


def test_every_exported_name_exists():
    for name in horde.__all__:
        assert getattr(horde, name) is not None, name


def test_type_checkers_see_every_exported_name_from_its_owner():
    """The TYPE_CHECKING imports (what IDEs and the API reference read) mirror _OWNERS."""
    import ast
    import inspect

    tree = ast.parse(inspect.getsource(horde))
    block = next(node for node in tree.body if isinstance(node, ast.If)
                 and getattr(node.test, "id", None) == "TYPE_CHECKING")
    seen = {alias.name: imp.module for imp in block.body for alias in imp.names}
    assert seen == horde._OWNERS
