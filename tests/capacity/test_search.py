"""The capacity search as pure logic: steps, bisection and verdicts, with fake steps."""

from horde.capacity.search import SearchPlan, search


def fake_results(passed, saturated=False):
    return {
        "passed": passed, "timeseries": [], "metrics": {}, "errors_total": 0,
        "operations": {"finished": 0, "rate_per_s": 0.0, "error_rate": None},
        "generator": {"saturated": saturated, "cpu_percent_mean": 50.0, "loop_lag_p99_ms": 1.0},
        "thresholds": [] if passed else [{"expression": "p95(latency) < 1ms", "passed": False}],
    }


def steps_up_to(limit, saturated_from=None):
    tried = []

    async def run_step(users):
        tried.append(users)
        saturated = saturated_from is not None and users >= saturated_from
        return fake_results(users <= limit, saturated)

    return run_step, tried


async def test_steps_until_the_first_failure():
    run_step, tried = steps_up_to(25)
    capacity = await search(SearchPlan(start=10, step=10, max=100), run_step)
    assert tried == [10, 20, 30]
    assert (capacity.held, capacity.failed) == (20, 30)
    assert capacity.verdict() == "20 users held; 30 failed"
    assert [s["passed"] for s in capacity.steps] == [True, True, False]


async def test_bisection_narrows_the_gap():
    run_step, tried = steps_up_to(25)
    capacity = await search(SearchPlan(start=10, step=10, max=100, bisect=3), run_step)
    assert tried == [10, 20, 30, 25, 27, 26]
    assert (capacity.held, capacity.failed) == (25, 26)
    assert [s["users"] for s in capacity.steps] == [10, 20, 25, 26, 27, 30]


async def test_a_saturated_generator_means_at_least():
    run_step, _ = steps_up_to(25, saturated_from=30)
    capacity = await search(SearchPlan(start=10, step=10, max=100, bisect=3), run_step)
    assert capacity.generator_limited
    assert capacity.verdict().startswith("at least 20 users: horde was saturated when 30 failed")


async def test_every_step_holding_means_at_least_the_maximum():
    run_step, _ = steps_up_to(1000)
    capacity = await search(SearchPlan(start=10, step=10, max=30), run_step)
    assert (capacity.held, capacity.failed) == (30, None)
    assert capacity.verdict().startswith("at least 30 users")


async def test_failing_from_the_start():
    run_step, _ = steps_up_to(5)
    capacity = await search(SearchPlan(start=10, step=10, max=30), run_step)
    assert capacity.verdict() == "below 10 users: the first step already failed"
