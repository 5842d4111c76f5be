"""compare(): which differences are regressions, as a table of cases on per-second rows."""

import pytest

from horde.store.compare import Tolerance, compare, parse_confidence, parse_tolerance
from horde.store.seconds import row_operations, run_operations
from horde.store.tables import compare_verdict

LABEL = "http_req:delay"


def _spread(value: float, i: int) -> float:
    """Second ``i``'s value: within ±4 % of ``value``, as steady seconds are."""
    return value * (1 + 0.02 * ((i * 3) % 5 - 2))


def _results(p95: float = 10.0, per_second: int = 100, seconds: int = 10, failed: int = 0,
             attempted: int = 100, succeeded: int = 100, whole_p95: float | None = None,
             slow_second: float = 1.0) -> dict:
    """A run of ``seconds`` rows; the last second's p95 is ``slow_second`` times slower."""
    rows = []
    for i in range(seconds):
        p = _spread(p95, i) * (slow_second if i == seconds - 1 else 1.0)
        n = round(_spread(per_second, i + 1))
        rows.append({"t": float(i + 1), "operations": n, "failed": 0, "messages": 0,
                     "metrics": {LABEL: {"count": n, "p50_ms": p / 2, "p95_ms": p,
                                         "p99_ms": p * 1.2}}})
    total = sum(r["operations"] for r in rows)
    rate = total / seconds
    return {
        "scenario": "delay",
        "operations": {"finished": total, "failed": failed, "error_rate": failed / total,
                       "rate_per_s": rate},
        "requests": {"total": total, "rate_per_s": rate},  # its name before the rename
        "messages": {"received": 0, "received_per_s": 0.0},
        "connections": {"attempted": attempted, "succeeded": succeeded,
                        "failed": attempted - succeeded, "success_rate": succeeded / attempted},
        "errors_total": failed,
        "metrics": {LABEL: {"metric": "http_req", "name": "delay", "count": total,
                            "rate_per_s": rate, "p50_ms": p95 / 2,
                            "p95_ms": whole_p95 or p95, "p99_ms": p95 * 1.2}},
        "timeseries": rows,
    }


def _verdicts(a: dict, b: dict, **tol) -> dict[str, str]:
    return {d.name: d.verdict for d in compare(a, b, Tolerance(**tol)).deltas}


@pytest.mark.parametrize(
    ("b", "figure", "verdict"),
    [
        (_results(p95=10.5), f"{LABEL} p95", "same"),        # +5 %: real, but < 10 %
        (_results(p95=12.0), f"{LABEL} p95", "regression"),  # +20 % every second
        (_results(p95=8.0), f"{LABEL} p95", "better"),
        (_results(per_second=85), "throughput", "regression"),  # -15 %
        (_results(per_second=85), f"{LABEL} rate", "regression"),
        (_results(per_second=120), "throughput", "better"),
        (_results(failed=1), "error rate", "same"),            # 0 → 0.1 %: under the floor
        (_results(failed=30), "error rate", "regression"),     # 0 → 3 % of ~1,000
        (_results(succeeded=80), "connect success", "regression"),  # 100 % → 80 % of 100
    ],
)
def test_worse_beyond_the_tolerance_and_the_noise_is_a_regression(
    b: dict, figure: str, verdict: str
) -> None:
    assert _verdicts(_results(), b)[figure] == verdict


def test_one_slow_second_moves_the_whole_run_p95_but_is_not_a_regression() -> None:
    """The issue: 6.6 → 7.8 ms p95 (+18 %) between two runs of one build, because one
    second of B was slow. Its other nine seconds are A's: noise, not a regression."""
    a = _results(p95=6.6)
    b = _results(p95=6.6, whole_p95=7.8, slow_second=4.0)
    delta = next(d for d in compare(a, b).deltas if d.name == f"{LABEL} p95")
    assert (delta.a, delta.b) == (6.6, 7.8)  # the table still shows the whole-run figures
    assert delta.verdict == "same"
    assert delta.p_value > 0.01


def test_error_rates_too_close_to_tell_apart_are_the_same() -> None:
    """2 failed connects of 10 against none of 10 could be chance (p ≈ 0.07)."""
    a, b = _results(attempted=10, succeeded=10), _results(attempted=10, succeeded=8)
    delta = next(d for d in compare(a, b).deltas if d.name == "connect success")
    assert delta.verdict == "same"
    assert 0.05 < delta.p_value < 0.1


def test_sub_millisecond_latency_moves_are_noise_below_the_floor() -> None:
    a, b = _results(p95=0.3), _results(p95=0.9)  # +200 %, but only 0.6 ms
    assert _verdicts(a, b)[f"{LABEL} p95"] == "same"
    assert _verdicts(a, b, latency_floor_ms=0.1)[f"{LABEL} p95"] == "regression"


