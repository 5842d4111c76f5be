"""Rules over latency: too high with no threshold to judge it, and rising with load.

"Rising with load" is the finding a capacity test is run for, so it must neither cry wolf
nor miss one. It fires for an operation metric (each one apart: a slow main operation is
not averaged away by fast ones, and connects count) only when all three hold between an
early stage of the plan and a later one:

- the load really changed: the later stage asked for at least 20 % more users or
  arrivals (a game whose phase changes at 199 → 201 users is not under more load);
- the latency really changed: p95 at least 1.5 times as high, and by at least 5 ms;
- the change is beyond the noise: with enough seconds in both stages, the later stage's
  per-second p95s are higher by a rank test (Mann–Whitney, p < 0.01); with few samples
  (connects happen once per user), either the later stage's median is above the earlier
  stage's p99 (the distributions do not even overlap), or so many of its samples lie
  above the earlier p99 that chance would put them there less than once in a hundred
  (a binomial tail: a queue that holds some of the operations shows so).
"""

from __future__ import annotations

import math
from typing import Any

from horde.errors import ConfigError
from horde.metrics.operations import EXCHANGE_METRICS, OPERATION_METRICS
from horde.metrics.significance import binomial_tail, mann_whitney_greater
from horde.metrics.thresholds import parse_threshold
from horde.report.analysis.denominators import number
from horde.report.analysis.estimates_and_findings import finding

Findings = list[dict[str, Any]]

SLOW_P95_MS = 1000.0  # 002's "high latency (p95 > 1 s)", used only when no threshold says
LOAD_RISE = 1.2  # the later stage asked for at least 20 % more load ...
RISE_FACTOR = 1.5  # ... and p95 at least 1.5 times as high ...
MIN_RISE_MS = 5.0  # ... by at least this much, so sub-millisecond noise does not count
MIN_SAMPLES = 3  # per stage, to say anything about a metric there
MIN_SECONDS = 5  # per stage, for the rank test on per-second p95s
MIN_SECOND_COUNT = 3  # samples in a second for its p95 to be one of those values
SIGNIFICANCE = 0.01


def latency_high(r: dict[str, Any]) -> Findings:
    """Without a latency threshold there is no target to miss; still flag a p95 over
    1 s on any operation, and say the threshold to set."""
    if any(_is_latency(t.get("expression", "")) for t in r.get("thresholds") or []):
        return []
    slow = {k: m["p95_ms"] for k, m in (r.get("metrics") or {}).items()
            if m.get("metric") in EXCHANGE_METRICS
            and (number(m.get("p95_ms")) or 0) > SLOW_P95_MS}
    if not slow:
        return []
    worst = max(slow, key=slow.__getitem__)
    return [finding("latency_high", "warning",
                    f"p95 over {SLOW_P95_MS:.0f} ms with no latency threshold set: "
                    f"{worst} {slow[worst]:,.1f} ms",
                    "decide the target and set it, e.g. --threshold 'p95(latency) < 500ms'; "
                    "then see the per-stage table for where latency grew",
                    {"p95_ms": slow, "assumed_limit_ms": SLOW_P95_MS})]


def latency_rising(r: dict[str, Any]) -> Findings:
    """An operation's latency grew with the load across the plan's stages (see the
    module docstring for when): the target is approaching its capacity."""
    stages = [s for s in (r.get("load") or {}).get("stages") or [] if _load(s) is not None]
    if len(stages) < 2:
        return []
    rises = [rise for label in _operation_labels(stages)
             if (rise := _rise(label, stages, r.get("timeseries") or [])) is not None]
    if not rises:
        return []
    worst = max(rises, key=lambda x: x["factor"])
    queue = [{"stage": s["stage"], "load": _load(s), "peak_in_flight": s.get("peak_in_flight"),
              "rate_per_s": s.get("rate_per_s")} for s in stages]
    names = ", ".join(x["metric"] for x in rises)
    return [finding(
        "latency_rising", "warning",
        f"latency rises with load: {worst['metric']} p95 {worst['from_p95_ms']:,} ms at "
        f"load {worst['from_load']:g} → {worst['to_p95_ms']:,} ms at load "
        f"{worst['to_load']:g} (also: {names})" if len(rises) > 1 else
        f"latency rises with load: {worst['metric']} p95 {worst['from_p95_ms']:,} ms at "
        f"load {worst['from_load']:g} → {worst['to_p95_ms']:,} ms at load {worst['to_load']:g}",
        f"approaching capacity: {worst['metric']} first rose in '{worst['knee']}'; operations "
        "in flight per stage show whether requests queue there. Keep the expected load "
        "below that stage's, or look for the bottleneck (CPU, pool, locks) at that load",
        {"rises": rises, "stages": queue})]


