"""connections.peak_open is exact, not sampled: a run shorter than a second said 0."""

from horde.metrics.aggregator import Aggregator
from horde.metrics.recorder import Recorder
from horde.report.results import build_results


def test_peak_open_counts_connections_open_at_once_between_ticks() -> None:
    recorder = Recorder()
    for _ in range(3):
        recorder.connect_attempted()
        recorder.connect_succeeded()
    for _ in range(3):
        recorder.connection_closed(dropped=False)
    recorder.connect_succeeded()
    aggregator = Aggregator(recorder)
    aggregator.tick(0.5, {})  # the only row: one connection open
    results = build_results(aggregator, run={"duration_s": 0.5}, generator={})
    assert results["connections"]["peak_open"] == 3
