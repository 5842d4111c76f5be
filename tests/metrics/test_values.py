"""Values: what a scenario records that is not a time, with its unit and direction."""

import math

import pytest

from horde.metrics.aggregator import Aggregator
from horde.metrics.recorder import Recorder
from horde.metrics.values import ValueSpec, scaled, spec_for, summarize_value
from horde.report.model import checked
from horde.store.compare import Tolerance, compare

TOKENS = ValueSpec("tokens/s", "higher")


def test_values_merge_exactly_into_seconds_and_the_run() -> None:
    recorder = Recorder()
    aggregator = Aggregator(recorder)
    for v in (10.0, 20.0, 30.0):
        recorder.value("tokens_per_s", v, TOKENS)
    first = aggregator.tick(1.0)
    for v in (40.0, 50.5):
        recorder.value("tokens_per_s", v, TOKENS)
    second = aggregator.tick(2.0)
    assert first["values"] == {"tokens_per_s": {"count": 3, "p50": 20.0, "mean": 20.0,
                                                "unit": "tokens/s", "better": "higher"}}
    assert second["values"]["tokens_per_s"]["count"] == 2
    run = summarize_value(aggregator.totals.values["tokens_per_s"], TOKENS)
    assert run["count"] == 5 and run["unit"] == "tokens/s" and run["better"] == "higher"
    assert run["min"] == 10.0 and run["p50"] == 30.0
    assert run["max"] == pytest.approx(50.5, rel=1e-3)  # 3 significant digits
    assert run["mean"] == pytest.approx(30.1, rel=1e-3)


def test_zero_and_fractions_keep_three_decimals() -> None:
    recorder = Recorder()
    aggregator = Aggregator(recorder)
    spec = ValueSpec("ratio")
    for v in (0.0, 0.125, 0.5):
        recorder.value("hit_ratio", v, spec)
    aggregator.tick(1.0)
    run = summarize_value(aggregator.totals.values["hit_ratio"], spec)
    assert (run["min"], run["p50"], run["max"]) == (0.0, 0.125, 0.5)


@pytest.mark.parametrize("bad", [-1.0, math.nan, math.inf, "12", True, None])
def test_a_value_that_cannot_be_recorded_is_refused(bad: object) -> None:
    with pytest.raises(ValueError, match="recorded value must"):
        scaled(bad)  # type: ignore[arg-type]


@pytest.mark.parametrize(("unit", "better"), [("", None), ("x" * 21, None),
                                              ("tokens", "up"), ("tokens", "Higher")])
def test_a_bad_unit_or_direction_is_refused(unit: str, better: str | None) -> None:
    with pytest.raises(ValueError):
        spec_for(unit, better)


def test_one_name_keeps_one_unit_and_direction() -> None:
    recorder = Recorder()
    recorder.value("size", 1.0, ValueSpec("bytes", "lower"))
    recorder.value("size", 2.0, ValueSpec("bytes", "lower"))
    with pytest.raises(ValueError, match="one unit and direction per name"):
        recorder.value("size", 3.0, ValueSpec("KiB", "lower"))


def _run(medians: list[float], better: str | None) -> dict:
    """A results dict whose value ``tokens_per_s`` had these per-second medians."""
    rows = [{"t": float(i + 1), "operations": 10, "failed": 0, "messages": 0, "metrics": {},
             "values": {"tokens_per_s": {"count": 10, "p50": m, "mean": m}}}
            for i, m in enumerate(medians)]
    mid = sorted(medians)[len(medians) // 2]
    return {"scenario": "llm", "operations": {"finished": 100, "failed": 0, "error_rate": 0.0,
                                              "rate_per_s": 10.0},
            "messages": {"received": 0}, "connections": {}, "errors_total": 0, "metrics": {},
            "values": {"tokens_per_s": {"unit": "tokens/s", "better": better, "count": 100,
                                        "p50": mid}},
            "timeseries": rows}


def _seconds(level: float) -> list[float]:
    return [level * (1 + 0.01 * ((i * 3) % 5 - 2)) for i in range(12)]


@pytest.mark.parametrize(
    ("better", "a", "b", "verdict"),
    [
        ("higher", 94.0, 75.0, "regression"),  # fewer tokens per second: worse
        ("higher", 75.0, 94.0, "better"),
        ("lower", 94.0, 75.0, "better"),
        ("lower", 75.0, 94.0, "regression"),
        (None, 94.0, 75.0, "changed"),  # no direction: shown, never a regression
        ("higher", 94.0, 91.5, "same"),  # -2.7 %: within the least meaningful effect
    ],
)
def test_compare_judges_a_value_in_its_declared_direction(
        better: str | None, a: float, b: float, verdict: str) -> None:
    deltas = {d.name: d for d in compare(_run(_seconds(a), better), _run(_seconds(b), better),
                                         Tolerance()).deltas}
    found = deltas["tokens_per_s p50"]
    assert found.verdict == verdict
    assert found.unit == "tokens/s"


def test_results_carry_values_through_the_typed_model() -> None:
    results = _run(_seconds(90.0), "higher")
    minimal = {"horde_version": "x", "scenario": "s", "target": "t", "started_at": "now",
               "duration_s": 1.0, "status": "completed", "passed": True,
               "verdict": {"passed": True, "reason": "r"},
               "values": results["values"], "timeseries": results["timeseries"]}
    out = checked(minimal)
    assert out["values"]["tokens_per_s"]["better"] == "higher"
    assert out["timeseries"][0]["values"]["tokens_per_s"]["count"] == 10
