"""Config files: every mistake reported at once, with file, key and what is allowed."""

import textwrap

import pytest

from horde.config.load import read_config_file
from horde.errors import ConfigError


def write(tmp_path, text, name="load.yaml"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def test_yaml_settings_in_run_config_terms(tmp_path):
    path = write(
        tmp_path,
        """
        scenario: chsh.py
        target: http://127.0.0.1:8080
        users: 200
        spawn_rate: 10
        duration: 5m
        timeout: 2s
        shape: ramp(to=200, over=20s)
        out: results
        thresholds: ["p95(latency) < 100ms", "connections.success_rate > 0.95"]
        abort_on_fail: true
        circuit_breaker: 0.05
        quiet: true
        log_level: INFO
        params: {teams: 100, pattern: human_like}
        """,
    )
    values = read_config_file(path)
    assert values == {
        "scenario": tmp_path / "chsh.py", "target": "http://127.0.0.1:8080", "users": 200,
        "spawn_rate": 10.0, "duration_s": 300.0, "timeout_s": 2.0,
        "shape": "ramp(to=200, over=20s)", "out_dir": tmp_path / "results",
        "thresholds": ("p95(latency) < 100ms", "connections.success_rate > 0.95"),
        "abort_on_fail": True, "circuit_breaker": 0.05, "progress": False, "log_level": "INFO",
        "params": {"teams": 100, "pattern": "human_like"},
    }


def test_toml_works_too(tmp_path):
    path = write(tmp_path, 'target = "http://127.0.0.1:1"\nusers = 3\n', name="load.toml")
    assert read_config_file(path) == {"target": "http://127.0.0.1:1", "users": 3}


def test_every_problem_at_once(tmp_path):
    path = write(
        tmp_path,
        """
        target: ftp://nowhere
        users: 0
        duration: soon
        shape: zigzag
        thresholds: ["p95(latency) <"]
        colour: blue
        """,
    )
    with pytest.raises(ConfigError) as info:
        read_config_file(path)
    lines = str(info.value).splitlines()
    assert lines[0] == f"{path}: 6 problems"
    assert f"  {path}: target: bad target URL 'ftp://nowhere': expected http://, https://, ws:// or wss:// and a host" in lines
    assert f"  {path}: users: Input should be greater than or equal to 1" in lines
    assert f"  {path}: duration: bad duration 'soon': use e.g. 30s, 250ms, 5m, 1h30m" in lines
    assert any(line.startswith(f"  {path}: shape: unknown shape 'zigzag'") for line in lines)
    assert any(line.startswith(f"  {path}: thresholds: bad threshold") for line in lines)
    assert any(line.startswith(f"  {path}: colour: unknown key (allowed: scenario, target,") for line in lines)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("users: [1, 2\n", "not valid YAML"),
        ("- a\n- b\n", "expected a mapping of settings"),
        ("users: many\n", "users: Input should be a valid integer"),
    ],
)
def test_one_problem_is_one_line(tmp_path, text, message):
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        read_config_file(path)
    assert "\n" not in str(info.value)
    assert str(info.value).startswith(f"{path}: ") and message in str(info.value)


def test_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="config file not found"):
        read_config_file(tmp_path / "nope.yaml")


def test_a_higher_layer_that_sets_users_drops_an_inherited_shape_and_vice_versa():
    from horde.config.load import layer_values

    options = {"shape": "ramp(to=14, over=40s)", "params": {"a": 1}}
    flags = {"users": 3, "params": {"b": 2}}
    assert layer_values(options, {}, flags) == {"users": 3, "params": {"a": 1, "b": 2}}
    assert layer_values({"users": 5, "connect": "immediate"}, {"shape": "ramp(to=2, over=1s)"}) == {
        "shape": "ramp(to=2, over=1s)"
    }
    assert layer_values({"users": 5, "duration_s": 9.0}, {"users": 2}) == {
        "users": 2, "duration_s": 9.0
    }
