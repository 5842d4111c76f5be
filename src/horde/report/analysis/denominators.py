"""The measured bases every estimate divides by: load duration and active users.

Each figure comes from results.json alone (never live objects), so an analysis rebuilt
later from the run history agrees with the one written at the end of the run. Every
function returns ``None`` when the results do not hold what it needs: an estimate with
a missing input is omitted, never guessed.
"""

from __future__ import annotations

from typing import Any


def duration_s(results: dict[str, Any]) -> float | None:
    """The load phase in seconds (first user started → stop), if positive."""
    value = results.get("duration_s")
    return float(value) if _positive(value) else None


def peak_users(results: dict[str, Any]) -> int | None:
    """The most users active at once, if any were."""
    value = (results.get("users") or {}).get("peak_active")
    return int(value) if _positive(value) else None


def average_users(results: dict[str, Any]) -> float | None:
    """Active users averaged over the load phase: the per-second samples weighted by
    their window (the last may be shorter), divided by ``duration_s``, capped at the
    peak. Per-user rates divide totals by this, because a ramp spends time below peak."""
    duration = duration_s(results)
    rows = results.get("timeseries") or []
    if duration is None or not rows:
        return None
    user_seconds = 0.0
    previous = 0.0
    for row in rows:
        t = float(row.get("t") or 0.0)
        user_seconds += float(row.get("users") or 0) * max(t - previous, 0.0)
        previous = t
    average = user_seconds / duration
    peak = peak_users(results)
    if peak is not None:
        average = min(average, float(peak))
    return round(average, 2) if average > 0 else None


def loaded_rows(results: dict[str, Any]) -> list[dict[str, Any]]:
    """The per-second rows with at least one active user and a CPU sample: the seconds
    in which the generator's cost can be attributed to users (setup and teardown are
    left out)."""
    return [
        row for row in results.get("timeseries") or []
        if _positive(row.get("users")) and isinstance(row.get("cpu_percent"), int | float)
    ]


def per_user_basis(results: dict[str, Any]) -> tuple[str, float] | None:
    """(evidence key, users) to divide by: the average active users when the series
    has them, else the peak. The key names which one was used."""
    average = average_users(results)
    if average is not None:
        return "average_users", average
    peak = peak_users(results)
    if peak is not None:
        return "peak_users", float(peak)
    return None


def number(value: Any) -> float | None:
    """``value`` if it is a real number (not a bool, not None)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _positive(value: Any) -> bool:
    n = number(value)
    return n is not None and n > 0
