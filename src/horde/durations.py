"""Durations as people write them: ``30``, ``30s``, ``1.5m``, ``2h``, ``1h30m``, ``250ms``."""

from __future__ import annotations

import math
import re

from horde.errors import ConfigError

_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h)")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_duration(text: str | float | int) -> float:
    """Seconds for a duration; a bare number means seconds."""
    if isinstance(text, int | float):
        seconds = float(text)
    else:
        value = text.strip().lower().replace(" ", "")
        try:
            seconds = float(value)
        except ValueError:
            parts = _PART.findall(value)
            if not parts or "".join(n + u for n, u in parts) != value:
                raise ConfigError(
                    f"bad duration {text!r}: use e.g. 30s, 250ms, 5m, 1h30m"
                ) from None
            seconds = sum(float(n) * _UNITS[u] for n, u in parts)
    if not math.isfinite(seconds):
        raise ConfigError(f"bad duration {text!r}: must be a finite number of seconds")
    if seconds < 0:
        raise ConfigError(f"bad duration {text!r}: must not be negative")
    return seconds


def format_duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:g}s"
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return (f"{hours}h" if hours else "") + (f"{minutes}m" if minutes else "") + (
        f"{secs}s" if secs else ""
    )
