"""examples/quiz.py against the quiz demo server: horde's figures against the server's own
/stats, and its drop_player fault found and named."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from tests.support import ROOT, horde_cli, read_results, server_stats

from horde.demo.launcher import demo_server

pytestmark = pytest.mark.timeout(60)
QUIZ = str(ROOT / "examples" / "quiz.py")
PLAYERS, ROUNDS = 6, 3
FAST = ("--param", f"players={PLAYERS}", "--param", f"rounds={ROUNDS}",
        "--param", "guess_min=0.05", "--param", "guess_max=0.3",
        "--iterations", "1", "--connect", "immediate", "--quiet")


def run_quiz(url: str, out: Path) -> tuple[int, dict[str, Any]]:
    result = horde_cli("run", QUIZ, "--target", url, *FAST, "--out", str(out), timeout=45)
    assert result.returncode in (0, 1), result.stderr
    return result.returncode, read_results(out)


def test_players_guess_every_round_and_horde_counts_what_the_server_counted(tmp_path):
    with demo_server("quiz", ("--set", "scoring_ms_per_player=5")) as url:
        code, results = run_quiz(url, tmp_path)
        server = server_stats(url)
    assert code == 0 and results["passed"] is True, results["thresholds"]
    assert server["joins"] == results["metrics"]["ws_reply:join_game"]["count"] == PLAYERS
    assert server["guesses"] == results["metrics"]["ws_reply:submit_guess"]["count"] == (
        PLAYERS * ROUNDS)
    assert server["rounds_completed"] == ROUNDS
    assert results["metrics"]["ws_reply:heartbeat"]["count"] == server["messages"]["ping"]
    rr = results["broadcasts"]["round_results"]
    assert (rr["sent"], rr["deliveries"], rr["reach"], rr["missing"]) == (
        ROUNDS, server["round_results_sent"], 1.0, [])
    assert results["broadcasts"]["round_started"]["deliveries"] == server["round_started_sent"]
    ordering = results["ordering"]  # game_started, then round_started + results per round
    assert (ordering["messages"], ordering["in_order"], ordering["gaps"]) == (
        PLAYERS * (1 + 2 * ROUNDS),) * 2 + (0,)
    # the server's own scoring time (5 ms per guess: ~30 ms a round), as the admin recorded it
    scoring = results["metrics"]["timer:scoring"]
    assert scoring["count"] == ROUNDS
    assert scoring["max_ms"] == pytest.approx(server["scoring_ms_max"], rel=0.01)
    assert 5 * PLAYERS <= scoring["max_ms"] < 1000
    assert 0 < results["metrics"]["broadcast:round_results"]["p95_ms"] < 500
    assert results["connections"]["dropped"] == 0 and results["errors"] == {}


def test_a_player_dropped_from_the_results_is_named_and_fails_the_run(tmp_path):
    with demo_server("quiz", ("--fault", "drop_player")) as url:
        code, results = run_quiz(url, tmp_path)
        server = server_stats(url)
    victim = server["dropped_session"]  # the session id is the player's user name
    assert server["results_dropped"] == ROUNDS
    rr = results["broadcasts"]["round_results"]
    assert rr["reach"] == rr["min_reach"] == round((PLAYERS - 1) / PLAYERS, 4)
    assert rr["deliveries"] == server["round_results_sent"] == (PLAYERS - 1) * ROUNDS
    assert [m["missing"] for m in rr["missing"]] == [[victim]] * ROUNDS
    # the player sees the numbering skip each missed result but the last (nothing follows it)
    assert results["ordering"]["gaps"] == ROUNDS - 1
    assert {e["user"] for e in results["ordering"]["examples"]} == {victim}
    assert code == 1 and results["passed"] is False
    failed = [t["expression"] for t in results["thresholds"] if not t["passed"]]
    assert failed == ["broadcasts.round_results.reach >= 1", "ordering.gaps == 0"]


def test_horde_demo_quiz_with_drop_player_exits_1_naming_the_player(tmp_path):
    """``horde demo quiz`` as typed: OPTIONS end the run; the fault fails it."""
    result = horde_cli("demo", "quiz", "--fault", "drop_player", "--set", "drop_session=player-3",
                       "--param", "players=3",
                       "--param", "rounds=2", "--param", "guess_max=0.2", "--quiet",
                       "--out", str(tmp_path), timeout=45)
    assert result.returncode == 1, result.stderr
    results = read_results(tmp_path)
    assert results["config"]["iterations"] == 1 and results["status"] == "completed"
    missing = results["broadcasts"]["round_results"]["missing"]
    assert [m["missing"] for m in missing] == [["player-3"]] * 2
    assert "missed by player-3" in result.stdout + result.stderr  # named on the console too
