"""A run's seconds as samples: what ``horde compare`` tests, read out of a results dict.

Each element of ``results["timeseries"]`` is one second of the run; its per-metric
percentiles and its counts are one sample each of how the target behaved that second.
Two runs of the same build differ by noise second to second, so comparing the *sets* of
seconds tells noise from a change where two whole-run figures cannot.

Runs stored before results schema 2 counted ``requests`` (per second, and
``results["requests"]``) where newer ones count ``operations``: :func:`row_operations` and
:func:`run_operations` read both, so old runs in a history still compare.
"""

from __future__ import annotations

from typing import Any

Row = dict[str, Any]


def row_operations(row: Row) -> int:
    """Operations finished in one second (``requests`` in rows written before the rename)."""
    return row.get("operations", row.get("requests")) or 0


def run_operations(results: dict[str, Any]) -> tuple[int, int]:
    """(failed, finished) operations of the whole run: what ``errors.rate`` divides.

    Before the rename a run had ``requests.total`` and counted errors over requests and
    connection attempts; that is read the same way its ``errors.rate`` was computed."""
    ops = results.get("operations")
    if isinstance(ops, dict):
        return ops.get("failed") or 0, ops.get("finished") or 0
    requests = (results.get("requests") or {}).get("total") or 0
    attempted = (results.get("connections") or {}).get("attempted") or 0
    return results.get("errors_total") or 0, requests + attempted


def rows(results: dict[str, Any]) -> list[Row]:
    return results.get("timeseries") or []


def latency_seconds(results: dict[str, Any], label: str, stat: str, min_count: int
                    ) -> list[float]:
    """``stat`` (``p95_ms``…) of metric ``label`` in each second that had at least
    ``min_count`` samples of it: a p95 of three values says little about that second."""
    values = []
    for row in rows(results):
        m = (row.get("metrics") or {}).get(label)
        if m and (m.get("count") or 0) >= min_count and m.get(stat) is not None:
            values.append(float(m[stat]))
    return values


def load_seconds(results: dict[str, Any]) -> list[Row]:
    """The seconds under load: all but the first (users still starting) and the last (a
    partial second, often a few milliseconds long) — their counts are not a rate."""
    return rows(results)[1:-1]


def operations_per_second(results: dict[str, Any]) -> list[float]:
    return [float(row_operations(row)) for row in load_seconds(results)]


def messages_per_second(results: dict[str, Any]) -> list[float]:
    return [float(row.get("messages") or 0) for row in load_seconds(results)]


def metric_per_second(results: dict[str, Any], label: str) -> list[float]:
    """How many of metric ``label`` finished each second under load (0 when none did)."""
    return [float(((row.get("metrics") or {}).get(label) or {}).get("count") or 0)
            for row in load_seconds(results)]


def value_seconds(results: dict[str, Any], name: str, min_count: int) -> list[float]:
    """The median of value ``name`` in each second with at least ``min_count`` of it."""
    found = []
    for row in rows(results):
        v = (row.get("values") or {}).get(name)
        if v and (v.get("count") or 0) >= min_count and v.get("p50") is not None:
            found.append(float(v["p50"]))
    return found
