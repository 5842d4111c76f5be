"""The CHSH game's rules, without sockets: teams of two, a dashboard, question rounds.

Every input is a method call (``create_team(sid, data)``, ``submit_answer(sid, data)``…)
that returns a :class:`Result`: the ack for the caller and the effects for the driver to
carry out — :class:`Send` a Socket.IO event, :class:`Store` a row in SQLite,
:class:`Schedule` the team's next question. The driver (:mod:`.handlers`) only does I/O,
so the rules are tested with plain calls and a fake clock.

CHSH: in each round player 1 is asked A or B, player 2 X or Y, each at random; each
answers True/False. The team wins the round when ``a XOR b == (item1 is B and item2 is Y)``.
"""

from __future__ import annotations

import random
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

Data = dict[str, Any]
EVERYONE = None  # Send.to: every connected client (one encoded broadcast)


@dataclass(frozen=True, slots=True)
class Send:
    event: str
    data: Data
    to: str | None  # a sid, or EVERYONE


@dataclass(frozen=True, slots=True)
class Store:
    table: str  # "answers" or "rounds"
    row: tuple[Any, ...]


@dataclass(frozen=True, slots=True)
class Schedule:
    """Call :meth:`ChshGame.next_question` for ``team`` after the question delay."""

    team: str
    after_round: int


Effect = Send | Store | Schedule


@dataclass(slots=True)
class Result:
    ack: Data
    effects: list[Effect] = field(default_factory=list)


@dataclass(slots=True)
class Round:
    round_id: int
    number: int
    items: tuple[str, str]  # (A|B, X|Y)
    answers: dict[int, bool] = field(default_factory=dict)  # slot → answer


@dataclass(slots=True)
class Team:
    name: str
    slots: list[str | None] = field(default_factory=lambda: [None, None])
    round: Round | None = None
    previous: Round | None = None
    completed: int = 0

    def members(self) -> list[str]:
        return [sid for sid in self.slots if sid is not None]

    def full(self) -> bool:
        return None not in self.slots


def chsh_win(items: tuple[str, str], answers: tuple[bool, bool]) -> bool:
    """The CHSH winning rule: answers differ exactly when the items are B and Y."""
    return (answers[0] != answers[1]) == (items == ("B", "Y"))


def valid_answer(value: object) -> bool:
    """True/False, or the integers 0/1 (JSON clients); not 1.0, not "true"."""
    return type(value) in (bool, int) and value in (0, 1)


@dataclass(slots=True)
class Config:
    max_rounds: int = 0  # per team; 0 = no limit
    stale_every: int = 0  # fault stale_round: every Nth eligible message is stale; 0 = off


