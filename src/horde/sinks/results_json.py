"""Write results.json into the output directory at the end of a run."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from horde.report.formats.results_file import RESULTS_FILE, write_results_json


class ResultsJson:
    def __init__(self, out_dir: Path) -> None:
        self.out_dir = Path(out_dir)
        self.path = self.out_dir / RESULTS_FILE

    def on_row(self, row: dict[str, Any]) -> None:
        """Rows are written with the results; per-second persistence is the run store's job."""

    def on_finish(self, results: dict[str, Any]) -> None:
        write_results_json(results, self.out_dir)
