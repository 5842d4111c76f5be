"""horde capacity with examples/chatbot.py against the chatbot demo set to a known capacity.

The demo streams exactly ``capacity`` answers at once, each ``chunks x chunk_ms`` = 500 ms.
Up to 8 users asking back to back get every answer in 500 ms; at 12, answers queue and
take 750 ms on average (12/8 x 500), a whole extra answer for a third of them when the
users keep in step. A threshold between the two must put the limit at 8, within one
step of 4. It sits 250 ms above 500 ms: real answers on a busy two-core machine come late
by tens of milliseconds, and a threshold 75 ms above (with steps of 2, where 10 users
wait 625 ms on average) tested the machine, not the search. (The "at
least" verdict, horde slower than the server, is tests/e2e/test_capacity_run.py's.)
"""

from __future__ import annotations

import json
from pathlib import Path

from tests.support import ROOT, horde_cli

from horde.demo.launcher import demo_server

THRESHOLD = "p95(stream_total{name=answer}) < 750ms"


def test_finds_the_chatbots_capacity_within_one_step(tmp_path: Path) -> None:
    out = tmp_path / "out"
    # no extra handshake time when busy: only the answers' queueing is measured
    with demo_server("chatbot", ("--set=capacity=8", "--set=handshake_ms=0")) as url:
        result = horde_cli(
            "capacity", str(ROOT / "examples" / "chatbot.py"), "--target", url,
            "--start", "4", "--step", "4", "--max", "16", "--step-duration", "3s",
            "--threshold", THRESHOLD, "--out", str(out), timeout=60,
        )
    assert result.returncode == 0, result.stderr
    capacity = json.loads((out / "capacity.json").read_text())
    assert (capacity["held"], capacity["failed"]) == (8, 12)
    assert capacity["generator_limited"] is False
    assert [s["users"] for s in capacity["steps"]] == [4, 8, 12]
    assert capacity["steps"][-1]["failed_thresholds"] == [THRESHOLD]
    assert all(s["error_rate"] == 0 for s in capacity["steps"])  # slow, not failing
    assert "capacity: 8 users held; 12 failed" in result.stdout
