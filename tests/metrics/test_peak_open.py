"""connections.peak_open is exact, not sampled: a run shorter than a second said 0."""

from horde.metrics import names
from horde.metrics.aggregator import Aggregator
from horde.metrics.recorder import Recorder
from horde.report.results import build_results


def test_peak_open_counts_connections_open_at_once_between_ticks() -> None:
    recorder = Recorder()
    for _ in range(3):
        recorder.connect_succeeded(recorder.connect_begin(names.WS_CONNECT))
    for _ in range(3):
        recorder.connection_closed(dropped=False)
    recorder.connect_succeeded(recorder.connect_begin(names.WS_CONNECT))
    aggregator = Aggregator(recorder)
    aggregator.tick(0.5, {})  # the only row: one connection open
    results = build_results(aggregator, run={"duration_s": 0.5}, generator={})
    assert results["connections"]["peak_open"] == 3


def test_a_connect_pending_at_the_end_is_unfinished_not_forgotten() -> None:
    recorder = Recorder()
    recorder.connect_abandoned(recorder.connect_begin(names.WS_CONNECT))
    aggregator = Aggregator(recorder)
    aggregator.tick(4.0, {})
    results = build_results(aggregator, run={"duration_s": 4.0}, generator={})
    assert results["connections"].items() >= {"attempted": 1, "unfinished": 1,
                                              "succeeded": 0}.items()
    assert results["connections"]["success_rate"] is None
    ops = results["operations"]
    assert (ops["finished"], ops["unfinished"], ops["error_rate"]) == (0, 1, None)
    assert results["metrics"]["ws_connect"]["unfinished"] == 1
