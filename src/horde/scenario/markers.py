"""Decorators a scenario file uses to say what each of its functions is for.

They only tag the function (importing a scenario runs nothing); the loader collects the
tags. ``@behaviour`` marks what a virtual user does, repeatedly; ``@on_start``/``@on_stop``
run once per user; ``@setup``/``@teardown`` once per run. In a scenario with ``ROLES``,
``role="player"`` ties a behaviour or hook to one role; unmarked ones serve every role
that has none of its own.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])
MARK = "__horde__"


@dataclass(frozen=True, slots=True)
class Mark:
    kind: str  # "behaviour" | "on_start" | "on_stop" | "setup" | "teardown" | "shape"
    weight: float = 1.0
    name: str | None = None
    role: str | None = None
    timeout: float | None = None  # @setup/@teardown: their own bound instead of --timeout


PARAMETERS = {
    "behaviour": ("user",), "on_start": ("user",), "on_stop": ("user",),
    "setup": ("ctx",), "teardown": ("ctx", "shared"), "shape": ("t",),
}
"""The arguments each kind of function is called with, checked when the scenario loads."""


def behaviour(
    fn: F | None = None, *, weight: float = 1.0, name: str | None = None, role: str | None = None
) -> Any:
    """Mark an ``async def f(user)`` as a behaviour; heavier ones are picked more often."""

    def mark(f: F) -> F:
        setattr(f, MARK, Mark("behaviour", weight, name or f.__name__, role))
        return f

    return mark(fn) if fn is not None else mark


def on_start(fn: F | None = None, *, role: str | None = None) -> Any:
    """Mark ``async def f(user)`` to run once when a user starts (for ``role``, if given)."""
    return _hook("on_start", fn, role)


def on_stop(fn: F | None = None, *, role: str | None = None) -> Any:
    """Mark ``async def f(user)`` to run once when a user stops (for ``role``, if given)."""
    return _hook("on_stop", fn, role)


def _hook(kind: str, fn: F | None, role: str | None) -> Any:
    def mark(f: F) -> F:
        setattr(f, MARK, Mark(kind, name=f.__name__, role=role))
        return f

    return mark(fn) if fn is not None else mark


def setup(fn: F | None = None, *, timeout: float | None = None) -> Any:
    """Mark ``async def f(ctx)`` to run once before any user starts; what it returns is
    every user's ``user.shared``. Bounded by ``timeout`` seconds (default: ``--timeout``)."""
    return _run_hook("setup", fn, timeout)


def teardown(fn: F | None = None, *, timeout: float | None = None) -> Any:
    """Mark ``async def f(ctx, shared)`` to run once after the load (even an interrupted
    one). Bounded by ``timeout`` seconds (default: ``--timeout``)."""
    return _run_hook("teardown", fn, timeout)


def _run_hook(kind: str, fn: F | None, timeout: float | None) -> Any:
    def mark(f: F) -> F:
        setattr(f, MARK, Mark(kind, name=f.__name__, timeout=timeout))
        return f

    return mark(fn) if fn is not None else mark


def shape(fn: F) -> F:
    """Mark a plain ``def f(t) -> users | None`` as the scenario's own load shape."""
    setattr(fn, MARK, Mark("shape", name=fn.__name__))
    return fn
