"""examples/chatbot_llm.py against the chatbot demo's OpenAI-compatible endpoint, via the
CLI: time to first token, tokens/s and chunks per answer as values, 429s by the server's
rule, all agreeing with what the server counted."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.support import ROOT, horde_cli, read_results, server_stats

from horde.demo.launcher import demo_server

SCENARIO = str(ROOT / "examples" / "chatbot_llm.py")


def _run(server_args: tuple[str, ...], out: Path, users: int,
         iterations: int) -> tuple[int, dict[str, Any], dict[str, Any]]:
    shape = f"constant(users={users}, duration=30s, spawn_rate=1000)"
    with demo_server("chatbot", server_args) as url:
        result = horde_cli("run", SCENARIO, "--target", url, "--shape", shape,
                           "--iterations", str(iterations), "--out", str(out), "-q",
                           "--no-history", timeout=60)
        assert result.returncode in (0, 1), result.stderr
        return result.returncode, read_results(out), server_stats(url)


def test_first_token_rate_and_chunks_per_answer(tmp_path: Path) -> None:
    users, iterations = 3, 4
    code, results, stats = _run(
        ("--set=llm_tokens=10", "--set=first_token_ms=60", "--set=token_ms=10"),
        tmp_path, users, iterations)
    answers = users * iterations
    assert code == 0, results["thresholds"]
    assert results["errors"] == {}
    stream = results["streams"]["answer"]
    assert stream["count"] == stream["completed"] == stats["llm_completions"] == answers
    # role + 10 tokens + finish per answer; [DONE] is no chunk
    assert stream["chunks"]["total"] == answers * 12
    assert stats["llm_tokens"] == answers * 10
    # the first *content* token comes first_token_ms after the role-only chunk
    assert results["metrics"]["stream_first:answer"]["min_ms"] >= 60 - 1
    values = results["values"]
    assert values["stream_chunks:answer"]["count"] == answers
    assert values["stream_chunks:answer"]["p50"] == 12
    rate = values["stream_rate:answer"]
    assert rate["unit"] == "chunks/s" and rate["better"] == "higher"
    assert rate["count"] == answers and 10 < rate["p50"] < 1000
    assert values["rate_limited"]["count"] == answers and values["rate_limited"]["max"] == 0
    verdicts = {t["expression"]: t["passed"] for t in results["thresholds"]}
    assert all(verdicts.values()) and len(verdicts) == 4


def test_rate_limited_questions_are_counted_and_fail_the_threshold(tmp_path: Path) -> None:
    # 2 requests/s per key, no burst: back-to-back questions of one user get 429 and wait
    # the Retry-After (1 s) before asking again.
    users, iterations = 2, 4
    code, results, stats = _run(
        ("--set=llm_rate=2", "--set=llm_tokens=3", "--set=first_token_ms=0",
         "--set=token_ms=0"), tmp_path, users, iterations)
    assert code == 1
    limited = stats["llm_rate_limited"]
    assert limited >= 1
    assert results["errors"]["http_429"] == limited
    assert stats["llm_completions"] + limited == users * iterations
    share = results["values"]["rate_limited"]
    assert share["count"] == users * iterations and share["unit"] == "share"
    assert share["mean"] == round(limited / (users * iterations), 3)
    verdicts = {t["expression"]: t["passed"] for t in results["thresholds"]}
    assert verdicts["values.rate_limited.mean < 0.05"] is False


def test_horde_demo_runs_another_example_against_the_demo_server(tmp_path: Path) -> None:
    result = horde_cli("demo", "chatbot", "--example", "chatbot_llm", "-u", "2",
                       "--iterations", "2", "--out", str(tmp_path), "-q", "--no-history",
                       timeout=90)
    assert result.returncode == 0, result.stderr
    assert "scenario" in result.stderr and "chatbot_llm.py" in result.stderr
    assert read_results(tmp_path)["streams"]["answer"]["completed"] == 4


def test_an_unknown_example_is_bad_input_before_any_server_starts() -> None:
    result = horde_cli("demo", "chatbot", "--example", "no_such_example")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1].endswith("no_such_example.py not found")
