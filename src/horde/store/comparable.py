"""Whether two runs can be compared at all: pure, on results dicts.

Runs of different scenarios measure different things: comparing them figure by figure
gives verdicts that mean nothing, so ``horde compare`` refuses unless told ``--force``.
Runs of one scenario against another target, or under another load (users, shape,
duration, iterations, seed, workers), are comparable but may differ for that reason
alone: it says so.

The scenario file is compared by its file name, not its path: a CI job checks the
repository out into a new directory each time, and ``load.py`` and ``./load.py`` are the
same file.
"""

from __future__ import annotations

from pathlib import PurePath
from typing import Any

LOAD_SETTINGS = (("users", "users"), ("shape", "shape"), ("duration_s", "duration (s)"),
                 ("iterations", "iterations"), ("seed", "seed"))


def scenario_difference(a: dict[str, Any], b: dict[str, Any]) -> str | None:
    """How the two runs' scenarios differ (``scenario 'x' vs 'y'``), or None if they don't."""
    if a.get("scenario") != b.get("scenario"):
        return f"scenario {a.get('scenario')!r} vs {b.get('scenario')!r}"
    file_a, file_b = _file_name(a), _file_name(b)
    if file_a and file_b and file_a != file_b:
        return f"scenario file {file_a} vs {file_b}"
    return None


def setting_differences(a: dict[str, Any], b: dict[str, Any]) -> list[str]:
    """Each way the runs' target and load settings differ, e.g. ``users 4 vs 8``."""
    found = []
    if a.get("target") != b.get("target"):
        found.append(f"target {a.get('target')} vs {b.get('target')}")
    ca, cb = a.get("config") or {}, b.get("config") or {}
    for key, label in LOAD_SETTINGS:
        if ca.get(key) != cb.get(key):
            found.append(f"{label} {_shown(ca.get(key))} vs {_shown(cb.get(key))}")
    if _workers(a) != _workers(b):  # the same load from one process or several
        found.append(f"workers {_workers(a)} vs {_workers(b)}")
    return found


def _workers(results: dict[str, Any]) -> int:
    return int((results.get("workers") or {}).get("count", 1))


def _file_name(results: dict[str, Any]) -> str | None:
    path = results.get("scenario_file")
    return PurePath(str(path)).name if path else None


def _shown(value: Any) -> str:
    if value is None:
        return "none"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
