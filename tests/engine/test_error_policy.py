"""--on-error: after a scenario exception the user goes on, or restarts from @on_start."""

from __future__ import annotations

import pytest

from horde.config.model import RunConfig
from horde.engine.runner import run
from horde.scenario.loader import load_scenario

pytestmark = pytest.mark.timeout(60)

@pytest.mark.parametrize("policy", ["continue", "restart"])
async def test_a_raising_behaviour_continues_or_restarts(write_scenario, echo_server, policy):
    path = write_scenario(
        """
        import horde

        @horde.on_start
        async def start(user):
            user.count("starts")
            user.state.fresh = True
            user.state.ws = await user.websocket("/ws")

        @horde.behaviour
        async def flaky(user):
            assert await user.state.ws.request("hi", name="echo") == "hi"
            user.count("fresh" if user.state.fresh else "stale")
            user.state.fresh = False
            raise ValueError("scenario bug")
        """
    )
    config = RunConfig(scenario=path, target=echo_server, users=2, iterations=3,
                       progress=False, on_error=policy)
    results = await run(config, load_scenario(path))
    counters, errors = results["counters"], results["errors"]
    assert errors == {"scenario_exception": 6}
    assert results["error_details"]["scenario_exception"] == {"ValueError": 6}
    assert "ValueError: scenario bug" in results["error_examples"]["scenario_exception:ValueError"]
    if policy == "continue":  # one start each; the same connection all along
        assert counters["custom:starts"] == 2
        assert (counters["custom:fresh"], counters["custom:stale"]) == (2, 4)
        assert results["connections"]["succeeded"] == 2
    else:  # a restart after each failed iteration: a fresh start (and connection) each time
        assert counters["user_restarts"] == 4  # none after each user's last iteration
        assert counters["custom:starts"] == 6
        assert counters["custom:fresh"] == 6 and "custom:stale" not in counters
        assert results["connections"]["succeeded"] == counters["custom:starts"]
    assert results["connections"]["dropped"] == 0
