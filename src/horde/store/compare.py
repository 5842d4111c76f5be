"""Compare two runs figure by figure and find the regressions: pure, on results dicts.

Two runs of the same build never give the same p95: a busy machine, a GC pause, one slow
second move a whole-run percentile by 10–20 %. A fixed tolerance on whole-run figures
therefore fails CI on noise. So each run's *seconds* are the samples (docs/history.md):

- a latency percentile (p50/p95/p99 of every metric) is that percentile of each second
  with at least ``min_count`` samples; throughput, messages in and a metric's rate are
  each second's count under load;
- B is a **regression** only when a one-sided Mann–Whitney U test says its seconds are
  worse than A's at ``confidence`` *and* the effect is meaningful: B's median second is
  worse than A's by more than ``relative`` (and, for a latency, by more than
  ``latency_floor_ms``) — a consistent 0.2 ms shift is significant and still nothing;
- the error rate (failed ÷ finished operations) and the connect failure rate use a
  two-proportion z-test, with ``error_floor`` (absolute) as the least meaningful rise;
- a value the scenario records (``user.record(..., unit=, better=)``) is judged by its
  per-second medians in its declared direction; one without a direction is ``changed``
  at most, never a regression;
- a figure with fewer than ``min_seconds`` usable seconds in either run is shown as
  ``few samples``: never a regression, whatever its whole-run figures say.

What the table shows as A and B stays the whole-run figure a report shows.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from typing import Any, NamedTuple

from horde.metrics.operations import EXCHANGE_METRICS
from horde.metrics.significance import mann_whitney_greater, median, two_proportion_greater
from horde.store import seconds
from horde.store.listing import summarize

LATENCY_STATS = ("p50_ms", "p95_ms", "p99_ms")
# the request→reply metrics whose own rate is a figure, as before the operations rename

REGRESSION, BETTER, SAME, FEW, NA = "regression", "better", "same", "few samples", "n/a"
CHANGED = "changed"  # a significant change of a value with no better direction


@dataclass(frozen=True, slots=True)
class Tolerance:
    """What counts as a regression. ``relative`` is the least meaningful effect (B's
    median second worse by more than this fraction of A's), ``confidence`` how sure the
    rank test must be that it is not noise."""

    relative: float = 0.10
    latency_floor_ms: float = 1.0
    error_floor: float = 0.001
    confidence: float = 0.99
    min_count: int = 5  # samples a second needs for its percentiles to count
    min_seconds: int = 5  # seconds each run needs: 4 against 4 can never reach p < 0.01


@dataclass(frozen=True, slots=True)
class Delta:
    """One figure in both runs. ``lower_is_better`` says which way is a regression (None:
    neither, a value recorded without ``better``); ``p_value`` is the one-sided p-value in
    the direction B moved (None: not tested)."""

    name: str
    unit: str  # "ms", "/s", "ratio" or a recorded value's own unit
    a: float | None
    b: float | None
    lower_is_better: bool | None
    verdict: str  # "regression" | "better" | "same" | "changed" | "n/a" | "few samples"
    p_value: float | None = None

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
        return [d for d in self.deltas if d.verdict == REGRESSION]

    @property
    def unjudged(self) -> list[Delta]:
        return [d for d in self.deltas if d.verdict == FEW]


@dataclass(frozen=True, slots=True)
class Seconds:
    """Per-second values of one figure in A and in B."""

    a: list[float]
    b: list[float]


@dataclass(frozen=True, slots=True)
class Proportions:
    """(bad, total) in A and in B: failed operations, failed connects."""

    a: tuple[int, int]
    b: tuple[int, int]


class Figure(NamedTuple):
    name: str
    unit: str
    a: float | None
    b: float | None
    lower_is_better: bool | None
    evidence: Seconds | Proportions


def compare(
    a: dict[str, Any],
    b: dict[str, Any],
    tolerance: Tolerance | None = None,
    patterns: list[str] | None = None,
) -> Comparison:
    """Run ``b`` against the baseline ``a``; ``patterns`` (globs) keep only the figures
    whose name matches one, e.g. ``http_req:*``, ``* p95``, ``throughput``."""
    tol = tolerance or Tolerance()
    deltas = [
        Delta(f.name, f.unit, f.a, f.b, f.lower_is_better, *judge(f, tol))
        for f in [*_overall(a, b), *_per_metric(a, b, tol), *_per_value(a, b, tol)]
        if _wanted(f.name, patterns)
    ]
    return Comparison(deltas, tol)


def _overall(a: dict[str, Any], b: dict[str, Any]) -> list[Figure]:
    sa, sb = summarize(a), summarize(b)
    figures = [
        Figure("throughput", "/s", sa["rate_per_s"], sb["rate_per_s"], False,
               Seconds(seconds.operations_per_second(a), seconds.operations_per_second(b))),
        Figure("error rate", "ratio", sa["error_rate"], sb["error_rate"], True,
               Proportions(seconds.run_operations(a), seconds.run_operations(b))),
    ]
    ma, mb = a.get("messages", {}), b.get("messages", {})
    if ma.get("received") or mb.get("received"):
        figures.append(Figure(
            "messages in", "/s", ma.get("received_per_s"), mb.get("received_per_s"), False,
            Seconds(seconds.messages_per_second(a), seconds.messages_per_second(b))))
    ca, cb = a.get("connections", {}), b.get("connections", {})
    if ca.get("attempted") and cb.get("attempted"):
        figures.append(Figure(
            "connect success", "ratio", ca.get("success_rate"), cb.get("success_rate"), False,
            Proportions(_connect_failures(ca), _connect_failures(cb))))
    return figures


def _connect_failures(connections: dict[str, Any]) -> tuple[int, int]:
    succeeded = connections.get("succeeded") or 0
    failed = connections.get("failed")
    if failed is None:
        failed = (connections.get("attempted") or 0) - succeeded
    return failed, succeeded + failed


def _per_metric(a: dict[str, Any], b: dict[str, Any], tol: Tolerance) -> list[Figure]:
    ma, mb = a.get("metrics", {}), b.get("metrics", {})
    figures: list[Figure] = []
    for key in [k for k in ma if k in mb]:
        x, y = ma[key], mb[key]
        for stat in LATENCY_STATS:
            figures.append(Figure(
                f"{key} {stat[:-3]}", "ms", x.get(stat), y.get(stat), True,
                Seconds(seconds.latency_seconds(a, key, stat, tol.min_count),
                        seconds.latency_seconds(b, key, stat, tol.min_count))))
        if x.get("metric") in EXCHANGE_METRICS:
            figures.append(Figure(
                f"{key} rate", "/s", x.get("rate_per_s"), y.get("rate_per_s"), False,
                Seconds(seconds.metric_per_second(a, key), seconds.metric_per_second(b, key))))
    return figures


def _per_value(a: dict[str, Any], b: dict[str, Any], tol: Tolerance) -> list[Figure]:
    """Each value both runs recorded, by its median: judged in the direction the scenario
    declared (``better="higher"``: a drop is the regression)."""
    va, vb = a.get("values") or {}, b.get("values") or {}
    figures = []
    for name in [n for n in va if n in vb]:
        better = vb[name].get("better")
        lower = None if better is None else better == "lower"
        figures.append(Figure(
            f"{name} p50", vb[name].get("unit") or "", va[name].get("p50"), vb[name].get("p50"),
            lower, Seconds(seconds.value_seconds(a, name, tol.min_count),
                           seconds.value_seconds(b, name, tol.min_count))))
    return figures


def judge(figure: Figure, tol: Tolerance) -> tuple[str, float | None]:
    """The verdict on one figure and the p-value it rests on."""
    if figure.a is None or figure.b is None:
        return NA, None
    if isinstance(figure.evidence, Proportions):
        return _judge_proportions(figure.evidence, tol)
    return _judge_seconds(figure.evidence, figure.lower_is_better, figure.unit, tol)


def _judge_seconds(ev: Seconds, lower: bool | None, unit: str, tol: Tolerance
                   ) -> tuple[str, float | None]:
    if min(len(ev.a), len(ev.b)) < tol.min_seconds:
        return FEW, None
    ma, mb = median(ev.a), median(ev.b)
    up = mb >= ma
    p = mann_whitney_greater(ev.b, ev.a) if up else mann_whitney_greater(ev.a, ev.b)
    change = abs(mb - ma)
    meaningful = change > tol.relative * abs(ma) and (
        unit != "ms" or change > tol.latency_floor_ms)
    if p >= 1 - tol.confidence or not meaningful:
        return SAME, p
    if lower is None:
        return CHANGED, p
    return (REGRESSION if up == lower else BETTER), p


def _judge_proportions(ev: Proportions, tol: Tolerance) -> tuple[str, float | None]:
    """A higher proportion of bad outcomes is worse, whatever the figure shows."""
    (ka, na), (kb, nb) = ev.a, ev.b
    if na <= 0 or nb <= 0:
        return FEW, None
    ra, rb = ka / na, kb / nb
    up = rb >= ra
    p = two_proportion_greater(kb, nb, ka, na) if up else two_proportion_greater(ka, na, kb, nb)
    meaningful = abs(rb - ra) > max(tol.relative * ra, tol.error_floor)
    if p >= 1 - tol.confidence or not meaningful:
        return SAME, p
    return (REGRESSION if up else BETTER), p


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


def parse_confidence(text: str) -> float:
    """``99%``, ``99`` or ``0.99`` → 0.99; from 50 % up to (not including) 100 %."""
    value = parse_tolerance(text)
    if not 0.5 <= value < 1:
        raise ValueError(text)
    return value
