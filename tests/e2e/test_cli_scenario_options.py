"""What the command line does with what a scenario declares: a scenario imports modules
beside it, ``--users`` with ``ROLES`` is said to be ignored, and ``horde plan`` plans the
shape in a scenario's ``OPTIONS``."""

from __future__ import annotations

from tests.support import horde_cli, read_results

HELPER = '''
def greeting(user_id):
    return f"hello {user_id}"
'''


def test_a_scenario_imports_a_module_beside_it(write_scenario, tmp_path):
    write_scenario(HELPER, name="helpers.py")
    path = write_scenario(
        """
        import horde
        from helpers import greeting

        @horde.behaviour
        async def work(user):
            from helpers import greeting as later  # a late import finds it too
            user.check(greeting(user.id) == later(user.id) == f"hello {user.id}", "greeted")
            user.record("greet", 1)  # a run that measures nothing fails
        """
    )
    out = tmp_path / "out"
    result = horde_cli("run", str(path), "--target", "http://127.0.0.1:9", "-u", "2",
                       "-i", "2", "-q", "--no-history", "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert read_results(out)["counters"]["checks_passed:greeted"] == 4


def test_users_given_with_roles_warns_in_one_line(write_scenario):
    path = write_scenario(
        """
        import horde
        ROLES = (horde.role("watcher", 3),)

        @horde.behaviour
        async def work(user):
            user.record("idle", 1)
        """
    )
    result = horde_cli("run", str(path), "--target", "http://127.0.0.1:9", "--users", "50",
                       "-i", "1", "-q", "--no-history")
    assert result.returncode == 0, result.stderr
    warnings = [line for line in result.stderr.splitlines() if "warning" in line]
    assert warnings == ["horde: warning: --users 50 is ignored: the scenario's ROLES start "
                        "exactly 3 users"]
    quiet = horde_cli("run", str(path), "--target", "http://127.0.0.1:9", "-i", "1", "-q",
                      "--no-history")
    assert "warning" not in quiet.stderr
    config = path.parent / "load.yaml"
    config.write_text("users: 40\n")
    from_file = horde_cli("run", str(path), "--target", "http://127.0.0.1:9", "-i", "1",
                          "-q", "--no-history", "--config", str(config))
    assert [line for line in from_file.stderr.splitlines() if "warning" in line] == [
        f"horde: warning: users: 40 in {config} is ignored: the scenario's ROLES start "
        "exactly 3 users"]


def test_plan_reads_the_shape_in_a_scenarios_options(write_scenario):
    path = write_scenario(
        """
        import horde
        OPTIONS = {"shape": "ramp(to=30, over=1m)"}

        @horde.behaviour
        async def work(user):
            pass
        """
    )
    result = horde_cli("plan", str(path))
    assert result.returncode == 0, result.stderr
    assert result.stdout == horde_cli("plan", "ramp(to=30, over=1m)").stdout
    assert "peak 30 users" in result.stdout

    bare = write_scenario("import horde\n@horde.behaviour\nasync def w(user):\n    pass\n",
                          name="bare.py")
    refused = horde_cli("plan", str(bare))
    assert refused.returncode == 2
    assert "no @horde.shape function and no 'shape' in its OPTIONS" in refused.stderr
