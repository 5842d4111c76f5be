"""Whether two runs can be compared: different scenarios cannot, other differences are
named."""

from horde.store.comparable import scenario_difference, setting_differences


def _run(scenario: str = "delay", file: str | None = "/ci/build-1/load/delay.py",
         target: str = "http://127.0.0.1:8000", **config) -> dict:
    settings = {"users": 4, "spawn_rate": 4.0, "duration_s": 7.0, "iterations": None,
                "shape": None} | config
    return {"scenario": scenario, "scenario_file": file, "target": target, "config": settings}


def test_the_same_scenario_and_settings_have_no_difference() -> None:
    assert scenario_difference(_run(), _run()) is None
    assert setting_differences(_run(), _run()) == []


def test_a_different_scenario_name_or_file_is_a_scenario_difference() -> None:
    assert scenario_difference(_run(), _run("chat")) == "scenario 'delay' vs 'chat'"
    assert scenario_difference(_run(), _run(file="/ci/build-1/load/other.py")) == (
        "scenario file delay.py vs other.py")


def test_the_same_file_in_another_checkout_or_spelling_is_the_same_scenario() -> None:
    """A CI job checks out into a new directory; ``./delay.py`` is ``delay.py``."""
    assert scenario_difference(_run(), _run(file="/ci/build-2/load/delay.py")) is None
    assert scenario_difference(_run(file="delay.py"), _run(file="./delay.py")) is None
    assert scenario_difference(_run(file=None), _run()) is None  # not stored: not told apart


def test_target_and_load_differences_are_each_named() -> None:
    b = _run(target="http://127.0.0.1:9000", users=8, duration_s=30.0,
             shape="ramp(to=10, over=5s)", seed=7)
    assert setting_differences(_run(), b) == [
        "target http://127.0.0.1:8000 vs http://127.0.0.1:9000",
        "users 4 vs 8",
        "shape none vs ramp(to=10, over=5s)",
        "duration (s) 7 vs 30",
        "seed none vs 7",
    ]


def test_a_spawn_rate_or_a_missing_config_is_no_load_difference() -> None:
    """The spawn rate is not compared: a rebuilt run stores the one asked for, a finished
    run the effective one, for the same load."""
    assert setting_differences(_run(), _run(spawn_rate=None)) == []
    a, b = _run(), _run()
    del a["config"], b["config"]
    assert setting_differences(a, b) == []


def test_runs_on_a_different_number_of_workers_say_so() -> None:
    """A 1-worker and a 2-worker run of one plan looked alike to ``horde compare``: the
    worker count is in ``workers``, not in ``config``."""
    two = _run() | {"workers": {"count": 2, "lost": []}}
    assert setting_differences(_run(), two) == ["workers 1 vs 2"]
    assert setting_differences(two, two) == []