class ChshGame:
    def __init__(
        self,
        config: Config | None = None,
        *,
        rng: random.Random | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.config = config or Config()
        self.rng = rng or random.Random()
        self.clock = clock
        self.teams: dict[str, Team] = {}
        self.team_of: dict[str, str] = {}  # sid → team name
        self.connected: set[str] = set()
        self.dashboards: set[str] = set()
        self.started = False
        self.paused = False
        self.next_round_id = 1
        self.counts: Counter[str] = Counter()
        self.received: Counter[str] = Counter()  # client events, by name (the driver counts)
        self.errors: Counter[str] = Counter()
        self.stale: Counter[str] = Counter()

    # -- connections ----------------------------------------------------------------

    def connect(self, sid: str) -> Result:
        self.connected.add(sid)
        open_teams = [t.name for t in self.teams.values() if not t.full()]
        data = {"game_started": self.started, "available_teams": open_teams}
        return Result({"ok": True}, [Send("connection_established", data, sid)])

    def disconnect(self, sid: str) -> Result:
        self.connected.discard(sid)
        self.dashboards.discard(sid)
        effects = self._leave(sid) if sid in self.team_of else []
        return Result({"ok": True}, effects)

    # -- teams ----------------------------------------------------------------------

    def create_team(self, sid: str, data: object) -> Result:
        name = _team_name(data)
        if name is None:
            return self._error(sid, "invalid_team_name", "team_name must be a non-empty string")
        if sid in self.team_of:
            return self._error(sid, "already_in_team", f"already in team {self.team_of[sid]!r}")
        if name in self.teams:
            return self._error(sid, "team_exists", f"team {name!r} already exists")
        self.teams[name] = Team(name, [sid, None])
        self.team_of[sid] = name
        self.counts["teams_created"] += 1
        reply = {"team_name": name, "player": 1, "game_started": self.started}
        return Result({"ok": True, **reply}, [Send("team_created", reply, sid)])

    def join_team(self, sid: str, data: object) -> Result:
        name = _team_name(data)
        if name is None:
            return self._error(sid, "invalid_team_name", "team_name must be a non-empty string")
        if sid in self.team_of:
            return self._error(sid, "already_in_team", f"already in team {self.team_of[sid]!r}")
        team = self.teams.get(name)
        if team is None:
            return self._error(sid, "team_not_found", f"no team {name!r}")
        if team.full():
            return self._error(sid, "team_full", f"team {name!r} already has 2 players")
        slot = team.slots.index(None)
        team.slots[slot] = sid
        self.team_of[sid] = name
        self.counts["teams_joined"] += 1
        reply = {"team_name": name, "player": slot + 1, "game_started": self.started}
        effects: list[Effect] = [Send("team_joined", reply, sid)]
        status = {"team_name": name, "status": "full", "game_started": self.started}
        effects += [Send("team_status_update", status, member) for member in team.members()]
        if self.started and not self.paused:
            effects += self._new_round(team)
        return Result({"ok": True, **reply}, effects)

    def leave_team(self, sid: str, data: object = None) -> Result:
        if sid not in self.team_of:
            return self._error(sid, "not_in_team", "not in a team")
        name = self.team_of[sid]
        effects = self._leave(sid)
        return Result({"ok": True, "team_name": name}, [Send("left_team", {"team_name": name}, sid),
                                                         *effects])

    def _leave(self, sid: str) -> list[Effect]:
        """Free the player's slot; an empty team is deleted (its name is free again), a
        half team loses its open round and waits for a new partner."""
        name = self.team_of.pop(sid)
        team = self.teams[name]
        team.slots[team.slots.index(sid)] = None
        team.round = None
        self.counts["players_left"] += 1
        if not team.members():
            del self.teams[name]
            return []
        status = {"team_name": name, "status": "waiting_pair", "game_started": self.started}
        (other,) = team.members()
        return [Send("player_left", {"team_name": name}, other),
                Send("team_status_update", status, other)]

    # -- dashboard ------------------------------------------------------------------

    def register_dashboard(self, sid: str, data: object = None) -> Result:
        self.dashboards.add(sid)
        reply = {**self.summary(), "ts": self.clock()}
        return Result({"ok": True, **reply}, [Send("dashboard_registered", reply, sid)])

    def start_game(self, sid: str, data: object = None) -> Result:
        if sid not in self.dashboards:
            return self._error(sid, "not_dashboard", "register_dashboard first")
        if self.started:
            return self._error(sid, "game_already_started", "the game is already running")
        self.started, self.paused = True, False
        self.counts["games_started"] += 1
        ts = self.clock()
        effects: list[Effect] = [Send("game_start", {"game_started": True, "ts": ts}, EVERYONE)]
        for team in self.teams.values():
            if team.full():
                effects += self._new_round(team)
        return Result({"ok": True, "ts": ts}, effects)

    def pause_game(self, sid: str, data: object = None) -> Result:
        """Toggle the pause (as the original's button does)."""
        if sid not in self.dashboards:
            return self._error(sid, "not_dashboard", "register_dashboard first")
        if not self.started:
            return self._error(sid, "game_not_started", "the game has not started")
        self.paused = not self.paused
        ts = self.clock()
        state = {"game_started": True, "paused": self.paused, "ts": ts}
        effects: list[Effect] = [Send("game_state_changed", state, EVERYONE)]
        if not self.paused:  # rounds that completed just before the pause resume here
            for team in self.teams.values():
                if team.full() and team.round is None and not self._finished(team):
                    effects += self._new_round(team)
        return Result({"ok": True, "paused": self.paused, "ts": ts}, effects)

    def restart_game(self, sid: str, data: object = None) -> Result:
        """Stop the game and forget its rounds; teams stay. The driver clears SQLite."""
        if sid not in self.dashboards:
            return self._error(sid, "not_dashboard", "register_dashboard first")
        self.started = self.paused = False
        for team in self.teams.values():
            team.round = team.previous = None
            team.completed = 0
        for key in ("rounds_started", "rounds_completed", "answers", "wins", "teams_finished"):
            self.counts.pop(key, None)
        self.counts["games_restarted"] += 1
        ts = self.clock()
        return Result({"ok": True, "ts": ts}, [Send("game_reset", {"ts": ts}, EVERYONE)])

    # -- rounds ---------------------------------------------------------------------

    def next_question(self, name: str, after_round: int) -> list[Effect]:
        """The scheduled next round; a no-op if the team changed meanwhile."""
        team = self.teams.get(name)
        if (team is None or not team.full() or not self.started or self.paused
                or team.round is not None or team.completed != after_round):
            return []
        return self._new_round(team)

    def _new_round(self, team: Team) -> list[Effect]:
        items = (self.rng.choice("AB"), self.rng.choice("XY"))
        team.round = Round(self.next_round_id, team.completed + 1, items)
        self.next_round_id += 1
        self.counts["rounds_started"] += 1
        ts = self.clock()
        effects: list[Effect] = [Store("rounds", (team.round.round_id, team.name,
                                                  team.round.number, *items, ts))]
        if self._stale("new_question", team):  # a replay of the last question, first
            effects += self._questions(team, team.previous, ts)  # type: ignore[arg-type]
        return effects + self._questions(team, team.round, ts)

    def _questions(self, team: Team, rnd: Round, ts: float) -> list[Effect]:
        return [
            Send("new_question", {"round_id": rnd.round_id, "round_number": rnd.number,
                                  "item": rnd.items[slot], "ts": ts}, sid)
            for slot, sid in enumerate(team.slots) if sid is not None
        ]

    def submit_answer(self, sid: str, data: object) -> Result:
        problem = self._answer_problem(sid, data)
        if problem:
            return self._error(sid, *problem)
        assert isinstance(data, dict)
        team = self.teams[self.team_of[sid]]
        rnd = team.round
        assert rnd is not None
        slot = team.slots.index(sid)
        answer = bool(data["answer"])
        rnd.answers[slot] = answer
        self.counts["answers"] += 1
        ts = self.clock()
        confirmed_id = rnd.round_id
        if self._stale("answer_confirmed", team):
            confirmed_id = team.previous.round_id  # type: ignore[union-attr]
        reply = {"round_id": confirmed_id, "round_number": rnd.number,
                 "item": rnd.items[slot], "answer": answer, "ts": ts}
        effects: list[Effect] = [
            Store("answers", (rnd.round_id, team.name, sid, slot + 1, rnd.items[slot],
                              int(answer), ts)),
            Send("answer_confirmed", reply, sid),
        ]
        effects += self._for_dashboards(team, rnd, slot, answer, ts)
        if len(rnd.answers) == 2:
            effects += self._complete(team, rnd, ts)
        return Result({"ok": True, **reply}, effects)

    def _answer_problem(self, sid: str, data: object) -> tuple[str, str] | None:
        """The first reason this answer is refused, as (code, message); None if valid."""
        if not isinstance(data, dict):
            return "bad_request", "expected {round_id, answer}"
        if sid not in self.team_of:
            return "not_in_team", "not in a team"
        if not self.started:
            return "game_not_started", "the game has not started"
        if self.paused:
            return "game_paused", "the game is paused"
        team = self.teams[self.team_of[sid]]
        rnd = team.round
        if rnd is None:
            return "no_round", "no open round (team incomplete or finished)"
        if data.get("round_id") != rnd.round_id:
            return "bad_round", f"round_id {data.get('round_id')!r} is not {rnd.round_id}"
        if not valid_answer(data.get("answer")):
            return "bad_answer", "answer must be true/false or 0/1"
        slot = team.slots.index(sid)
        if "item" in data and data["item"] != rnd.items[slot]:
            return "bad_item", f"item {data['item']!r} is not {rnd.items[slot]!r}"
        if slot in rnd.answers:
            return "duplicate_answer", "already answered this round"
        return None

    def _complete(self, team: Team, rnd: Round, ts: float) -> list[Effect]:
        win = chsh_win(rnd.items, (rnd.answers[0], rnd.answers[1]))
        team.previous, team.round = rnd, None
        team.completed += 1
        self.counts["rounds_completed"] += 1
        self.counts["wins"] += win
        done = {"team_name": team.name, "round_id": rnd.round_id, "round_number": rnd.number,
                "win": win, "ts": ts}
        effects: list[Effect] = [Send("round_complete", done, sid) for sid in team.members()]
        if self._finished(team):
            self.counts["teams_finished"] += 1
            over = {"team_name": team.name, "rounds": team.completed, "ts": ts}
            return effects + [Send("game_over", over, sid) for sid in team.members()]
        return [*effects, Schedule(team.name, team.completed)]

    def _finished(self, team: Team) -> bool:
        return 0 < self.config.max_rounds <= team.completed

    def _for_dashboards(self, team: Team, rnd: Round, slot: int, answer: bool,
                        ts: float) -> list[Effect]:
        row = {"team_name": team.name, "round_id": rnd.round_id, "player": slot + 1,
               "item": rnd.items[slot], "answer": answer, "ts": ts}
        return [Send("new_answer_for_dashboard", row, d) for d in self.dashboards]

    def _stale(self, kind: str, team: Team) -> bool:
        """Fault stale_round: every Nth message of ``kind`` that could carry an older
        round_id (the team has a previous round) does."""
        every = self.config.stale_every
        if not every or team.previous is None:
            return False
        self.counts[f"stale_eligible_{kind}"] += 1
        if self.counts[f"stale_eligible_{kind}"] % every:
            return False
        self.stale[kind] += 1
        return True

    # -- errors and numbers ---------------------------------------------------------

    def bad_arguments(self, sid: str, event: str, wanted: int, got: int) -> Result:
        """A handler called with the wrong number of arguments (a strict server's
        TypeError, told to the client as an ``error`` event)."""
        return self._error(sid, "bad_arguments",
                           f"{event} takes {wanted} argument(s), got {got}")

    def _error(self, sid: str, code: str, message: str) -> Result:
        self.errors[code] += 1
        data = {"code": code, "message": message}
        return Result({"ok": False, **data}, [Send("error", data, sid)])

    def summary(self) -> Data:
        teams = self.teams.values()
        return {
            "game_started": self.started,
            "paused": self.paused,
            "teams": len(self.teams),
            "full_teams": sum(t.full() for t in teams),
            "players": len(self.connected - self.dashboards),
            "players_in_teams": len(self.team_of),
            "dashboards": len(self.dashboards),
        }

    def stats(self) -> Data:
        return {**self.summary(), **{k: self.counts.get(k, 0) for k in _COUNTS},
                "events": dict(self.received), "errors": dict(self.errors),
                "stale_sent": dict(self.stale)}


_COUNTS = ("teams_created", "teams_joined", "players_left", "rounds_started",
           "rounds_completed", "answers", "wins", "teams_finished", "games_started",
           "games_restarted", "emit_failures")


def _team_name(data: object) -> str | None:
    name = data.get("team_name") if isinstance(data, dict) else None
    if not isinstance(name, str) or not name.strip():
        return None
    return name.strip()[:50]
