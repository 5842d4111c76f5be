"""Values: what a scenario measures that is not a time — tokens per second, sizes, depths.

A latency is better when lower; a value may be better higher (tokens/s, hit ratio), lower
(queue depth, bytes per answer) or neither (a size you only watch). So each value name is
declared once with its ``unit`` and which way is ``better``, and every reader — the
summary, charts, thresholds, ``horde compare`` — takes the direction from there instead of
assuming lower is better as it does for latencies.

Values are recorded exactly like latencies, into HdrHistograms that merge per second
and per run, in thousandths of the unit, and shown to the 3 significant digits those
keep. They must be finite and not negative (an HdrHistogram counts from zero).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from horde.metrics.histogram import Histogram

Better = Literal["higher", "lower"]
BETTER: tuple[str, ...] = ("higher", "lower")
SCALE = 1000  # stored in thousandths of the unit
HIGHEST = 10**15  # a trillion units, in thousandths
PERCENTILES = (50.0, 90.0, 95.0, 99.0)
TIME_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}
"""Units that make ``user.record`` a timing (in milliseconds), not a value."""


@dataclass(frozen=True, slots=True)
class ValueSpec:
    """How one value name is shown and judged: its unit and which way is better
    (``None``: neither, it is watched but never a regression)."""

    unit: str
    better: Better | None = None


def new_value_histogram() -> Histogram:
    """A histogram for one value name, in thousandths of its unit."""
    return Histogram(HIGHEST)


def scaled(value: float) -> int:
    """``value`` as the histogram stores it; ``ValueError`` if it cannot be recorded."""
    if not isinstance(value, int | float) or isinstance(value, bool) or not math.isfinite(value):
        raise ValueError(f"a recorded value must be a finite number, not {value!r}")
    if value < 0:
        raise ValueError(f"a recorded value must not be negative: {value!r}")
    return min(round(value * SCALE), HIGHEST)


def spec_for(unit: str, better: str | None) -> ValueSpec:
    """A checked :class:`ValueSpec`: a unit is short text, ``better`` higher/lower/None."""
    if not isinstance(unit, str) or not unit or len(unit) > 20:
        raise ValueError(f"unit must be short text like 'tokens/s' or 'bytes': {unit!r}")
    if better is not None and better not in BETTER:
        raise ValueError(f"better must be 'higher', 'lower' or None: {better!r}")
    return ValueSpec(unit, better)  # type: ignore[arg-type]


def summarize_value(hist: Histogram, spec: ValueSpec) -> dict[str, object]:
    """A value's statistics in its own unit, for results.json's ``values`` section."""
    count = hist.get_total_count()
    out: dict[str, object] = {"unit": spec.unit, "better": spec.better, "count": count}
    if not count:
        return out
    p = hist.percentiles(PERCENTILES)
    return out | {
        "min": _unit(hist.get_min_value()), "mean": _unit(hist.mean()),
        "p50": _unit(p[50.0]), "p90": _unit(p[90.0]), "p95": _unit(p[95.0]),
        "p99": _unit(p[99.0]), "max": _unit(hist.get_max_value()),
    }


def second_of(hist: Histogram, spec: ValueSpec) -> dict[str, object]:
    """One second of a value for the per-second rows: how many, its median and mean, and
    its unit and direction (so a run killed before its end still says what it measured)."""
    count = hist.get_total_count()
    if not count:
        return {"count": 0, "p50": None, "mean": None, "unit": spec.unit, "better": spec.better}
    return {"count": count, "p50": _unit(hist.percentiles((50.0,))[50.0]),
            "mean": _unit(hist.mean()), "unit": spec.unit, "better": spec.better}


def _unit(stored: float) -> float:
    """In the value's unit, to the 3 significant digits the histogram keeps: a recorded
    20 shows as 20.0, not as the 20.015 its bucket ends at."""
    return float(f"{stored / SCALE:.3g}")
