"""Hundreds of real connections: zero errors, and horde's counts equal the server's."""

from tests.support import reset_stats, server_stats

from horde.config.model import RunConfig
from horde.engine.runner import run
from horde.scenario.loader import load_scenario

MESSAGES = 4


async def test_500_websocket_and_500_socketio_users(write_scenario, echo_server):
    path = write_scenario(
        f"""
        import horde

        @horde.on_start
        async def connect(user):
            if user.id % 2:
                user.state.sio = await user.socketio()
            else:
                user.state.ws = await user.websocket("/ws", codec=horde.JSON)

        @horde.behaviour
        async def exchange(user):
            for i in range({MESSAGES}):
                if user.id % 2:
                    await user.state.sio.call("echo", {{"i": i}}, name="echo")
                else:
                    await user.state.ws.request({{"i": i}}, name="echo")
        """
    )
    reset_stats(echo_server)
    config = RunConfig(
        scenario=path, target=echo_server, users=1000, spawn_rate=500, iterations=1,
        progress=False,
    )
    results = await run(config, load_scenario(path))
    server = server_stats(echo_server)

    assert results["errors"] == {}
    assert results["connections"] == {
        **results["connections"], "attempted": 1000, "succeeded": 1000, "failed": 0, "dropped": 0,
    }
    assert results["metrics"]["ws_reply:echo"]["count"] == 500 * MESSAGES
    assert results["metrics"]["sio_ack:echo"]["count"] == 500 * MESSAGES
    assert server["ws_connections"] == 500
    assert server["sio_connections"] == 500
    assert server["ws_messages"] == results["messages"]["sent"] - server["sio_events"]
    assert server["ws_messages"] == 500 * MESSAGES
    assert server["sio_events"] == 500 * MESSAGES
    assert results["counters"]["ws_msg_out"] == server["ws_messages"]
