"""The web dashboard (``--ui``): live charts and controls, served by the run's own process.

A :class:`Dashboard` is a sink with an aiohttp server in the run's event loop. Start it
around the run (``async with dashboard: await run(..., sinks=[..., dashboard])``); the
runner hands it a :class:`~horde.sinks.base.RunPort` through ``attach``, which is how
``POST /api/users`` and ``POST /api/stop`` reach the run. Routes::

    GET  /                 the page (assets from the package: no CDN, works offline)
    GET  /assets/NAME      its scripts and styles, uPlot included
    GET  /api/rows?since=T per-second rows after T seconds, one list per field
    GET  /api/status       run state, users, stage, live thresholds, errors by category
    GET  /api/events       Server-Sent Events: backlog, then each row and status
    POST /api/users        {"users": N}: hold N users from now on (closed model);
                           {"users": null}: follow the plan again
    POST /api/stop         end the run now; results are still written (status "stopped")

Bound to 127.0.0.1 by default. Bound anywhere else a token is required on every request
(``?token=``, ``X-Horde-Token`` or ``Authorization: Bearer``), else 401. Without a token,
requests must name a loopback Host (a web page cannot reach it through DNS rebinding),
and a POST must be JSON (a cross-site form cannot send that without CORS, which is off).
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import ipaddress
import json
import secrets
import sys
import urllib.parse
from collections.abc import Awaitable, Callable
from typing import Any, TextIO

from aiohttp import web

from horde.errors import ConfigError, UsageError
from horde.live import static
from horde.live.feed import KEEPALIVE, Feed, columns, sse_frame
from horde.live.listen import Served, listen
from horde.sinks.base import RunPort

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8089
KEEPALIVE_S = 15.0
DRAIN_S = 1.0  # at the end, how long open streams get to send the final status

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def from_options(
    host: str = DEFAULT_HOST, port: int = DEFAULT_PORT, token: str | None = None
) -> Dashboard:
    """The dashboard for ``--ui --ui-host --ui-port --ui-token``: a token is generated
    when the host is not loopback and none was given. Bad values are a ConfigError."""
    if not 0 <= port <= 65535:
        raise ConfigError(f"--ui-port must be from 0 to 65535, not {port}")
    if token is not None and not token.strip():
        raise ConfigError("--ui-token must not be empty")
    if token is None and not is_loopback(host):
        token = secrets.token_urlsafe(18)
    return Dashboard(host, port, token)


def serve_dashboard(
    host: str = DEFAULT_HOST, port: int = DEFAULT_PORT, token: str | None = None
) -> Dashboard:
    """The live dashboard as a sink for :func:`horde.run`, listening once entered::

        async with horde.serve_dashboard("127.0.0.1", 0) as dashboard:  # prints its URL
            results = await horde.run(config, scenario, sinks=[dashboard])

    The same as ``--ui``: a token is generated when ``host`` is not loopback and none
    was given; a bad port or an empty token is a :class:`~horde.ConfigError`."""
    return from_options(host, port, token)


class Dashboard(Served):
    """A sink that serves the live page; ``start``/``close`` (or ``async with``) bracket it."""

    def __init__(
        self,
        host: str = DEFAULT_HOST,
        port: int = DEFAULT_PORT,
        token: str | None = None,
        stream: TextIO | None = None,
    ) -> None:
        if token is None and not is_loopback(host):
            raise ConfigError(f"the dashboard needs a token to listen on {host}")
        self.host = host
        self.port = port
        self.token = token
        self.stream = stream or sys.stderr
        self.feed = Feed()
        self.control: RunPort | None = None
        self.results: dict[str, Any] | None = None
        self._runner: web.AppRunner | None = None
        self._streams = 0
        self._last_status: dict[str, Any] | None = None

    # -- lifecycle -------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """The page's address, token included (what to open in a browser)."""
        host = self.host if ":" not in self.host else f"[{self.host}]"
        query = f"?token={urllib.parse.quote(self.token)}" if self.token else ""
        return f"http://{host}:{self.port}/{query}"

    async def start(self) -> None:
        self._runner, self.port = await listen(
            self._app(), self.host, self.port, "dashboard", shutdown_timeout=DRAIN_S
        )
        self.stream.write(f"horde: dashboard at {self.url}\n")
        self.stream.flush()

    async def close(self) -> None:
        """End the event streams (after their last frames) and the server."""
        self.feed.close()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + DRAIN_S
        while self._streams and loop.time() < deadline:
            await asyncio.sleep(0.02)
        await super().close()

    # -- the sink --------------------------------------------------------------------------

    def attach(self, control: RunPort) -> None:
        self.control = control
        self.results = None
        self.feed.publish("status", self.status())

    def on_row(self, row: dict[str, Any]) -> None:
        self.feed.add_row(row)
        self._last_status = None
        if self.feed.watched:
            self.feed.publish("status", self.status())

    def on_finish(self, results: dict[str, Any]) -> None:
        series = results.get("timeseries") or []
        if series and (not self.feed.rows or series[-1]["t"] > self.feed.rows[-1]["t"]):
            self.feed.add_row(series[-1])  # the last, shorter window: never sent to on_row
        self.results = results
        self.feed.publish("finish", self.status())

    # -- what the page shows ---------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        """The run's state now; live thresholds cost a pass over the totals, so this is
        computed once per row at most and cached."""
        if self.results is not None:
            return self._final_status(self.results)
        if self._last_status is None:
            self._last_status = self._live_status()
        return self._last_status

    def _live_status(self) -> dict[str, Any]:
        control = self.control
        last = self.feed.rows[-1] if self.feed.rows else {}
        if control is None:
            return {"state": "waiting", "row": last or None}
        live = control.live_results()
        return {
            "state": "stopping" if control.stopping else "running",
            **control.facts(),
            "row": last or None,
            "thresholds": live["thresholds"],
            "errors": live["errors"],
            "errors_total": live["errors_total"],
            "values": {name: {"unit": spec.unit, "better": spec.better}
                       for name, spec in control.aggregator.recorder.value_specs.items()},
        }

    def _final_status(self, results: dict[str, Any]) -> dict[str, Any]:
        facts = self.control.facts() if self.control is not None else {}
        return {
            "state": "finished",
            **facts,
            "row": self.feed.rows[-1] if self.feed.rows else None,
            "run_status": results.get("status"),
            "passed": results.get("passed"),
            "abort_reason": results.get("abort_reason"),
            "duration_s": results.get("duration_s"),
            "thresholds": results.get("thresholds", []),
            "errors": results.get("errors", {}),
            "errors_total": results.get("errors_total", 0),
            "values": {name: {"unit": v["unit"], "better": v.get("better")}
                       for name, v in (results.get("values") or {}).items()},
        }

    # -- the web app -----------------------------------------------------------------------

    def _app(self) -> web.Application:
        app = web.Application(middlewares=[self._guard], client_max_size=4096)
        app.router.add_get("/", self._page)
        app.router.add_get("/assets/{name}", self._asset)
        app.router.add_get("/api/rows", self._rows)
        app.router.add_get("/api/status", self._status)
        app.router.add_get("/api/events", self._events)
        app.router.add_post("/api/users", self._users)
        app.router.add_post("/api/stop", self._stop)
        return app

    @web.middleware
    async def _guard(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if self.token is not None:
            if not self._token_ok(request):
                return _error(401, "a valid token is required (?token=... or X-Horde-Token)")
        elif not is_loopback(request.url.host or ""):
            return _error(403, "without a token the dashboard answers loopback hosts only")
        if request.method == "POST" and request.content_type != "application/json":
            return _error(415, "send JSON (Content-Type: application/json)")
        return await handler(request)

    def _token_ok(self, request: web.Request) -> bool:
        assert self.token is not None
        given = request.query.get("token") or request.headers.get("X-Horde-Token")
        auth = request.headers.get("Authorization", "")
        if not given and auth.startswith("Bearer "):
            given = auth[len("Bearer "):]
        return bool(given) and hmac.compare_digest(given.encode(), self.token.encode())

    async def _page(self, request: web.Request) -> web.Response:
        query = f"?token={urllib.parse.quote(self.token)}" if self.token else ""
        html = static.read_text("index.html").replace("__QUERY__", query)
        return web.Response(text=html, content_type="text/html", headers=_NO_STORE)

    async def _asset(self, request: web.Request) -> web.Response:
        found = static.find(request.match_info["name"])
        if found is None:
            raise web.HTTPNotFound()
        body, content_type = found
        return web.Response(body=body, content_type=content_type)

    async def _rows(self, request: web.Request) -> web.Response:
        since = None
        if "since" in request.query:
            try:
                since = float(request.query["since"])
            except ValueError:
                return _error(400, "since must be a number of seconds")
        return web.json_response(columns(self.feed.rows, since), headers=_NO_STORE)

    async def _status(self, request: web.Request) -> web.Response:
        return web.json_response(self.status(), headers=_NO_STORE, dumps=_dumps)

    async def _events(self, request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={
            "Content-Type": "text/event-stream", "Cache-Control": "no-store",
            "X-Accel-Buffering": "no",
        })
        await response.prepare(request)
        queue = self.feed.subscribe()
        self._streams += 1
        try:
            await response.write(_status_frame(self.status()))
            while True:
                try:
                    frame = await asyncio.wait_for(queue.get(), KEEPALIVE_S)
                except TimeoutError:
                    frame = KEEPALIVE
                if frame is None:
                    break
                await response.write(frame)
        except ConnectionError:
            pass  # the browser went away
        finally:
            self.feed.unsubscribe(queue)
            self._streams -= 1
        with contextlib.suppress(ConnectionError):
            await response.write_eof()
        return response

    async def _users(self, request: web.Request) -> web.Response:
        body = await _json(request)
        if body is None or "users" not in body:
            return _error(400, 'send {"users": N}, or {"users": null} to follow the plan')
        users = body["users"]
        if users is not None and (isinstance(users, bool) or not isinstance(users, int)
                                  or users < 0):
            return _error(400, "users must be a whole number, 0 or more")
        if self.control is None or self.results is not None:
            return _error(409, "no run is going")
        try:
            applied = self.control.set_users(users)
        except UsageError as e:
            return _error(409, str(e))
        self._last_status = None
        self.feed.publish("status", self.status())
        return web.json_response({"users": applied})

    async def _stop(self, request: web.Request) -> web.Response:
        if self.control is None or self.results is not None:
            return _error(409, "no run is going")
        self.control.stop_run("dashboard")
        self._last_status = None
        self.feed.publish("status", self.status())
        return web.json_response({"stopping": True}, status=202)


_NO_STORE = {"Cache-Control": "no-store"}


def _dumps(data: Any) -> str:
    return json.dumps(data, default=str)


def _status_frame(status: dict[str, Any]) -> bytes:
    return sse_frame("finish" if status.get("state") == "finished" else "status", status)


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


async def _json(request: web.Request) -> dict[str, Any] | None:
    try:
        body = await request.json()
    except ValueError:
        return None
    return body if isinstance(body, dict) else None
