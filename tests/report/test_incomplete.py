"""A run rebuilt from the history after a SIGKILL renders in every format, marked so."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest

from horde.report.formats import FORMATS, write_reports
from horde.report.formats.sections import INCOMPLETE_NOTE

from .real_run import bare_incomplete, incomplete

SHAPES = {"stripped": incomplete, "bare": bare_incomplete}


@pytest.fixture(params=list(SHAPES))
def partial(request, echo_results):
    return SHAPES[request.param](echo_results)


def test_every_format_renders_it(partial, tmp_path):
    paths = write_reports(partial, tmp_path, list(FORMATS))
    assert len(paths) == 6
    assert json.loads((tmp_path / "results.json").read_text())["incomplete"] is True


def test_markdown_and_html_say_so_first(partial, tmp_path):
    write_reports(partial, tmp_path, ["md", "html"])
    md = (tmp_path / "report.md").read_text()
    assert "**Verdict: INCOMPLETE — " in md.splitlines()[2]
    assert f"- ‼ **{INCOMPLETE_NOTE}**" in md
    html = (tmp_path / "report.html").read_text()
    assert '<p class="banner" id="incomplete">INCOMPLETE RUN' in html
    assert html.index('id="incomplete"') < html.index('id="charts"')


def test_junit_fails_a_run_is_complete_case(partial, tmp_path):
    write_reports(partial, tmp_path, ["junit"])
    cases = ET.parse(tmp_path / "junit.xml").getroot().iter("testcase")
    last = list(cases)[-1]
    assert last.get("name") == "run is complete"
    assert last.find("failure").get("type") == "incomplete"


def test_csv_leads_with_an_incomplete_column(partial, tmp_path):
    write_reports(partial, tmp_path, ["csv"])
    for name in ("metrics.csv", "timeseries.csv"):
        lines = (tmp_path / name).read_text().splitlines()
        assert lines[0].startswith("incomplete,")
        assert all(line.startswith("true,") for line in lines[1:])
    rows = (tmp_path / "timeseries.csv").read_text().splitlines()
    assert len(rows) == 1 + len(partial["timeseries"])


def test_a_run_rebuilt_by_the_store_renders(echo_results, tmp_path):
    """The store's own rebuild (horde report RUN on a killed run), not a hand-made dict."""
    rebuild = pytest.importorskip("horde.store.rebuild")
    db = pytest.importorskip("horde.store.db")
    record = db.RunRecord(**{name: _field(name, echo_results) for name in db.RunRecord.__dataclass_fields__})
    rebuilt = rebuild.rebuild_results(record, echo_results["timeseries"])
    assert rebuilt["incomplete"] is True
    write_reports(rebuilt, tmp_path, list(FORMATS))
    assert "INCOMPLETE" in (tmp_path / "report.md").read_text()


def _field(name, results):
    return {"id": 1, "scenario": results["scenario"], "scenario_file": results["scenario_file"],
            "target": results["target"], "config": results["config"],
            "started_at": results["started_at"], "status": "incomplete",
            "rows": len(results["timeseries"]), "last_t": results["timeseries"][-1]["t"]}.get(name)
