"""A plan as text, for ``horde plan`` — what will happen, before anything happens."""

from __future__ import annotations

from horde.durations import format_duration
from horde.shapes.plan import Plan, arrival_times


def render_plan(plan: Plan) -> str:
    unit = plan.unit
    lines = [f"shape {plan.shape}: {format_duration(plan.duration_s)}, peak {plan.peak():g} {unit}"]
    if plan.open_model:
        lines[0] += f", {_sessions(plan)} sessions, at most {plan.max_concurrent:,} at once"
    width = max(len(s.stage) for s in plan.segments)
    lines.append(f"  {'stage':<{width}}  {'start':>8}  {'length':>8}  {unit}")
    for s in plan.segments:
        change = f"{s.value_from:g}" if s.value_from == s.value_to else (
            f"{s.value_from:g} → {s.value_to:g}"
        )
        lines.append(
            f"  {s.stage:<{width}}  {format_duration(s.start_s):>8}"
            f"  {format_duration(s.duration_s):>8}  {change}"
        )
    return "\n".join(lines)


COUNT_UP_TO = 1_000_000  # sessions counted one by one (exact); beyond, the rate's integral


def _sessions(plan: Plan) -> str:
    """How many sessions the plan starts: counted exactly when that is quick, else
    estimated (``arrival-rate(rate=1e9, duration=1h)`` must not take hours to print)."""
    total = sum((s.value_from + s.value_to) / 2 * s.duration_s for s in plan.segments)
    if total <= COUNT_UP_TO:
        return f"{sum(1 for _ in arrival_times(plan)):,}"
    return f"~{total:,.0f}"
