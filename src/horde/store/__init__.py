"""Run history: every run in one SQLite file, written while the run goes.

- ``db`` — the file and its schema: a ``runs`` row per run, a ``rows`` row per second.
- ``sink`` — the sink that writes (and commits) each per-second row as it arrives.
- ``summary`` — the few figures a run is listed and compared by.
- ``rebuild`` — a results dict from what was stored, also for a run that never finished.
- ``compare`` — per-metric deltas between two runs and the regressions among them.
- ``tables`` — how ``horde runs`` and ``horde compare`` print those.

See docs/history.md.
"""

from __future__ import annotations

import os
from pathlib import Path

DEFAULT_FILE = "horde-runs.sqlite"
ENV_VAR = "HORDE_HISTORY"


def history_path(flag: str | None, disabled: bool = False) -> Path | None:
    """Where the history lives: ``--history``, else ``$HORDE_HISTORY``, else a file in the
    working directory; ``None`` with ``--no-history``."""
    if disabled:
        return None
    return Path(flag or os.environ.get(ENV_VAR) or DEFAULT_FILE)
