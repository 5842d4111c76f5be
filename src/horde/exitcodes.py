"""Process exit codes, decided once at the edge (the CLI)."""

OK = 0  # the run passed
FAILED = 1  # thresholds failed, or the run could not pass (setup failed)
USAGE = 2  # bad input: scenario, config, option, URL
INTERRUPTED_TWICE = 130  # Ctrl-C pressed again while results were being written
