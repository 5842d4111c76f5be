"""Analysis of one run's results: projections, scaling and findings, each with the
measured evidence it rests on.

``analyze(results)`` is a pure function of the results dict (results.json) — never of
live objects — so an analysis rebuilt from the run history agrees with the one written
at the end of the run. Its output is JSON-plain::

    {"projections": {NAME: estimate},                  # projections.py
     "scaling": {NAME: estimate, "omitted": {NAME: why}},  # scaling.py
     "findings": [finding, ...]}                        # rules.py (the table)

An *estimate* is ``{"value", "unit", "text", "evidence", "note"?}``; a *finding* is
``{"rule", "severity", "title", "detail", "evidence"}`` (items.py). Nothing is estimated
without its inputs: a missing input omits the estimate. docs/analysis.md lists the rules.
"""

from __future__ import annotations

from typing import Any

from horde.report.analysis.projections import projections
from horde.report.analysis.rules import RULES, findings
from horde.report.analysis.scaling import scaling

__all__ = ["RULES", "analyze"]


def analyze(results: dict[str, Any]) -> dict[str, Any]:
    """The analysis section of results.json (``results["analysis"]``)."""
    return {
        "projections": projections(results),
        "scaling": scaling(results),
        "findings": findings(results),
    }
