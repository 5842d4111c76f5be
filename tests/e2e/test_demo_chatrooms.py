"""examples/chatrooms.py against the chatrooms demo: what horde measured == what the server saw.

Small and short: 3 users x 2 rooms polling every 0.5 s for 4 s.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.support import ROOT, horde_cli, read_results, server_stats

from horde.demo.launcher import demo_server

SCENARIO = str(ROOT / "examples" / "chatrooms.py")
POLL = "GET /rooms/{id}/messages/poll"
AGENTS = "GET /rooms/{id}/chatting-agents"
USERS, ROOMS = 3, 2


def _run(url: str, out: Path, *extra: str) -> tuple[int, dict[str, Any], dict[str, Any]]:
    result = horde_cli(
        "run", SCENARIO, "--target", url, "--users", str(USERS), "--duration", "4s",
        "--param", f"rooms={ROOMS}", "--param", "poll_s=0.5", "--out", str(out), "-q",
        "--graceful-stop", "5s",  # a poll in flight at the deadline finishes: counts match
        *extra,
        timeout=60,
    )
    assert result.returncode in (0, 1), result.stderr
    return result.returncode, read_results(out), server_stats(url)


def _requests(results: dict[str, Any], name: str) -> int:
    return results["metrics"][f"http_req:{name}"]["count"]


def test_every_request_and_byte_matches_the_server(tmp_path: Path) -> None:
    with demo_server("chatrooms") as url:
        code, results, stats = _run(url, tmp_path / "out")
    assert code == 0, results["thresholds"]
    requests = stats["requests"]
    assert _requests(results, "messages/poll") == requests[POLL] >= USERS * ROOMS * 7
    assert _requests(results, "chatting-agents") == requests[AGENTS] == requests[POLL]
    assert _requests(results, "login") == requests["POST /auth/login"] == USERS
    counters = results["counters"]
    assert counters["custom:rooms_created"] == stats["rooms_created"] == USERS * ROOMS
    assert counters["custom:rooms_deleted"] == stats["rooms_deleted"] == USERS * ROOMS
    assert counters["custom:rate_limited"] == 0 and stats["rate_limited"] == {}
    http = sum(m["count"] for m in results["metrics"].values() if m["metric"] == "http_req")
    assert stats["status"] == {"200": http}
    # horde counts headers too; the server counts bodies only
    assert results["bytes"]["received"] > stats["bytes_out"] > 0
    assert results["bytes"]["sent"] > stats["bytes_in"] > 0
    assert counters["custom:messages_received"] > 0  # agents post every 2 s; polls see it
    assert results["metrics"]["intended:poll"]["count"] >= USERS * 7


def test_rate_limits_are_counted_apart_from_errors(tmp_path: Path) -> None:
    with demo_server("chatrooms", ("--set=poll_limit=5",)) as url:
        code, results, stats = _run(url, tmp_path / "out")
    assert code == 1  # 002's "no rate limiting" fails ...
    verdicts = {t["expression"]: t["passed"] for t in results["thresholds"]}
    assert verdicts["counters.custom:rate_limited == 0"] is False
    assert verdicts["errors.rate < 1%"] is True  # ... but a 429 is no error
    counters = results["counters"]
    limited = stats["rate_limited"][POLL]
    assert counters["custom:rate_limited_poll"] == limited == stats["status"]["429"]
    assert counters["custom:rate_limited"] == limited
    assert limited == stats["requests"][POLL] - USERS * 5  # 5 per user got through
    assert "custom:rate_limited_agents" not in counters
    assert AGENTS not in stats["rate_limited"]
    assert "http_429" not in results["errors"]
    assert stats["rooms_created"] == stats["rooms_deleted"] == USERS * ROOMS
