"""A custom shape: a Python function of elapsed seconds, declared in the scenario file.

    @horde.shape
    def load(t: float) -> float | None:
        return 10 if t < 60 else 50 if t < 120 else None   # None: the run is over

The function is sampled once per second into a plan, each value held for its second
(as Locust re-reads its ``tick()`` every second), so a custom shape is printed by
``horde plan SCENARIO.py`` and followed like any other.
"""

from __future__ import annotations

from collections.abc import Callable

from horde.errors import ScenarioError
from horde.shapes.plan import Plan, build

ShapeFunction = Callable[[float], float | None]


def sample_plan(fn: ShapeFunction, max_s: float, where: str = "shape") -> Plan:
    """The plan of ``fn``: one segment per second until it returns None or ``max_s``."""
    first = _call(fn, 0.0, where)
    if first is None:
        raise ScenarioError(f"{where}: the shape function returned None at t=0")
    points: list[tuple[float, float, float, str]] = []
    t, value = 0, first
    while t < max_s:
        following = _call(fn, float(t + 1), where)
        points.append((1.0, value, value, "custom"))
        if following is None:
            break
        t, value = t + 1, following
    return build("custom", "users", points)


def _call(fn: ShapeFunction, t: float, where: str) -> float | None:
    try:
        value = fn(t)
    except Exception as exc:
        raise ScenarioError(f"{where}: the shape function raised at t={t:g}: {exc!r}") from None
    if value is not None and (not isinstance(value, int | float) or value < 0):
        raise ScenarioError(f"{where}: the shape function returned {value!r} at t={t:g}")
    return value
