"""Scaling: what one user cost, measured, and how far this generator could go.

Cost per user: horde's own CPU and memory (the generator section and the per-second
series), bandwidth and requests per user-second. The one extrapolation — how many users
this generator could drive before saturating — assumes cost grows linearly with users
and is made only when the run measured enough load to support it; otherwise the reason
is listed under ``omitted``. For the target only what was measured is divided (a
``target_monitor`` section, when a run has one); nothing about the target is estimated.
"""

from __future__ import annotations

from typing import Any

from horde.monitor.generator import CPU_BUSY_PERCENT
from horde.report.analysis.denominators import (
    duration_s,
    loaded_rows,
    number,
    peak_users,
    per_user_basis,
)
from horde.report.analysis.estimates_and_findings import estimate, human_rate

MIN_LOADED_SECONDS = 3  # fewer CPU samples under load are too noisy to extrapolate from
MIN_CPU_PERCENT = 5.0  # below this, idle overhead (ticks, lag probe) dominates the figure
LINEAR = (
    "linear: horde's CPU grows in proportion to active users, up to "
    f"{CPU_BUSY_PERCENT:.0f}% of one core (where the generator counts as saturated); its "
    "idle CPU is counted as per-user cost, so the estimate errs low"
)


def scaling(results: dict[str, Any]) -> dict[str, Any]:
    """``{name: estimate, ..., "omitted": {name: reason}}``."""
    out: dict[str, Any] = {}
    omitted: dict[str, str] = {}
    out.update(_generator_cost(results, omitted))
    out.update(_traffic_cost(results, omitted))
    out.update(_target_cost(results))
    out["omitted"] = omitted
    return out


def _generator_cost(results: dict[str, Any], omitted: dict[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    rows = loaded_rows(results)
    if rows:
        cpu = round(sum(r["cpu_percent"] for r in rows) / len(rows), 2)
        users = round(sum(r["users"] for r in rows) / len(rows), 2)
        evidence = {"loaded_seconds": len(rows), "cpu_percent_mean_loaded": cpu,
                    "users_mean_loaded": users}
        per_user = round(cpu / users, 4)
        out["generator_cpu_percent_per_user"] = estimate(
            per_user, "% of a core", f"{per_user:,.4f}% of a core per user", evidence)
        capacity = _users_at_saturation(results, len(rows), cpu, users, omitted)
        if capacity is not None:
            out["generator_users_at_saturation"] = estimate(
                capacity, "users", f"about {capacity:,} users", evidence, note=LINEAR)
    else:
        omitted["generator_cpu_percent_per_user"] = "no per-second CPU samples with users active"
        omitted["generator_users_at_saturation"] = "no per-second CPU samples with users active"
    rss = number((results.get("generator") or {}).get("rss_peak_mb"))
    peak = peak_users(results)
    if rss is not None and peak is not None:
        value = round(rss / peak, 3)
        out["generator_rss_mb_per_user"] = estimate(
            value, "MB", f"{value:,.3f} MB per user", {"rss_peak_mb": rss, "peak_users": peak},
            note="peak RSS includes the interpreter's baseline, so this overstates the "
                 "marginal cost of a user")
    else:
        omitted["generator_rss_mb_per_user"] = "no peak RSS or no active users recorded"
    return out


def _users_at_saturation(results: dict[str, Any], seconds: int, cpu: float, users: float,
                         omitted: dict[str, str]) -> int | None:
    """Users at which CPU would reach the busy mark, scaling linearly from the measured
    mean — only from a run that was not already saturated and was busy enough."""
    key = "generator_users_at_saturation"
    if (results.get("generator") or {}).get("saturated"):
        omitted[key] = "the generator was saturated during the run: its limit is at or below " \
                       "the users it drove"
    elif seconds < MIN_LOADED_SECONDS:
        omitted[key] = f"only {seconds} s under load (need {MIN_LOADED_SECONDS})"
    elif cpu < MIN_CPU_PERCENT:
        omitted[key] = (f"CPU {cpu}% under load is below {MIN_CPU_PERCENT:.0f}%: too little "
                        "to extrapolate from")
    else:
        return int(users * CPU_BUSY_PERCENT / cpu)
    return None


def _traffic_cost(results: dict[str, Any], omitted: dict[str, str]) -> dict[str, Any]:
    """Bandwidth and operations per user-second: totals ÷ duration ÷ users."""
    duration = duration_s(results)
    basis = per_user_basis(results)
    if duration is None or basis is None:
        for name in ("upload_bytes_per_user_per_s", "download_bytes_per_user_per_s",
                     "operations_per_user_per_s"):
            omitted[name] = "no load duration or no active users recorded"
        return {}
    basis_key, users = basis
    out: dict[str, Any] = {}
    totals = (
        ("upload_bytes_per_user_per_s", "bytes_sent", (results.get("bytes") or {}).get("sent")),
        ("download_bytes_per_user_per_s", "bytes_received",
         (results.get("bytes") or {}).get("received")),
        ("operations_per_user_per_s", "operations",
         (results.get("operations") or {}).get("finished")),
    )
    for name, key, raw in totals:
        total = number(raw)
        if total is None:
            omitted[name] = f"no {key} recorded"
            continue
        value = round(total / duration / users, 3)
        evidence = {key: int(total), "duration_s": duration, basis_key: users}
        if key == "operations":
            out[name] = estimate(value, "operations/s", f"{value:,} operations/s per user",
                                 evidence)
        else:
            out[name] = estimate(value, "B/s", human_rate(value) + " per user", evidence)
    return out


def _target_cost(results: dict[str, Any]) -> dict[str, Any]:
    """The target's measured CPU and memory per user, when a run monitored the target."""
    target = results.get("target_monitor")
    basis = per_user_basis(results)
    if not isinstance(target, dict) or basis is None:
        return {}
    basis_key, users = basis
    out: dict[str, Any] = {}
    for field, name, unit in (("cpu_percent_mean", "target_cpu_percent_per_user", "% of a core"),
                              ("rss_peak_mb", "target_rss_mb_per_user", "MB")):
        measured = number(target.get(field))
        if measured is None:
            continue
        value = round(measured / users, 4)
        out[name] = estimate(value, unit, f"{value:,.4f} {unit} per user",
                             {f"target_{field}": measured, basis_key: users})
    return out
