"""The chatrooms demo (seed 002): its rules as plain calls, then its HTTP API on a real socket."""

from __future__ import annotations

import asyncio
import contextlib
import time

import aiohttp
import pytest
from tests.demo.support import demo_app

from horde.demo.chatrooms import build_app
from horde.demo.chatrooms.state import (
    KEEP_MESSAGES,
    POLL_PAGE,
    Chatrooms,
    RateLimiter,
    retry_after_header,
)
from horde.demo.launcher import demo_server
from horde.demo.serve import options_for
from horde.errors import UsageError

PASSWORD = "demo-password"


# --- rules without I/O ---------------------------------------------------------------

def test_rate_limiter_allows_limit_per_window_and_says_when_to_retry() -> None:
    limiter = RateLimiter(limit=3, window_s=10)
    assert [limiter.check("ann", t) for t in (0, 1, 2)] == [None, None, None]
    assert limiter.check("ann", 3) == 7  # the request at t=0 leaves the window at t=10
    assert limiter.check("ann", 9.5) == 0.5  # a refusal is not logged: still t=0 to wait for
    assert limiter.check("bob", 3) is None  # limits are per user
    assert limiter.check("ann", 10) is None
    assert limiter.check("ann", 10.5) == 0.5  # now t=1 is the oldest


@pytest.mark.parametrize(("seconds", "header"), [(0.01, "1"), (1.0, "1"), (7.0, "7"), (7.01, "8")])
def test_retry_after_rounds_up_to_whole_seconds(seconds: float, header: str) -> None:
    assert retry_after_header(seconds) == header


def test_login_checks_password_and_allowed_users() -> None:
    rooms = Chatrooms("pw", frozenset({"ann@x.org"}), agent_s=1)
    assert rooms.login("wrong", "ann@x.org") is None
    assert rooms.login("pw", "eve@x.org") is None
    key = rooms.login("pw", "ann@x.org")
    assert key is not None and rooms.keys[key] == "ann@x.org"
    anyone = Chatrooms("pw", frozenset(), agent_s=1)
    assert anyone.keys.get(anyone.login("pw", None) or "") == "admin"  # seed 002 sends no email


def test_agents_post_on_a_beat_and_poll_returns_what_is_newer() -> None:
    rooms = Chatrooms("pw", frozenset(), agent_s=2)
    room = rooms.create_room("r", "ann", now=100)
    assert rooms.poll(room, 0, now=101.9) == []
    first = rooms.poll(room, 0, now=105)  # due at 102 and 104
    assert [(m["id"], m["author"], m["at"]) for m in first] == [(1, "Alice", 2.0), (2, "Bob", 4.0)]
    posted = rooms.post(room, "ann", "hello", now=105)
    assert (posted["id"], posted["role"], posted["content"]) == (3, "user", "hello")
    newer = rooms.poll(room, since_id=2, now=106.5)
    assert [(m["id"], m["author"]) for m in newer] == [(3, "ann"), (4, "Carol")]
    assert rooms.chatting_agents(room, now=106.5) == [{"id": 1, "name": "Alice", "status": "typing"}]


def test_a_long_idle_room_stays_bounded() -> None:
    rooms = Chatrooms("pw", frozenset(), agent_s=0.001)
    room = rooms.create_room("r", "ann", now=0)
    page = rooms.poll(room, 0, now=3600)
    assert len(room.messages) == KEEP_MESSAGES and len(page) == POLL_PAGE
    assert page[-1]["id"] == 3_600_000  # ids still count every message that was due
    assert [m["id"] for m in page] == list(range(3_600_000 - POLL_PAGE + 1, 3_600_001))


def test_settings_are_checked_all_at_once() -> None:
    options = options_for("chatrooms", settings=["poll_limit=0", "window_s=0"])
    with pytest.raises(UsageError, match="poll_limit must be at least 1; window_s must be positive"):
        build_app(options)


# --- the HTTP API on a real socket ---------------------------------------------------

def chatrooms_server(*faults: str, **settings: object) -> contextlib.AbstractAsyncContextManager[str]:
    """The chatrooms app in-process on 127.0.0.1, with these faults and settings."""
    return demo_app("chatrooms", *faults, **settings)


