"""The real run every report test reads, done once per session."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from .real_run import run_echo


@pytest.fixture(scope="session")
def echo_results(echo_server: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return run_echo(echo_server, tmp_path_factory.mktemp("report-run"))


@pytest.fixture(scope="session")
def report_dir(echo_results: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every format written once into one directory, as ``--format`` with all names."""
    from horde.report.formats import FORMATS, write_reports

    out = tmp_path_factory.mktemp("reports")
    write_reports(echo_results, out, list(FORMATS))
    return out