def _rise(label: str, stages: list[dict[str, Any]],
          rows: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The first stage where ``label`` rose against the first stage that measured it."""
    measured = [s for s in stages if _stat(s, label, "count") >= MIN_SAMPLES]
    if len(measured) < 2:
        return None
    base = measured[0]
    for later in measured[1:]:
        if _load(later) < _load(base) * LOAD_RISE:  # type: ignore[operator]
            continue
        before, after = _stat(base, label, "p95_ms"), _stat(later, label, "p95_ms")
        if after < before * RISE_FACTOR or after - before < MIN_RISE_MS:
            continue
        how = _beyond_noise(label, base, later, rows)
        if how is None:
            continue
        return {"metric": label, "from_stage": base["stage"], "knee": later["stage"],
                "from_load": _load(base), "to_load": _load(later), "from_p95_ms": before,
                "to_p95_ms": after, "factor": round(after / before, 2), "test": how}
    return None


def _beyond_noise(label: str, base: dict[str, Any], later: dict[str, Any],
                  rows: list[dict[str, Any]]) -> str | None:
    """How the rise was shown to be more than noise, or None if it was not."""
    a, b = _seconds(label, base["stage"], rows), _seconds(label, later["stage"], rows)
    if len(a) >= MIN_SECONDS and len(b) >= MIN_SECONDS:
        p = mann_whitney_greater(b, a)
        return f"rank test on per-second p95, p={p:.2g}" if p < SIGNIFICANCE else None
    if _stat(later, label, "p50_ms") > _stat(base, label, "p99_ms"):
        return "the later median is above the earlier p99"
    p = _tail_p(label, base, later)
    if p < SIGNIFICANCE:
        return f"5 %+ of the later samples above the earlier p99, p={p:.2g}"
    return None


def _tail_p(label: str, base: dict[str, Any], later: dict[str, Any]) -> float:
    """How likely, were nothing changed, that 5 % of the later stage's samples (its p95 is
    above the earlier p99) would lie above the earlier p99 — which, estimated from n
    samples, a new sample exceeds with probability 1 % at best, 1/(n+1) at worst."""
    if _stat(later, label, "p95_ms") <= _stat(base, label, "p99_ms"):
        return 1.0
    n, m = _stat(base, label, "count"), int(_stat(later, label, "count"))
    q = max(0.01, 1 / (n + 1))
    k = math.ceil(0.05 * m)
    return binomial_tail(m, q, k)


def _seconds(label: str, stage: str, rows: list[dict[str, Any]]) -> list[float]:
    """The per-second p95s of ``label`` in ``stage``, from seconds with enough samples."""
    out = []
    for row in rows:
        m = (row.get("metrics") or {}).get(label) or {}
        p95 = number(m.get("p95_ms"))
        if row.get("stage") == stage and p95 is not None and \
                (m.get("count") or 0) >= MIN_SECOND_COUNT:
            out.append(p95)
    return out


def _operation_labels(stages: list[dict[str, Any]]) -> list[str]:
    labels: dict[str, None] = {}
    for s in stages:
        for label in s.get("metrics") or {}:
            if label.split(":", 1)[0] in OPERATION_METRICS:
                labels[label] = None
    return list(labels)


def _stat(stage: dict[str, Any], label: str, key: str) -> float:
    return number(((stage.get("metrics") or {}).get(label) or {}).get(key)) or 0.0


def _load(stage: dict[str, Any]) -> float | None:
    """The load a stage asked for: the plan's target (users, or arrivals per second), else
    the users it reached."""
    target = number(stage.get("peak_target"))
    if target:
        return target
    users = number(stage.get("peak_users"))
    return users if users else None


def _is_latency(expression: str) -> bool:
    try:
        return parse_threshold(expression).aggregate not in (None, "count", "rate")
    except ConfigError:
        return False