async def login(http: aiohttp.ClientSession, url: str, email: str | None = "ann@x.org") -> dict[str, str]:
    body = {"password": PASSWORD} | ({"email": email} if email else {})
    async with http.post(f"{url}/auth/login", json=body) as response:
        assert response.status == 200
        return {"X-API-Key": (await response.json())["api_key"]}


async def make_room(http: aiohttp.ClientSession, url: str, headers: dict[str, str], name: str) -> int:
    async with http.post(f"{url}/rooms", json={"name": name}, headers=headers) as response:
        assert response.status == 200
        room = await response.json()
        assert room["name"] == name
        return room["id"]


async def stats(http: aiohttp.ClientSession, url: str) -> dict:
    async with http.get(f"{url}/stats") as response:
        return await response.json()


async def test_login_rooms_and_cleanup() -> None:
    async with chatrooms_server() as url, aiohttp.ClientSession() as http:
        async with http.post(f"{url}/auth/login", json={"password": "nope"}) as response:
            assert response.status == 401
        async with http.get(f"{url}/rooms") as response:
            assert response.status == 401
        ann, bob = await login(http, url), await login(http, url, "bob@x.org")
        ids = [await make_room(http, url, ann, f"Load Test Room {i}") for i in (1, 2)]
        async with http.get(f"{url}/rooms", headers=bob) as response:
            listed = await response.json()
        assert listed == [
            {"id": ids[0], "name": "Load Test Room 1", "created_by": "ann@x.org"},
            {"id": ids[1], "name": "Load Test Room 2", "created_by": "ann@x.org"},
        ]
        async with http.delete(f"{url}/rooms/{ids[0]}", headers=bob) as response:
            assert response.status == 403  # only the maker cleans up
        for room_id in ids:
            async with http.delete(f"{url}/rooms/{room_id}", headers=ann) as response:
                assert (response.status, await response.json()) == (200, {"message": "Room deleted", "id": room_id})
        async with http.get(f"{url}/rooms/{ids[0]}/messages/poll", headers=ann) as response:
            assert response.status == 404
        async with http.get(f"{url}/rooms", headers=ann) as response:
            assert await response.json() == []
        counted = await stats(http, url)
    assert (counted["logins"], counted["login_failures"]) == (2, 1)
    assert (counted["rooms_created"], counted["rooms_deleted"]) == (2, 2)
    assert counted["requests"]["DELETE /rooms/{id}"] == 3
    assert counted["status"] == {"401": 2, "200": 8, "403": 1, "404": 1}


async def test_the_login_cookie_works_as_well_as_the_header() -> None:
    jar = aiohttp.CookieJar(unsafe=True)  # unsafe: keep cookies for an IP address
    async with chatrooms_server() as url, aiohttp.ClientSession(cookie_jar=jar) as http:
        await login(http, url)
        async with http.post(f"{url}/rooms", json={"name": "c"}) as response:
            assert (await response.json())["created_by"] == "ann@x.org"


async def test_polling_returns_agent_messages_and_posts_since_id() -> None:
    async with chatrooms_server(agent_ms=50) as url, aiohttp.ClientSession() as http:
        ann = await login(http, url)
        room = await make_room(http, url, ann, "r")
        await asyncio.sleep(0.18)
        async with http.get(f"{url}/rooms/{room}/messages/poll", headers=ann) as response:
            first = await response.json()
        assert [m["author"] for m in first[:3]] == ["Alice", "Bob", "Carol"]
        assert [m["id"] for m in first] == list(range(1, len(first) + 1))
        async with http.post(f"{url}/rooms/{room}/messages", json={"content": "hi"}, headers=ann) as response:
            mine = await response.json()
        async with http.get(f"{url}/rooms/{room}/messages/poll", params={"since_id": first[-1]["id"]}, headers=ann) as response:
            newer = await response.json()
        assert newer[0] == mine and mine["content"] == "hi" and mine["author"] == "ann@x.org"
        async with http.get(f"{url}/rooms/{room}/chatting-agents", headers=ann) as response:
            agents = await response.json()
        assert agents["room_id"] == room and agents["chatting_agents"][0]["status"] == "typing"


