"""The public API is exactly what horde/__init__.py exports: adding or dropping a name is
a decision, made here on purpose."""

import horde

EXPECTED = {
    # scenario files
    "behaviour", "on_start", "on_stop", "setup", "teardown", "shape", "User", "RunContext",
    # think time
    "constant", "uniform", "normal", "lognormal", "human_like", "choice", "response_pattern",
    # codecs
    "Codec", "JSON", "RAW", "JsonCodec", "RawCodec", "FunctionCodec", "Chain",
    # running from Python
    "run", "RunConfig", "load_scenario", "Scenario", "Params",
    # users acting together
    "role", "group", "Group", "GroupBroken",
    # HTTP
    "Response", "HttpStatusError",
    # streamed replies
    "StreamResult",
    # reconnection
    "Reconnect", "ReconnectFailed",
    # data and secrets
    "Feeder", "FeederExhausted", "secret",
    # errors
    "HordeError", "UsageError", "ScenarioError", "ConfigError", "TargetError",
    "ConnectError", "HandshakeRejected", "OperationTimeout", "ClosedByPeer",
    "ProtocolError", "AppError", "CheckFailed",
    "__version__",
}


def test_exported_names_are_exactly_the_public_api():
    assert set(horde.__all__) == EXPECTED


def test_every_exported_name_exists():
    for name in horde.__all__:
        assert getattr(horde, name) is not None, name
