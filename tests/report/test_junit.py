"""junit.xml: one test case per threshold, failed exactly where results.json says so."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from horde.report.formats.junit import render


def suite_of(text: str) -> ET.Element:
    root = ET.fromstring(text.encode())
    assert root.tag == "testsuites"
    (suite,) = root.findall("testsuite")
    return suite


def test_one_case_per_threshold_failures_where_failed(echo_results, report_dir):
    suite = suite_of((report_dir / "junit.xml").read_text())
    cases = suite.findall("testcase")
    thresholds = echo_results["thresholds"]
    assert [c.get("name") for c in cases] == [t["expression"] for t in thresholds]
    assert [c.find("failure") is not None for c in cases] == [not t["passed"] for t in thresholds]
    for case, t in zip(cases, thresholds, strict=True):
        if not t["passed"]:
            assert case.find("failure").get("message") == f"{t['expression']}: observed {t['observed']}"
        assert case.get("classname") == f"horde.{echo_results['scenario']}"
    assert suite.get("tests") == str(len(thresholds))
    assert suite.get("failures") == str(sum(not t["passed"] for t in thresholds)) == "1"
    assert float(suite.get("time")) == echo_results["duration_s"]


def test_without_thresholds_one_case_for_the_run_status(echo_results):
    passing = suite_of(render({**echo_results, "thresholds": [], "passed": True})["junit.xml"])
    (case,) = passing.findall("testcase")
    assert case.get("name") == "run completed" and case.find("failure") is None
    failed = {**echo_results, "thresholds": [], "passed": False, "status": "setup_failed"}
    (case,) = suite_of(render(failed)["junit.xml"]).findall("testcase")
    assert case.get("name") == "run setup_failed"
    assert case.find("failure").get("message") == "status setup_failed"
