"""Load a scenario file: the only place that imports user code.

Every way a file can be unusable (missing, syntax error, exception at import, no
behaviour, a behaviour that is not ``async def``) becomes one :class:`ScenarioError` whose
message names the file and, when known, the line.
"""

from __future__ import annotations

import importlib.util
import inspect
import sys
import traceback
from pathlib import Path
from types import ModuleType

from pydantic import BaseModel

from horde.errors import ScenarioError
from horde.scenario.markers import MARK, Mark
from horde.scenario.model import Behaviour, Scenario


def load_scenario(path: str | Path) -> Scenario:
    file = Path(path)
    if not file.is_file():
        raise ScenarioError(f"{file}: scenario file not found")
    module = _import(file)
    return scenario_from_module(module, str(file))


def scenario_from_module(module: ModuleType, where: str) -> Scenario:
    """Collect the marked functions of an imported module into a :class:`Scenario`."""
    hooks: dict[str, object] = {}
    behaviours: list[Behaviour] = []
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
        if mark.kind == "behaviour":
            if mark.weight <= 0:
                raise ScenarioError(f"{where}:{_line_of(value)}: weight must be > 0")
            behaviours.append(Behaviour(mark.name or value.__name__, value, mark.weight))
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
    return Scenario(
        name=getattr(module, "NAME", Path(where).stem),
        behaviours=tuple(behaviours),
        path=where,
        params_type=declared,
        **hooks,  # type: ignore[arg-type]
    )


def _import(file: Path) -> ModuleType:
    name = f"horde_scenario_{file.stem}"
    spec = importlib.util.spec_from_file_location(name, file)
    if spec is None or spec.loader is None:
        raise ScenarioError(f"{file}: cannot be imported as a Python file")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except SyntaxError as exc:
        raise ScenarioError(f"{file}:{exc.lineno}: syntax error: {exc.msg}") from None
    except Exception as exc:
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
