"""The deny list against real sockets: every transport refuses a denied host before any
packet reaches it, redirects included; the blocked attempts are counted as
``blocked_host`` naming the host; a denied target stops the run before it starts."""

from __future__ import annotations

from pathlib import Path

import pytest

from horde.cli import main
from horde.config.model import RunConfig
from horde.engine.runner import run
from horde.scenario.loader import load_scenario

from .servers import VICTIM_HOST, Front, Victim

pytestmark = pytest.mark.timeout(60)

EVERY_TRANSPORT = """
import horde
from horde import TargetError

VICTIM = {victim!r}
VICTIM_WS = {victim_ws!r}

async def attempt(user, name, connect):
    try:
        conn = await connect()
    except TargetError as exc:
        user.state.outcomes[name] = exc.category
    else:
        user.state.outcomes[name] = "connected"
        await conn.close() if hasattr(conn, "close") else None

@horde.behaviour
async def everything(user):
    user.state.outcomes = {{}}
    ok = await user.http.get("/ok")  # the front server is allowed
    user.check(ok.status == 200, "front answers")
    await attempt(user, "http", lambda: user.http.get(VICTIM + "/"))
    await attempt(user, "redirect", lambda: user.http.get("/go", follow_redirects=True))
    await attempt(user, "websocket", lambda: user.websocket(VICTIM_WS + "/ws"))
    await attempt(user, "sio_ws", lambda: user.socketio(VICTIM))
    await attempt(user, "sio_polling", lambda: user.socketio(VICTIM, transports=["polling"]))
    await attempt(user, "sio_polling_redirect", lambda: user.socketio(transports=["polling"]))
    await attempt(user, "sse", lambda: user.sse(VICTIM + "/sse", reconnect=False))
    print("OUTCOMES", sorted(user.state.outcomes.items()))
    user.record("done", 1)
"""


async def test_every_transport_and_redirect_is_blocked(tmp_path: Path, capsys) -> None:
    async with Victim() as victim, Front(victim) as front:
        path = tmp_path / "everything.py"
        path.write_text(EVERY_TRANSPORT.format(
            victim=victim.url().rstrip("/"), victim_ws=victim.url("ws").rstrip("/")))
        config = RunConfig(
            scenario=path, target=front.url, users=1, iterations=1, progress=False,
            deny_hosts=(VICTIM_HOST,), timeout_s=5,
        )
        results = await run(config, load_scenario(path))
        assert victim.connections == 0 and victim.received == 0  # not one packet
    out = capsys.readouterr().out
    outcomes = dict(eval(out.split("OUTCOMES ", 1)[1].splitlines()[0]))
    assert outcomes == dict.fromkeys(
        ["http", "redirect", "websocket", "sio_ws", "sio_polling", "sio_polling_redirect", "sse"],
        "blocked_host",
    )
    assert results["errors"] == {"blocked_host": 7}, results["errors"]
    assert results["connections"]["failed"] == 7
    example = results["error_examples"][f"blocked_host:{VICTIM_HOST}"]
    assert f"{VICTIM_HOST} is denied by --deny-hosts {VICTIM_HOST}/32" in example


async def test_allowed_hosts_still_work(tmp_path: Path) -> None:
    """The allow list lets the front server through and refuses the victim."""
    async with Victim() as victim, Front(victim) as front:
        path = tmp_path / "two.py"
        path.write_text(
            "import horde\n\n@horde.behaviour\nasync def two(user):\n"
            "    assert (await user.http.get('/ok')).status == 200\n"
            f"    await user.http.get({victim.url()!r})\n"
        )
        config = RunConfig(scenario=path, target=front.url, users=1, iterations=2,
                           progress=False, allow_hosts=("127.0.0.1",), timeout_s=5)
        results = await run(config, load_scenario(path))
        assert victim.connections == 0
    assert results["errors"] == {"blocked_host": 2}
    assert "is not in --allow-hosts 127.0.0.1/32" in results["error_examples"][
        f"blocked_host:{VICTIM_HOST}"]


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--deny-hosts", "127.0.0.0/8"], "target 127.0.0.1 is denied by --deny-hosts 127.0.0.0/8"),
        (["--allow-hosts", "10.0.0.0/8,*.example"], "target 127.0.0.1 is not in --allow-hosts *.example,10.0.0.0/8"),
        (["--deny-hosts", "10.0.0.0/8", "--deny-hosts", "127.0.0.1"], "target 127.0.0.1 is denied by --deny-hosts 127.0.0.1/32"),
        (["--deny-hosts", "127.0.0.0/33"], "--deny-hosts: bad rule '127.0.0.0/33'"),
    ],
)
def test_a_denied_target_refuses_to_start(tmp_path: Path, capsys, flags, message) -> None:
    scenario = tmp_path / "s.py"
    scenario.write_text("import horde\n\n@horde.behaviour\nasync def b(user):\n    pass\n")
    code = main(["run", str(scenario), "--target", "http://127.0.0.1:1", "--no-history",
                 "--duration", "0.1s", *flags])
    err = capsys.readouterr().err
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"horde: error: {message}"), err


def test_a_denied_target_name_is_refused_by_glob(tmp_path: Path, capsys) -> None:
    scenario = tmp_path / "s.py"
    scenario.write_text("import horde\n\n@horde.behaviour\nasync def b(user):\n    pass\n")
    config = tmp_path / "horde.yaml"
    config.write_text("scenario: s.py\ntarget: http://LocalHost:1\ndeny_hosts: 'local*'\n")
    assert main(["run", "--config", str(config), "--no-history"]) == 2
    assert capsys.readouterr().err.strip() == (
        "horde: error: target localhost is denied by --deny-hosts local*")
