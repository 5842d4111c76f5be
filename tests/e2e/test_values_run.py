"""Values a scenario records (not times) through a real run: results, summary, report,
thresholds and ``horde compare``, each reading the declared unit and direction."""

import re
from pathlib import Path

import pytest
from tests.support import horde_cli, read_results

# one xdist worker runs the whole module, so its module fixture (two runs) runs once
pytestmark = pytest.mark.xdist_group("values_run")

SCENARIO = """
import horde

NAME = "llm-like"


class Params(horde.Params):
    tokens_per_s: float = 90.0


@horde.behaviour
async def answer(user):
    await user.http.get("/delay/20", name="answer")
    level = user.params.tokens_per_s
    user.record("tokens_per_s", level * user.rng.uniform(0.98, 1.02), unit="tokens/s",
                better="higher")
    user.record("answer_tokens", 120, unit="tokens")
    user.record("server_ms", 12.5)  # a time: a timer operation, not a value
"""


def _run(scenario: Path, url: str, history: Path, out: Path, level: float,
         *flags: str) -> tuple[int, str]:
    result = horde_cli(
        "run", str(scenario), "--target", url, "--users", "4", "--duration", "7s",
        "--history", str(history), "--out", str(out), "--param", f"tokens_per_s={level}",
        "--format", "json,html", *flags)
    return result.returncode, result.stdout


@pytest.fixture(scope="module")
def two_runs(echo_server, tmp_path_factory) -> tuple[Path, Path, str]:
    """Run 1 at ~90 tokens/s, run 2 at ~60: the same build, a slower model."""
    tmp = tmp_path_factory.mktemp("values-e2e")
    scenario = tmp / "llm.py"
    scenario.write_text(SCENARIO)
    history = tmp / "runs.sqlite"
    code, stdout = _run(scenario, echo_server, history, tmp / "out1", 90.0,
                        "--threshold", "values.tokens_per_s.p50 > 80")
    assert code == 0, stdout
    code2, _ = _run(scenario, echo_server, history, tmp / "out2", 60.0,
                    "--threshold", "values.tokens_per_s.p50 > 80")
    assert code2 == 1  # the threshold on the value decides
    return history, tmp, stdout


def test_values_are_their_own_section_in_their_unit(two_runs) -> None:
    _, tmp, _ = two_runs
    results = read_results(tmp / "out1")
    tokens = results["values"]["tokens_per_s"]
    assert tokens["unit"] == "tokens/s" and tokens["better"] == "higher"
    assert tokens["count"] == results["iterations"]["completed"] > 20
    assert 86 <= tokens["p50"] <= 94 and tokens["min"] >= 86 and tokens["max"] <= 94
    assert results["values"]["answer_tokens"] == {
        "unit": "tokens", "better": None, "count": tokens["count"], "min": 120.0,
        "mean": 120.0, "p50": 120.0, "p90": 120.0, "p95": 120.0, "p99": 120.0, "max": 120.0}
    assert "timer:server_ms" in results["metrics"]  # a time stays a timing
    assert not any(k.startswith(("timer:tokens", "timer:answer")) for k in results["metrics"])
    assert any(row["values"].get("tokens_per_s", {}).get("count")
               for row in results["timeseries"])
    assert results["thresholds"][0]["passed"] is True


def test_the_summary_and_the_report_show_values_apart(two_runs) -> None:
    _, tmp, stdout = two_runs
    assert re.search(r"values", stdout) and "tokens/s" in stdout
    assert re.search(r"tokens_per_s\s*│\s*tokens/s\s*│\s*higher", stdout), stdout
    html = (tmp / "out1" / "report.html").read_text()
    assert 'id="chart-values"' in html and "<h2>Values</h2>" in html


def test_a_threshold_on_a_value_fails_the_slower_run(two_runs) -> None:
    _, tmp, _ = two_runs
    results = read_results(tmp / "out2")
    threshold = results["thresholds"][0]
    assert threshold["passed"] is False and 57 <= threshold["observed"] <= 63


def test_compare_calls_fewer_tokens_per_second_a_regression(two_runs) -> None:
    history, _, _ = two_runs
    result = horde_cli("compare", "1", "2", "--history", str(history))
    assert result.returncode == 1, result.stdout
    line = next(ln for ln in result.stdout.splitlines() if "tokens_per_s p50" in ln)
    assert "regression" in line
    reverse = horde_cli("compare", "2", "1", "--history", str(history), "--metric", "tokens_per_s*")
    line = next(ln for ln in reverse.stdout.splitlines() if "tokens_per_s p50" in ln)
    assert "better" in line and reverse.returncode == 0


def test_a_bad_value_figure_is_bad_input_before_any_load(write_scenario) -> None:
    result = horde_cli("run", str(write_scenario(SCENARIO)), "--target", "http://127.0.0.1:1",
                       "--threshold", "values.tokens_per_s.median > 5")
    assert result.returncode == 2
    assert "values.NAME.STAT" in result.stderr and len(result.stderr.strip().splitlines()) == 1
