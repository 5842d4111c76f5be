"""How hard the fuzz tests try. In the suite: a fixed, modest number of examples with a
deadline each, derandomized so a run is repeatable (the whole folder stays well under
20 s). ``HORDE_FUZZ_EXAMPLES=5000`` turns them into a real, randomized fuzzing session."""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

_EXAMPLES = int(os.environ.get("HORDE_FUZZ_EXAMPLES", "0"))

FUZZ = settings(
    max_examples=_EXAMPLES or 150,
    deadline=1000,  # ms per example: a hang or a quadratic blow-up fails the test
    derandomize=not _EXAMPLES,
    database=None,  # no .hypothesis folder in the repository
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
