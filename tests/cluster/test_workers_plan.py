"""The plan split over workers: arrivals add up to the plan, ``--seed`` gives every user
the same random numbers however many workers run them, and one worker is today's single
process — Ray is not even imported."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from tests.support import horde_cli, read_results, reset_stats, server_stats

# Ray tests run apart, after the rest (`make test`): Ray's own start times out past 30 s
# on a machine as busy as a parallel suite makes it.
pytestmark = [pytest.mark.timeout(150), pytest.mark.ray]

DRAWS = """
import horde

@horde.setup
async def setup(ctx):
    ctx.user.count("setup")
    return {"salt": 7}

@horde.teardown
async def teardown(ctx, shared):
    ctx.user.count(f"teardown:{shared['salt']}")

@horde.behaviour
async def draw(user):
    user.count(f"draw:{user.id}:{user.rng.randint(0, 10**9) + user.shared['salt']}")
    await user.http.get("/echo", name="echo")
"""


def run(tmp_path: Path, url: str, name: str, *args: str) -> dict:
    path = tmp_path / "scenario.py"
    path.write_text(textwrap.dedent(DRAWS))
    out = tmp_path / name
    result = horde_cli("run", str(path), "--target", url, "--quiet", "--no-history",
                       "--out", str(out), *args, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    return read_results(out)


def draws(results: dict) -> set[str]:
    return {k for k in results["counters"] if k.startswith("custom:draw:")}


def test_seeded_users_draw_the_same_numbers_on_one_worker_or_two(tmp_path, echo_server):
    common = ("--users", "6", "--iterations", "3", "--seed", "42")
    one = run(tmp_path, echo_server, "one", *common)
    two = run(tmp_path, echo_server, "two", *common, "--workers", "2")
    assert len(draws(one)) == 18  # 6 users × 3 draws, each user with its own generator
    assert draws(one) == draws(two)  # user ids and seeds are the run's, not the worker's
    for results in (one, two):  # @setup once, its value on every worker, @teardown once
        assert results["config"]["seed"] == 42  # to run it again the same way
        assert results["counters"]["custom:setup"] == 1
        assert results["counters"]["custom:teardown:7"] == 1


def test_arrivals_on_two_workers_add_up_to_the_plan(tmp_path, echo_server):
    reset_stats(echo_server)
    results = run(tmp_path, echo_server, "open", "--shape",
                  "arrival-rate(rate=20, duration=3s)", "--iterations", "1", "--workers", "2")
    server = server_stats(echo_server)
    assert results["load"]["sessions"]["started"] == 60 == server["http_requests"]
    assert results["metrics"]["http_req:echo"]["count"] == 60
    assert len(draws(results)) == 60  # every arrival a different user of the run


def test_one_worker_is_the_single_process_run_without_ray(write_scenario, echo_server):
    path = write_scenario(DRAWS)
    script = textwrap.dedent(f"""
        import sys
        from horde.cli import main
        code = main(["run", {str(path)!r}, "--target", {echo_server!r}, "--users", "2",
                     "--iterations", "1", "--workers", "1", "--quiet", "--no-history"])
        print(code, "ray" in sys.modules)
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         timeout=60)
    assert out.stdout.split()[-2:] == ["0", "False"], out.stderr[-2000:]


def test_workers_without_ray_installed_is_one_line_and_exit_2_before_any_load(write_scenario,
                                                                              echo_server):
    path = write_scenario(DRAWS)
    script = textwrap.dedent(f"""
        import sys
        sys.modules["ray"] = None  # as if 'horde[cluster]' were not installed
        from horde.cli import main
        sys.exit(main(["run", {str(path)!r}, "--target", {echo_server!r}, "--users", "2",
                       "--workers", "2", "--quiet", "--no-history"]))
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 2
    assert out.stderr.strip().splitlines()[-1] == (
        "horde: error: more than one worker needs Ray: pip install 'horde[cluster]' "
        "(from a checkout: pip install '.[cluster]')")


def test_a_cluster_that_cannot_be_joined_is_one_line_and_exit_2_before_anything_starts(
        tmp_path, echo_server):
    path = tmp_path / "scenario.py"
    path.write_text(textwrap.dedent(DRAWS))
    history = tmp_path / "runs.sqlite"
    out = horde_cli("run", str(path), "--target", echo_server, "--users", "2", "--quiet",
                    "--history", str(history), "--cluster", "127.0.0.1:9",
                    "--out", str(tmp_path / "o"), timeout=120)
    assert out.returncode == 2, out.stderr[-2000:]
    assert out.stdout == ""
    assert out.stderr.strip().splitlines() == [
        "horde: error: --cluster 127.0.0.1:9: cannot join the Ray cluster: Connection refused"]
    assert not (tmp_path / "o" / "results.json").exists()  # nothing ran: no @setup, no run
    assert not history.exists()


def test_a_programs_own_ray_is_never_stopped_by_horde(write_scenario, echo_server):
    """A program that started Ray itself keeps it: too small for the workers is one
    ConfigError (before, horde shut the program's Ray down and started its own), and
    horde stops at exit only an instance it started."""
    path = write_scenario(DRAWS)
    script = textwrap.dedent(f"""
        import asyncio, logging
        from pathlib import Path
        import ray
        import horde
        from horde.config.model import RunConfig
        from horde.scenario.loader import load_scenario

        ray.init(address="local", num_cpus=1, include_dashboard=False,
                 logging_level=logging.ERROR)
        mine = ray.get_runtime_context().get_session_name()
        config = RunConfig(scenario=Path({str(path)!r}), target={echo_server!r}, users=2,
                           iterations=1, workers=2, progress=False)
        try:
            asyncio.run(horde.run(config, load_scenario(config.scenario)))
        except horde.ConfigError as exc:
            print("REFUSED", exc)
        print("KEPT", ray.is_initialized() and
              ray.get_runtime_context().get_session_name() == mine)
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "REFUSED --workers 2: this program's own Ray has 1 CPUs" in out.stdout, out.stdout
    assert "KEPT True" in out.stdout
