"""Start a live view's small web server (dashboard, Prometheus) in the run's own loop."""

from __future__ import annotations

from typing import TYPE_CHECKING, Self

from horde.errors import ConfigError

if TYPE_CHECKING:
    from aiohttp import web


async def listen(
    app: web.Application, host: str, port: int, what: str, shutdown_timeout: float = 60.0
) -> tuple[web.AppRunner, int]:
    """Serve ``app`` on ``host:port`` (0 = a free port); returns the runner and the real
    port. A port that cannot be bound is bad input: a ConfigError naming ``what``."""
    from aiohttp import web  # here: a run without a live view never loads aiohttp (~0.1 s)

    runner = web.AppRunner(app, access_log=None, shutdown_timeout=shutdown_timeout)
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port).start()
    except OSError as e:
        await runner.cleanup()
        raise ConfigError(f"the {what} cannot listen on {host}:{port}: {e}") from None
    return runner, runner.addresses[0][1]


class Served:
    """A live view with a web server: ``start``/``close``, or ``async with``; the runner
    of its app is kept in ``_runner`` so closing it is the same for every view."""

    _runner: web.AppRunner | None = None

    async def start(self) -> None:
        raise NotImplementedError

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()
