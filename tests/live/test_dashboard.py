"""The web dashboard against real runs: rows stream, users follow the API, stop ends the
run with results written, and a dashboard off loopback wants its token."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp
import pytest

from horde.config.model import RunConfig
from horde.engine.runner import run
from horde.live.dashboard import Dashboard, from_options
from horde.scenario.loader import load_scenario
from horde.sinks.results_json import ResultsJson

SCENARIO = """
    import horde

    @horde.on_start
    async def connect(user):
        user.state.ws = await user.websocket("/ws", codec=horde.JSON)

    @horde.behaviour
    async def echo(user):
        await user.state.ws.request({"type": "ping"}, name="echo")
        await user.think(0.1)
"""


def base(dashboard: Dashboard) -> str:
    return f"http://127.0.0.1:{dashboard.port}"


async def rows(http: aiohttp.ClientSession, url: str, since: float | None = None) -> dict[str, Any]:
    query = "" if since is None else f"?since={since}"
    async with http.get(f"{url}/api/rows{query}") as response:
        assert response.status == 200
        return await response.json()


async def until(check, timeout: float = 10.0) -> Any:
    """Poll ``check`` (async, returns a value or None) every 0.2 s until it answers."""
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        if (found := await check()) is not None:
            return found
        await asyncio.sleep(0.2)
    raise AssertionError("timed out")


async def test_rows_stream_users_follow_and_stop_writes_results(echo_server, write_scenario, tmp_path):
    path = write_scenario(SCENARIO)
    config = RunConfig(
        scenario=path, target=echo_server, users=5, spawn_rate=100, duration_s=25,
        progress=False, out_dir=tmp_path / "out", thresholds=("p95(latency) < 5s",),
    )
    stop = asyncio.Event()
    async with from_options("127.0.0.1", 0) as dashboard, aiohttp.ClientSession() as http:
        url = base(dashboard)
        running = asyncio.create_task(run(
            config, load_scenario(path), [ResultsJson(config.out_dir), dashboard], stop
        ))
        # the event stream: a backlog first, then one row a second, with statuses
        async with http.get(f"{url}/api/events") as stream:
            assert stream.headers["Content-Type"] == "text/event-stream"
            events = await read_events(stream, want_rows=2)
        assert events[0][0] in ("backlog", "status")
        kinds = [kind for kind, _ in events]
        assert kinds.count("row") == 2 and "status" in kinds
        status = next(data for kind, data in reversed(events) if kind == "status")
        assert status["state"] == "running" and status["open_model"] is False
        assert status["thresholds"][0]["expression"] == "p95(latency) < 5s"

        async def at(users: int) -> list[int] | None:
            got = (await rows(http, url))["columns"]["users"]
            return got if got and got[-1] == users else None

        await until(lambda: at(5))
        async with http.post(f"{url}/api/users", json={"users": 15}) as response:
            assert response.status == 200
            assert await response.json() == {"users": 15}
        seen = await until(lambda: at(15))
        assert 5 in seen  # the rows went 5 → 15
        t_before = (await rows(http, url))["columns"]["t"][-1]
        later = await rows(http, url, since=t_before - 0.5)
        assert later["count"] == 1 and later["columns"]["t"] == [t_before]

        async with http.post(f"{url}/api/stop", json={}) as response:
            assert response.status == 202
        results = await asyncio.wait_for(running, 10)
        async with http.get(f"{url}/api/status") as response:
            final = await response.json()
    assert results["status"] == "stopped"
    assert results["duration_s"] < 20
    assert max(r["users"] for r in results["timeseries"]) == 15
    assert json.loads((tmp_path / "out" / "results.json").read_text())["status"] == "stopped"
    assert final["state"] == "finished" and final["run_status"] == "stopped"
    assert final["stopped_by"] == "dashboard"


async def read_events(stream: aiohttp.ClientResponse, want_rows: int) -> list[tuple[str, Any]]:
    """Parse SSE frames until ``want_rows`` row events have come."""
    events: list[tuple[str, Any]] = []
    kind = None
    async with asyncio.timeout(10):
        async for raw in stream.content:
            line = raw.decode().rstrip("\n")
            if line.startswith("event: "):
                kind = line[len("event: "):]
            elif line.startswith("data: "):
                events.append((kind, json.loads(line[len("data: "):])))
                if sum(k == "row" for k, _ in events) >= want_rows:
                    return events
    return events


async def test_users_are_refused_for_an_arrival_rate_run(echo_server, write_scenario):
    path = write_scenario(SCENARIO)
    config = RunConfig(
        scenario=path, target=echo_server, shape="arrival-rate(rate=2, duration=20s)",
        progress=False,
    )
    stop = asyncio.Event()
    async with from_options("127.0.0.1", 0) as dashboard, aiohttp.ClientSession() as http:
        running = asyncio.create_task(run(config, load_scenario(path), [dashboard], stop))
        await until(lambda: _attached(dashboard))
        async with http.post(f"{base(dashboard)}/api/users", json={"users": 3}) as response:
            assert response.status == 409
            assert "arrival rate" in (await response.json())["error"]
        async with http.post(f"{base(dashboard)}/api/users", json={"users": -1}) as response:
            assert response.status == 400
        async with http.post(f"{base(dashboard)}/api/stop", json={}) as response:
            assert response.status == 202
        results = await asyncio.wait_for(running, 10)
    assert results["status"] == "stopped"


async def _attached(dashboard: Dashboard) -> bool | None:
    return True if dashboard.control is not None else None


async def test_a_token_is_required_off_loopback():
    dashboard = from_options("0.0.0.0", 0)
    assert dashboard.token  # generated, printed with the URL
    async with dashboard, aiohttp.ClientSession() as http:
        url = f"{base(dashboard)}/api/status"
        for headers, query, expected in [
            ({}, "", 401),
            ({}, "?token=wrong", 401),
            ({}, f"?token={dashboard.token}", 200),
            ({"X-Horde-Token": dashboard.token}, "", 200),
            ({"Authorization": f"Bearer {dashboard.token}"}, "", 200),
        ]:
            async with http.get(url + query, headers=headers) as response:
                assert response.status == expected, (headers, query)
        async with http.get(f"{base(dashboard)}/") as response:
            assert response.status == 401
        async with http.get(f"{base(dashboard)}/?token={dashboard.token}") as response:
            page = await response.text()
            assert f"/assets/dashboard.js?token={dashboard.token}" in page
        async with http.get(f"{base(dashboard)}/assets/uPlot.iife.min.js?token={dashboard.token}") as response:
            assert response.status == 200 and "uPlot" in await response.text()


async def test_without_a_token_only_loopback_hosts_and_json_posts():
    async with from_options("127.0.0.1", 0) as dashboard, aiohttp.ClientSession() as http:
        assert dashboard.token is None
        url = base(dashboard)
        async with http.get(f"{url}/api/status") as response:
            assert response.status == 200 and (await response.json())["state"] == "waiting"
        async with http.get(f"{url}/api/status", headers={"Host": "evil.example:80"}) as response:
            assert response.status == 403  # DNS rebinding
        async with http.post(f"{url}/api/stop", data="x=1", headers={"Content-Type": "application/x-www-form-urlencoded"}) as response:
            assert response.status == 415  # a cross-site form
        async with http.post(f"{url}/api/stop", json={}) as response:
            assert response.status == 409  # no run attached
        async with http.get(f"{url}/assets/../dashboard.py") as response:
            assert response.status == 404


def test_options_are_checked():
    with pytest.raises(Exception, match="--ui-port"):
        from_options("127.0.0.1", 70000)
    assert from_options("localhost", 0, "s3cret").token == "s3cret"
    assert from_options("::1", 0).token is None
