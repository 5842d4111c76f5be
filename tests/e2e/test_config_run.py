"""A run configured by a file, overridden by flags, with typed scenario parameters."""

import textwrap

from tests.support import horde_cli, read_results

SCENARIO = """
import horde

class Params(horde.Params):
    rounds: int = 1
    label: str = "x"

@horde.behaviour
async def play(user):
    for _ in range(user.params.rounds):
        user.count(user.params.label)
    user.record("played", 1)  # something measured: a run measuring nothing fails
"""


def test_file_then_flags_then_params(write_scenario, tmp_path):
    scenario = write_scenario(SCENARIO)
    config = tmp_path / "run.yaml"
    config.write_text(textwrap.dedent(f"""
        scenario: {scenario.name}
        target: http://127.0.0.1:1
        users: 3
        iterations: 2
        quiet: true
        out: out
        params: {{rounds: 5, label: file}}
    """))
    result = horde_cli("run", "--config", str(config), "--users", "2", "--param", "label=flag")
    assert result.returncode == 0, result.stderr
    results = read_results(tmp_path / "out")
    assert results["config"]["users"] == 2  # the flag won
    assert results["iterations"]["completed"] == 4
    assert results["counters"] == {
        "custom:flag": 2 * 2 * 5,  # 2 users x 2 iterations x rounds from the file
    }
    assert results["iterations"]["by_behaviour"] == {
        "play": {"completed": 4, "failed": 0, "unfinished": 0}}


def test_bad_params_are_bad_input(write_scenario):
    scenario = write_scenario(SCENARIO)
    result = horde_cli(
        "run", str(scenario), "--target", "http://127.0.0.1:1",
        "--param", "rounds=many", "--param", "colour=red",
    )
    assert result.returncode == 2
    line = result.stderr.strip()
    assert "\n" not in line
    assert line.startswith(f"horde: error: {scenario}: param rounds: Input should be a valid integer")
    assert "param colour: unknown parameter (declared: rounds, label)" in line


def test_params_on_a_scenario_without_any(write_scenario):
    scenario = write_scenario("import horde\n\n@horde.behaviour\nasync def a(user): ...\n")
    result = horde_cli(
        "run", str(scenario), "--target", "http://127.0.0.1:1", "--param", "teams=3"
    )
    assert result.returncode == 2
    assert "declares no parameters, but teams given" in result.stderr


def test_a_broken_config_file_lists_its_problems(tmp_path):
    config = tmp_path / "bad.yaml"
    config.write_text("users: 0\nduration: soon\n")
    result = horde_cli("run", "--config", str(config))
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        f"horde: error: {config}: 2 problems",
        f"  {config}: users: Input should be greater than or equal to 1",
        f"  {config}: duration: bad duration 'soon': use e.g. 30s, 250ms, 5m, 1h30m",
    ]


def test_scenario_options_are_defaults_under_the_file_and_the_flags(write_scenario, tmp_path):
    scenario = write_scenario(
        SCENARIO + '\nOPTIONS = {"users": 4, "iterations": 3, "params": {"rounds": 2, "label": "opt"}}\n'
    )
    config = tmp_path / "run.yaml"
    config.write_text(f"scenario: {scenario.name}\ntarget: http://127.0.0.1:1\nusers: 2\n")
    result = horde_cli(
        "run", "--config", str(config), "--param", "label=flag", "--out", str(tmp_path / "out"),
        "--quiet",
    )
    assert result.returncode == 0, result.stderr
    results = read_results(tmp_path / "out")
    assert results["config"]["users"] == 2 and results["config"]["iterations"] == 3
    assert results["counters"]["custom:flag"] == 2 * 3 * 2  # rounds=2 kept from OPTIONS


def test_bad_scenario_options_name_the_key(write_scenario):
    scenario = write_scenario(SCENARIO + '\nOPTIONS = {"users": 0, "speed": 3}\n')
    result = horde_cli("run", str(scenario), "--target", "http://127.0.0.1:1")
    assert result.returncode == 2
    assert "OPTIONS: 2 problems" in result.stderr
    assert "users: Input should be greater than or equal to 1" in result.stderr
    assert "speed: unknown key (allowed: scenario, target, users" in result.stderr
