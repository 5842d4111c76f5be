"""Windows that cross processes come back exact: merged percentiles are the union's."""

import pickle
import random

from horde.cluster.sections import merge_sections
from horde.coordination.events import Events
from horde.metrics.aggregator import Aggregator
from horde.metrics.recorder import Recorder
from horde.metrics.shipping import absorb, pack
from horde.metrics.values import ValueSpec


def record(recorder: Recorder, samples: list[int]) -> None:
    for micros in samples:
        op = recorder.begin("http_req", "/x", start_ns=1)
        recorder.succeed(op, end_ns=1 + micros * 1000)
    recorder.count("custom", "seen", len(samples))
    recorder.error("http_status", "500")
    recorder.value("tokens_per_s", 42.5, ValueSpec("tokens/s", "higher"))


def test_two_workers_windows_merged_give_the_percentiles_of_all_their_samples():
    rng = random.Random(7)
    fast = [rng.randint(100, 2_000) for _ in range(5_000)]  # one worker near a fast server
    slow = [rng.randint(50_000, 90_000) for _ in range(500)]  # the other, a slow one
    one = Recorder()
    record(one, fast + slow)
    expected = Aggregator(one)
    expected.tick(1.0)

    coordinator = Recorder()
    for samples in (fast, slow):
        worker = Recorder()
        record(worker, samples)
        packed = pack(worker.take_window(), worker.value_specs)
        absorb(coordinator, pickle.loads(pickle.dumps(packed)))  # as Ray carries it
    merged = Aggregator(coordinator)
    merged.tick(1.0)

    key = ("http_req", "/x")
    want, got = expected.totals.latencies[key], merged.totals.latencies[key]
    assert got.get_total_count() == 5_500
    for p in (50, 90, 95, 99, 99.9):  # not an average of the two workers' percentiles
        assert got.get_value_at_percentile(p) == want.get_value_at_percentile(p)
    assert merged.totals.outcomes[key].ok == 5_500
    assert merged.totals.counters[("custom", "seen")] == 5_500
    assert merged.totals.errors[("http_status", "500")] == 2
    assert merged.totals.values["tokens_per_s"].get_total_count() == 2


def test_group_sections_add_counts_and_recompute_rates():
    worker_a = {"groups": {"planned": 3, "started": 3, "formed": 3, "completed": 3, "failed": 0,
                           "incomplete": 0, "formed_rate": 1.0, "completed_rate": 1.0,
                           "failures": {}, "by_name": {}}}
    worker_b = {"groups": {"planned": 1, "started": 1, "formed": 1, "completed": 0, "failed": 1,
                           "incomplete": 0, "formed_rate": 1.0, "completed_rate": 0.0,
                           "failures": {"timeout": 1}, "by_name": {}}}
    merged = merge_sections([worker_a, worker_b], {"team_done": 3})
    groups = merged["groups"]
    assert (groups["planned"], groups["completed"], groups["failed"]) == (4, 3, 1)
    assert groups["completed_rate"] == 0.75  # not the mean of 1.0 and 0.0
    assert groups["failures"] == {"timeout": 1}
    assert merged["events"] == {"team_done": 3}


def test_minima_maxima_and_reach_stay_what_they_mean():
    a = {"broadcasts": {"round": {"sent": 2, "deliveries": 4, "expected": 4, "reach": 1.0,
                                  "min_reach": 1.0, "first_ms": {"p50": 3.0, "max": 9.0}}}}
    b = {"broadcasts": {"round": {"sent": 2, "deliveries": 2, "expected": 4, "reach": 0.5,
                                  "min_reach": 0.5, "first_ms": {"p50": 5.0, "max": 7.0}}}}
    topic = merge_sections([a, b], {})["broadcasts"]["round"]
    assert (topic["sent"], topic["deliveries"], topic["expected"]) == (4, 6, 8)
    assert topic["reach"] == 0.75 and topic["min_reach"] == 0.5
    assert topic["first_ms"] == {"p50": 5.0, "max": 9.0}  # the worst worker's: an upper bound


async def test_a_wait_ends_when_other_workers_signals_arrive():
    events = Events()
    events.signal("team_done", 2)
    import asyncio

    waiting = asyncio.ensure_future(events.wait("team_done", count=5, timeout=30))
    await asyncio.sleep(0)
    assert not waiting.done()
    events.set_others({"team_done": 3})  # what the coordinator heard from the others
    await asyncio.wait_for(waiting, 1)
    assert events.count("team_done") == 5 and events.own_counts() == {"team_done": 2}
