"""report.md: the verdict, thresholds and tables hold results.json's figures exactly."""

from __future__ import annotations

import re

import pytest


@pytest.fixture(scope="module")
def md(report_dir):
    return (report_dir / "report.md").read_text()


def table_after(md: str, heading: str) -> list[dict[str, str]]:
    """The first Markdown table after ``heading``, as dicts keyed by its header."""
    lines = md[md.index(heading):].splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("|"))
    table = []
    for line in lines[start:]:
        if not line.startswith("|"):
            break
        table.append([c.strip() for c in re.split(r"(?<!\\)\|", line)[1:-1]])
    header, _, *rows = table
    return [dict(zip(header, row, strict=True)) for row in rows]


def number(cell: str) -> float:
    return float(cell.replace(",", ""))


def test_verdict_and_run_facts(echo_results, md):
    assert echo_results["passed"] is False
    assert "**Verdict: FAILED**" in md
    facts = {r[""]: r["value"] for r in table_after(md, "## Run")}
    assert facts["target"] == echo_results["target"] and facts["status"] == "completed"
    assert facts["peak users"] == str(echo_results["users"]["peak_active"])


def test_thresholds_with_marks_and_observed_values(echo_results, md):
    rows = table_after(md, "## Thresholds")
    assert len(rows) == len(echo_results["thresholds"]) == 3
    for row, t in zip(rows, echo_results["thresholds"], strict=True):
        assert row["threshold"].replace("\\|", "|") == t["expression"]
        assert row[""] == ("✓" if t["passed"] else "✗")
        assert row["observed"] == t["reason"]
        assert number(row["observed"].split()[1]) == pytest.approx(t["observed"], abs=0.001)


def test_every_metric_in_its_kind_table_with_exact_percentiles(echo_results, md):
    for m in echo_results["metrics"].values():
        rows = table_after(md, f"**{m['metric']} — ")
        row = next(r for r in rows if r["name"] == (m["name"] or m["metric"]))
        assert number(row["count"]) == m["count"]
        for column in ("p50", "p95", "p99", "max"):
            assert number(row[column]) == m[f"{column}_ms"], (m, column)


def test_stages_errors_bandwidth_generator(echo_results, md):
    stages = table_after(md, "## Stages")
    assert [s["stage"] for s in stages] == [s["stage"] for s in echo_results["load"]["stages"]]
    for row, stage in zip(stages, echo_results["load"]["stages"], strict=True):
        assert number(row["operations"]) == stage["operations"]
        assert number(row["p95"]) == stage["p95_ms"]
    errors = table_after(md, "## Errors")
    assert {e["category"]: number(e["count"]) for e in errors} == echo_results["errors"]
    bandwidth = table_after(md, "## Bandwidth")
    b = echo_results["bytes"]
    assert {r["direction"]: number(r["wire bytes"]) for r in bandwidth} == {
        "sent": b["sent"], "received": b["received"]}
    assert {r["direction"]: number(r["payload bytes"]) for r in bandwidth} == {
        "sent": b["payload_sent"], "received": b["payload_received"]}
    assert "## Generator health" in md and "generator saturated" not in md


def test_the_runs_analysis_findings_and_projections(echo_results, md):
    """Rendered generically: each finding with its severity, each estimate by its text."""
    analysis = echo_results["analysis"]
    assert analysis["findings"], "the real run fails a threshold: there is a finding"
    section = md[md.index("## Analysis"):md.index("## Connections")]
    for finding in analysis["findings"]:
        assert f"{finding['severity'].upper()}: {finding['title']}" in section
    projections = {r[""]: r["value"] for r in table_after(section, "**projections**")}
    for key, p in analysis["projections"].items():
        assert projections[key.replace("_", " ")].startswith(p["text"])


def test_saturation_and_unknown_analysis_shapes():
    from horde.report.formats.markdown import render

    r = {"generator": {"saturated": True, "reasons": ["CPU 97% mean"]},
         "analysis": {"projections": {"per_hour": 12.5}, "scaling": {"x": {"value": 3}},
                      "findings": [{"rule": "r", "severity": "warning", "title": "slow",
                                    "evidence": {"p95_ms": 900}}]}}
    md = render(r)["report.md"]
    assert "- ⚠ **generator saturated: CPU 97% mean — figures may show horde's limit" in md
    assert "- ⚠ **WARNING: slow (evidence: p95_ms 900)**" in md
    assert "| per hour | 12.5 |  |" in md and "| x | 3 |  |" in md
