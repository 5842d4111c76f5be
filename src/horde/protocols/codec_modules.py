"""python-engineio's and python-socketio's packet codecs, without their clients and servers.

horde uses only ``engineio.packet`` and ``socketio.packet`` (and ``engineio.json``, which
they import). Importing them the usual way runs each package's ``__init__`` first, which
imports every client and server the package has — requests, the WSGI and ASGI servers,
the async client — for nothing: measured on the 2-core test machine, importing horde's
Socket.IO transport took 0.2–0.4 s less and its process 7 MB less without them (the
transport still imports aiohttp, for Engine.IO's long-polling).

:func:`load_codecs` imports the three modules with each package's ``__init__`` held
back: a bare package module (its spec, not executed) stands in while they load, then
it and the modules leave ``sys.modules``, so horde's copies are its own. A later ``import
socketio`` (a scenario, a demo server in the same process) imports the real package and
its own packet modules, untouched. When a package is imported already, its modules are
taken as they are.
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
import sys
from types import ModuleType

CODECS = (("engineio", "json"), ("engineio", "packet"), ("socketio", "packet"))


@functools.cache
def load_codecs() -> tuple[ModuleType, ModuleType]:
    """``engineio.packet`` and ``socketio.packet``, imported without their packages'
    clients and servers (see the module)."""
    stand_ins = {}
    for package in dict.fromkeys(p for p, _ in CODECS):
        if package not in sys.modules:
            stand_ins[package] = _bare_package(package)
    sys.modules.update(stand_ins)
    try:
        modules = [importlib.import_module(f"{p}.{m}") for p, m in CODECS]
    finally:
        for name in list(sys.modules):
            if name.partition(".")[0] in stand_ins:
                del sys.modules[name]  # the stand-ins, and horde's private copies
    return modules[1], modules[2]


def _bare_package(name: str) -> ModuleType:
    """The package ``name`` as a module whose submodules can be imported, its
    ``__init__`` not run."""
    spec = importlib.util.find_spec(name)
    if spec is None or spec.submodule_search_locations is None:
        raise ImportError(f"{name} is not installed as a package")
    return importlib.util.module_from_spec(spec)
