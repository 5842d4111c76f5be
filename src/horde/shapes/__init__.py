"""Load shapes: how many users over time (closed model) or how many new sessions per
second (open model). Each shape is one small pure module whose ``plan()`` is data —
segments of a piecewise-linear target — so it can be printed before a run (``horde plan``)
and tested as a table, with no clock.
"""

from horde.shapes.plan import Plan, Segment
from horde.shapes.registry import SHAPES, parse_shape

__all__ = ["SHAPES", "Plan", "Segment", "parse_shape"]
