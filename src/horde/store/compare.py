"""Compare two runs metric by metric and find the regressions: pure, on results dicts.

A delta is a regression when run B is worse than run A by more than the tolerance:
latency (p50/p95/p99 of every latency metric) or error rate higher, throughput lower.
Two guards keep CI from failing on noise: a latency must also move by at least
``latency_floor_ms``, an error rate by at least ``error_floor`` (absolute, 0.001 = 0.1
percentage point), and a metric with fewer than ``min_count`` samples in either run is
shown but never flagged.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from typing import Any

from horde.metrics import names
from horde.store.summary import summarize

LATENCY_STATS = ("p50_ms", "p95_ms", "p99_ms")


@dataclass(frozen=True, slots=True)
class Tolerance:
    relative: float = 0.10
    latency_floor_ms: float = 1.0
    error_floor: float = 0.001
    min_count: int = 20


@dataclass(frozen=True, slots=True)
class Delta:
    """One figure in both runs. ``lower_is_better`` says which way is a regression."""

    name: str
    unit: str  # "ms", "/s" or "ratio"
    a: float | None
    b: float | None
    lower_is_better: bool
    verdict: str  # "regression" | "better" | "same" | "n/a" | "few samples"

    @property
    def change(self) -> float | None:
        return None if self.a is None or self.b is None else self.b - self.a

    @property
    def relative(self) -> float | None:
        change = self.change
        return None if change is None or not self.a else change / self.a


@dataclass(frozen=True, slots=True)
class Comparison:
    deltas: list[Delta]
    tolerance: Tolerance

    @property
    def regressions(self) -> list[Delta]:
        return [d for d in self.deltas if d.verdict == "regression"]


def compare(
    a: dict[str, Any],
    b: dict[str, Any],
    tolerance: Tolerance | None = None,
    patterns: list[str] | None = None,
) -> Comparison:
    """Run ``b`` against the baseline ``a``; ``patterns`` (globs) keep only the figures
    whose name matches one, e.g. ``http_req:*``, ``* p95``, ``throughput``."""
    tol = tolerance or Tolerance()
    figures = [*_overall(a, b), *_per_metric(a, b, tol)]
    deltas = [
        Delta(name, unit, va, vb, lower, _verdict(va, vb, lower, unit, tol, few))
        for name, unit, va, vb, lower, few in figures
        if _wanted(name, patterns)
    ]
    return Comparison(deltas, tol)


Figure = tuple[str, str, float | None, float | None, bool, bool]


def _overall(a: dict[str, Any], b: dict[str, Any]) -> list[Figure]:
    sa, sb = summarize(a), summarize(b)
    figures: list[Figure] = [
        ("throughput", "/s", sa["rate_per_s"], sb["rate_per_s"], False, False),
        ("error rate", "ratio", sa["error_rate"], sb["error_rate"], True, False),
    ]
    ma, mb = a.get("messages", {}), b.get("messages", {})
    if ma.get("received") or mb.get("received"):
        figures.append(("messages in", "/s", ma.get("received_per_s"),
                        mb.get("received_per_s"), False, False))
    ca, cb = a.get("connections", {}), b.get("connections", {})
    if ca.get("attempted") and cb.get("attempted"):
        figures.append(("connect success", "ratio", ca.get("success_rate"),
                        cb.get("success_rate"), False, False))
    return figures


def _per_metric(a: dict[str, Any], b: dict[str, Any], tol: Tolerance) -> list[Figure]:
    ma, mb = a.get("metrics", {}), b.get("metrics", {})
    figures: list[Figure] = []
    for key in [k for k in ma if k in mb]:
        x, y = ma[key], mb[key]
        few = min(x.get("count") or 0, y.get("count") or 0) < tol.min_count
        for stat in LATENCY_STATS:
            figures.append((f"{key} {stat[:-3]}", "ms", x.get(stat), y.get(stat), True, few))
        if x.get("metric") in names.REQUEST_METRICS:
            figures.append((f"{key} rate", "/s", x.get("rate_per_s"), y.get("rate_per_s"),
                            False, few))
    return figures


def _verdict(
    a: float | None, b: float | None, lower: bool, unit: str, tol: Tolerance, few: bool
) -> str:
    if a is None or b is None:
        return "n/a"
    worse = b - a if lower else a - b
    allowed = tol.relative * abs(a)
    if unit == "ms":
        allowed = max(allowed, tol.latency_floor_ms)
    elif unit == "ratio" and lower:
        allowed = max(allowed, tol.error_floor)
    if abs(worse) <= allowed:
        return "same"
    if few:
        return "few samples"
    return "regression" if worse > 0 else "better"


def _wanted(name: str, patterns: list[str] | None) -> bool:
    if not patterns:
        return True
    return any(fnmatch.fnmatchcase(name, p) or fnmatch.fnmatchcase(name, f"{p} *")
               for p in patterns)


def parse_tolerance(text: str) -> float:
    """``10%``, ``10`` (percent) or ``0.1`` → 0.1; anything else is a ``ValueError``."""
    raw = text.strip()
    value = float(raw.removesuffix("%"))
    if raw.endswith("%") or value >= 1:
        value /= 100
    if not 0 <= value < 10:
        raise ValueError(text)
    return value
