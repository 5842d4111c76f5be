"""What the coordinator pays per worker per second: packing a one-second window on the
worker, and unpacking and adding it on the coordinator, for windows of realistic sizes.

    .venv/bin/python bench/window_merge.py            # a JSON line per size, appended to
                                                      # bench/results/runs.jsonl

A window here holds ``metrics`` latency metrics (each ``--samples`` samples spread over
0.1-100 ms), as many outcome tallies, a few counters and errors; the sizes measured are
``--metrics`` (10 and 40 unless told). The coordinator's CPU per worker per second is
``unpack_ms`` (the workers pay ``pack_ms``); the result says how many workers one
coordinator core could merge before it becomes the limit (docs/benchmarks.md, "The
coordinator's merge").
"""

from __future__ import annotations

import argparse
import json
import pickle
import random
import sys
import time
from pathlib import Path
from typing import Any

from horde.metrics.recorder import Recorder
from horde.metrics.shipping import absorb, pack

sys.path.insert(0, str(Path(__file__).parent))

import runlog


def window(metrics: int, samples: int, rng: random.Random) -> Recorder:
    recorder = Recorder()
    for m in range(metrics):
        for _ in range(samples):
            op = recorder.begin("http_req", f"/endpoint/{m}", start_ns=1)
            recorder.succeed(op, end_ns=1 + int(rng.lognormvariate(8, 1.2)) * 1000)
        recorder.count("custom", f"counter{m}", samples)
    recorder.error("http_status", "500")
    return recorder


def measure(metrics: int, samples: int, repeat: int) -> dict[str, Any]:
    """CPU ms to pack one window (a worker's cost) and to unpack and add it (the
    coordinator's), averaged over ``repeat`` windows."""
    rng = random.Random(1)
    recorders = [window(metrics, samples, rng) for _ in range(repeat)]
    windows = [r.take_window() for r in recorders]
    t = time.process_time()
    packed = [pickle.dumps(pack(w, {})) for w in windows]
    pack_ms = (time.process_time() - t) * 1000 / repeat
    coordinator = Recorder()
    t = time.process_time()
    for data in packed:
        absorb(coordinator, pickle.loads(data))
    unpack_ms = (time.process_time() - t) * 1000 / repeat
    return {
        "metrics": metrics, "samples_per_metric": samples,
        "bytes_per_window": round(sum(map(len, packed)) / len(packed)),
        "pack_ms": round(pack_ms, 3), "unpack_ms": round(unpack_ms, 3),
        "workers_per_coordinator_core": int(1000 / unpack_ms) if unpack_ms else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--metrics", type=int, action="append", default=[])
    parser.add_argument("--samples", type=int, default=5000)
    parser.add_argument("--repeat", type=int, default=50)
    args = parser.parse_args()
    session = runlog.new_session()
    lines = []
    for metrics in args.metrics or [10, 40]:
        figures = measure(metrics, args.samples, args.repeat)
        print(json.dumps(figures))
        lines.append(runlog.record(
            session, "window_merge", f"window_merge:{metrics}x{args.samples}", "horde",
            figures, settings={"repeat": args.repeat}))
    runlog.append(lines)
    print(f"recorded as session {session} in {runlog.RUNS}")


if __name__ == "__main__":
    main()
