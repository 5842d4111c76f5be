"""Coordinated omission: a stall hidden by naive timing, shown by intended-time timing."""

from horde.config.model import RunConfig
from horde.engine.runner import run
from horde.scenario.loader import load_scenario


async def test_a_stall_shows_in_intended_time_latency_only(write_scenario, echo_server):
    path = write_scenario(
        """
        import horde

        @horde.on_start
        async def connect(user):
            user.state.ws = await user.websocket("/ws", codec=horde.JSON)

        @horde.behaviour
        async def tick(user):
            async with user.paced(0.05, "tick"):       # one message every 50 ms
                stall = user.iteration == 20              # once, the server takes 1 s
                await user.state.ws.request({"delay_ms": 1000 if stall else 0}, name="tick")
        """
    )
    config = RunConfig(scenario=path, target=echo_server, users=2, spawn_rate=100,
                       duration_s=4, progress=False)
    results = await run(config, load_scenario(path))
    naive, intended = results["metrics"]["ws_reply:tick"], results["metrics"]["intended:tick"]
    assert results["errors"] == {}
    assert naive["count"] == intended["count"] > 60
    # The stall is one slow reply per user for the naive timer ...
    assert naive["p90_ms"] < 20 and naive["max_ms"] >= 1000
    # ... but ~20 late messages per user (the ones that could not be sent during it).
    assert intended["p90_ms"] > 200
    assert abs(intended["max_ms"] - naive["max_ms"]) < 60  # the same worst case
