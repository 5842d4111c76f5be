"""The TLS context a run's connections use: verifying by default, ``--ca-bundle`` to trust a
private CA, ``--insecure`` (explicit, warned about) to skip verification.

A load test against a staging host with a self-signed certificate is exactly when people
reach for "just turn verification off"; horde makes that a visible choice rather than
the default, and offers the better one (trust that certificate) first.
"""

from __future__ import annotations

import logging
import ssl
from functools import cache
from pathlib import Path

from horde.errors import ConfigError

log = logging.getLogger("horde.safety")

INSECURE_WARNING = (
    "--insecure: TLS certificates and host names are NOT verified; "
    "prefer --ca-bundle PATH to trust a private certificate"
)


@cache
def default_ssl_context() -> ssl.SSLContext:
    """One verifying context per process: building one loads the CA store (~10 ms)."""
    return ssl.create_default_context()


def client_tls(
    ca_bundle: Path | str | None = None, insecure: bool = False
) -> ssl.SSLContext | None:
    """The context for every TLS connection of a run (one per option set, per process:
    loading a CA store costs ~10 ms, and far more on a busy machine). None for the
    default: the transports build :func:`default_ssl_context` at their first TLS
    connection, so a run against ``http://`` or ``ws://`` never loads the CA store.
    ConfigError when the bundle cannot be read."""
    if not insecure and ca_bundle is None:
        return None
    return _context(str(ca_bundle) if ca_bundle is not None else None, insecure)


def check_ca_bundle(path: Path | str) -> Path:
    """``path`` if it holds at least one certificate horde can load; else ConfigError."""
    _context(str(path), False)
    return Path(path)


@cache
def _context(ca_bundle: str | None, insecure: bool) -> ssl.SSLContext:
    if ca_bundle is not None and not Path(ca_bundle).is_file():
        raise ConfigError(f"--ca-bundle {ca_bundle}: no such file")
    try:
        # With a bundle it replaces the system store (as curl --cacert does).
        context = ssl.create_default_context(cafile=ca_bundle)
    except (ssl.SSLError, OSError, ValueError) as exc:
        raise ConfigError(
            f"--ca-bundle {ca_bundle}: no certificate could be loaded ({exc})"
        ) from None
    if insecure:
        log.warning(INSECURE_WARNING)
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context
