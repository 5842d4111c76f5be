"""The table of rules, in the order their findings are listed within a severity.

A rule is ``results dict -> list of findings``; adding one is a function here and a row
in docs/analysis.md.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from horde.report.analysis import rules_checks, rules_latency, rules_load
from horde.report.analysis.estimates_and_findings import SEVERITIES, finding

Rule = Callable[[dict[str, Any]], list[dict[str, Any]]]

RULES: tuple[tuple[str, Rule], ...] = (
    ("run_incomplete", rules_load.run_status),
    ("worker_lost", rules_load.workers_lost),
    ("target_exited", rules_load.target_exited),
    ("no_traffic", rules_load.no_traffic),
    ("threshold_failed", rules_load.thresholds_failed),
    ("isolation_failures", rules_checks.isolation_failures),
    ("circuit_breaker", rules_load.circuit_breaker),
    ("rate_limited", rules_load.rate_limited),
    ("error_rate", rules_load.error_rate),
    ("operations_unfinished", rules_load.operations_unfinished),
    ("iterations_failed", rules_load.iterations_failed),
    ("iterations_empty", rules_load.iterations_empty),
    ("connection_failures", rules_load.connection_failures),
    ("connection_drops", rules_load.connection_drops),
    ("generator_saturated", rules_load.generator_saturated),
    ("latency_rising", rules_latency.latency_rising),
    ("latency_high", rules_latency.latency_high),
    ("broadcast_reach", rules_checks.broadcast_reach),
    ("ordering_gaps", rules_checks.ordering_gaps),
    ("stream_stalls", rules_checks.stream_stalls),
    ("events_unclaimed", rules_checks.events_unclaimed),
    ("groups_failed", rules_checks.groups_failed),
    ("sessions_short", rules_checks.sessions_short),
)


def findings(results: dict[str, Any]) -> list[dict[str, Any]]:
    """Every rule's findings, most severe first; one "all clear" when none fired."""
    out = [f for _, rule in RULES for f in rule(results)]
    out.sort(key=lambda f: SEVERITIES.index(f["severity"]))  # stable: table order within
    return out or [_all_clear(results)]


def _all_clear(r: dict[str, Any]) -> dict[str, Any]:
    thresholds = r.get("thresholds") or []
    evidence = {
        "operations": (r.get("operations") or {}).get("finished", 0),
        "errors_total": r.get("errors_total", 0),
        "connection_success_rate": (r.get("connections") or {}).get("success_rate"),
        "thresholds_passed": sum(1 for t in thresholds if t.get("passed")),
        "generator_saturated": bool((r.get("generator") or {}).get("saturated")),
    }
    return finding("all_clear", "info", "all clear: no rule fired",
                   "no errors, drops, rate limiting, failed thresholds or generator "
                   "saturation at this load; to find the limit, run a stepped shape to "
                   "higher load", evidence)
