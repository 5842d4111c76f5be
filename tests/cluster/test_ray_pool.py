"""How the Ray pool meets Ray's own failures, without starting Ray."""

from __future__ import annotations

import pytest

from horde.cluster.ray_pool import _init
from horde.errors import ConfigError


class RayThatCannotStart:
    """Ray's answer when its processes take more than its 30 s to start (seen with a
    parallel test suite on two cores): an ``Exception``, with a traceback, exit code 1."""

    def init(self, **options: object) -> None:
        raise Exception("The current node timed out during startup. This could happen "
                        "because some of the raylet failed to startup or the GCS has "
                        "become overloaded.")


def test_a_local_ray_that_does_not_start_is_one_line_before_any_load() -> None:
    with pytest.raises(ConfigError) as caught:
        _init(RayThatCannotStart(), None, 2)
    message = str(caught.value)
    assert message.startswith("--workers 2: Ray did not start on this machine")
    assert "timed out during startup" in message and "--workers 1" in message
    assert "\n" not in message
