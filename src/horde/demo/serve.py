"""Run a built-in demo server in the foreground: ``horde serve NAME --port P``.

The first line on stdout is ``listening on http://HOST:PORT`` so a parent process (the
``horde demo`` command, tests) can start it on port 0 and learn the real port.
"""

from __future__ import annotations

import asyncio
import gc
import signal
import sys
from collections.abc import Callable

from aiohttp import web

from horde.errors import UsageError


def _builders() -> dict[str, Callable[[], web.Application]]:
    from horde.demo import echo

    return {"echo": echo.build_app}


SERVERS = ("echo",)


def build(name: str) -> web.Application:
    builders = _builders()
    if name not in builders:
        raise UsageError(f"unknown demo server {name!r}; choose from: {', '.join(builders)}")
    return builders[name]()


async def serve(name: str, host: str = "127.0.0.1", port: int = 0) -> None:
    """Serve until SIGINT/SIGTERM."""
    app = build(name)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    sockets = site._server.sockets if site._server else []
    real_port = sockets[0].getsockname()[1] if sockets else port
    gc.freeze()  # startup objects out of the collector's way: fewer, shorter GC pauses
    print(f"listening on http://{host}:{real_port}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        await runner.cleanup()
    print("stopped", file=sys.stderr)
