"""Run a coroutine on the fastest event loop available (uvloop), with Ctrl-C handled.

The first SIGINT or SIGTERM sets ``stop`` so the run ends cleanly and still writes its
results; a second SIGINT exits at once.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from horde import exitcodes

T = TypeVar("T")


def run_with_signals(
    main: Callable[[asyncio.Event], Coroutine[Any, Any, T]], *, use_uvloop: bool = True
) -> T:
    async def wrapper() -> T:
        stop = asyncio.Event()
        _install_handlers(stop)
        return await main(stop)

    if use_uvloop:
        try:
            import uvloop
        except ImportError:
            pass
        else:
            return uvloop.run(wrapper())
    return asyncio.run(wrapper())


def _install_handlers(stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()

    def on_signal(signame: str) -> None:
        if stop.is_set():
            sys.stderr.write("\nhorde: interrupted again, exiting without results\n")
            os._exit(exitcodes.INTERRUPTED_TWICE)
        sys.stderr.write(f"\nhorde: {signame} received, stopping and writing results…\n")
        stop.set()

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, on_signal, sig.name)