async def test_rate_limits_answer_429_with_retry_after_per_user() -> None:
    async with chatrooms_server(poll_limit=5, agents_limit=8, window_s=1) as url, aiohttp.ClientSession() as http:
        ann, bob = await login(http, url), await login(http, url, "bob@x.org")
        room = await make_room(http, url, ann, "r")
        poll, agents = f"{url}/rooms/{room}/messages/poll", f"{url}/rooms/{room}/chatting-agents"

        async def hit(path: str, headers: dict[str, str]) -> tuple[int, str | None]:
            async with http.get(path, headers=headers) as response:
                await response.read()
                return response.status, response.headers.get("Retry-After")

        assert [await hit(poll, ann) for _ in range(7)] == [(200, None)] * 5 + [(429, "1")] * 2
        assert [await hit(agents, ann) for _ in range(10)] == [(200, None)] * 8 + [(429, "1")] * 2
        assert await hit(poll, bob) == (200, None)  # bob has a budget of his own
        await asyncio.sleep(1.05)  # what Retry-After said
        assert await hit(poll, ann) == (200, None)
        counted = await stats(http, url)
    assert counted["rate_limited"] == {"GET /rooms/{id}/messages/poll": 2, "GET /rooms/{id}/chatting-agents": 2}
    assert counted["requests"]["GET /rooms/{id}/messages/poll"] == 9
    assert counted["status"]["429"] == 4


async def test_stats_count_body_bytes_both_ways() -> None:
    async with chatrooms_server() as url, aiohttp.ClientSession() as http:
        sent = received = 0
        for body in ({"password": PASSWORD, "email": "a@x.org"}, {"password": "bad"}):
            async with http.post(f"{url}/auth/login", json=body) as response:
                sent += int(response.request_info.headers["Content-Length"])
                received += len(await response.read())
        counted = await stats(http, url)
    assert sent > 0 and received > 0
    assert (counted["bytes_in"], counted["bytes_out"]) == (sent, received)


async def test_errors_fault_fails_every_nth_polled_request() -> None:
    async with chatrooms_server("errors", error_every=3) as url, aiohttp.ClientSession() as http:
        ann = await login(http, url)
        room = await make_room(http, url, ann, "r")
        statuses = []
        for i in range(9):
            path = "messages/poll" if i % 2 else "chatting-agents"
            async with http.get(f"{url}/rooms/{room}/{path}", headers=ann) as response:
                statuses.append(response.status)
        counted = await stats(http, url)
    assert statuses == [200, 200, 500] * 3
    assert counted["errors_injected"] == 3 and counted["status"]["500"] == 3


async def test_slow_poll_fault_delays_only_messages_poll() -> None:
    async with chatrooms_server("slow_poll", slow_ms=300) as url, aiohttp.ClientSession() as http:
        ann = await login(http, url)
        room = await make_room(http, url, ann, "r")

        async def timed(path: str) -> float:
            start = time.perf_counter()
            async with http.get(f"{url}/rooms/{room}/{path}", headers=ann) as response:
                assert response.status == 200
            return time.perf_counter() - start

        assert await timed("messages/poll") >= 0.3
        assert await timed("chatting-agents") < 0.3
        assert (await stats(http, url))["slow_polls"] == 1


async def test_horde_serve_passes_settings_to_the_child_process() -> None:
    with demo_server("chatrooms", ("--set", "poll_limit=2", "--set", "password=s3cret")) as url:
        async with aiohttp.ClientSession() as http:
            async with http.post(f"{url}/auth/login", json={"password": "s3cret"}) as response:
                headers = {"X-API-Key": (await response.json())["api_key"]}
            room = await make_room(http, url, headers, "r")
            statuses = []
            for _ in range(3):
                async with http.get(f"{url}/rooms/{room}/messages/poll", headers=headers) as response:
                    statuses.append(response.status)
    assert statuses == [200, 200, 429]
