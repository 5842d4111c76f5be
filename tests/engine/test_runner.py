"""The engine end to end, with scenarios that need no network: counts must be exact."""

import asyncio
import gc

import pytest

from horde.config.model import RunConfig
from horde.engine.collector import HELD
from horde.engine.runner import run
from horde.scenario.loader import load_scenario


def config(path, **kw):
    kw.setdefault("progress", False)
    return RunConfig(scenario=path, target="http://127.0.0.1:9", **kw)


async def test_iterations_are_exact_and_hooks_run_once_per_user(write_scenario, tmp_path):
    log = tmp_path / "log.txt"
    path = write_scenario(
        f"""
        import horde
        LOG = {str(log)!r}

        def note(text):
            with open(LOG, "a") as f:
                f.write(text + "\\n")

        @horde.setup
        async def prepare(ctx):
            note("setup")
            return {{"token": "abc"}}

        @horde.on_start
        async def begin(user):
            user.state.n = 0

        @horde.behaviour
        async def work(user):
            assert user.shared == {{"token": "abc"}}
            user.state.n += 1
            user.record("work", 2.0)
            user.check(user.state.n < 4, "under four")

        @horde.on_stop
        async def end(user):
            note(f"stop {{user.id}} {{user.state.n}}")

        @horde.teardown
        async def cleanup(ctx, shared):
            note("teardown " + shared["token"])
        """
    )
    results = await run(config(path, users=5, iterations=5), load_scenario(path))
    lines = log.read_text().splitlines()
    assert lines[0] == "setup" and lines[-1] == "teardown abc"
    assert sorted(lines[1:-1]) == [f"stop {i} 5" for i in range(5)]
    assert results["status"] == "completed"
    assert results["iterations"]["completed"] == 25
    assert results["metrics"]["timer:work"]["count"] == 25
    assert results["metrics"]["timer:work"]["p50_ms"] == 2.0
    assert results["errors"] == {"check_failed": 10}  # iterations 4 and 5 of each user
    assert results["error_details"] == {"check_failed": {"under four": 10}}
    assert results["counters"]["checks_passed:under four"] == 15


async def test_scenario_exceptions_are_counted_with_type_and_traceback(write_scenario):
    path = write_scenario(
        """
        import horde

        @horde.behaviour
        async def fails(user):
            if user.iteration % 2:
                raise ZeroDivisionError("half the time")
            user.record("ok", 1)
        """
    )
    results = await run(config(path, users=2, iterations=6), load_scenario(path))
    assert results["errors"] == {"scenario_exception": 6}
    assert results["error_details"]["scenario_exception"] == {"ZeroDivisionError": 6}
    example = results["error_examples"]["scenario_exception:ZeroDivisionError"]
    assert "Traceback" in example and "half the time" in example and "scenario.py" in example
    its = results["iterations"]
    assert (its["completed"], its["failed"]) == (6, 6)  # a raising iteration did not complete
    assert its["failures"] == {"scenario_exception": 6}


async def test_duration_stops_endless_users_and_rows_are_per_second(write_scenario):
    path = write_scenario(
        """
        import horde

        @horde.behaviour
        async def tick(user):
            user.record("tick", 1)
            await user.think(0.1)
        """
    )
    results = await run(config(path, users=3, spawn_rate=1000, duration_s=2.5), load_scenario(path))
    # real time is the point here (the engine's own clock ends the run): a busy machine
    # may stop it late or fit fewer ticks in, never stop it early or fit more in
    assert 2.5 <= results["duration_s"] < 3.5
    count = results["metrics"]["timer:tick"]["count"]
    assert 3 * 10 <= count <= 3 * 26 + 3
    rows = results["timeseries"]
    assert [round(r["t"]) for r in rows[:2]] == [1, 2]
    assert rows[0]["users"] == 3
    assert sum(r["metrics"].get("timer:tick", {}).get("count", 0) for r in rows) == count


