"""Write the ``--format`` report files (html, md, csv, junit) at the end of a run.

results.json keeps its own sink; this one hands the same results dict to
``horde.report.formats.write_reports``, so a report written now equals one rebuilt later
from the run history.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO


class ReportFiles:
    def __init__(self, out_dir: Path, formats: Sequence[str], stream: TextIO | None = None) -> None:
        self.out_dir = Path(out_dir)
        self.formats = list(formats)
        self.stream = stream or sys.stdout

    def on_row(self, row: dict[str, Any]) -> None:
        """Reports are written once, from the final results."""

    def on_finish(self, results: dict[str, Any]) -> None:
        from horde.report.formats import write_reports

        paths = write_reports(results, self.out_dir, self.formats)
        self.stream.write("reports: " + ", ".join(str(p) for p in paths) + "\n")
