"""Load a scenario file: the only place that imports user code.

Every way a file can be unusable (missing, syntax error, exception at import, no
behaviour, a behaviour that is not ``async def``) becomes one :class:`ScenarioError` whose
message names the file and, when known, the line.
"""

from __future__ import annotations

import importlib.util
import inspect
import math
import sys
import traceback
from pathlib import Path
from types import ModuleType
from typing import Any

from pydantic import BaseModel

from horde.config.load import options_values
from horde.coordination.roles import Cast, check_cast
from horde.errors import ConfigError, ScenarioError
from horde.metrics.thresholds import parse_threshold
from horde.scenario.markers import MARK, PARAMETERS, Mark
from horde.scenario.model import Behaviour, Scenario


def load_scenario(path: str | Path) -> Scenario:
    """The :class:`Scenario` a file defines: imported once, its decorated functions,
    ``NAME``, ``Params``, ``ROLES``, ``THRESHOLDS`` and ``OPTIONS`` checked now, so a broken
    file is a :class:`~horde.ScenarioError` naming file:line before any load is sent."""
    file = Path(path)
    if not file.is_file():
        raise ScenarioError(f"{file}: scenario file not found")
    module = _import(file)
    return scenario_from_module(module, str(file))


def scenario_from_module(module: ModuleType, where: str) -> Scenario:
    """Collect the marked functions of an imported module into a :class:`Scenario`."""
    hooks: dict[str, object] = {}
    role_hooks: dict[tuple[str, str], object] = {}
    behaviours: list[Behaviour] = []
    timeouts: dict[str, float] = {}
    for value in vars(module).values():
        mark: Mark | None = getattr(value, MARK, None)
        if not isinstance(mark, Mark):
            continue
        if mark.kind == "shape":
            if inspect.iscoroutinefunction(value):
                raise ScenarioError(f"{where}:{_line_of(value)}: a @shape is a plain 'def'")
        elif not inspect.iscoroutinefunction(value):
            line = _line_of(value)
            raise ScenarioError(f"{where}:{line}: {mark.name} must be 'async def'")
        _check_signature(value, mark, where)
        if mark.timeout is not None:
            timeouts[mark.kind] = _hook_timeout(value, mark, where)
        if mark.kind == "behaviour":
            weight = mark.weight
            if (not isinstance(weight, int | float) or isinstance(weight, bool)
                    or not 0 < weight < math.inf):
                raise ScenarioError(
                    f"{where}:{_line_of(value)}: weight must be a number > 0, not {weight!r}")
            behaviours.append(
                Behaviour(mark.name or value.__name__, value, mark.weight, mark.role)
            )
        elif mark.role is not None:
            if (mark.kind, mark.role) in role_hooks:
                line = _line_of(value)
                raise ScenarioError(f"{where}:{line}: more than one @{mark.kind} for {mark.role}")
            role_hooks[(mark.kind, mark.role)] = value
        elif mark.kind in hooks:
            raise ScenarioError(f"{where}:{_line_of(value)}: more than one @{mark.kind}")
        else:
            hooks[mark.kind] = value
    if not behaviours:
        raise ScenarioError(
            f"{where}: no behaviour found (mark an 'async def f(user)' with @horde.behaviour)"
        )
    declared = getattr(module, "Params", None)
    is_model = isinstance(declared, type) and issubclass(declared, BaseModel)
    if declared is not None and not is_model:
        raise ScenarioError(f"{where}: Params must be a class derived from horde.Params")
    cast = check_cast(getattr(module, "ROLES", ()), where)
    _check_roles(cast, behaviours, role_hooks, where)
    return Scenario(
        name=getattr(module, "NAME", Path(where).stem),
        behaviours=tuple(behaviours),
        path=where,
        params_type=declared,
        cast=cast,
        role_hooks=role_hooks,  # type: ignore[arg-type]
        thresholds=_thresholds(getattr(module, "THRESHOLDS", ()), where),
        options=options_values(getattr(module, "OPTIONS", {}), f"{where}: OPTIONS"),
        hook_timeouts=timeouts,
        **hooks,  # type: ignore[arg-type]
    )


