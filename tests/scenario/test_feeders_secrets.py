"""Feeders hand out rows as promised; secrets never reach results."""

import json
import random

import pytest

from horde.config.model import RunConfig
from horde.engine.runner import run
from horde.errors import ConfigError, FeederExhaustedError, ScenarioError
from horde.redaction import redact, secret
from horde.scenario.feeders import Feeder
from horde.scenario.loader import load_scenario


@pytest.fixture
def accounts(tmp_path):
    path = tmp_path / "accounts.csv"
    path.write_text("name,password\nann,a1\nbob,b2\ncid,c3\n")
    return path


def test_sequential_cycles_in_file_order(accounts):
    feeder = Feeder(accounts)
    assert [feeder.next()["name"] for _ in range(5)] == ["ann", "bob", "cid", "ann", "bob"]


def test_unique_hands_each_row_out_once(accounts):
    feeder = Feeder(accounts, order="unique")
    assert {feeder.next()["name"] for _ in range(3)} == {"ann", "bob", "cid"}
    with pytest.raises(FeederExhaustedError, match="all 3 rows handed out"):
        feeder.next()


def test_random_uses_the_users_generator(tmp_path):
    path = tmp_path / "questions.json"
    path.write_text(json.dumps([{"q": i} for i in range(50)]))
    feeder = Feeder(path, order="random")

    class User:
        rng = random.Random(4)

    first = [feeder.next(User)["q"] for _ in range(10)]
    User.rng = random.Random(4)
    assert [feeder.next(User)["q"] for _ in range(10)] == first
    assert len(set(first)) > 1


@pytest.mark.parametrize(
    ("content", "name", "message"),
    [(None, "missing.csv", "feeder file not found"), ("[]", "empty.json", "non-empty list"),
     ("{oops", "bad.json", "cannot read feeder rows")],
)
def test_bad_feeder_files(tmp_path, content, name, message):
    path = tmp_path / name
    if content is not None:
        path.write_text(content)
    with pytest.raises(ScenarioError, match=message):
        Feeder(path)


def test_a_scenario_with_a_missing_feeder_names_its_line(write_scenario):
    path = write_scenario("import horde\n\nROWS = horde.Feeder('nope.csv')\n")
    with pytest.raises(ScenarioError, match=r"scenario.py:3: ScenarioError: nope.csv: feeder file not found"):
        load_scenario(path)


def test_secret_reads_the_environment(monkeypatch):
    monkeypatch.setenv("HORDE_TEST_SECRET", "hunter2-xyz")
    assert secret("HORDE_TEST_SECRET") == "hunter2-xyz"
    assert redact("login failed for password hunter2-xyz") == "login failed for password ***"
    monkeypatch.delenv("HORDE_TEST_SECRET")
    with pytest.raises(ConfigError, match="environment variable HORDE_TEST_SECRET is not set"):
        secret("HORDE_TEST_SECRET")


async def test_secrets_are_redacted_from_errors_in_results(write_scenario, monkeypatch):
    monkeypatch.setenv("HORDE_TEST_PASSWORD", "s3cret-value-42")
    path = write_scenario(
        """
        import horde
        PASSWORD = horde.secret("HORDE_TEST_PASSWORD")

        @horde.behaviour
        async def login(user):
            raise RuntimeError(f"login rejected with password {PASSWORD}")
        """
    )
    config = RunConfig(scenario=path, target="http://127.0.0.1:9", users=1, iterations=1,
                       progress=False)
    results = await run(config, load_scenario(path))
    text = json.dumps(results)
    assert "s3cret-value-42" not in text
    assert "login rejected with password ***" in text
