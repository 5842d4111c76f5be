"""Memory stability (004): repeated batches of WebSocket connections against the echo
demo server leave horde's memory flat — nothing per connection outlives the connection.

Five batches of 200 connections, each opened, used for one request→reply and closed. The
first two batches warm up (imports, pools, allocator arenas, histogram buckets); growth is
measured from after batch 2 to after batch 5, i.e. over 600 connections:

* a leak of 4 KB per connection would add 600 × 4 KB = 2.4 MB, so RSS growth is bounded
  at 1 MB (measured: under 50 KB) — that still catches a leak of ~1.7 KB per connection;
* Python-level allocations (tracemalloc, steadier than RSS) are bounded at 256 KB
  (measured: about 1 KB per batch) — that catches a leak of ~430 bytes per connection.
"""

from __future__ import annotations

import asyncio
import gc
import tracemalloc

import psutil
import pytest

from horde.metrics.recorder import Recorder
from horde.transports.websocket import WebSocketConnection

pytestmark = pytest.mark.timeout(120)

BATCHES, PER_BATCH, AT_ONCE = 5, 200, 50
RSS_BOUND = 1024 * 1024
TRACED_BOUND = 256 * 1024


async def _batch(url: str, recorder: Recorder) -> None:
    async def one() -> None:
        ws = await WebSocketConnection.connect(url, recorder=recorder)
        assert await ws.request("ping", name="echo") == "ping"
        await ws.close()

    for _ in range(PER_BATCH // AT_ONCE):
        await asyncio.gather(*(one() for _ in range(AT_ONCE)))
    recorder.take_window()  # what the aggregator does once a second


async def test_repeated_connection_batches_do_not_grow_memory(echo_server: str) -> None:
    url = echo_server.replace("http://", "ws://") + "/ws"
    recorder = Recorder()
    process = psutil.Process()
    rss: list[int] = []
    traced: list[int] = []
    tracemalloc.start()
    try:
        for _ in range(BATCHES):
            await _batch(url, recorder)
            gc.collect()
            rss.append(process.memory_info().rss)
            traced.append(tracemalloc.get_traced_memory()[0])
    finally:
        tracemalloc.stop()
    assert recorder.connections.succeeded == BATCHES * PER_BATCH
    assert recorder.open_connections == 0
    rss_growth, traced_growth = rss[-1] - rss[1], traced[-1] - traced[1]
    report = f"RSS {[r // 1024 for r in rss]} KB, traced {[t // 1024 for t in traced]} KB"
    assert rss_growth < RSS_BOUND, report
    assert traced_growth < TRACED_BOUND, report
