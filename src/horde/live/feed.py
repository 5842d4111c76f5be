"""The dashboard's data, without a web server: compact rows, columns, SSE frames, subscribers.

Rows are cut down to the series the page draws (the per-metric breakdown stays in
results.json) and stored as they arrive. Each subscriber (one open ``/api/events``
stream) has a bounded queue of encoded frames; a subscriber that falls behind is cut off
rather than allowed to grow memory — its browser's EventSource reconnects and is sent
the backlog again.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

SERIES = (
    "t", "users", "target", "connections_open", "in_flight", "operations", "messages",
    "errors", "p50_ms", "p95_ms", "p99_ms", "cpu_percent", "loop_lag_ms",
    "target_cpu_percent",
)
FIELDS = (*SERIES, "stage", "generator_warning", "values", "workers", "workers_lost")
QUEUE_FRAMES = 256  # ~2 minutes of rows and statuses for a stalled browser


def compact(row: dict[str, Any]) -> dict[str, Any]:
    """The fields of a per-second row the dashboard shows (docs/results.md); of the
    values the scenario records, each one's median that second."""
    small = {name: row.get(name) for name in FIELDS}
    small["values"] = {name: v.get("p50") for name, v in (row.get("values") or {}).items()}
    return small


def columns(rows: list[dict[str, Any]], since: float | None = None) -> dict[str, Any]:
    """Rows after ``since`` (seconds), one list per field: uPlot's data layout."""
    picked = rows if since is None else [r for r in rows if r["t"] > since]
    return {
        "count": len(picked),
        "columns": {name: [r[name] for r in picked] for name in FIELDS},
    }


def sse_frame(event: str, data: Any) -> bytes:
    """One Server-Sent Events frame; JSON on one line, so one ``data:`` field."""
    text = json.dumps(data, separators=(",", ":"), default=str)
    return f"event: {event}\ndata: {text}\n\n".encode()


KEEPALIVE = b": keepalive\n\n"


class Feed:
    """Rows so far and the open event streams they are pushed to."""

    def __init__(self) -> None:
        self.rows: list[dict[str, Any]] = []
        self._queues: set[asyncio.Queue[bytes | None]] = set()
        self.closed = False

    @property
    def watched(self) -> bool:
        return bool(self._queues)

    def add_row(self, row: dict[str, Any]) -> dict[str, Any]:
        small = compact(row)
        self.rows.append(small)
        self.publish("row", small)
        return small

    def publish(self, event: str, data: Any) -> None:
        """Encode once, queue for every subscriber; cut off one that is too far behind."""
        if not self._queues:
            return
        frame = sse_frame(event, data)
        for queue in list(self._queues):
            if queue.qsize() >= QUEUE_FRAMES - 1:
                self._cut(queue)
            else:
                queue.put_nowait(frame)

    def subscribe(self) -> asyncio.Queue[bytes | None]:
        """A new stream: its first frame is the backlog of every row so far."""
        queue: asyncio.Queue[bytes | None] = asyncio.Queue(QUEUE_FRAMES)
        queue.put_nowait(sse_frame("backlog", columns(self.rows)))
        if self.closed:
            queue.put_nowait(None)
        else:
            self._queues.add(queue)
        return queue

    def unsubscribe(self, queue: asyncio.Queue[bytes | None]) -> None:
        self._queues.discard(queue)

    def close(self) -> None:
        """End every stream once it has sent what is queued (the server is going away)."""
        self.closed = True
        for queue in list(self._queues):
            self._queues.discard(queue)
            queue.put_nowait(None)  # publish always leaves this one slot free

    def _cut(self, queue: asyncio.Queue[bytes | None]) -> None:
        self._queues.discard(queue)
        while not queue.empty():
            queue.get_nowait()
        queue.put_nowait(None)
