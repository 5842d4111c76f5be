"""The live monitor in the terminal: what the run is doing, once per interval.

On a terminal it is a rich panel redrawn in place every second (``--monitor-interval``):
elapsed, stage, users, connections, in-flight, started/completed, rates, p50/p95/p99 of the
main latencies, errors by category, and horde's own health. In a log (CI, a pipe) it is a
plain line per interval instead — every 5 s unless ``--monitor-interval`` says otherwise —
so logs stay readable. A generator-saturation warning is shown at once in both.

:class:`LiveView` folds the per-second rows into the figures both forms show; it has no
I/O, so it is tested with plain dicts. The panel is
:mod:`horde.live.terminal.panel`; the sink that decides when to draw is
:mod:`horde.live.terminal.monitor`.
"""