def test_too_few_seconds_is_few_samples_never_a_regression() -> None:
    comparison = compare(_results(seconds=4), _results(p95=50.0, per_second=10, seconds=4))
    assert comparison.regressions == []
    few = [d.name for d in comparison.deltas if (d.verdict, d.p_value) == ("few samples", None)]
    assert few == ["throughput", f"{LABEL} p50", f"{LABEL} p95", f"{LABEL} p99", f"{LABEL} rate"]
    assert "no regression" in compare_verdict(comparison)
    assert "; 5 figures not judged: too few samples" in compare_verdict(comparison)


def test_seconds_with_too_few_samples_do_not_count() -> None:
    """Three requests a second: their p95 is no p95. Throughput is still judged."""
    a, b = _results(per_second=3), _results(p95=50.0, per_second=3)
    verdicts = _verdicts(a, b)
    assert verdicts[f"{LABEL} p95"] == "few samples"
    assert verdicts["throughput"] == "same"
    assert _verdicts(a, b, min_count=2)[f"{LABEL} p95"] == "regression"


def test_the_confidence_decides_how_consistent_a_change_must_be() -> None:
    """Five seconds each; one of B's is as fast as some of A's: p ≈ 0.02."""
    a, b = _results(seconds=5), _results(p95=12.0, seconds=5)
    b["timeseries"][0]["metrics"][LABEL]["p95_ms"] = 10.1  # A: 9.6 to 10.4
    delta = next(d for d in compare(a, b).deltas if d.name == f"{LABEL} p95")
    assert delta.verdict == "same" and 0.01 < delta.p_value < 0.05
    assert _verdicts(a, b, confidence=0.95)[f"{LABEL} p95"] == "regression"


def test_rows_and_results_from_before_the_operations_rename_are_read() -> None:
    old_row = {"t": 1.0, "requests": 42}
    assert row_operations(old_row) == 42
    assert row_operations({"t": 1.0, "operations": 7, "requests": 42}) == 7
    old = {"requests": {"total": 990}, "connections": {"attempted": 10}, "errors_total": 5}
    assert run_operations(old) == (5, 1000)
    assert run_operations({"operations": {"finished": 80, "failed": 2}}) == (2, 80)
    a, b = _results(), _results(per_second=50)
    for results in (a, b):
        for row in results["timeseries"]:
            row["requests"] = row.pop("operations")
    assert _verdicts(a, b)["throughput"] == "regression"


def test_the_tolerance_and_the_metric_patterns_choose() -> None:
    a, b = _results(), _results(p95=12.0)
    assert compare(a, b, Tolerance(relative=0.5)).regressions == []
    picked = compare(a, b, patterns=["* p95", "throughput"])
    assert [d.name for d in picked.deltas] == ["throughput", f"{LABEL} p95"]
    assert [d.name for d in compare(a, b, patterns=[LABEL]).deltas] == [
        f"{LABEL} p50", f"{LABEL} p95", f"{LABEL} p99", f"{LABEL} rate"]


def test_metrics_in_only_one_run_are_left_out() -> None:
    b = _results()
    b["metrics"] = {"ws_reply:x": {**b["metrics"][LABEL], "metric": "ws_reply"}}
    assert not [d for d in compare(_results(), b).deltas if ":" in d.name]


def test_the_verdict_line_says_the_rule() -> None:
    clean = compare_verdict(compare(_results(), _results()))
    assert "no regression" in clean and "beyond 10% at 99% confidence" in clean
    worse = compare_verdict(compare(_results(), _results(p95=20.0), Tolerance(0.25)))
    assert "beyond 25% at 99% confidence:" in worse and f"{LABEL} p95" in worse


@pytest.mark.parametrize(("text", "value"), [("10%", 0.1), ("10", 0.1), ("0.1", 0.1),
                                              ("2.5%", 0.025), ("0", 0.0)])
def test_tolerance_is_a_percent_or_a_fraction(text: str, value: float) -> None:
    assert parse_tolerance(text) == pytest.approx(value)


@pytest.mark.parametrize("text", ["ten", "-5%", ""])
def test_a_bad_tolerance_is_refused(text: str) -> None:
    with pytest.raises(ValueError):
        parse_tolerance(text)


@pytest.mark.parametrize(("text", "value"), [("99%", 0.99), ("95", 0.95), ("0.999", 0.999),
                                              ("99.9%", 0.999)])
def test_confidence_is_a_percent_or_a_fraction(text: str, value: float) -> None:
    assert parse_confidence(text) == pytest.approx(value)


@pytest.mark.parametrize("text", ["100%", "40%", "1", "sure"])
def test_a_bad_confidence_is_refused(text: str) -> None:
    with pytest.raises(ValueError):
        parse_confidence(text)
