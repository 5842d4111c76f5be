"""Numbers as people read them: every figure a console line, table or report shows goes
through here, so a missing value is a dash — never ``None``, ``nan`` or a Python repr."""

from __future__ import annotations

import math
from typing import Any

MISSING = "-"


def real(value: Any) -> float | None:
    """``value`` as a finite number, or None (None, bools, NaN, infinities, text)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def count(value: Any) -> str:
    """A whole number with thousands separators: ``12,345``."""
    n = real(value)
    return MISSING if n is None else f"{round(n):,}"


def ms(value: Any, digits: int = 2) -> str:
    """Milliseconds, without the unit: ``12.35``."""
    n = real(value)
    return MISSING if n is None else f"{n:,.{digits}f}"


def number(value: Any, digits: int = 1) -> str:
    """A quantity with ``digits`` decimals: ``41.8``."""
    n = real(value)
    return MISSING if n is None else f"{n:,.{digits}f}"


def percent(ratio: Any, digits: int = 2) -> str:
    """A ratio as a percentage: ``0.0123`` → ``1.23%``."""
    n = real(ratio)
    return MISSING if n is None else f"{n:.{digits}%}"


def unit(value: Any, suffix: str, digits: int = 1) -> str:
    """A quantity with its unit, or a bare dash: ``41.8%``, ``61.0 MB``, ``-``."""
    n = real(value)
    return MISSING if n is None else f"{n:,.{digits}f}{suffix}"
