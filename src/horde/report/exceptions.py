"""An error example in one line: what was raised, and where in the scenario.

results.json keeps each error's first example whole (a traceback, for an exception the
scenario raised); the console and the reports need the gist: the exception's last line
and the scenario's own ``file:line`` that raised it (the deepest frame outside horde).
"""

from __future__ import annotations

import re
from pathlib import Path

_FRAME = re.compile(r'^\s*File "(?P<file>[^"]+)", line (?P<line>\d+)', re.MULTILINE)
_HORDE = str(Path(__file__).resolve().parents[1])  # the installed horde package
MAX_CHARS = 160


def gist(example: str, scenario_file: str | None = None) -> str:
    """``TypeError: unsupported operand type(s)… (scenario.py:23)`` from a traceback; any
    other example's first line, shortened."""
    lines = [line for line in example.strip().splitlines() if line.strip()]
    if not lines:
        return ""
    if not lines[0].startswith("Traceback"):
        return _short(lines[0])
    where = _where(example, scenario_file)
    what = _short(lines[-1].strip())
    return f"{what} ({where})" if where else what


def _where(traceback_text: str, scenario_file: str | None) -> str | None:
    frames = [(m["file"], m["line"]) for m in _FRAME.finditer(traceback_text)]
    if scenario_file:
        own = Path(scenario_file).resolve()
        mine = [f for f in frames if _same(f[0], own)]
        if mine:
            return f"{Path(mine[-1][0]).name}:{mine[-1][1]}"
    outside = [f for f in frames if not f[0].startswith(_HORDE)]
    if outside:
        return f"{Path(outside[-1][0]).name}:{outside[-1][1]}"
    return None


def _same(file: str, own: Path) -> bool:
    try:
        return Path(file).resolve() == own
    except OSError:
        return False


def _short(text: str) -> str:
    return text if len(text) <= MAX_CHARS else text[: MAX_CHARS - 1] + "…"
