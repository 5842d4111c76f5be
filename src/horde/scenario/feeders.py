"""Data feeders: rows of a CSV or JSON file handed to users (accounts, question pools).

    ACCOUNTS = horde.Feeder("accounts.csv", order="unique")

    @horde.on_start
    async def login(user):
        account = ACCOUNTS.next(user)      # a dict: one row

``sequential`` hands rows out in file order and starts again at the end; ``random``
picks with the user's random generator (reproducible with ``--seed``); ``unique`` hands
each row out once and then raises :class:`FeederExhaustedError` (counted as the scenario's
exception), so two users never share an account. The file is read when the feeder is
created, so a missing or broken file stops the run before it starts (file:line named).
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any, Literal

from horde.errors import FeederExhaustedError, ScenarioError

Order = Literal["sequential", "random", "unique"]


class Feeder:
    """Rows of a CSV (a dict per row, by header) or JSON (a list) file handed out to
    users in ``order``: ``sequential``, ``random`` or ``unique`` (see the module)."""

    def __init__(self, path: str | Path, order: Order = "sequential") -> None:
        if order not in ("sequential", "random", "unique"):
            raise ScenarioError(f"feeder order {order!r}: use sequential, random or unique")
        self.path = Path(path)
        self.order = order
        self.rows = _read_rows(self.path)
        self._next = 0

    def __len__(self) -> int:
        return len(self.rows)

    def next(self, user: Any = None) -> dict[str, Any]:
        """The next row for ``user`` (its random generator is used for ``random``)."""
        if self.order == "random":
            rng = getattr(user, "rng", None)
            import random

            return (rng or random).choice(self.rows)
        if self._next >= len(self.rows):
            if self.order == "unique":
                raise FeederExhaustedError(f"{self.path}: all {len(self.rows)} rows handed out")
            self._next = 0
        row = self.rows[self._next]
        self._next += 1
        return row


def _read_rows(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        raise ScenarioError(f"{path}: feeder file not found")
    try:
        if path.suffix == ".json":
            rows = json.loads(path.read_text())
        else:
            with path.open(newline="") as f:
                rows = list(csv.DictReader(f))
    except (ValueError, csv.Error) as exc:
        raise ScenarioError(f"{path}: cannot read feeder rows: {exc}") from None
    if not isinstance(rows, list) or not rows or not all(isinstance(r, dict) for r in rows):
        raise ScenarioError(f"{path}: a feeder needs a non-empty list of rows (objects)")
    return rows
