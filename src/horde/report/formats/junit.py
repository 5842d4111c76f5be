"""junit.xml: one test suite, one test case per threshold, for CI test-report views.

A failed threshold is a ``<failure>`` carrying the observed value. A run without
thresholds gets one test case for its status, failed when the run did not pass (setup
failed or aborted). An incomplete run gets one more, failed test case saying so: a
report rebuilt after a kill must not look green in CI.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

from horde.report.formats.sections import INCOMPLETE_NOTE, fmt

FILE = "junit.xml"


def render(results: dict[str, Any]) -> dict[str, str]:
    scenario = str(results.get("scenario", "scenario"))
    cases = [*_threshold_cases(results)] or [_status_case(results)]
    if results.get("incomplete"):
        cases.append(_case("run is complete", INCOMPLETE_NOTE, "incomplete"))
    suite = ET.Element("testsuite", {
        "name": f"horde {scenario}",
        "tests": str(len(cases)),
        "failures": str(sum(c.find("failure") is not None for c in cases)),
        "errors": "0",
        "skipped": "0",
        "time": str(results.get("duration_s") or 0),
        "timestamp": str(results.get("started_at") or "")[:19],
    })
    suite.append(_properties(results))
    for case in cases:
        case.set("classname", f"horde.{scenario}")
        suite.append(case)
    ET.indent(suite)
    suites = ET.Element("testsuites", {"name": "horde"})
    suites.append(suite)
    ET.indent(suites)
    return {FILE: ET.tostring(suites, encoding="unicode", xml_declaration=True) + "\n"}


def _threshold_cases(results: dict[str, Any]) -> list[ET.Element]:
    cases = []
    for t in results.get("thresholds") or []:
        observed = f"observed {fmt(t.get('observed'))}"
        failure = None if t.get("passed") else f"{t.get('expression')}: {observed}"
        case = _case(str(t.get("expression")), failure, "threshold")
        if failure is None:
            ET.SubElement(case, "system-out").text = observed
        cases.append(case)
    return cases


def _status_case(results: dict[str, Any]) -> ET.Element:
    status = results.get("status", "unknown")
    failed = results.get("passed") is False
    detail = results.get("abort_reason") or f"status {status}"
    return _case(f"run {status}", detail if failed else None, "run")


def _case(name: str, failure: str | None, kind: str) -> ET.Element:
    case = ET.Element("testcase", {"name": name, "time": "0"})
    if failure is not None:
        ET.SubElement(case, "failure", {"message": failure, "type": kind}).text = failure
    return case


def _properties(results: dict[str, Any]) -> ET.Element:
    props = ET.Element("properties")
    for key in ("target", "status", "started_at", "finished_at", "incomplete"):
        if results.get(key) is not None:
            ET.SubElement(props, "property", {"name": key, "value": fmt(results[key])})
    return props