async def test_stop_event_interrupts_and_results_are_complete(write_scenario):
    path = write_scenario(
        """
        import horde

        @horde.behaviour
        async def forever(user):
            user.record("beat", 1)
            await user.think(0.05)
        """
    )
    stop = asyncio.Event()
    asyncio.get_running_loop().call_later(0.5, stop.set)
    results = await run(config(path, users=2, spawn_rate=100, duration_s=60), load_scenario(path), stop=stop)
    assert results["status"] == "interrupted"
    assert results["duration_s"] < 1.0
    assert results["metrics"]["timer:beat"]["count"] >= 10
    assert results["users"]["peak_active"] == 2


async def test_spawn_rate_paces_user_starts(write_scenario):
    path = write_scenario(
        """
        import horde

        @horde.behaviour
        async def idle(user):
            await user.think(0.05)
        """
    )
    paced = config(path, users=4, spawn_rate=2, duration_s=2.2)
    ramp = paced.plan.segments[0]  # each start's exact time: tests/engine/test_pacing.py
    assert (ramp.duration_s, ramp.value_from, ramp.value_to) == (2, 0, 4)
    results = await run(paced, load_scenario(path))
    first, second = (r["users"] for r in results["timeseries"][:2])
    # user 3 is due at 1.0 s, on the first row's edge; user 4 at 1.5 s: half a second of
    # margin either side for a busy machine
    assert 2 <= first < 4 and second == 4


async def test_setup_failure_skips_load_but_still_reports(write_scenario):
    path = write_scenario(
        """
        import horde

        @horde.setup
        async def prepare(ctx):
            raise RuntimeError("no accounts")

        @horde.behaviour
        async def never(user):
            raise AssertionError("must not run")
        """
    )
    results = await run(config(path, users=2, iterations=1), load_scenario(path))
    assert results["status"] == "setup_failed"
    assert results["passed"] is False
    assert results["errors"] == {"scenario_exception": 1}


async def test_graceful_stop_lets_iterations_in_flight_finish(write_scenario):
    """Without it, the iteration running at the deadline is cut off (as Locust does);
    with ``graceful_stop_s`` it finishes, and no new one starts."""
    path = write_scenario(
        """
        import asyncio
        import horde

        @horde.behaviour
        async def slow(user):
            user.count("began")
            await asyncio.sleep(0.7)
            user.count("finished")
        """
    )
    scenario = load_scenario(path)

    async def counts(**kw):
        config = RunConfig(scenario=path, target="http://127.0.0.1:1", users=4, spawn_rate=1000,
                           duration_s=1.0, progress=False, **kw)
        results = await run(config, scenario)
        c = results["counters"]
        return c["custom:began"], c.get("custom:finished", 0), results["duration_s"]

    began, finished, _ = await counts()
    assert began == 8 and finished == 4  # the second iteration of each user was cut off
    began, finished, duration = await counts(graceful_stop_s=2.0)
    assert began == finished == 8 and 1.3 < duration < 2.5


async def test_a_cancelled_run_stops_its_users_and_gives_the_collector_back(write_scenario):
    """``horde.run`` under a caller's timeout: cancelled mid-ramp, it leaves no task of
    its own running, no user alive, and the collector's thresholds as they were."""
    path = write_scenario(
        """
        import horde

        @horde.behaviour
        async def hold(user):
            await user.think(30)
        """
    )
    original = gc.get_threshold()
    before = asyncio.all_tasks()
    running = asyncio.create_task(run(config(path, users=40, spawn_rate=20),
                                      load_scenario(path)))
    async with asyncio.timeout(20):
        while gc.get_threshold()[2] != HELD:  # the ramp has begun: full collections held
            await asyncio.sleep(0.01)
    running.cancel()
    with pytest.raises(asyncio.CancelledError):
        await running
    assert gc.get_threshold() == original
    assert asyncio.all_tasks() - before - {asyncio.current_task()} == set()
