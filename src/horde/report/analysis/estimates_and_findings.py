"""The two JSON-plain shapes analysis produces: an estimate and a finding.

Report formats render them generically (estimates as key/value rows, findings as a
list), so both are small dicts of numbers, strings and flat evidence dicts.
"""

from __future__ import annotations

from typing import Any

SEVERITIES = ("critical", "warning", "info")


def estimate(value: float, unit: str, text: str, evidence: dict[str, Any],
             note: str | None = None) -> dict[str, Any]:
    """One derived figure: its value and unit, a readable rendering, and the measured
    inputs it came from (so a reader can redo the arithmetic)."""
    item: dict[str, Any] = {"value": value, "unit": unit, "text": text, "evidence": evidence}
    if note:
        item["note"] = note
    return item


def finding(rule: str, severity: str, title: str, detail: str,
            evidence: dict[str, Any]) -> dict[str, Any]:
    """One rule that fired: what was seen (title), what to do next (detail), and the
    measured figures that triggered it."""
    assert severity in SEVERITIES, severity
    return {"rule": rule, "severity": severity, "title": title, "detail": detail,
            "evidence": evidence}


def human_bytes(n: float) -> str:
    """Decimal units, as network traffic is billed: 1 kB = 1,000 B."""
    for unit, size in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if abs(n) >= size:
            return f"{n / size:,.2f} {unit}"
    return f"{n:,.0f} B"


def human_rate(bytes_per_s: float) -> str:
    """Bytes per second with the same figure in kilobits per second."""
    return f"{human_bytes(bytes_per_s)}/s ({bytes_per_s * 8 / 1000:,.2f} kbps)"
