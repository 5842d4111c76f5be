"""Start a live view's small web server (dashboard, Prometheus) in the run's own loop."""

from __future__ import annotations

from aiohttp import web

from horde.errors import ConfigError


async def listen(
    app: web.Application, host: str, port: int, what: str, shutdown_timeout: float = 60.0
) -> tuple[web.AppRunner, int]:
    """Serve ``app`` on ``host:port`` (0 = a free port); returns the runner and the real
    port. A port that cannot be bound is bad input: a ConfigError naming ``what``."""
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=shutdown_timeout)
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port).start()
    except OSError as e:
        await runner.cleanup()
        raise ConfigError(f"the {what} cannot listen on {host}:{port}: {e}") from None
    return runner, runner.addresses[0][1]
