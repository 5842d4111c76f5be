"""A plan: consecutive segments, each moving a target linearly from one value to another.

For a closed-model shape the target is the number of active users; for an open-model
one (``arrival-rate``) it is new sessions per second. ``value_at(t)`` is what the
engine's controller follows; ``stage`` names the segment for per-stage reports.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, replace


@dataclass(frozen=True, slots=True)
class Segment:
    start_s: float
    duration_s: float
    value_from: float
    value_to: float
    stage: str

    @property
    def end_s(self) -> float:
        return self.start_s + self.duration_s

    def value_at(self, t: float) -> float:
        if self.duration_s <= 0:
            return self.value_to
        fraction = min(max((t - self.start_s) / self.duration_s, 0.0), 1.0)
        return self.value_from + (self.value_to - self.value_from) * fraction


@dataclass(frozen=True, slots=True)
class Plan:
    shape: str
    unit: str  # "users" (closed model) or "sessions/s" (open model)
    segments: tuple[Segment, ...]
    max_concurrent: int | None = None  # open model: cap on sessions in flight

    @property
    def duration_s(self) -> float:
        return self.segments[-1].end_s if self.segments else 0.0

    @property
    def open_model(self) -> bool:
        return self.unit == "sessions/s"

    def segment_at(self, t: float) -> Segment | None:
        for segment in self.segments:
            if t < segment.end_s:
                return segment
        return None

    def value_at(self, t: float) -> float:
        """The target at ``t`` seconds; after the end, the last value (the engine stops)."""
        segment = self.segment_at(t)
        if segment is None:
            return self.segments[-1].value_to if self.segments else 0.0
        return segment.value_at(t)

    def stage_at(self, t: float) -> str | None:
        segment = self.segment_at(t)
        return segment.stage if segment else None

    def peak(self) -> float:
        return max((max(s.value_from, s.value_to) for s in self.segments), default=0.0)

    def cut(self, at_s: float) -> Plan:
        """The plan up to ``at_s`` seconds (a run's ``--duration`` ends a longer shape
        there); the segment it falls in ends at the value it had reached."""
        if at_s >= self.duration_s:
            return self
        kept = [s if s.end_s <= at_s else
                Segment(s.start_s, at_s - s.start_s, s.value_from, s.value_at(at_s), s.stage)
                for s in self.segments if s.start_s < at_s]
        return replace(self, segments=tuple(kept))


MAX_STAGES = 10_000  # a plan is printed and reported stage by stage: more is a typo


def build(shape: str, unit: str, points: list[tuple[float, float, float, str]]) -> Plan:
    """A plan from (duration, from, to, stage) tuples laid end to end."""
    segments, start = [], 0.0
    for duration, value_from, value_to, stage in points:
        segments.append(Segment(start, duration, value_from, value_to, stage))
        start += duration
    return Plan(shape, unit, tuple(segments))


def arrival_times(plan: Plan) -> Iterator[float]:
    """When each session of an open-model plan is due, exactly: the rate's integral
    inverted segment by segment (the first session starts at 0)."""
    due = 0.0  # sessions owed before the current segment, fractional
    n = 0  # sessions yielded so far
    for seg in plan.segments:
        r0, r1, length = seg.value_from, seg.value_to, seg.duration_s
        slope = (r1 - r0) / length if length > 0 else 0.0
        total = (r0 + r1) / 2 * length
        while n < due + total + 1e-9:
            k = n - due  # sessions into this segment
            if slope == 0:
                offset = k / r0 if r0 > 0 else math.inf
            else:
                offset = (-r0 + math.sqrt(max(r0 * r0 + 2 * slope * k, 0.0))) / slope
            if offset >= length:
                break
            yield round(seg.start_s + offset, 6)
            n += 1
        due += total