def _check_signature(fn: Any, mark: Mark, where: str) -> None:
    """A function horde calls with N arguments must accept N: else it would fail at run
    time — a ``@teardown`` only after the whole load, costing its results."""
    expected = PARAMETERS[mark.kind]
    try:
        params = list(inspect.signature(fn).parameters.values())
    except (TypeError, ValueError):  # no signature to read (a C function): let it run
        return
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    required = [p for p in positional if p.default is p.empty]
    takes_rest = any(p.kind is p.VAR_POSITIONAL for p in params)
    keyword_only = [p for p in params if p.kind is p.KEYWORD_ONLY and p.default is p.empty]
    n = len(expected)
    if len(required) <= n and (takes_rest or len(positional) >= n) and not keyword_only:
        return
    shown = f"{fn.__name__}{inspect.signature(fn)}"
    raise ScenarioError(
        f"{where}:{_line_of(fn)}: @{mark.kind} {shown} must accept "
        f"({', '.join(expected)}): horde calls it with {n} argument{'s' if n > 1 else ''}"
    )


def _hook_timeout(fn: Any, mark: Mark, where: str) -> float:
    timeout = mark.timeout
    if (not isinstance(timeout, int | float) or isinstance(timeout, bool)
            or not 0 < timeout < math.inf):
        raise ScenarioError(
            f"{where}:{_line_of(fn)}: @{mark.kind}(timeout=...) must be a number of seconds "
            f"> 0, not {timeout!r}")
    return float(timeout)


def _check_roles(
    cast: tuple[Cast, ...],
    behaviours: list[Behaviour],
    role_hooks: dict[tuple[str, str], object],
    where: str,
) -> None:
    """Every role a marker names is declared in ROLES, and every role has a behaviour."""
    declared: set[str] = set()
    for entry in cast:
        declared.update(getattr(entry, "roles", (entry.name,)))
    named = {b.role for b in behaviours if b.role} | {role for _, role in role_hooks}
    unknown = sorted(named - declared)
    if unknown:
        allowed = ", ".join(sorted(declared)) or "none: the scenario has no ROLES"
        raise ScenarioError(f"{where}: unknown role {unknown[0]!r}; roles: {allowed}")
    if any(b.role is None for b in behaviours):
        return
    idle = sorted(declared - {b.role for b in behaviours})
    if idle:
        raise ScenarioError(f"{where}: role {idle[0]!r} has no @horde.behaviour(role=...)")


def _thresholds(declared: object, where: str) -> tuple[str, ...]:
    """``THRESHOLDS``: the scenario's own pass/fail criteria, checked like --threshold."""
    if isinstance(declared, str) or not isinstance(declared, list | tuple):
        raise ScenarioError(f"{where}: THRESHOLDS must be a tuple of expressions")
    for text in declared:
        try:
            parse_threshold(str(text))
        except ConfigError as exc:
            raise ScenarioError(f"{where}: THRESHOLDS: {exc}") from None
    return tuple(str(t) for t in declared)


def _import(file: Path) -> ModuleType:
    """Import the file as a module. Its folder goes first on ``sys.path`` and stays there
    for the run, as for ``python scenario.py``: ``from helpers import x`` finds the
    ``helpers.py`` beside it, at import time and in behaviours that import later."""
    folder = str(file.resolve().parent)
    if folder not in sys.path:
        sys.path.insert(0, folder)
    name = f"horde_scenario_{file.stem}"
    spec = importlib.util.spec_from_file_location(name, file)
    if spec is None or spec.loader is None:
        raise ScenarioError(f"{file}: cannot be imported as a Python file")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except SyntaxError as exc:
        where = f"{file}:{exc.lineno}" if exc.lineno else str(file)
        raise ScenarioError(f"{where}: syntax error: {exc.msg}") from None
    except (Exception, SystemExit) as exc:  # sys.exit() at import must not end horde
        line = _failing_line(exc, file)
        raise ScenarioError(f"{file}:{line}: {type(exc).__name__}: {exc}") from None
    return module


def _failing_line(exc: BaseException, file: Path) -> int | str:
    """The deepest traceback line inside the scenario file itself."""
    line: int | str = "?"
    for frame in traceback.extract_tb(exc.__traceback__):
        if Path(frame.filename).resolve() == file.resolve():
            line = frame.lineno or "?"
    return line


def _line_of(fn: object) -> int | str:
    code = getattr(fn, "__code__", None)
    return code.co_firstlineno if code else "?"
