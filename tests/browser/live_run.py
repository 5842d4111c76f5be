"""What the browser tests share: whether a browser is at hand, and a horde run with the
live dashboard in a thread of its own (``horde run`` has no ``--ui`` flag to drive from a
child process here)."""

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


def needs_browser() -> None:
    if not (HERE / "node_modules" / "playwright-core").is_dir() or shutil.which("node") is None:
        pytest.skip("npm ci --prefix tests/browser (playwright-core) first")
    if not Path(CHROMIUM).exists():
        pytest.skip("apt-get install chromium first")


def node(script: str, *args: str, timeout: float = 60) -> dict[str, Any]:
    """Run one of this folder's scripts; its last line of output is JSON."""
    done = subprocess.run(
        ["node", str(HERE / script), *args], capture_output=True, text=True, timeout=timeout,
        check=False,
    )
    seen = json.loads(done.stdout.strip().splitlines()[-1]) if done.stdout.strip() else {}
    assert done.returncode == 0, (done.stderr, seen)
    return seen


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
