"""compare(): which differences are regressions, as a table of cases."""

import pytest

from horde.store.compare import Tolerance, compare, parse_tolerance


def _results(p95: float = 10.0, rate: float = 100.0, errors: int = 0, count: int = 1000,
             attempted: int = 10, succeeded: int = 10) -> dict:
    return {
        "requests": {"total": count, "rate_per_s": rate},
        "messages": {"received": 0, "received_per_s": 0.0},
        "connections": {"attempted": attempted, "succeeded": succeeded,
                        "success_rate": succeeded / attempted},
        "errors_total": errors,
        "metrics": {"http_req:delay": {"metric": "http_req", "name": "delay", "count": count,
                                       "rate_per_s": rate, "p50_ms": p95 / 2, "p95_ms": p95,
                                       "p99_ms": p95 * 1.2}},
    }


def _verdicts(a: dict, b: dict, **tol) -> dict[str, str]:
    return {d.name: d.verdict for d in compare(a, b, Tolerance(**tol)).deltas}


@pytest.mark.parametrize(
    ("b", "figure", "verdict"),
    [
        (_results(p95=10.5), "http_req:delay p95", "same"),        # +5% < 10%
        (_results(p95=12.0), "http_req:delay p95", "regression"),  # +20%
        (_results(p95=8.0), "http_req:delay p95", "better"),
        (_results(rate=85.0), "throughput", "regression"),         # -15%
        (_results(rate=85.0), "http_req:delay rate", "regression"),
        (_results(rate=120.0), "throughput", "better"),
        (_results(errors=1), "error rate", "same"),                # 0 → 0.1%: under the floor
        (_results(errors=30), "error rate", "regression"),         # 0 → 3%
        (_results(succeeded=8), "connect success", "regression"),
    ],
)
def test_worse_beyond_the_tolerance_is_a_regression(b: dict, figure: str, verdict: str) -> None:
    assert _verdicts(_results(), b)[figure] == verdict


def test_sub_millisecond_latency_moves_are_noise_below_the_floor() -> None:
    a, b = _results(p95=0.3), _results(p95=0.9)  # +200%, but only 0.6 ms
    assert _verdicts(a, b)["http_req:delay p95"] == "same"
    assert _verdicts(a, b, latency_floor_ms=0.1)["http_req:delay p95"] == "regression"


def test_a_metric_with_few_samples_is_shown_but_never_flagged() -> None:
    verdicts = _verdicts(_results(count=5), _results(p95=50.0, count=5))
    assert verdicts["http_req:delay p95"] == "few samples"


def test_the_tolerance_and_the_metric_patterns_choose() -> None:
    a, b = _results(), _results(p95=12.0)
    assert compare(a, b, Tolerance(relative=0.5)).regressions == []
    picked = compare(a, b, patterns=["* p95", "throughput"])
    assert [d.name for d in picked.deltas] == ["throughput", "http_req:delay p95"]
    assert [d.name for d in compare(a, b, patterns=["http_req:delay"]).deltas] == [
        "http_req:delay p50", "http_req:delay p95", "http_req:delay p99", "http_req:delay rate"]


def test_metrics_in_only_one_run_are_left_out() -> None:
    b = _results()
    b["metrics"] = {"ws_reply:x": {**b["metrics"]["http_req:delay"], "metric": "ws_reply"}}
    assert not [d for d in compare(_results(), b).deltas if ":" in d.name]


@pytest.mark.parametrize(("text", "value"), [("10%", 0.1), ("10", 0.1), ("0.1", 0.1),
                                              ("2.5%", 0.025), ("0", 0.0)])
def test_tolerance_is_a_percent_or_a_fraction(text: str, value: float) -> None:
    assert parse_tolerance(text) == pytest.approx(value)


@pytest.mark.parametrize("text", ["ten", "-5%", ""])
def test_a_bad_tolerance_is_refused(text: str) -> None:
    with pytest.raises(ValueError):
        parse_tolerance(text)
