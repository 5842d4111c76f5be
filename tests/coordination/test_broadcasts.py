"""Broadcast fan-out: latency per receipt, first/last recipient, reach — on a fake clock."""

from __future__ import annotations

import pytest

from horde.coordination.broadcasts import BroadcastTracker
from horde.coordination.hub import Hub
from horde.metrics import names
from horde.metrics.recorder import Recorder
from horde.metrics.thresholds import evaluate, parse_threshold


class Clock:
    def __init__(self) -> None:
        self.now = 100.0
        self.wall = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now

    def epoch(self) -> float:
        return self.wall

    def advance(self, seconds: float) -> None:
        self.now += seconds
        self.wall += seconds


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


def tracker(recorder: Recorder, clock: Clock, **options) -> BroadcastTracker:
    return BroadcastTracker(recorder, clock=clock, wall=clock.epoch, **options)


def receipts_ms(recorder: Recorder, topic: str) -> tuple[int, float, float]:
    """Count, min and max of the ``broadcast`` samples, to HdrHistogram's precision."""
    hist = recorder.take_window().latencies[(names.BROADCAST, topic)]
    low = hist.get_lowest_equivalent_value(hist.get_min_value())
    high = hist.get_lowest_equivalent_value(hist.get_max_value())
    return hist.get_total_count(), round(low / 1000, 1), round(high / 1000, 1)


def test_each_receipt_is_timed_from_the_trigger(recorder, clock):
    t = tracker(recorder, clock)
    for name in ("a", "b", "c"):
        t.view(name).subscribe("chat")
    t.view("a").sent("chat", 1)
    clock.advance(0.010)
    t.view("a").received("chat", 1)
    clock.advance(0.020)
    t.view("b").received("chat", 1)
    clock.advance(0.030)
    t.view("c").received("chat", 1)

    assert receipts_ms(recorder, "chat") == (3, 10.0, 60.0)
    chat = t.snapshot()["chat"]
    assert chat["sent"] == 1 and chat["deliveries"] == 3 and chat["expected"] == 3
    assert chat["reach"] == 1.0 and chat["min_reach"] == 1.0 and chat["complete"] == 1
    assert chat["open"] == 0  # closed as soon as every expected recipient had it
    assert chat["first_ms"]["p50"] == pytest.approx(10.0, rel=1e-3)
    assert chat["last_ms"]["p99"] == pytest.approx(60.0, rel=1e-3)
    assert chat["missing"] == [] and chat["duplicates"] == chat["unexpected"] == 0


def test_reach_and_who_missed_it(recorder, clock):
    t = tracker(recorder, clock)
    for name in ("a", "b", "c", "d"):
        t.subscribe(name, "chat")
    t.sent("a", "chat", "m1")
    clock.advance(0.005)
    t.received("a", "chat", "m1")
    t.received("b", "chat", "m1")

    chat = t.snapshot()["chat"]
    assert chat["open"] == 1 and chat["reach"] == 0.5  # open ones count as they stand
    assert chat["missing"] == [{"key": "m1", "reach": 0.5, "missing": ["c", "d"]}]

    clock.advance(31)  # older than the window: closed for good
    t.received("c", "chat", "m1")
    chat = t.snapshot()["chat"]
    assert chat["open"] == 0 and chat["late"] == 1
    assert chat["reach"] == 0.5 and chat["min_reach"] == 0.5 and chat["complete"] == 0


def test_duplicates_and_unexpected_are_not_reach(recorder, clock):
    t = tracker(recorder, clock)
    t.subscribe("a", "chat")
    t.subscribe("b", "chat")
    t.sent("a", "chat", 7)
    t.received("a", "chat", 7)
    t.received("a", "chat", 7)
    t.received("x", "chat", 7)  # never subscribed
    chat = t.snapshot()["chat"]
    assert chat["duplicates"] == 1 and chat["unexpected"] == 1
    assert chat["deliveries"] == 1 and chat["reach"] == 0.5


def test_expected_as_a_count_or_names(recorder, clock):
    t = tracker(recorder, clock)
    t.sent("a", "by_count", 1, expected=2)
    for name in ("p", "q", "r"):
        t.received(name, "by_count", 1)  # the third one is beyond the count
    t.sent("a", "by_name", 1, expected=["p", "q"])
    t.received("q", "by_name", 1)
    report = t.snapshot()
    assert report["by_count"]["reach"] == 1.0 and report["by_count"]["late"] == 1
    assert report["by_name"]["missing"] == [{"key": 1, "reach": 0.5, "missing": ["p"]}]


def test_a_server_timestamp_times_a_broadcast_triggered_elsewhere(recorder, clock):
    t = tracker(recorder, clock)
    t.subscribe("a", "ticker")
    t.subscribe("b", "ticker")
    stamp = clock.wall
    clock.advance(0.040)
    t.received("a", "ticker", "tick-1", sent_at=stamp)
    clock.advance(0.010)
    t.received("b", "ticker", "tick-1", sent_at=stamp)
    t.received("a", "ticker", "tick-2")  # no trigger, no timestamp: counted, not timed

    assert receipts_ms(recorder, "ticker") == (2, 40.0, 50.0)
    ticker = t.snapshot()["ticker"]
    assert ticker["sent"] == 2 and ticker["complete"] == 1 and ticker["untimed"] == 1
    assert ticker["first_ms"]["p50"] == pytest.approx(40.0, rel=1e-3)
    assert ticker["last_ms"]["max"] == pytest.approx(50.0, rel=1e-3)


def test_open_broadcasts_are_bounded_per_topic(recorder, clock):
    t = tracker(recorder, clock, max_open=3)
    t.subscribe("a", "chat")
    t.subscribe("b", "chat")
    for key in range(10):
        t.sent("a", "chat", key)
        t.received("a", "chat", key)
    chat = t.snapshot()["chat"]
    assert chat["open"] == 3 and chat["sent"] == 10 and chat["reach"] == 0.5
    assert len(chat["missing"]) == 10


def test_a_user_that_leaves_right_after_a_broadcast_is_not_missing(recorder, clock):
    t = tracker(recorder, clock, grace_s=1.0)
    for name in ("a", "b", "c"):
        t.subscribe(name, "chat")
    t.sent("a", "chat", "old")
    clock.advance(5)
    t.sent("a", "chat", "new")
    t.received("a", "chat", "old")
    t.received("b", "chat", "old")
    t.received("a", "chat", "new")
    t.received("b", "chat", "new")
    t.forget("c")  # left 0 s after "new", 5 s after "old"
    t.sent("a", "chat", "after")
    t.received("a", "chat", "after")
    t.received("b", "chat", "after")
    report = t.snapshot()["chat"]
    assert report["missing"] == [{"key": "old", "reach": 0.6667, "missing": ["c"]}]
    assert report["complete"] == 2  # "new" once c was let go, and "after" (a and b only)
    assert report["expected"] == 3 + 2 + 2 and report["open"] == 1  # "old" waits for c


def test_reach_works_as_a_threshold(recorder, clock):
    hub = Hub(recorder)
    hub.broadcasts.view("a").subscribe("results")
    hub.broadcasts.view("a").sent("results", 1)
    hub.broadcasts.view("a").received("results", 1)
    results = {name: report() for name, report in recorder.sections.items()}
    verdicts = evaluate(
        (parse_threshold("broadcasts.results.reach >= 1"),
         parse_threshold("broadcasts.results.last_ms.p95 < 1000")),
        results, {},
    )
    assert [v["passed"] for v in verdicts] == [True, True]
    assert verdicts[0]["observed"] == 1.0
