"""A plan as text, for ``horde plan`` — what will happen, before anything happens."""

from __future__ import annotations

from horde.config.durations import format_duration
from horde.shapes.plan import Plan, arrival_times


def render_plan(plan: Plan) -> str:
    unit = plan.unit
    lines = [f"shape {plan.shape}: {format_duration(plan.duration_s)}, peak {plan.peak():g} {unit}"]
    if plan.open_model:
        sessions = sum(1 for _ in arrival_times(plan))
        lines[0] += f", {sessions:,} sessions, at most {plan.max_concurrent:,} at once"
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
