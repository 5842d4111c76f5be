"""Ordering: gaps, duplicates and reordering per (user, stream), totals per stream name."""

from __future__ import annotations

import pytest

from horde.coordination.hub import Hub
from horde.delivery.ordering import OrderingTracker
from horde.metrics.recorder import Recorder


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def hub(recorder: Recorder) -> Hub:
    return Hub(recorder)


@pytest.mark.parametrize(
    ("seqs", "kinds", "counts"),
    [
        ([1, 2, 3], ["in_order"] * 3, (3, 0, 0, 0)),
        ([5, 6], ["in_order"] * 2, (2, 0, 0, 0)),  # the first number starts the stream
        ([1, 4, 5], ["in_order", "gap", "in_order"], (3, 2, 0, 0)),
        ([1, 2, 2], ["in_order", "in_order", "duplicate"], (2, 0, 1, 0)),
        ([1, 3, 2], ["in_order", "gap", "out_of_order"], (2, 0, 0, 1)),  # late, not lost
        ([1, 5, 3, 3, 2], ["in_order", "gap", "out_of_order", "duplicate", "out_of_order"],
         (2, 1, 1, 2)),  # 4 never came
        ([1, 2, 1], ["in_order", "in_order", "duplicate"], (2, 0, 1, 0)),
    ],
)
def test_each_number_is_classified(hub, seqs, kinds, counts):
    view = hub.ordering.view("user-1")
    assert [view.observe("prices", s) for s in seqs] == kinds
    report = hub.ordering.snapshot()
    got = (report["in_order"], report["gaps"], report["duplicates"], report["out_of_order"])
    assert got == counts
    assert report["messages"] == len(seqs)


def test_streams_are_per_user_and_totalled_per_name(hub, recorder):
    for user in ("a", "b"):
        for seq in (1, 2, 3):
            hub.ordering.view(user).observe("chat", seq)
    hub.ordering.view("b").observe("chat", 7)
    hub.ordering.view("a").observe("presence", 1)
    hub.forget("a")  # folded into the totals, not lost
    report = recorder.sections["ordering"]()
    assert report["messages"] == 8 and report["gaps"] == 3
    assert report["streams"] == {
        "chat": {"messages": 7, "in_order": 7, "gaps": 3, "duplicates": 0,
                 "out_of_order": 0, "sources": 2},
        "presence": {"messages": 1, "in_order": 1, "gaps": 0, "duplicates": 0,
                     "out_of_order": 0, "sources": 1},
    }
    assert report["examples"] == [
        {"user": "b", "stream": "chat", "kind": "gap", "seq": 7, "expected": 4}
    ]


def test_reset_starts_a_stream_afresh(hub):
    view = hub.ordering.view("a")
    view.observe("feed", 10)
    view.reset("feed")  # reconnected: the server counts from 1 again
    assert view.observe("feed", 1) == "in_order"
    assert hub.ordering.snapshot()["streams"]["feed"]["sources"] == 2


def test_holes_are_bounded(recorder):
    tracker = OrderingTracker(recorder, max_holes=2)
    for seq in (1, 3, 5, 7):  # three holes: 2, 4, 6; the oldest (2) is given up
        tracker.observe("a", "s", seq)
    assert [tracker.observe("a", "s", s) for s in (2, 4, 6)] == [
        "duplicate", "out_of_order", "out_of_order"
    ]
    assert tracker.snapshot()["gaps"] == 1  # 2 stays lost
