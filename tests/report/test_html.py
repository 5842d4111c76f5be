"""report.html: one offline file carrying results.json and a container per chart."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser

import pytest

from horde.report.formats.html import CHARTS, DATA_ID, render


class Page(HTMLParser):
    """Ids, script bodies and every URL the page would load."""

    def __init__(self) -> None:
        super().__init__()
        self.ids: list[str] = []
        self.scripts: dict[str, str] = {}
        self.urls: list[str] = []
        self._script: str | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if a.get("id"):
            self.ids.append(a["id"])
        self.urls += [a[k] for k in ("src", "href") if a.get(k)]
        if tag == "script":
            self._script = a.get("id") or f"inline-{len(self.scripts)}"
            self.scripts[self._script] = ""

    def handle_endtag(self, tag):
        if tag == "script":
            self._script = None

    def handle_data(self, data):
        if self._script is not None:
            self.scripts[self._script] += data


@pytest.fixture(scope="module")
def page(report_dir) -> Page:
    parsed = Page()
    parsed.feed((report_dir / "report.html").read_text())
    return parsed


def test_embeds_results_json_exactly(echo_results, report_dir, page):
    embedded = json.loads(page.scripts[DATA_ID])
    assert embedded == echo_results == json.loads((report_dir / "results.json").read_text())


def test_a_container_per_chart_and_every_table(page):
    assert [i for i in page.ids if i.startswith("chart-")] == [c for c, _ in CHARTS]
    for section in ("summary", "thresholds", "analysis", "latency", "stages", "errors",
                    "bandwidth", "generator"):
        assert section in page.ids


def test_works_offline_everything_inline(page, report_dir):
    assert page.urls == []  # no <script src>, no <link href>: nothing to fetch
    text = (report_dir / "report.html").read_text()
    assert "uPlot" in page.scripts["inline-1"] and not re.search(r"https?://[^\"']*\.(js|css)", text)


def test_nothing_in_the_data_can_close_the_script():
    r = {"scenario": "x", "error_examples": {"e": "</script><script>alert(1)</script>"}}
    page = Page()
    page.feed(render(r)["report.html"])
    assert json.loads(page.scripts[DATA_ID]) == r


def test_target_resources_chart_only_when_recorded(echo_results):
    page = Page()
    page.feed(render({**echo_results, "target_monitor": {"pid": 1, "timeseries": [{"t": 1, "cpu": 3}]}})["report.html"])
    assert "chart-target" in page.ids and "target" in page.ids
