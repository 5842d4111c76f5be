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


def test_a_shape_drops_the_duration_below_it_and_a_duration_above_a_shape_stays():
    """The users run's length is not the shape's: ``--shape`` over ``OPTIONS = {"users":
    10, "duration": "60s"}`` runs the whole shape; ``--duration`` over a shape ends it."""
    from horde.config.load import layer_values

    users_run = {"users": 10, "spawn_rate": 10.0, "duration_s": 60.0}
    assert layer_values(users_run, {}, {"shape": "ramp(to=2, over=90s)"}) == {
        "shape": "ramp(to=2, over=90s)"}
    assert layer_values({"shape": "ramp(to=2, over=90s)"}, {}, {"duration_s": 8.0}) == {
        "shape": "ramp(to=2, over=90s)", "duration_s": 8.0}
    assert layer_values({}, {"shape": "ramp(to=2, over=90s)", "duration_s": 30.0}) == {
        "shape": "ramp(to=2, over=90s)", "duration_s": 30.0}  # one place: it ends the shape


def test_every_key_of_a_config_file_reaches_the_run_config(tmp_path) -> None:
    """graceful_stop was parsed and then silently dropped (issue 11, item 9): each key
    FileConfig accepts must come out the other side."""
    from horde.config.load import FileConfig, read_config_file
    from horde.config.model import RunConfig

    config = tmp_path / "all.yaml"
    config.write_text(
        "scenario: s.py\ntarget: http://127.0.0.1:1\nusers: 3\nspawn_rate: 2\n"
        "duration: 5s\niterations: 4\nconnect: immediate\nout: out\ntimeout: 2s\n"
        "graceful_stop: 3s\nstop_timeout: 7s\non_error: restart\nseed: 1\nthresholds: ['errors.rate < 1%']\n"
        "abort_on_fail: true\nabort_grace: 1s\ncircuit_breaker: 0.5\nquiet: true\n"
        "log_level: INFO\nparams: {a: 1}\nmax_duration: 1h\nallow_hosts: 127.0.0.1\n"
        "deny_hosts: 10.0.0.0/8\ninsecure: true\nworkers: 2\ncluster: 127.0.0.1:6379\n"
        "on_worker_lost: continue\nlocal_ips: 127.0.0.2-127.0.0.4\n")
    values = read_config_file(config)
    run = RunConfig(**values)
    assert run.graceful_stop_s == 3.0 and run.on_error == "restart" and run.timeout_s == 2.0
    assert run.stop_timeout_s == 7.0
    assert (run.workers, run.cluster, run.on_worker_lost) == (2, "127.0.0.1:6379", "continue")
    assert run.local_ips == ("127.0.0.2-127.0.0.4",)
    file_keys = set(FileConfig.model_fields) - {"shape", "ca_bundle"}  # shape: not with users
    given = {line.split(":")[0] for line in config.read_text().splitlines()}
    assert file_keys == given  # the file above names every key
    mapped = {"duration": "duration_s", "timeout": "timeout_s", "abort_grace": "abort_grace_s",
              "max_duration": "max_duration_s", "graceful_stop": "graceful_stop_s",
              "stop_timeout": "stop_timeout_s",
              "out": "out_dir", "quiet": "progress"}
    assert {mapped.get(k, k) for k in file_keys} <= set(values)


@pytest.mark.parametrize("workers", ["0", "-1", "abc", "5000"])
def test_a_bad_worker_count_is_named_once_in_one_line(workers, tmp_path, capsys):
    from horde.cli import main

    scenario = tmp_path / "s.py"
    scenario.write_text("import horde\n\n@horde.behaviour\nasync def b(user):\n    pass\n")
    assert main(["run", str(scenario), "--target", "http://127.0.0.1:9",
                 "--workers", workers]) == 2
    assert capsys.readouterr().err.strip().splitlines() == [
        f"horde: error: workers: {workers}: give a number from 1 to 4096, or auto"]
