"""results.json has one typed definition: every run's results pass through it, the JSON
Schema users read is generated from it, and stored runs of older schemas upgrade."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
from pydantic import ValidationError

from horde.report.model import SCHEMA, checked, from_stored, json_schema

DOCS = Path(__file__).parents[2] / "docs"


def test_the_published_schema_is_the_model_s() -> None:
    published = json.loads((DOCS / "results.schema.json").read_text())
    assert published == json.loads(json.dumps(json_schema())), (
        "regenerate docs/results.schema.json: python -c 'import json; from "
        "horde.report.model import json_schema; print(json.dumps(json_schema(), indent=2, "
        "sort_keys=True))' > docs/results.schema.json")
    assert "results.schema.json" in (DOCS / "results.md").read_text()


def test_a_real_run_is_exactly_its_checked_self(echo_results) -> None:
    assert echo_results["schema"] == SCHEMA
    assert checked(copy.deepcopy(echo_results)) == echo_results


def test_a_field_the_code_forgot_or_invented_fails_loudly(echo_results) -> None:
    missing = copy.deepcopy(echo_results)
    del missing["verdict"]
    with pytest.raises(ValidationError, match="verdict"):
        checked(missing)
    renamed = copy.deepcopy(echo_results)
    renamed["requests"] = {"total": 3}
    with pytest.raises(ValidationError, match="requests"):
        checked(renamed)
    wrong = copy.deepcopy(echo_results)
    wrong["operations"]["finished"] = "many"
    with pytest.raises(ValidationError, match="finished"):
        checked(wrong)


def test_a_run_stored_by_schema_1_upgrades() -> None:
    old = {
        "schema": "horde.results/1", "horde_version": "0.1.0", "scenario": "echo",
        "target": "http://127.0.0.1:1", "started_at": "2026-11-23T05:00:00+00:00",
        "duration_s": 10.0, "status": "completed", "passed": True,
        "thresholds": [{"expression": "p95(latency) < 1s", "observed": 2.0, "passed": True}],
        "connections": {"attempted": 10, "succeeded": 10, "failed": 0, "dropped": 0,
                        "reconnected": 0, "success_rate": 1.0, "peak_open": 10},
        "users": {"peak_active": 10}, "iterations": {"completed": 90},
        "requests": {"total": 90, "rate_per_s": 9.0, "peak_in_flight": 3},
        "messages": {"received": 0, "sent": 0, "received_per_s": 0.0, "sent_per_s": 0.0},
        "metrics": {}, "counters": {}, "errors": {"http_503": 1}, "errors_total": 1,
        "error_details": {}, "error_examples": {},
        "bytes": {"sent": 100, "received": 200}, "generator": {},
        "timeseries": [{"t": 1.0, "users": 10, "requests": 9, "messages": 0, "errors": 0}],
    }
    new = from_stored(old)
    assert new["schema"] == SCHEMA
    assert new["operations"]["finished"] == 90 and new["operations"]["error_rate"] == 0.01
    assert new["timeseries"][0]["operations"] == 9
    assert new["verdict"]["passed"] is True
