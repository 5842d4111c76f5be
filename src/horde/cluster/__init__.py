"""Workers: one run's load spread over engine processes, on this machine or a Ray cluster.

The coordinator (the ``horde`` process) runs ``@setup`` and ``@teardown`` once, starts
the workers together, and merges their one-second windows into the same recorder,
aggregator and sinks a single-process run uses; each worker runs its segment of the plan
(``engine/segments.py``) on its own event loop. Ray is imported here only, and only when
a run asks for more than one worker (``pip install 'horde[cluster]'``).
"""
