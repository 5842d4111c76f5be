"""The trackers' sections of results.json (groups, streams, ...) from every worker, as one.

Counts add up; rates and means are computed again from the summed counts (a mean of the
workers' rates would weigh a worker with 3 groups like one with 300); minima and maxima
stay minima and maxima; lists are joined; run-wide events are the coordinator's own sums
of every worker's signals. Percentiles a tracker reports itself (a broadcast's first and
last recipient) cannot be merged from percentiles: the merged figure is the worst
worker's, an upper bound (docs/scaling.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

RATES = {"formed_rate": "formed", "completed_rate": "completed"}  # part of ``planned``
HIGHEST = frozenset({"max", "p50", "p95", "p99", "p999"})
LOWEST = frozenset({"min", "min_reach"})


def merge_sections(reports: Sequence[dict[str, dict[str, Any]]],
                   events: dict[str, int]) -> dict[str, dict[str, Any]]:
    """One section per name from the workers' ``reports``; ``events`` replaces theirs."""
    merged: dict[str, Any] = {}
    for report in reports:
        for name, section in report.items():
            merged[name] = _add(merged.get(name), section, name)
    for section in merged.values():
        _recompute(section)
    if "groups" in merged:
        _rates(merged["groups"])
        for counts in merged["groups"].get("by_name", {}).values():
            _rates(counts)
    if events:
        merged["events"] = dict(sorted(events.items()))
    return merged


def _add(total: Any, part: Any, key: str) -> Any:
    if total is None:
        return part
    if part is None:
        return total
    if isinstance(part, bool) or isinstance(total, bool):
        return total or part
    if isinstance(part, int | float) and isinstance(total, int | float):
        if key in HIGHEST:
            return max(total, part)
        if key in LOWEST:
            return min(total, part)
        return total + part
    if isinstance(part, dict) and isinstance(total, dict):
        out = dict(total)
        for name, value in part.items():
            out[name] = _add(out.get(name), value, name)
        return out
    if isinstance(part, list) and isinstance(total, list):
        return total + part
    return total


def _recompute(section: Any) -> None:
    """Ratios from the merged counts, wherever a section has them: a broadcast topic's
    ``reach``, a stream's mean chunks."""
    if not isinstance(section, dict):
        return
    if "reach" in section and section.get("expected"):
        section["reach"] = round(section.get("deliveries", 0) / section["expected"], 4)
    chunks = section.get("chunks")
    if isinstance(chunks, dict) and "mean" in chunks and section.get("count"):
        chunks["mean"] = round(chunks.get("total", 0) / section["count"], 2)
    for value in section.values():
        _recompute(value)


def _rates(counts: dict[str, Any]) -> None:
    planned = counts.get("planned") or 0
    for rate, part in RATES.items():
        if rate in counts:
            counts[rate] = round(counts.get(part, 0) / planned, 4) if planned else None
