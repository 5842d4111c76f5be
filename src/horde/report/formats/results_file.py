"""results.json: the results dict itself, as JSON — the file every other format and the
run history can be rebuilt from (docs/results.md)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

RESULTS_FILE = "results.json"


def write_results_json(results: dict[str, Any], out_dir: Path) -> Path:
    """Write ``results`` to ``out_dir``/results.json, atomically: a reader (a CI step, a
    dashboard) never sees half a file."""
    path = Path(out_dir) / RESULTS_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(results, indent=2, default=str))
    os.replace(tmp, path)
    return path
