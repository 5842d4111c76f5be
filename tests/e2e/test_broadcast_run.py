"""A real fan-out: one user triggers Socket.IO broadcasts, every user's receipt is timed."""

from tests.support import reset_stats, server_stats

from horde.config.model import RunConfig
from horde.engine.runner import run
from horde.scenario.loader import load_scenario

USERS = 5

SCENARIO = f"""
import time
import uuid

import horde

@horde.on_start
async def join(user):
    sio = await user.socketio()
    user.broadcasts.subscribe("chat")
    user.broadcasts.subscribe("stamped")
    sio.on("broadcast", lambda data: user.broadcasts.received(
        data["topic"], data["key"], sent_at=data.get("at")))
    user.state.sio = sio
    # the first to arrive triggers; nobody starts before everyone is subscribed
    user.state.sender = user.events.signal("ready") == 1
    await user.events.wait("ready", count={USERS}, timeout=10)

@horde.behaviour
async def talk(user):
    if user.state.sender:
        key = uuid.uuid4().hex
        user.broadcasts.sent("chat", key)  # the trigger, timed here
        await user.state.sio.emit("broadcast", {{"topic": "chat", "key": key}})
        # no trigger recorded: timed from the timestamp in the message
        await user.state.sio.emit(
            "broadcast", {{"topic": "stamped", "key": key, "at": time.time()}})
    await user.think(0.1)
"""


async def test_every_subscriber_gets_every_broadcast_and_each_receipt_is_timed(
    write_scenario, echo_server
):
    path = write_scenario(SCENARIO)
    reset_stats(echo_server)
    config = RunConfig(
        scenario=path, target=echo_server, users=USERS, spawn_rate=100, duration_s=1.5,
        progress=False,
        thresholds=("broadcasts.chat.reach >= 1", "p95(broadcast{name=chat}) < 500ms"),
    )
    results = await run(config, load_scenario(path))

    assert results["errors_total"] == 0, results["error_examples"]
    emitted = server_stats(echo_server)["sio_events"]  # what the server broadcast
    chat, stamped = results["broadcasts"]["chat"], results["broadcasts"]["stamped"]
    assert chat["sent"] >= 5 and chat["sent"] + stamped["sent"] == emitted
    for topic in (chat, stamped):
        assert topic["reach"] == 1.0 and topic["min_reach"] == 1.0
        assert topic["complete"] == topic["sent"] and topic["open"] == 0
        assert topic["deliveries"] == topic["expected"] == topic["sent"] * USERS
        assert topic["duplicates"] == topic["unexpected"] == topic["late"] == 0
        assert topic["untimed"] == 0 and topic["missing"] == []
        assert 0 < topic["first_ms"]["p50"] <= topic["last_ms"]["p50"] < 200

    timed = results["metrics"]["broadcast:chat"]
    assert timed["count"] == chat["deliveries"]
    assert 0 < timed["min_ms"] <= timed["p50_ms"] < 100  # loopback: a few ms at most
    assert results["metrics"]["broadcast:stamped"]["count"] == stamped["deliveries"]
    assert [t["passed"] for t in results["thresholds"]] == [True, True]
    assert results["passed"] is True
