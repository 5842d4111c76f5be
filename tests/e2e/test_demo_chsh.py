"""examples/chsh.py against the chsh demo server: horde's figures against the server's own
(/stats, and the answers it stored in SQLite), and its stale_round fault caught."""

from __future__ import annotations

import json
import urllib.request
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest
from tests.support import ROOT, horde_cli, read_results, server_stats

from horde.demo.launcher import demo_server

pytestmark = pytest.mark.timeout(60)
CHSH = str(ROOT / "examples" / "chsh.py")
FAST = ("--param", "speed=40", "--iterations", "1", "--connect", "gradual(rate=50)", "--quiet")


def run_chsh(url: str, out: Path, *params: str) -> tuple[int, dict[str, Any]]:
    """The real command line, as a user would type it against a running server."""
    args = [a for p in params for a in ("--param", p)]
    result = horde_cli("run", CHSH, "--target", url, *FAST, *args, "--out", str(out), timeout=45)
    assert result.returncode in (0, 1), result.stderr
    return result.returncode, read_results(out)


def stored_rounds(url: str) -> dict[str, set[int]]:
    """Per team, the round ids the server stored answers for (its SQLite, not its counters)."""
    with urllib.request.urlopen(f"{url}/answers", timeout=5) as response:
        rows = json.load(response)["answers"]
    rounds: dict[str, set[int]] = defaultdict(set)
    for row in rows:
        rounds[row["team"]].add(row["round_id"])
    return rounds


def test_every_team_plays_its_rounds_and_horde_counts_what_the_server_counted(tmp_path):
    with demo_server("chsh") as url:
        code, results = run_chsh(url, tmp_path, "teams=5", "rounds=4")
        server = server_stats(url)
        rounds = stored_rounds(url)
    custom = {k.removeprefix("custom:"): v for k, v in results["counters"].items()
              if k.startswith("custom:")}
    assert code == 0 and results["passed"] is True, results["thresholds"]
    assert (custom["teams_created"], custom["teams_joined"]) == (
        server["teams_created"], server["teams_joined"]) == (5, 5)
    assert custom["answers_submitted"] == server["answers"] == 5 * 2 * 4
    assert results["metrics"]["sio_ack:submit_answer"]["count"] == server["answers"]
    assert custom["rounds_completed"] == server["rounds_completed"] == 5 * 4
    assert custom["questions_received"] == 5 * 2 * 4
    assert custom["dashboard_answers"] == server["answers"]  # the dashboard saw every answer
    assert custom["wins"] == server["wins"]
    assert len(rounds) == 5 and all(len(ids) >= 4 for ids in rounds.values()), rounds
    groups = results["groups"]
    assert (groups["planned"], groups["formed"], groups["completed"], groups["failed"]) == (
        5, 5, 5, 0)
    assert results["events"]["team_done"] == 5
    game_start = results["broadcasts"]["game_start"]
    assert (game_start["sent"], game_start["deliveries"], game_start["reach"]) == (1, 11, 1.0)
    assert 0 < results["metrics"]["broadcast:game_start"]["max_ms"] < 1000
    assert results["errors"] == {} and server["errors"] == {}
    assert [t["passed"] for t in results["thresholds"]] == [True] * 6


def test_stale_round_ids_are_counted_and_fail_the_run(tmp_path):
    settings = ("--fault", "stale_round", "--set", "stale_every=2", "--set", "max_rounds=4")
    with demo_server("chsh", settings) as url:
        code, results = run_chsh(url, tmp_path, "teams=4", "rounds=4")
        stale = server_stats(url)["stale_sent"]
    assert stale["new_question"] > 0 and stale["answer_confirmed"] > 0
    # a replayed question reaches both players of its team; a confirmation only one
    caught = 2 * stale["new_question"] + stale["answer_confirmed"]
    assert results["counters"]["custom:stale_round_id"] == caught
    assert results["error_details"]["check_failed"] == {
        "question_round_is_new": 2 * stale["new_question"],
        "confirmation_names_own_round": stale["answer_confirmed"],
    }
    assert results["groups"]["completed"] == 4  # skipping the replays, every team still plays
    assert code == 1 and results["passed"] is False
    failed = {t["expression"]: t["observed"] for t in results["thresholds"] if not t["passed"]}
    assert list(failed) == ["checks.rate >= 0.99"] and failed["checks.rate >= 0.99"] < 0.99


def test_horde_demo_chsh_ends_on_its_own_with_the_scenarios_options(tmp_path):
    """No --iterations, no --duration: OPTIONS make the run end when every team is done."""
    result = horde_cli("demo", "chsh", "--param", "teams=3", "--param", "rounds=2",
                       "--param", "speed=40", "--quiet", "--out", str(tmp_path), timeout=45)
    assert result.returncode == 0, result.stderr
    results = read_results(tmp_path)
    assert results["config"]["iterations"] == 1 and results["status"] == "completed"
    assert results["groups"]["completed"] == 3
    assert results["counters"]["custom:rounds_completed"] == 3 * 2
    assert results["duration_s"] < 20
