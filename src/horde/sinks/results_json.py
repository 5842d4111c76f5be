"""Write results.json into the output directory at the end of a run."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

RESULTS_FILE = "results.json"


class ResultsJson:
    def __init__(self, out_dir: Path) -> None:
        self.path = Path(out_dir) / RESULTS_FILE

    def on_row(self, row: dict[str, Any]) -> None:
        """Rows are written with the results; per-second persistence is the run store's job."""

    def on_finish(self, results: dict[str, Any]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(results, indent=2, default=str))
        os.replace(tmp, self.path)  # a reader never sees half a file
