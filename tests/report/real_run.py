"""One real run against the echo demo server, shared by the report and browser tests.

HTTP and WebSocket requests, a 503 for the errors sections, and three thresholds of which
exactly one fails — so every format has passes, failures and errors to show.
"""

from __future__ import annotations

import asyncio
import copy
import json
import textwrap
from pathlib import Path
from typing import Any

from horde.config.model import RunConfig
from horde.engine.runner import run
from horde.scenario.loader import load_scenario

SCENARIO = """
import horde

@horde.on_start
async def connect(user):
    user.state.ws = await user.websocket("/ws", codec=horde.JSON)
    user.state.seq = 0

@horde.behaviour(weight=2)
async def ws_echo(user):
    user.state.seq += 1
    seq = user.state.seq
    await user.state.ws.request({"type": "ping", "seq": seq}, name="echo",
                                match=lambda m: m.get("seq") == seq)
    await user.think(0.05)

@horde.behaviour
async def http_calls(user):
    await user.http.get("/delay/5", name="slow")
    await user.http.get("/status/503", name="unavailable")
"""
THRESHOLDS = ("p95(http_req{name=slow}) < 500ms", "errors.rate == 0", "p95(ws_reply) < 1000ms")


def run_echo(target: str, tmp: Path, shape: str | None = None) -> dict[str, Any]:
    """Run for 3 s (or as ``shape`` says) and return the results as results.json would
    hold them (JSON types)."""
    path = tmp / "report_scenario.py"
    path.write_text(textwrap.dedent(SCENARIO))
    load: dict[str, Any] = {"shape": shape} if shape else {"users": 4, "duration_s": 3}
    config = RunConfig(scenario=path, target=target, progress=False, thresholds=THRESHOLDS,
                       **load)
    results = asyncio.run(run(config, load_scenario(path)))
    return json.loads(json.dumps(results, default=str))


def incomplete(results: dict[str, Any]) -> dict[str, Any]:
    """What the history gives back after a SIGKILL: rows and totals, no percentiles, no
    thresholds evaluated, no generator summary, no stages."""
    r = copy.deepcopy(results)
    for m in r["metrics"].values():
        for key in [k for k in m if k.endswith("_ms")]:
            del m[key]
    for key in ("generator", "load", "thresholds", "finished_at", "error_examples"):
        r.pop(key, None)
    r.update(incomplete=True, passed=None, status="killed")
    return r


def bare_incomplete(results: dict[str, Any]) -> dict[str, Any]:
    """The least a rebuilt run can hold: its name and its per-second rows."""
    return {"schema": results["schema"], "scenario": results["scenario"], "incomplete": True,
            "timeseries": results["timeseries"]}
