"""The HTML report opened in headless Chromium: every chart drawn with data, in the DOM and
on its canvas.

Debian's ``chromium`` driven by playwright-core from npm (``tests/browser``); ``make test``
installs both. Without them this test skips and says how to get them. The screenshot it
takes replaces docs/report-screenshot.png when ``HORDE_UPDATE_SCREENSHOT=1`` (not on every
run: a test run should not change tracked files).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from tests.report.real_run import run_echo
from tests.support import ROOT

from horde.report.formats import write_reports
from horde.report.formats.html import CHARTS

HERE = Path(__file__).parent
CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOT = ROOT / "docs" / "report-screenshot.png"

SHAPE = "steps(start=2, increment=3, interval=2s, max=8)"

pytestmark = pytest.mark.timeout(60)


def missing() -> str | None:
    if shutil.which("node") is None:
        return "node is not installed"
    if not CHROMIUM.exists():
        return "no /usr/bin/chromium: apt-get install chromium (make test does)"
    if not (HERE / "node_modules" / "playwright-core").is_dir():
        return "playwright-core missing: npm ci --prefix tests/browser (make test does)"
    return None


def open_in_chromium(report: Path, screenshot: Path) -> dict:
    done = subprocess.run(
        ["node", str(HERE / "check_report.js"), str(report), str(screenshot)],
        capture_output=True, text=True, timeout=45, check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_every_chart_is_drawn_with_data(echo_server, tmp_path):
    reason = missing()
    if reason:
        pytest.skip(reason)
    # Three stages of two seconds: enough points and stages for the charts to show a shape.
    results = run_echo(echo_server, tmp_path, SHAPE)
    (report,) = write_reports(results, tmp_path / "out", ["html"])
    shot = tmp_path / "report.png"
    page = open_in_chromium(report, shot)
    assert page["errors"] == [] and page["requests"] == []  # no script error, nothing fetched
    assert [c["id"] for c in page["charts"]] == [chart_id for chart_id, _ in CHARTS]
    for chart in page["charts"]:
        assert chart["canvas"], chart
        assert chart["points"] and chart["points"] > 0, chart
    for chart in page["drawn"]:  # every value left ink on its canvas (drawn.js)
        assert chart["values"] > 0 and chart["missing"] == 0, chart
    assert page["verdict"] == "FAILED"  # the run fails one threshold on purpose
    assert shot.stat().st_size > 10_000
    if os.environ.get("HORDE_UPDATE_SCREENSHOT") == "1":
        shutil.copyfile(shot, SCREENSHOT)
