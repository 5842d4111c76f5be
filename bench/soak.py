"""Soak: N WebSocket users for a long time against the echo demo server; is horde's
memory flat after warm-up, and did it lose any sample? Run by hand, alone::

    .venv/bin/python bench/soak.py [--users 2000] [--duration 30m] [--warmup 5m]

horde's RSS comes from its own per-second rows (results.json timeseries); "lost" compares
the messages horde says it sent with the messages the server says it received.
Prints one JSON line and appends it to bench/results/runs.jsonl (workload
``soak:ws_USERS``; horde's RSS at each full minute instead of the whole series).
bench/results/soak.json is the first run's, from before that log, kept as it is.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "bench"))

import runlog  # noqa: E402

from horde.demo.launcher import demo_server  # noqa: E402
from horde.durations import parse_duration  # noqa: E402


def main(users: int, duration: str, warmup_s: float) -> dict:
    out = Path(tempfile.mkdtemp(prefix="horde-soak-"))
    with demo_server("echo") as url:
        urllib.request.urlopen(urllib.request.Request(f"{url}/stats/reset", method="POST"))
        cmd = [str(ROOT / ".venv/bin/horde"), "run", str(ROOT / "bench/scenarios/soak_ws.py"),
               "--target", url, "--users", str(users), "--spawn-rate", "200",
               "--duration", duration, "--out", str(out), "--quiet", "--no-history"]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        server = json.loads(urllib.request.urlopen(f"{url}/stats").read())
    results = json.loads((out / "results.json").read_text())
    return report(results, server, proc.returncode, warmup_s)


def report(results: dict, server: dict, exit_code: int, warmup_s: float) -> dict:
    rows = results["timeseries"]
    after = [r["rss_mb"] for r in rows if r["t"] >= warmup_s]
    at_warm, peak, last = after[0], max(after), after[-1]
    sent = results["messages"]["sent"]
    return {
        "exit_code": exit_code,
        "duration_s": results["duration_s"],
        "users_peak": results["users"]["peak_active"],
        "rss_mb_after_warmup": at_warm,
        "rss_mb_peak_after_warmup": peak,
        "rss_mb_last": last,
        "rss_growth_after_warmup": round((peak - at_warm) / at_warm, 4),
        "messages_sent_by_horde": sent,
        "messages_received_by_server": server.get("ws_messages"),
        "lost": (server.get("ws_messages") or 0) - sent,
        "replies": results["metrics"].get("ws_reply:tick", {}).get("count"),
        "reply_p50_ms": results["metrics"].get("ws_reply:tick", {}).get("p50_ms"),
        "reply_p99_ms": results["metrics"].get("ws_reply:tick", {}).get("p99_ms"),
        "errors": results["errors"],
        "rss_mb_by_minute": rss_by_minute(rows),
        "generator": {k: v for k, v in results["generator"].items() if k != "timeseries"},
    }


def rss_by_minute(rows: list[dict]) -> list[float]:
    """horde's RSS at each full minute of the run (the row nearest to it), minute 1 first."""
    minutes = int(rows[-1]["t"] // 60) if rows else 0
    return [min(rows, key=lambda r, m=m: abs(r["t"] - 60 * m))["rss_mb"]
            for m in range(1, minutes + 1)]


if __name__ == "__main__":
    p = argparse.ArgumentParser()
    p.add_argument("--users", type=int, default=2000)
    p.add_argument("--duration", default="30m")
    p.add_argument("--warmup", default="5m")
    a = p.parse_args()
    result = main(a.users, a.duration, parse_duration(a.warmup))
    settings = {"users": a.users, "duration": a.duration, "warmup": a.warmup}
    runlog.append([runlog.record(runlog.new_session(), "soak", f"soak:ws_{a.users}", "horde",
                                 result, settings=settings)])
    print(json.dumps(result))
