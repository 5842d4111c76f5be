"""What users read on a console 80 columns wide: the end-of-run summary and ``horde runs``
fit, cut no number, and show no ``None``, ``nan`` or Python repr."""

from __future__ import annotations

import copy
import io
import re
from typing import Any

from rich.console import Console

from horde.sinks.console_summary import ConsoleSummary
from horde.store.db import RunRecord
from horde.store.listing import summarize
from horde.store.tables import runs_table

NOT_FOR_USERS = re.compile(r"\bNone\b|\bnan\b|\binf\b|<[a-z_.]+ object|\{'")


def rendered(results: dict[str, Any], width: int = 80) -> str:
    out = io.StringIO()
    ConsoleSummary(Console(file=out, width=width, color_system=None)).on_finish(results)
    return out.getvalue()


def big(results: dict[str, Any]) -> dict[str, Any]:
    """The real run with the numbers of a big one and a long metric name."""
    r = copy.deepcopy(results)
    for m in r["metrics"].values():
        m.update(count=48_123_456, rate_per_s=160_411.5, min_ms=0.05, p50_ms=1_234.56,
                 p95_ms=45_678.91, p99_ms=98_765.43, max_ms=3_599_999.99)
    r["metrics"]["http_req:/api/v2/organisations/{org}/projects/{project}/runs"] = \
        next(iter(r["metrics"].values()))
    return r


def test_the_summary_fits_80_columns_and_cuts_no_number(echo_results) -> None:
    for results in (echo_results, big(echo_results)):
        text = rendered(results)
        lines = text.splitlines()
        assert max(len(line) for line in lines) <= 80, text
        assert "…" not in text, text
        assert not NOT_FOR_USERS.search(text), NOT_FOR_USERS.search(text)
    text = rendered(big(echo_results))
    for number in ("45,678.91", "98,765.43", "1,234.56"):
        assert number in text, number


def test_a_run_with_nothing_measured_shows_dashes_not_none(echo_results) -> None:
    empty = copy.deepcopy(echo_results)
    empty["metrics"] = {}
    empty["generator"] = {"saturated": None, "reasons": []}
    empty["connections"].update(success_rate=None, attempted=0, succeeded=0)
    empty["operations"].update(finished=0, error_rate=None)
    text = rendered(empty)
    assert not NOT_FOR_USERS.search(text), text
    assert "CPU mean - max -" in text and "(-)" in text


def test_horde_runs_fits_80_columns(echo_results) -> None:
    record = RunRecord(id=12, started_at="2026-12-02T17:08:40+00:00", finished_at=None,
                       scenario="a_scenario_with_a_long_name", scenario_file="s.py",
                       target="http://127.0.0.1:8000/with/a/long/path", config={},
                       status="completed", passed=False, duration_s=61.5, summary=None,
                       rows=60, last_t=60.0)
    out = io.StringIO()
    console = Console(file=out, width=80, color_system=None)
    console.print(runs_table([(record, summarize(echo_results))] * 3, console.width))
    text = out.getvalue()
    assert max(len(line) for line in text.splitlines()) <= 80, text
    assert "…" not in text and not NOT_FOR_USERS.search(text), text
    assert "completed" in text and " no " in text


def test_horde_runs_names_the_operation_its_p95_is_of(echo_results) -> None:
    """A p95 with no name could be a connect's or an @on_stop request's: on a console wide
    enough the ``of`` column says which; "passed" is as wide as its text, not its markup."""
    record = RunRecord(id=3, started_at="2026-12-02T17:08:40+00:00", finished_at=None,
                       scenario="echo", scenario_file="s.py", target="ws://127.0.0.1:8000",
                       config={}, status="completed", passed=True, duration_s=5.0,
                       summary=None, rows=5, last_t=5.0)
    summary = summarize(echo_results)
    out = io.StringIO()
    Console(file=out, width=140, color_system=None).print(runs_table([(record, summary)], 140))
    header, row = [line for line in out.getvalue().splitlines() if "│" in line or "┃" in line]
    assert "┃ of " in header and f" {summary['latency_metric']} " in row
    assert "┃ passed ┃" in header
