"""Charts of a polling workload, in Debian's chromium: one user sends a request every 3 s,
so at most one second in three has a latency and the others are gaps. uPlot draws no line
through a value between two gaps, and draws points by itself only while a chart has few
(≥ 12 px apart); past that the page must still show every measured second (issue 11,
item 18).

The check reads the canvas (``drawn.js``): at each value's position, a pixel of the
chart's series colours — counting data values would pass on an empty chart. Every chart
of both pages is checked the same way, and each must draw something. One real run feeds
both: the dashboard watches it live, and its results make the HTML report.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from tests.browser.live_run import RunInThread, needs_browser, node

from horde.config.model import RunConfig
from horde.report.formats import write_reports
from horde.report.formats.html import CHARTS

SCENARIO = """
import horde

@horde.behaviour
async def poll(user):
    await user.http.get("/delay/5", name="poll")
    await user.think(3)
"""
# Rows the dashboard waits for: at its narrowest (560 px window) a chart's points are
# < 12 px apart from ~38 rows on, where uPlot would no longer draw them by itself.
ROWS = 42
DASHBOARD_CHARTS = ["chart-users", "chart-rates", "chart-latency", "chart-errors",
                    "chart-resources"]

# one xdist worker runs the whole module, so its module fixture (a 42 s run) runs once
pytestmark = [pytest.mark.timeout(180), pytest.mark.xdist_group("sparse_browser")]


@pytest.fixture(scope="module")
def polled(echo_server: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A real polling run watched on the dashboard until ROWS seconds, then stopped there."""
    needs_browser()
    tmp = tmp_path_factory.mktemp("polling")
    path = tmp / "polling.py"
    path.write_text(SCENARIO)
    # One user: two requests are ≥ 3 s apart, so no two seconds with samples are adjacent.
    config = RunConfig(scenario=path, target=echo_server, users=1, spawn_rate=100,
                       duration_s=300, progress=False, out_dir=tmp / "out")
    with RunInThread(config) as running:
        seen = node("check_drawn.js", running.url, str(ROWS), timeout=150)
    assert running.error is None and running.results is not None
    return {"dashboard": seen, "results": json.loads(json.dumps(running.results, default=str)),
            "tmp": tmp}


def assert_all_drawn(drawn: list[dict[str, Any]], ids: list[str]) -> None:
    assert sorted(c["id"] for c in drawn) == sorted(ids)
    for chart in drawn:
        assert chart["values"] > 0, chart  # an empty chart is not "all drawn"
        assert chart["missing"] == 0, chart
    latency = next(c for c in drawn if c["id"] == "chart-latency")
    # the premise: sparse (at most every other second has a latency), and too dense for
    # uPlot to draw every point by itself
    assert 3 <= latency["seconds"] <= (latency["rows"] + 1) // 2, latency
    assert latency["px_per_row"] < 12, latency


def test_dashboard_draws_every_measured_second(polled):
    seen = polled["dashboard"]
    assert seen["errors"] == []
    assert_all_drawn(seen["drawn"], DASHBOARD_CHARTS)  # while rows arrive
    assert_all_drawn(seen["drawn_finished"], DASHBOARD_CHARTS)  # once the run has finished
    # the p95 figure is the last one measured, not a dash on the seconds without samples
    assert seen["p95"].endswith(" ms") or " ms (" in seen["p95"], seen["p95"]


def test_report_draws_every_measured_second(polled):
    (report,) = write_reports(polled["results"], Path(polled["tmp"]) / "report", ["html"])
    seen = node("check_drawn.js", str(report), str(ROWS - 2))
    assert seen["errors"] == []
    assert_all_drawn(seen["drawn"], [chart_id for chart_id, _ in CHARTS])
