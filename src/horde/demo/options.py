"""What a demo server is told at start: fault switches and settings.

``horde serve NAME --fault stale_round --set capacity=5`` (and ``horde demo`` passes the
same flags on). Each demo module declares ``FAULTS`` and ``SETTINGS`` (name → one-line
description); anything else is refused with the allowed names, before a port is opened.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from horde.errors import UsageError


@dataclass(frozen=True, slots=True)
class DemoOptions:
    faults: frozenset[str] = frozenset()
    settings: Mapping[str, str] = field(default_factory=dict)

    def fault(self, name: str) -> bool:
        """True when fault ``name`` was switched on."""
        return name in self.faults

    def int(self, name: str, default: int) -> int:
        return _convert(self.settings, name, default, int)

    def float(self, name: str, default: float) -> float:
        return _convert(self.settings, name, default, float)

    def str(self, name: str, default: str) -> str:
        return self.settings.get(name, default)


def parse_options(
    demo: str,
    faults: Sequence[str],
    settings: Sequence[str],
    *,
    allowed_faults: Mapping[str, str],
    allowed_settings: Mapping[str, str],
) -> DemoOptions:
    """Check ``--fault`` and ``--set KEY=VALUE`` flags against what demo ``demo`` offers."""
    for name in faults:
        if name not in allowed_faults:
            raise UsageError(
                f"demo {demo!r} has no fault {name!r}; faults: {_names(allowed_faults)}"
            )
    values: dict[str, str] = {}
    for item in settings:
        key, sep, value = item.partition("=")
        if not sep:
            raise UsageError(f"--set {item!r}: expected KEY=VALUE")
        if key not in allowed_settings:
            raise UsageError(
                f"demo {demo!r} has no setting {key!r}; settings: {_names(allowed_settings)}"
            )
        values[key] = value
    return DemoOptions(frozenset(faults), values)


def _names(allowed: Mapping[str, str]) -> str:
    return ", ".join(allowed) or "(none)"


def _convert(settings: Mapping[str, str], name: str, default: object, kind: type) -> object:
    raw = settings.get(name)
    if raw is None:
        return default
    try:
        return kind(raw)
    except ValueError:
        raise UsageError(f"--set {name}={raw}: expected a {kind.__name__}") from None
