"""CHSH game: 1 dashboard and N teams of 2 players over Socket.IO (seed 000).

    horde demo chsh                                   # 100 teams, 10 rounds each
    horde demo chsh --param teams=20 --param pattern=burst
    horde demo chsh --fault stale_round               # the stale round_ids are caught: exit 1
    horde run examples/chsh.py --target http://127.0.0.1:8080 --param teams=50

Each team's creator makes the team and its joiner joins it by name; once every team is
formed the dashboard starts the game. Both players then answer each ``new_question``
after a think time drawn from a response pattern (000's random, burst, steady or
human_like), until the team has completed ``rounds`` rounds; the run ends when every
player is done. What is measured, against 000's success criteria (THRESHOLDS):
connection success, team pairing, teams that reach ``rounds`` rounds, the server's
response time (every ack, answer confirmation included) and the error rate — where a
question or confirmation naming a round that is not the player's current one (a
desynchronized game state: the server's ``stale_round`` fault) is an error.
"""

from __future__ import annotations

import contextlib
import uuid
from dataclasses import dataclass
from random import Random
from typing import Any

import horde

NAME = "chsh"


class Params(horde.Params):
    teams: int = 100
    rounds: int = 10  # rounds each team plays; the team is complete after them
    pattern: str = "human_like"  # 000's response patterns: random, burst, steady, human_like
    speed: float = 4.0  # think times are the pattern's divided by this: a short demo run
    min_delay: float = 0.05  # bounds of one think time, seconds (after the speed-up)
    max_delay: float = 3.0
    form_timeout: float = 60.0  # the dashboard's wait for every team to form
    game_timeout: float = 300.0  # its wait for every player to finish


ROLES = (
    horde.role("dashboard", count=1),
    horde.group("team", count="teams", roles=("creator", "joiner")),
)

# 000's "Success Criteria & Validation", as measured figures.
THRESHOLDS = (
    "connections.success_rate > 0.95",  # connection success rate > 95%
    "groups.formed_rate > 0.95",  # team pairing: the same bar, for teams
    "groups.completed_rate > 0.9",  # > 90% of teams complete `rounds` (10) rounds
    "mean(latency) < 100ms",  # average server response time < 100 ms (every ack)
    "errors.rate < 1%",  # < 1% of operations (connects, acks, replies) fail
    "checks.rate >= 0.99",  # and < 1% of the answers are wrong (stale round_ids included)
)

# A run ends when every user has done its one iteration: the dashboard's is the whole
# game, a player's is all its team's rounds.
OPTIONS = {"iterations": 1, "connect": "gradual(rate=50)", "timeout": "30s"}


@dataclass(frozen=True, slots=True)
class Scaled:
    """A response pattern sped up ``speed`` times, each wait clipped to [low, high]."""

    pattern: horde.Distribution
    speed: float
    low: float
    high: float

    def sample(self, rng: Random) -> float:
        return min(max(self.pattern.sample(rng) / self.speed, self.low), self.high)


@horde.setup
async def setup(ctx: horde.RunContext) -> dict[str, Any]:
    """A run-unique prefix: team names stay free even against a server used before."""
    p = ctx.params
    think = Scaled(horde.response_pattern(p.pattern), p.speed, p.min_delay, p.max_delay)
    return {"run": uuid.uuid4().hex[:6], "think": think}


# -- connecting and forming teams ------------------------------------------------------------

async def connect(user: horde.User) -> Any:
    """One Socket.IO connection that expects the game_start broadcast: its latency is
    timed from the server's ``ts``, its reach counted over every connection."""
    sio = await user.socketio(ignore=("connection_established", "team_status_update"))
    user.broadcasts.subscribe("game_start")
    sio.on("game_start", lambda d: user.broadcasts.received("game_start", d["ts"], sent_at=d["ts"]))
    sio.on("answer_confirmed", lambda d: None)  # the ack carries the same data: not queued
    user.state.sio = sio
    return sio


