"""The coordinator's own rules, without Ray."""

from __future__ import annotations

from pathlib import Path

from horde.cluster.coordinator import FINISH_MARGIN_S, finish_within
from horde.config.model import RunConfig


def test_a_stuck_worker_is_given_up_a_minute_after_the_plan_not_after_the_time_cap():
    config = RunConfig(scenario=Path("s.py"), target="http://127.0.0.1:9", duration_s=30)
    assert config.max_duration_s >= 3600  # the 6 h hard cap a stuck worker waited for
    assert finish_within(config, 30.0) == 30.0 + config.stop_timeout_s + FINISH_MARGIN_S
    short_cap = config.model_copy(update={"max_duration_s": 10.0})
    assert finish_within(short_cap, 30.0) == 10.0 + config.stop_timeout_s + FINISH_MARGIN_S
