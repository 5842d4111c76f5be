import asyncio

from horde.errors import OperationTimeoutError, PeerClosedError
from horde.metrics import names
from horde.metrics.aggregator import Aggregator
from horde.metrics.recorder import Recorder

MS = 1_000_000  # ns


def test_windows_fold_into_exact_totals_and_rows():
    rec = Recorder()
    agg = Aggregator(rec)
    for ms in (1, 2, 3):
        op = rec.begin(names.WS_REPLY, "echo", start_ns=10 * MS)
        rec.succeed(op, end_ns=(10 + ms) * MS)
    rec.count(names.WS_MSG_IN, "pong", 3)
    rec.add_bytes(100, 300, rec.websocket)
    pending = rec.begin(names.WS_REPLY, "echo")
    rec.begin(names.WS_REPLY, "echo")  # still in flight when the run ends
    row1 = agg.tick(1.0)
    rec.succeed(pending, end_ns=pending.start_ns + 4 * MS)
    failed = rec.begin(names.HTTP_REQ, "/x")
    rec.fail_answered(failed, "http_500", failed.start_ns + 8 * MS)
    rec.target_error(PeerClosedError("bye", code=1011))
    row2 = agg.tick(2.0)

    assert row1["operations"] == 3 and row1["messages"] == 3 and row1["peak_in_flight"] == 2
    assert row1["p50_ms"] == 2.0 and row1["bytes_sent"] == 100 and row1["in_flight"] == 2
    assert (row2["operations"], row2["failed"], row2["errors"]) == (2, 1, 2)
    assert row2["in_flight"] == 1
    http = row2["metrics"]["http_req:/x"]  # an error answer: failed, its latency kept
    assert http["count"] == 1 and http["failed"] == 1 and 8.0 <= http["p50_ms"] < 8.01
    totals = agg.totals
    assert totals.latencies[(names.WS_REPLY, "echo")].get_total_count() == 4
    assert totals.outcomes[(names.WS_REPLY, "echo")].ok == 4
    assert totals.errors == {("closed_by_peer", "1011"): 1, ("http_500", None): 1}
    assert totals.bytes_received == 300


def test_a_target_error_is_counted_once():
    rec = Recorder()
    exc = PeerClosedError("x", code=1001)
    rec.target_error(exc)
    rec.target_error(exc)
    assert rec.take_window().errors == {("closed_by_peer", "1001"): 1}


def test_each_operation_ends_once_and_in_flight_comes_back_to_zero():
    rec = Recorder()
    ok, timed_out, cut = (rec.begin(names.WS_REPLY, "x") for _ in range(3))
    assert rec.in_flight == 3
    rec.succeed(ok)
    rec.fail(ok, OperationTimeoutError("late"))  # already ended: ignored
    exc = OperationTimeoutError("x", detail="x")
    rec.fail(timed_out, exc)
    rec.end(cut, asyncio.CancelledError())
    rec.abandon(cut)
    assert rec.in_flight == 0
    outcomes = rec.take_window().outcomes[(names.WS_REPLY, "x")]
    assert (outcomes.ok, outcomes.failed, outcomes.unfinished) == (1, 1, 1)
    assert outcomes.failures == {("timeout", "x"): 1}


def test_a_drop_that_fails_the_operation_in_flight_is_one_error():
    rec = Recorder()
    op = rec.begin(names.WS_REPLY, "x")
    drop = PeerClosedError("gone", code=1006)
    rec.target_error(drop)  # counted when the connection went
    rec.fail(op, drop)  # and the request waiting on it fails by it
    window = rec.take_window()
    assert window.errors == {("closed_by_peer", "1006"): 1}
    assert window.outcomes[(names.WS_REPLY, "x")].failed == 1


def test_a_scenario_exception_is_counted_once_however_many_layers_see_it():
    rec = Recorder()
    exc = ValueError("bad")
    timer = rec.begin(names.USER_TIMER, "block")
    rec.fail(timer, exc)  # the timer around it saw it first
    rec.iteration_ended("behaviour", 10, exc)  # then the iteration it escaped
    window = rec.take_window()
    assert window.errors == {("scenario_exception", "ValueError"): 1}
    assert window.outcomes[(names.ITERATION, "behaviour")].failed == 1
    assert window.outcomes[(names.USER_TIMER, "block")].failures == {
        ("scenario_exception", "ValueError"): 1}
