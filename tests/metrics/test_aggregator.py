from horde.errors import ClosedByPeer
from horde.metrics import names
from horde.metrics.aggregator import Aggregator
from horde.metrics.recorder import Recorder


def test_windows_fold_into_exact_totals_and_rows():
    rec = Recorder()
    agg = Aggregator(rec)
    for ms in (1, 2, 3):
        rec.latency(names.WS_REPLY, "echo", ms * 1000)
    rec.count(names.WS_MSG_IN, "pong", 3)
    rec.add_bytes(sent=100, received=300)
    rec.request_started()
    rec.request_started()
    rec.request_finished()
    row1 = agg.tick(1.0)
    rec.latency(names.WS_REPLY, "echo", 4000)
    rec.latency(names.HTTP_REQ, "/x", 8000)
    rec.target_error(ClosedByPeer("bye", code=1011))
    row2 = agg.tick(2.0)

    assert row1["requests"] == 3 and row1["messages"] == 3 and row1["peak_in_flight"] == 2
    assert row1["p50_ms"] == 2.0 and row1["bytes_sent"] == 100
    assert row2["requests"] == 2 and row2["errors"] == 1 and row2["in_flight"] == 1
    assert row2["metrics"]["http_req:/x"]["count"] == 1
    totals = agg.totals
    assert totals.latencies[(names.WS_REPLY, "echo")].get_total_count() == 4
    assert totals.errors == {("closed_by_peer", "1011"): 1}
    assert totals.bytes_received == 300


def test_a_target_error_is_counted_once():
    rec = Recorder()
    exc = ClosedByPeer("x", code=1001)
    rec.target_error(exc)
    rec.target_error(exc)
    assert rec.take_window().errors == {("closed_by_peer", "1001"): 1}
