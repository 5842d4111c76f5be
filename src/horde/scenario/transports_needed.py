"""Transports a scenario will use, imported before its load starts.

``user.socketio()`` imports its transport on first use: Engine.IO's long-polling brings
aiohttp, 0.3–0.7 s of imports that most scenarios never need, so a run without Socket.IO
does not pay for them at start-up. Paid at the first connect instead, that import
stalled the event loop with the load running: every connect then in flight was timed
that much slower, and a short run said the generator was saturated. So a scenario whose
code names ``socketio`` (read from its compiled file, nothing run) gets the transport
imported first, with the rest of the start-up.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from types import CodeType

from horde.scenario.model import Scenario

LAZY_TRANSPORTS = {"socketio": "horde.transports.socketio"}  # attribute → its module


def import_transports(scenario: Scenario) -> None:
    """Import each lazily imported transport the scenario's file names (see the module).
    A scenario without a file, or one that cannot be read, keeps the lazy import."""
    if not scenario.path:
        return
    try:
        code = compile(Path(scenario.path).read_bytes(), scenario.path, "exec")
    except (OSError, SyntaxError, ValueError):
        return
    names = names_in(code)
    for attribute, module in LAZY_TRANSPORTS.items():
        if attribute in names:
            importlib.import_module(module)


def names_in(code: CodeType) -> set[str]:
    """Every attribute and global name the code and the functions in it refer to."""
    names: set[str] = set()
    stack = [code]
    while stack:
        current = stack.pop()
        names.update(current.co_names)
        stack.extend(c for c in current.co_consts if isinstance(c, CodeType))
    return names
