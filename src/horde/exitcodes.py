"""Process exit codes, decided once at the edge (the CLI).

A CI job reads these: only a run that finished and passed is 0. A run stopped from
outside (Ctrl-C, SIGTERM, the dashboard's stop) or aborted on a failing threshold is never
0 either, and has its own code so a pipeline can tell "the target failed" from "the run
was cut short" (as k6 separates failed thresholds from an aborted run).
"""

OK = 0  # the run finished and passed
FAILED = 1  # it finished and failed: thresholds, or (without them) errors or no data; setup
USAGE = 2  # bad input, refused before any load: scenario, config, option, URL, path
ABORTED = 3  # --abort-on-fail stopped the run early on a failing threshold
INTERRUPTED = 4  # stopped from outside (SIGINT, SIGTERM, the dashboard); results written
INTERRUPTED_TWICE = 130  # signalled again while results were being written: none written
BROKEN_PIPE = 141  # the reader of the output went away (``horde runs | head``), as for SIGPIPE


def for_run(status: str, passed: bool) -> int:
    """The exit code of a run that ended with ``status`` and verdict ``passed``."""
    if status in ("interrupted", "stopped"):
        return INTERRUPTED
    if status == "aborted":
        return ABORTED
    return OK if passed else FAILED