@horde.on_start(role="creator")
async def create_team(user: horde.User) -> None:
    sio = await connect(user)
    name = f"load-{user.shared['run']}-{user.group.index}"
    reply = await sio.call("create_team", {"team_name": name}, name="create_team")
    user.check(reply.get("ok") and reply.get("player") == 1, "team_created", fatal=True)
    user.count("teams_created")
    user.group.state.team_name = name
    await user.group.barrier("created", timeout=30)
    await user.group.barrier("formed", timeout=30)
    user.events.signal("team_formed")


@horde.on_start(role="joiner")
async def join_team(user: horde.User) -> None:
    sio = await connect(user)
    await user.group.barrier("created", timeout=30)
    name = user.group.state.team_name
    reply = await sio.call("join_team", {"team_name": name}, name="join_team")
    user.check(reply.get("ok") and reply.get("team_name") == name, "team_joined", fatal=True)
    user.count("teams_joined")
    await user.group.barrier("formed", timeout=30)


# -- the dashboard ---------------------------------------------------------------------------

@horde.on_start(role="dashboard")
async def open_dashboard(user: horde.User) -> None:
    sio = await connect(user)
    sio.on("new_answer_for_dashboard", lambda d: user.count("dashboard_answers"))
    reply = await sio.call("register_dashboard", name="register_dashboard")
    user.check(reply.get("ok"), "dashboard_registered", fatal=True)


@horde.behaviour(role="dashboard")
async def run_game(user: horde.User) -> None:
    """Start the game once every team is formed (or the wait times out: the teams formed
    by then play), then wait for every player of those teams to finish."""
    p = user.params
    formed = await wait_count(user, "team_formed", p.teams, p.form_timeout)
    reply = await user.state.sio.call("start_game", name="start_game")
    user.check(reply.get("ok"), "game_started")
    await wait_count(user, "player_done", 2 * formed, p.game_timeout)


async def wait_count(user: horde.User, event: str, count: int, timeout: float) -> int:
    """How many times ``event`` was signalled once it reached ``count`` or ``timeout``
    passed; falling short is a failed check named after the event."""
    with contextlib.suppress(horde.OperationTimeoutError):
        await user.events.wait(event, count=count, timeout=timeout)
    got = user.events.count(event)
    user.check(got >= count, f"all_{event}")
    return got


# -- the players -----------------------------------------------------------------------------

@horde.behaviour
async def play(user: horde.User) -> None:
    """All of the team's rounds: a player's one iteration. A team that falls short
    fails (its members' iterations end either way, which alone would count as done)."""
    wanted = user.params.rounds
    user.state.last_round = user.state.rounds = 0
    try:
        timeout: float | None = user.params.form_timeout + 30  # the game starts late
        while user.state.rounds < wanted:
            user.state.rounds = await play_round(user, timeout)
            timeout = None
    finally:
        if user.state.rounds < wanted:
            user.group.fail(f"{user.state.rounds} of {wanted} rounds")
        elif user.member == 0:
            user.group.complete()
            user.events.signal("team_done")
        user.events.signal("player_done")


async def play_round(user: horde.User, timeout: float | None) -> int:
    """Answer the next question, then wait for the round to complete; its number."""
    sio = user.state.sio
    question = await next_question(user, timeout)
    rid = question["round_id"]
    await user.think(user.shared["think"])
    answer = {"round_id": rid, "item": question["item"], "answer": user.rng.random() < 0.5}
    ack = await sio.call("submit_answer", answer, name="submit_answer")
    if user.check(ack.get("ok"), "answer_accepted"):
        user.count("answers_submitted")
        fresh = user.check(ack.get("round_id") == rid, "confirmation_names_own_round")
        if not fresh:
            user.count("stale_round_id")
    done = await sio.wait_for("round_complete", lambda d: d["round_id"] == rid)
    if user.member == 0:  # once per team
        user.count("rounds_completed")
        user.count("wins", int(done["win"]))
    return done["round_number"]


async def next_question(user: horde.User, timeout: float | None) -> dict[str, Any]:
    """The next question with a new round_id: a replayed old one (``stale_round``) is
    counted as stale and skipped, as a careful client would."""
    while True:
        question = await user.state.sio.wait_for("new_question", timeout=timeout)
        if user.check(question["round_id"] > user.state.last_round, "question_round_is_new"):
            user.state.last_round = question["round_id"]
            user.count("questions_received")
            return question
        user.count("stale_round_id")
