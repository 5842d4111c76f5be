"""Secrets: values a scenario needs (a password, a token) that must never be shown.

``horde.secret("CHAT_PASSWORD")`` reads an environment variable. Its value is usable as
a plain string, and horde remembers it so every error message, traceback and example
that goes to the console or to results is redacted (``***``) before it is stored.
"""

from __future__ import annotations

import os

from horde.errors import ConfigError

REDACTED = "***"
_values: set[str] = set()


def secret(name: str) -> str:
    """The value of environment variable ``name``; missing is a configuration error."""
    value = os.environ.get(name)
    if not value:
        raise ConfigError(f"environment variable {name} is not set (it holds a secret)")
    _values.add(value)
    return value


def known() -> bool:
    """Whether any secret was read (so callers can skip redacting on hot-ish paths)."""
    return bool(_values)


def redact(text: str) -> str:
    """``text`` with every known secret replaced by ``***``."""
    for value in _values:
        if value in text:
            text = text.replace(value, REDACTED)
    return text
