"""Default headers, auth and cookies per HTTP client, against a real server that echoes
what it received: every request, stream and SSE stream of a client carries them, a
request's own headers override them, and ``@setup``'s ``ctx.http`` has its own."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from horde.config.model import RunConfig
from horde.engine.runner import run
from horde.errors import UsageError
from horde.metrics.recorder import Recorder
from horde.scenario.loader import load_scenario
from horde.scenario.user import User
from horde.transports.http import HttpClient

from .raw_server import start_app

pytestmark = pytest.mark.timeout(20)


def _seen(request: web.Request) -> dict[str, list[str]]:
    """Each header the server received, by lower-case name, every value apart."""
    seen: dict[str, list[str]] = {}
    for name, value in request.headers.items():
        seen.setdefault(name.lower(), []).append(value)
    return seen


async def _headers(request: web.Request) -> web.Response:
    return web.json_response(_seen(request))


async def _stream(request: web.Request) -> web.StreamResponse:
    response = web.StreamResponse()
    await response.prepare(request)
    await response.write(json.dumps(_seen(request)).encode())
    await response.write_eof()
    return response


async def _events(request: web.Request) -> web.StreamResponse:
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
    await response.prepare(request)
    await response.write(f"data: {json.dumps(_seen(request))}\n\n".encode())
    await response.write(b"data: [DONE]\n\n")
    await response.write_eof()
    return response


async def _login(request: web.Request) -> web.Response:
    response = web.json_response({"token": "t0k"})
    response.set_cookie("session", "s1", path="/")
    return response


@pytest.fixture
async def url() -> AsyncIterator[str]:
    app = web.Application()
    app.add_routes([
        web.get("/headers", _headers), web.post("/headers", _headers),
        web.get("/stream", _stream), web.get("/events", _events),
        web.post("/events", _events), web.post("/login", _login),
    ])
    runner, port = await start_app(app)
    yield f"http://127.0.0.1:{port}"
    await runner.cleanup()


async def test_default_headers_go_on_every_request_and_yield_to_the_requests_own(
    url: str,
) -> None:
    http = HttpClient(recorder=Recorder(), base_url=url)
    http.headers.update({"X-Tenant": "t1", "Accept-Language": "fr"})
    seen = (await http.get("/headers")).json()
    assert seen["x-tenant"] == ["t1"] and seen["accept-language"] == ["fr"]
    assert seen["accept"] == ["*/*"] and "gzip" in seen["accept-encoding"][0]

    own = (await http.post("/headers", json={}, headers={"x-tenant": "t2"})).json()
    assert own["x-tenant"] == ["t2"] and own["accept-language"] == ["fr"]  # once, overridden

    del http.headers["x-TENANT"]  # any case finds it
    assert "x-tenant" not in (await http.get("/headers")).json()
    assert list(http.headers)[-1] == "Accept-Language"  # names kept as given
    await http.close()


async def test_auth_per_client_and_per_request(url: str) -> None:
    http = HttpClient(recorder=Recorder(), base_url=url, auth=("ann", "pw"))
    basic = "Basic " + base64.b64encode(b"ann:pw").decode()
    assert (await http.get("/headers")).json()["authorization"] == [basic]
    assert (await http.get("/headers", auth="t")).json()["authorization"] == ["Bearer t"]
    mine = await http.get("/headers", headers={"Authorization": "Token x"})
    assert mine.json()["authorization"] == ["Token x"]

    http.auth = "abc"
    assert http.headers["authorization"] == "Bearer abc"
    assert (await http.get("/headers")).json()["authorization"] == ["Bearer abc"]
    http.auth = None
    assert "authorization" not in (await http.get("/headers")).json()
    with pytest.raises(UsageError, match="auth="):
        http.auth = ("only-user",)  # type: ignore[assignment]
    with pytest.raises(UsageError, match="invalid HTTP header"):
        http.headers["X-Bad"] = "a\r\nInjected: 1"
    await http.close()


async def test_defaults_apply_to_streams_and_sse_of_the_user(url: str) -> None:
    user = User(1, target=url, recorder=Recorder(), stopping=asyncio.Event())
    user.http.headers["X-Tenant"] = "t1"
    user.http.auth = "abc"
    streamed = await user.http.stream("GET", "/stream")
    seen = json.loads(b"".join(streamed.chunks))
    assert seen["x-tenant"] == ["t1"] and seen["authorization"] == ["Bearer abc"]

    feed = await user.sse("/events")
    event = await feed.next(timeout=5)
    seen = json.loads(event.data)
    assert seen["x-tenant"] == ["t1"] and seen["authorization"] == ["Bearer abc"]
    assert seen["accept"] == ["text/event-stream"]  # the stream's own Accept wins

    own = await user.sse("/events", headers={"accept": "text/event-stream; charset=utf-8"})
    seen = json.loads((await own.next(timeout=5)).data)
    assert seen["accept"] == ["text/event-stream; charset=utf-8"]  # one Accept, any case

    answer = await user.sse("/events", method="POST", json={}, auth=("u", "p"))
    seen = json.loads((await answer.next(timeout=5)).data)
    assert seen["authorization"] == ["Basic " + base64.b64encode(b"u:p").decode()]
    await user.close()


async def test_cookies_and_auth_on_the_setup_client(url: str, write_scenario) -> None:
    path = write_scenario(
        """
        import horde

        @horde.setup
        async def login(ctx):
            token = (await ctx.http.post("/login")).json()["token"]
            ctx.http.auth = token
            seen = (await ctx.http.get("/headers")).json()
            return {"auth": seen["authorization"], "cookie": seen["cookie"],
                    "jar": ctx.http.cookies.get("session")}

        @horde.behaviour
        async def work(user):
            seen = (await user.http.get("/headers")).json()
            user.check("authorization" not in seen and "cookie" not in seen, "own client")
            user.check(user.shared == {"auth": ["Bearer t0k"], "cookie": ["session=s1"],
                                       "jar": "s1"}, "setup saw them")
        """
    )
    config = RunConfig(scenario=path, target=url, users=1, iterations=1, progress=False)
    results = await run(config, load_scenario(path))
    assert results["errors"] == {}
    assert results["counters"]["checks_passed:own client"] == 1
    assert results["counters"]["checks_passed:setup saw them"] == 1


async def test_a_none_header_removes_a_default_one(url: str) -> None:
    http = HttpClient(recorder=Recorder(), base_url=url, auth="t0k")
    http.headers["X-Tenant"] = "t1"
    seen = (await http.get("/headers", headers={"X-Tenant": None, "Authorization": None})).json()
    assert "x-tenant" not in seen and "authorization" not in seen
    assert (await http.get("/headers")).json()["x-tenant"] == ["t1"]  # only that request
    await http.close()


async def test_credentials_stay_with_their_origin_across_redirects(url: str) -> None:
    """A redirect to another origin (here: another port) is followed without the
    Authorization header — the client's or the request's — as browsers do; one within
    the origin keeps it."""
    other = web.Application()
    other.add_routes([web.get("/headers", _headers)])
    runner, port = await start_app(other)
    away = f"http://127.0.0.1:{port}/headers"

    async def to_other(request: web.Request) -> web.Response:
        raise web.HTTPFound(away)

    async def to_self(request: web.Request) -> web.Response:
        raise web.HTTPFound("/headers")

    here = web.Application()
    here.add_routes([web.get("/away", to_other), web.get("/home", to_self),
                     web.get("/headers", _headers)])
    here_runner, here_port = await start_app(here)
    http = HttpClient(recorder=Recorder(), base_url=f"http://127.0.0.1:{here_port}",
                      auth=("ann", "pw"))
    http.headers["X-Tenant"] = "t1"
    try:
        elsewhere = (await http.get("/away", follow_redirects=True)).json()
        assert "authorization" not in elsewhere and elsewhere["x-tenant"] == ["t1"]
        mine = await http.get("/away", follow_redirects=True, auth="t")
        assert "authorization" not in mine.json()
        home = (await http.get("/home", follow_redirects=True)).json()
        assert home["authorization"][0].startswith("Basic ")
    finally:
        await http.close()
        await runner.cleanup()
        await here_runner.cleanup()
