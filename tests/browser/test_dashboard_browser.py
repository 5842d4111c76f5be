"""The dashboard in a real browser (playwright-core driving Debian's chromium) during a real
run: the charts update, setting users takes effect, and stop ends the run.

The run goes in a thread with its own event loop (``horde run`` has no ``--ui`` flag to
drive from a child process here); ``check_dashboard.js`` does the clicking and reports.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import threading
from pathlib import Path
from typing import Any

import pytest

from horde.config.model import RunConfig
from horde.engine.runner import run
from horde.live.dashboard import from_options
from horde.scenario.loader import load_scenario
from horde.sinks.results_json import ResultsJson

HERE = Path(__file__).resolve().parent
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")

SCENARIO = """
    import horde

    @horde.on_start
    async def connect(user):
        user.state.ws = await user.websocket("/ws", codec=horde.JSON)

    @horde.behaviour
    async def echo(user):
        await user.state.ws.request({"type": "ping"}, name="echo")
        await user.think(0.1)
"""


def needs_browser() -> None:
    if not (HERE / "node_modules" / "playwright-core").is_dir() or shutil.which("node") is None:
        pytest.skip("npm ci --prefix tests/browser (playwright-core) first")
    if not Path(CHROMIUM).exists():
        pytest.skip("apt-get install chromium first")


class RunInThread:
    """A horde run with the dashboard, in a thread of its own; ``url`` once it listens."""

    def __init__(self, config: RunConfig) -> None:
        self.config = config
        self.listening = threading.Event()
        self.url = ""
        self.results: dict[str, Any] | None = None
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._main, daemon=True)

    def __enter__(self) -> RunInThread:
        self._thread.start()
        assert self.listening.wait(10), "the dashboard did not start"
        if self.error:
            raise self.error
        return self

    def __exit__(self, *exc: object) -> None:
        self._thread.join(30)

    def _main(self) -> None:
        try:
            asyncio.run(self._run())
        except BaseException as e:
            self.error = e
            self.listening.set()

    async def _run(self) -> None:
        scenario = load_scenario(self.config.scenario)
        sinks: list[Any] = [ResultsJson(self.config.out_dir)]
        async with from_options("127.0.0.1", 0) as dashboard:
            self.url = dashboard.url
            self.listening.set()
            self.results = await run(self.config, scenario, [*sinks, dashboard])


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
    assert seen["state_running"] == "running"
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
