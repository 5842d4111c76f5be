"""Run a built-in demo server in the foreground: ``horde serve NAME --port P``.

The first line on stdout is ``listening on http://HOST:PORT`` so a parent process (the
``horde demo`` command, tests) can start it on port 0 and learn the real port.

Each demo is a module in ``horde.demo`` with ``build_app(options) -> web.Application``,
``FAULTS`` and ``SETTINGS`` (see :mod:`horde.demo.options`).
"""

from __future__ import annotations

import asyncio
import gc
import importlib
import signal
import sys
from collections.abc import Sequence
from types import ModuleType

from aiohttp import web

from horde.demo.options import DemoOptions, parse_options
from horde.errors import UsageError

SERVERS = ("echo", "chsh", "quiz", "chatrooms", "chatbot", "tasks")


def demo_module(name: str) -> ModuleType:
    if name not in SERVERS:
        raise UsageError(f"unknown demo {name!r}; choose from: {', '.join(SERVERS)}")
    return importlib.import_module(f"horde.demo.{name}")


def options_for(name: str, faults: Sequence[str] = (), settings: Sequence[str] = ()) -> DemoOptions:
    module = demo_module(name)
    return parse_options(
        name,
        faults,
        settings,
        allowed_faults=getattr(module, "FAULTS", {}),
        allowed_settings=getattr(module, "SETTINGS", {}),
    )


def build(name: str, options: DemoOptions | None = None) -> web.Application:
    return demo_module(name).build_app(options or DemoOptions())


async def serve(
    name: str, host: str = "127.0.0.1", port: int = 0, options: DemoOptions | None = None
) -> None:
    """Serve until SIGINT/SIGTERM."""
    app = build(name, options)
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
