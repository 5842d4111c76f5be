"""The memory of a whole process tree, sampled while it runs.

``/usr/bin/time`` reports the peak RSS of one process. A horde run on workers is a tree:
the horde process (the coordinator), the Ray instance it starts (gcs_server, raylet, the
dashboard and runtime-env agents, the log and autoscaler monitors) and, under the raylet,
the worker processes that hold the connections. :class:`TreeSampler` sums the RSS of the
tree once a second and keeps the peak of each part:

- ``workers``: the engine workers only (the processes Ray renames ``ray::EngineWorker``
  once they host horde's actor; not its agents nor a worker it keeps idle);
- ``ray``: everything Ray started (the tree less the horde process);
- ``total``: the whole tree, the horde process included.

Each sum counts a page mapped by several processes once per process (libraries, Ray's
object store), so it overstates the tree's fixed memory; the per-connection figure is a
difference between two runs of the same command, where that part cancels out.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

import psutil

INTERVAL_S = 1.0
WORKER = "ray::EngineWorker"  # the command line Ray gives a process hosting that actor


@dataclass
class TreePeaks:
    """The highest summed RSS (KB) seen for each part of the tree, and how many workers."""

    workers_kb: int = 0
    ray_kb: int = 0
    total_kb: int = 0
    worker_count: int = 0
    samples: int = 0

    def as_extra(self) -> dict[str, int]:
        return {"tree_workers_rss_kb": self.workers_kb, "tree_ray_rss_kb": self.ray_kb,
                "tree_rss_kb": self.total_kb, "tree_worker_processes": self.worker_count,
                "tree_samples": self.samples}


@dataclass
class TreeSampler:
    """Samples the tree under ``root_pid`` (itself excluded: /usr/bin/time) until stopped;
    ``horde`` is the first process below the root, the generator that /usr/bin/time runs."""

    root_pid: int
    peaks: TreePeaks = field(default_factory=TreePeaks)

    def __post_init__(self) -> None:
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> TreeSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(INTERVAL_S):
            try:
                self.sample()
            except psutil.Error:  # the root ended between two reads
                return

    def sample(self) -> None:
        root = psutil.Process(self.root_pid)
        workers = ray = total = count = 0
        for proc in root.children(recursive=True):
            try:
                rss = proc.memory_info().rss // 1024
                line = " ".join(proc.cmdline())
                top = proc.ppid() == self.root_pid
            except psutil.Error:  # ended while read: its memory is gone too
                continue
            total += rss
            if not top:
                ray += rss
            if line.startswith(WORKER):
                workers += rss
                count += 1
        p = self.peaks
        p.workers_kb, p.ray_kb = max(p.workers_kb, workers), max(p.ray_kb, ray)
        p.total_kb, p.worker_count = max(p.total_kb, total), max(p.worker_count, count)
        p.samples += 1
