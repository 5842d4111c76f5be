"""Isolation: a token seen by a user it does not belong to is a failure, with an example."""

from __future__ import annotations

import time
import uuid

import pytest

from horde.coordination.hub import Hub
from horde.errors import ScenarioError
from horde.metrics.recorder import Recorder


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def hub(recorder: Recorder) -> Hub:
    return Hub(recorder)


def test_a_foreign_token_is_a_failure_and_an_own_token_is_not(hub, recorder):
    alice, bob = hub.isolation.view("user-1"), hub.isolation.view("user-2")
    alice.own("alice-secret-1")
    bob.own("bob-secret-2")
    assert alice.inspect({"to": "alice-secret-1", "text": "hello"}) == 0
    assert alice.inspect('{"room": "bob-secret-2", "text": "hi"}') == 1
    assert bob.inspect(b"nothing to see") == 0

    report = recorder.sections["isolation"]()
    assert report["tokens"] == 2 and report["inspected"] == 3 and report["failures"] == 1
    assert report["examples"] == [{
        "seen_by": "user-1", "owner": "user-2", "token": "bob-secret-2",
        "excerpt": '{"room": "bob-secret-2", "text": "hi"}',
    }]
    window = recorder.take_window()
    assert window.errors == {("isolation_failure", None): 1}
    assert recorder.error_examples["isolation_failure"].startswith(
        "user-1 saw user-2's token bob-secret-2"
    )


def test_tokens_are_whole_words(hub):
    hub.isolation.view("user-3").own("user-3")
    seen = hub.isolation.view("user-30")
    assert seen.inspect("from user-30 to user-300") == 0  # not a substring match
    assert seen.inspect("from user-3.") == 1


def test_each_foreign_token_counts_once_per_payload(hub):
    hub.isolation.view("a").own("tokenA")
    hub.isolation.view("b").own("tokenB")
    assert hub.isolation.view("c").inspect(["tokenA", "tokenA", "tokenB"]) == 2


def test_bad_tokens_are_the_scenarios_fault(hub):
    with pytest.raises(ScenarioError, match="must be a word"):
        hub.isolation.view("a").own("a b")
    hub.isolation.view("a").own("mine-123")
    with pytest.raises(ScenarioError, match="already owned by a"):
        hub.isolation.view("b").own("mine-123")


def test_forget_releases_a_users_tokens(hub, recorder):
    hub.isolation.view("a").own("tokenA")
    hub.forget("a")
    assert hub.isolation.view("b").inspect("tokenA") == 0
    assert recorder.sections["isolation"]()["tokens"] == 0


def test_scanning_does_not_grow_with_the_number_of_tokens(hub):
    """5,000 owners: scanning a 1 KB JSON payload stays well under a millisecond."""
    tokens = [uuid.uuid4().hex for _ in range(5000)]
    for i, token in enumerate(tokens):
        hub.isolation.view(f"user-{i}").own(token)
    payload = {"messages": [{"from": f"user-{i}", "text": "some chat text " * 4,
                             "id": uuid.uuid4().hex} for i in range(10)]}
    viewer = hub.isolation.view("user-0")
    start = time.perf_counter()
    for _ in range(200):
        assert viewer.inspect(payload) == 0
    per_scan = (time.perf_counter() - start) / 200
    assert per_scan < 0.001
    assert viewer.inspect({**payload, "leak": tokens[4321]}) == 1
