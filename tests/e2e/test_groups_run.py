"""Roles, groups and events in real runs against the echo server."""


from tests.support import horde_cli, read_results

from horde.config.model import RunConfig
from horde.engine.runner import run
from horde.scenario.loader import load_scenario

TEAMS = """
import horde

class Params(horde.Params):
    teams: int = 5
    broken_team: int = -1

ROLES = (
    horde.role("dashboard", count=1),
    horde.group("team", count="teams", roles=("creator", "joiner")),
)

@horde.on_start(role="creator")
async def create(user):
    user.state.ws = await user.websocket("/ws")
    user.group.state.name = f"{user.group.id}-name"
    await user.group.barrier("created", timeout=5)
    await user.group.barrier("formed", timeout=5)
    user.events.signal("team_formed")

@horde.on_start(role="joiner")
async def join(user):
    await user.group.barrier("created", timeout=5)
    if user.group.index == user.params.broken_team:
        raise RuntimeError("cannot join")
    user.state.ws = await user.websocket("/ws")
    reply = await user.state.ws.request(json.dumps({"join": user.group.state.name}), name="join")
    user.check(user.group.state.name in reply, "joined")
    await user.group.barrier("formed", timeout=5)

@horde.behaviour(role="dashboard")
async def start_game(user):
    formed = user.params.teams - (user.params.broken_team >= 0)
    await user.events.wait("team_formed", count=formed, timeout=10)
    user.events.signal("game_started")
    await user.think(0.2)

@horde.behaviour
async def play(user):
    await user.events.wait("game_started", timeout=10)
    await user.state.ws.request(json.dumps({"round": user.iteration}), name="round")
    await user.group.barrier("round", timeout=5)
"""


async def run_teams(write_scenario, echo_server, **params):
    path = write_scenario("import json\n" + TEAMS)
    config = RunConfig(
        scenario=path, target=echo_server, iterations=3, progress=False, params=params,
        thresholds=("groups.completed_rate >= 1",),
    )
    return await run(config, load_scenario(path))


async def test_teams_form_at_barriers_wait_for_the_game_and_complete(write_scenario, echo_server):
    results = await run_teams(write_scenario, echo_server)
    groups = results["groups"]
    assert (groups["planned"], groups["started"], groups["formed"], groups["completed"]) == (
        5, 5, 5, 5
    )
    assert groups["failed"] == 0 and groups["completed_rate"] == 1.0
    assert results["users"]["peak_active"] == 11
    assert results["events"] == {"game_started": 3, "team_formed": 5}
    assert results["metrics"]["ws_reply:round"]["count"] == 5 * 2 * 3
    assert results["counters"]["checks_passed:joined"] == 5
    assert results["errors"] == {} and results["passed"] is True


async def test_a_member_that_cannot_join_fails_its_group_alone(write_scenario, echo_server):
    results = await run_teams(write_scenario, echo_server, broken_team=2)
    groups = results["groups"]
    assert groups["completed"] == 4 and groups["failed"] == 1
    assert groups["failures"] == {"on_start of joiner: RuntimeError": 1}
    assert results["errors"] == {"scenario_exception": 1}  # counted once, not per member
    assert results["metrics"]["ws_reply:round"]["count"] == 4 * 2 * 3
    assert results["passed"] is False  # groups.completed_rate >= 1 failed
    assert results["thresholds"][0]["observed"] == 0.8


def test_roles_are_checked_before_any_load(write_scenario, echo_server):
    path = write_scenario(TEAMS.replace('role="dashboard")\nasync', 'role="dasboard")\nasync'))
    result = horde_cli("run", str(path), "--target", echo_server, "--iterations", "1")
    assert result.returncode == 2
    assert result.stderr.strip().endswith(
        "unknown role 'dasboard'; roles: creator, dashboard, joiner"
    )


def test_connect_burst_starts_the_roster_in_batches(write_scenario, echo_server, tmp_path):
    path = write_scenario(
        """
        import horde
        ROLES = (horde.group("pair", count=6, size=2),)

        @horde.behaviour
        async def idle(user):
            user.record("idle", 1)  # a run that measures nothing fails
            await user.think(0.1)
        """
    )
    out = tmp_path / "out"
    result = horde_cli(
        "run", str(path), "--target", echo_server, "--connect", "burst(size=4, every=1s)",
        "--duration", "4s", "--out", str(out), "--quiet",
    )
    assert result.returncode == 0, result.stderr
    results = read_results(out)
    users = [row["users"] for row in results["timeseries"] if row["stage"]][:3]
    assert users == [4, 8, 12], users  # batches of 4: whole pairs, never more than the roster
    assert [s["stage"] for s in results["load"]["stages"]] == ["batch 1", "batch 2", "batch 3"]
