"""A run that ends while requests are in flight closes everything and blames no one."""

from horde.config.model import RunConfig
from horde.engine.runner import run
from horde.scenario.loader import load_scenario


async def test_the_deadline_cuts_pending_requests_cleanly(write_scenario, echo_server):
    path = write_scenario(
        """
        import horde

        @horde.on_start
        async def connect(user):
            user.state.ws = await user.websocket("/ws", codec=horde.JSON)
            user.state.sio = await user.socketio()

        @horde.behaviour
        async def slow(user):
            kind = user.id % 3
            if kind == 0:
                await user.http.get("/delay/5000", name="slow")
            elif kind == 1:
                await user.state.ws.request({"delay_ms": 5000}, name="slow")
            else:
                await user.state.sio.call("delay", {"ms": 5000}, name="slow")
        """
    )
    config = RunConfig(scenario=path, target=echo_server, users=6, spawn_rate=100,
                       duration_s=1.5, progress=False)
    results = await run(config, load_scenario(path))
    last = results["timeseries"][-1]
    assert results["errors"] == {}
    assert results["operations"]["peak_in_flight"] >= 6
    # the six slow operations were cut off at the deadline: unfinished, not failed, not lost
    assert results["operations"]["unfinished"] == 6 and results["operations"]["failed"] == 0
    assert {m["unfinished"] for k, m in results["metrics"].items() if k.endswith(":slow")} == {2}
    assert (last["in_flight"], last["connections_open"], last["users"]) == (0, 0, 0)
    assert results["connections"]["dropped"] == 0
    assert results["connections"]["succeeded"] == 14  # 6 WebSocket + 6 Socket.IO + 2 HTTP
    assert results["duration_s"] < 2.0
