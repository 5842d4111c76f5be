"""Report formats, chosen by name (``--format json,html,md,csv,junit``).

Every format is a function of the results dict (docs/results.md) only, never of live
run objects — so a report rebuilt from the run history equals the one written at the end
of the run. Each module returns ``{file name: contents}``; this module validates the
names and writes the files atomically into the output directory.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from horde.errors import ConfigError
from horde.report.formats import csv, html, junit, markdown
from horde.report.formats.results_file import write_results_json

Render = Callable[[dict[str, Any]], dict[str, str]]
Writer = Callable[[dict[str, Any], Path], list[Path]]


def _write_json(results: dict[str, Any], out_dir: Path) -> list[Path]:
    """What the results.json sink writes at the end of a run: one JSON, one way."""
    return [write_results_json(results, out_dir)]


def _writer(render: Render) -> Writer:
    def write(results: dict[str, Any], out_dir: Path) -> list[Path]:
        out_dir.mkdir(parents=True, exist_ok=True)
        paths = []
        for name, text in render(results).items():
            path = out_dir / name
            tmp = path.with_name(path.name + ".tmp")
            tmp.write_text(text, encoding="utf-8")
            os.replace(tmp, path)  # a reader never sees half a file
            paths.append(path)
        return paths

    return write


FORMATS: dict[str, Writer] = {
    "json": _write_json,
    "html": _writer(html.render),
    "md": _writer(markdown.render),
    "csv": _writer(csv.render),
    "junit": _writer(junit.render),
}


def check_formats(formats: Sequence[str]) -> list[str]:
    """The names in order, without repeats; a ConfigError names every unknown one."""
    names = list(dict.fromkeys(f.strip().lower() for f in formats if f.strip()))
    unknown = [f for f in names if f not in FORMATS]
    if unknown:
        raise ConfigError(
            f"unknown report format {', '.join(map(repr, unknown))}: "
            f"choose from {', '.join(FORMATS)}"
        )
    return names


def write_reports(results: dict[str, Any], out_dir: Path, formats: Sequence[str]) -> list[Path]:
    """Write each format's files into ``out_dir``; returns the paths written, in order.

    Names are checked before anything is written, so a typo writes nothing.
    """
    out_dir = Path(out_dir)
    return [path for name in check_formats(formats) for path in FORMATS[name](results, out_dir)]
