"""The CHSH game against a server that never acks (seed 000's Flask-SocketIO server).

    horde demo chsh --example chsh_events --set acks=0
    horde run examples/chsh_events.py --target http://127.0.0.1:8080 --param teams=50

Every answer is an event of its own and a refusal an ``error`` event: ``sio.request``
times each emit → reply event as an operation, and ``error_events`` fails it at once
when the server says no. Lobby broadcasts nobody waits for are ignored, not queued.
"""

import uuid

import horde

NAME = "chsh-events"


class Params(horde.Params):
    teams: int = 100
    rounds: int = 10
    think: float = 0.05  # seconds a player takes to answer


ROLES = (horde.role("dashboard", count=1),
         horde.group("team", count="teams", roles=("creator", "joiner")))
THRESHOLDS = ("groups.completed_rate > 0.9", "errors.rate < 1%", "p95(sio_reply) < 500ms")
OPTIONS = {"iterations": 1, "connect": "gradual(rate=50)", "timeout": "30s"}


@horde.setup
async def setup(ctx: horde.RunContext) -> str:
    return uuid.uuid4().hex[:6]  # team names stay free on a server used before


async def connect(user: horde.User) -> horde.SocketIOConnection:
    user.state.sio = await user.socketio(error_events=("error",), ignore=(
        "connection_established", "team_status_update", "answer_confirmed", "game_start",
        "game_over"))
    return user.state.sio


@horde.on_start(role="creator")
async def create_team(user: horde.User) -> None:
    user.group.state.name = name = f"ev-{user.shared}-{user.group.index}"
    await (await connect(user)).request("create_team", {"team_name": name},
                                        reply="team_created")
    await user.group.barrier("created", timeout=30)


@horde.on_start(role="joiner")
async def join_team(user: horde.User) -> None:
    sio = await connect(user)
    await user.group.barrier("created", timeout=30)
    await sio.request("join_team", {"team_name": user.group.state.name}, reply="team_joined")
    user.events.signal("team_formed")


@horde.behaviour(role="dashboard")
async def run_game(user: horde.User) -> None:
    sio = await connect(user)
    sio.ignore("new_answer_for_dashboard")
    await sio.request("register_dashboard", reply="dashboard_registered")
    await user.events.wait("team_formed", count=user.params.teams, timeout=60)
    await sio.emit("start_game")


@horde.behaviour
async def play(user: horde.User) -> None:
    """All the team's rounds: answer each question, wait until the round completes."""
    sio, rounds = user.state.sio, 0
    while rounds < user.params.rounds:
        rid = (await sio.wait_for("new_question", timeout=90))["round_id"]
        await user.think(user.params.think)
        answer = {"round_id": rid, "answer": user.rng.random() < 0.5}
        done = await sio.request("submit_answer", answer, reply="round_complete",
                                 match=lambda d, rid=rid: d["round_id"] == rid)
        rounds = done["round_number"]
    if user.member == 0:
        user.group.complete()  # a team that falls short stays incomplete: completed_rate
