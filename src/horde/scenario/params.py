"""Scenario parameters: typed knobs a scenario declares and a run sets.

A scenario file declares them as a class named ``Params``::

    class Params(horde.Params):
        teams: int = 100
        pattern: Literal["random", "burst", "steady", "human_like"] = "human_like"

and a run sets them from the config file (``params:``) or the command line
(``--param teams=20``). They are validated like the rest of the configuration — every
problem at once — and reach the scenario as ``user.params`` and ``ctx.params``.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from horde.errors import ConfigError


class Params(BaseModel):
    """Base class of a scenario's ``Params``: unknown names are mistakes, not ignored."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def make_params(declared: type[BaseModel] | None, raw: dict[str, Any], where: str) -> Any:
    """The scenario's parameters from ``raw`` values; None when it declares none."""
    if declared is None:
        if raw:
            raise ConfigError(
                f"{where}: declares no parameters, but {', '.join(sorted(raw))} "
                "given (add a 'class Params(horde.Params)')"
            )
        return None
    try:
        return declared.model_validate(raw)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            name = ".".join(str(p) for p in err["loc"])
            message = err["msg"]
            if err["type"] == "extra_forbidden":
                message = f"unknown parameter (declared: {', '.join(declared.model_fields)})"
            problems.append(f"param {name}: {message}")
        raise ConfigError(f"{where}: " + "; ".join(problems)) from None


def parse_param_flags(flags: list[str]) -> dict[str, str]:
    """``--param name=value`` flags as a dict (values stay text: the model converts)."""
    values: dict[str, str] = {}
    for flag in flags:
        name, sep, value = flag.partition("=")
        if not sep or not name.strip():
            raise ConfigError(f"bad --param {flag!r}: expected NAME=VALUE")
        values[name.strip()] = value.strip()
    return values
