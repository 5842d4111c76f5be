"""Projections: the measured traffic extended to an hour and a day at the same rate.

Bandwidth up (bytes horde sent) and down (bytes it received), requests and messages,
in total and per user. Each projection is a plain multiplication of a measured total by
``3600 / duration_s`` or ``86400 / duration_s``; the evidence holds both operands. They
assume the measured rate holds: they say what this load costs, not what a real day's
traffic would be.
"""

from __future__ import annotations

from typing import Any

from horde.report.analysis.denominators import duration_s, number, per_user_basis
from horde.report.analysis.estimates_and_findings import estimate, human_bytes, human_rate

HOUR_S = 3600
DAY_S = 86400
PERIODS = (("hour", HOUR_S), ("day", DAY_S))


def projections(results: dict[str, Any]) -> dict[str, Any]:
    """``{name: estimate}``; empty when the run has no load duration."""
    duration = duration_s(results)
    if duration is None:
        return {}
    out: dict[str, Any] = {}
    sent = number((results.get("bytes") or {}).get("sent"))
    received = number((results.get("bytes") or {}).get("received"))
    for direction, key, total in (("upload", "bytes_sent", sent),
                                  ("download", "bytes_received", received)):
        if total is not None:
            out.update(_bandwidth(direction, key, total, duration))
    if sent is not None and received is not None:
        evidence = {"bytes_sent": int(sent), "bytes_received": int(received),
                    "duration_s": duration}
        for period, seconds in PERIODS:
            value = round((sent + received) * seconds / duration)
            out[f"total_bytes_per_{period}"] = estimate(
                value, "B", f"{human_bytes(value)} per {period}", evidence)
    out.update(_counts(results, duration))
    out.update(_per_user(results, duration, sent, received))
    return out


def _bandwidth(direction: str, key: str, total: float, duration: float) -> dict[str, Any]:
    evidence = {key: int(total), "duration_s": duration}
    per_s = round(total / duration, 1)
    out = {f"{direction}_bytes_per_s": estimate(per_s, "B/s", human_rate(per_s), evidence)}
    for period, seconds in PERIODS:
        value = round(total * seconds / duration)
        out[f"{direction}_bytes_per_{period}"] = estimate(
            value, "B", f"{human_bytes(value)} per {period}", evidence)
    return out


def _counts(results: dict[str, Any], duration: float) -> dict[str, Any]:
    """Operations always (zero is a measurement too); messages only if the run used any."""
    messages = results.get("messages") or {}
    sources = [("operations", "operations",
                number((results.get("operations") or {}).get("finished")))]
    if any(number(messages.get(k)) for k in ("received", "sent")):
        sources += [("messages_received", "messages_received", number(messages.get("received"))),
                    ("messages_sent", "messages_sent", number(messages.get("sent")))]
    out: dict[str, Any] = {}
    for name, key, total in sources:
        if total is None:
            continue
        evidence = {key: int(total), "duration_s": duration}
        for period, seconds in PERIODS:
            value = round(total * seconds / duration)
            out[f"{name}_per_{period}"] = estimate(
                value, name.split("_")[0], f"{value:,} per {period}", evidence)
    return out


def _per_user(results: dict[str, Any], duration: float, sent: float | None,
              received: float | None) -> dict[str, Any]:
    """Per user per hour and day: totals ÷ duration ÷ users (average active if the
    series has them, else peak; the evidence key says which)."""
    basis = per_user_basis(results)
    if basis is None:
        return {}
    basis_key, users = basis
    out: dict[str, Any] = {}
    for direction, key, total in (("upload", "bytes_sent", sent),
                                  ("download", "bytes_received", received)):
        if total is None:
            continue
        evidence = {key: int(total), "duration_s": duration, basis_key: users}
        for period, seconds in PERIODS:
            value = round(total * seconds / duration / users)
            out[f"{direction}_bytes_per_user_per_{period}"] = estimate(
                value, "B", f"{human_bytes(value)} per user per {period}", evidence)
    operations = number((results.get("operations") or {}).get("finished"))
    if operations is not None:
        evidence = {"operations": int(operations), "duration_s": duration, basis_key: users}
        value = round(operations * HOUR_S / duration / users, 1)
        out["operations_per_user_per_hour"] = estimate(
            value, "operations", f"{value:,} per user per hour", evidence)
    return out
