"""A sink receives what the aggregator produced: one row per second, then the results.

Console, files, dashboards and stores are all sinks; none of them reaches back into the
engine. A sink must not raise: the engine logs and drops a failing sink.
"""

from __future__ import annotations

from typing import Any, Protocol


class Sink(Protocol):
    def on_row(self, row: dict[str, Any]) -> None: ...

    def on_finish(self, results: dict[str, Any]) -> None: ...
