"""write_reports: names checked before anything is written, one file set per format."""

from __future__ import annotations

import json

import pytest

from horde.errors import ConfigError
from horde.report.formats import FORMATS, check_formats, write_reports

FILES = {
    "json": ["results.json"],
    "html": ["report.html"],
    "md": ["report.md"],
    "csv": ["metrics.csv", "timeseries.csv"],
    "junit": ["junit.xml"],
}


def test_every_format_writes_its_files(echo_results, tmp_path):
    paths = write_reports(echo_results, tmp_path / "out", ["json", "html", "md", "csv", "junit"])
    assert [p.name for p in paths] == [name for names in FILES.values() for name in names]
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(p.name for p in paths)
    assert set(FORMATS) == set(FILES)


def test_json_is_results_json_as_the_run_writes_it(echo_results, report_dir):
    assert json.loads((report_dir / "results.json").read_text()) == echo_results


def test_names_are_trimmed_and_deduplicated():
    assert check_formats([" HTML", "md", "html", ""]) == ["html", "md"]


def test_an_unknown_name_writes_nothing_and_names_the_choices(echo_results, tmp_path):
    with pytest.raises(ConfigError) as caught:
        write_reports(echo_results, tmp_path / "out", ["md", "pdf", "xlsx"])
    assert str(caught.value) == (
        "unknown report format 'pdf', 'xlsx': choose from json, html, md, csv, junit"
    )
    assert not (tmp_path / "out").exists()
