"""The dashboard in a real browser (playwright-core driving Debian's chromium) during a real
run: the charts update, setting users takes effect, and stop ends the run.

The run goes in a thread with its own event loop (``live_run.RunInThread``);
``check_dashboard.js`` does the clicking and reports.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from tests.browser.live_run import HERE, RunInThread, needs_browser

from horde.config.model import RunConfig

SCENARIO = """
    import horde

    @horde.on_start
    async def connect(user):
        user.state.ws = await user.websocket("/ws", codec=horde.JSON)

    @horde.behaviour
    async def echo(user):
        await user.state.ws.request({"type": "ping"}, name="echo")
        user.record("reply_size", 42, unit="bytes", better="lower")
        await user.think(0.1)
"""


def test_dashboard_in_chromium(echo_server, write_scenario, tmp_path):
    needs_browser()
    path = write_scenario(SCENARIO)
    config = RunConfig(
        scenario=path, target=echo_server, users=3, spawn_rate=100, duration_s=40,
        progress=False, out_dir=tmp_path / "out", thresholds=("p95(latency) < 5s",),
    )
    screenshot = Path(os.environ.get("HORDE_DASHBOARD_SCREENSHOT", tmp_path / "dashboard.png"))
    with RunInThread(config) as running:
        browser = subprocess.run(
            ["node", str(HERE / "check_dashboard.js"), running.url, "8", str(screenshot)],
            capture_output=True, text=True, timeout=60,
        )
        seen = json.loads(browser.stdout.strip().splitlines()[-1]) if browser.stdout else {}
        assert browser.returncode == 0, (browser.stderr, seen)
    assert running.error is None and running.results is not None
    # the charts drew and kept updating
    assert seen["canvases"] == 5
    assert seen["points_first"] >= 2
    assert all(n > seen["points_first"] for n in seen["points_later"].values())
    for chart in seen["drawn"]:  # every value so far left ink on its canvas (drawn.js)
        assert chart["missing"] == 0, chart
    assert seen["state_running"] == "running"
    # a recorded value has its own table, in its unit, not among the latencies
    assert seen["values"] == [["reply_size", "42", "bytes", "lower"]]
    # setting users took effect: the page shows it, and so do the run's own rows
    assert seen["users_before"] == "3" and seen["users_after"] == "8"
    assert seen["message"] == "holding 8 users"
    assert [r["users"] for r in running.results["timeseries"]].count(8) >= 1
    # stop ended the run early, results written
    assert seen["state_after"].startswith("finished: stopped")
    assert seen["stop_disabled"] is True
    assert running.results["status"] == "stopped" and running.results["duration_s"] < 30
    assert json.loads((tmp_path / "out" / "results.json").read_text())["status"] == "stopped"
    # offline: nothing was fetched from anywhere but the dashboard, no script errors
    assert seen["requests"] == [] and seen["errors"] == []
    assert screenshot.stat().st_size > 10_000
