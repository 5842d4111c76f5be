"""Think time: how long a virtual user waits between actions.

Each distribution is a small object whose ``sample()`` returns seconds; the user handle
does the sleeping ("when" apart from "how"). Anything callable that returns seconds works
too, as does a plain number.
"""

from __future__ import annotations

import math
import random
import warnings
from collections.abc import Callable
from dataclasses import dataclass

Seconds = float


@dataclass(frozen=True, slots=True)
class Fixed:
    seconds: float

    def sample(self, rng: random.Random) -> Seconds:
        return self.seconds


@dataclass(frozen=True, slots=True)
class Uniform:
    low: float
    high: float

    def sample(self, rng: random.Random) -> Seconds:
        return rng.uniform(self.low, self.high)


@dataclass(frozen=True, slots=True)
class Normal:
    """Normal around ``mean``, clipped to [low, high] so a wait is never negative."""

    mean: float
    stdev: float
    low: float = 0.0
    high: float = math.inf

    def sample(self, rng: random.Random) -> Seconds:
        return min(max(rng.normalvariate(self.mean, self.stdev), self.low), self.high)


@dataclass(frozen=True, slots=True)
class LogNormal:
    """Human-like reaction times: right-skewed, most answers quick, a few slow.

    ``median`` is the typical wait in seconds; ``sigma`` the spread of its logarithm
    (000 used mu=0.5, sigma=0.3, i.e. a median of e^0.5 ≈ 1.65 s).
    """

    median: float
    sigma: float
    low: float = 0.0
    high: float = math.inf

    def sample(self, rng: random.Random) -> Seconds:
        value = rng.lognormvariate(math.log(self.median), self.sigma)
        return min(max(value, self.low), self.high)


@dataclass(frozen=True, slots=True)
class Choice:
    """One of a few fixed waits (000's "burst": quick answers, then a pause)."""

    options: tuple[float, ...]

    def sample(self, rng: random.Random) -> Seconds:
        return rng.choice(self.options)


Distribution = Fixed | Uniform | Normal | LogNormal | Choice
"""What ``horde.fixed``, ``uniform``, ``normal``, ``lognormal``, ``human_like``,
``choice`` and ``response_pattern`` return: each has ``sample(rng) -> seconds``."""
ThinkTime = float | int | Distribution | Callable[[], float]


def fixed(seconds: float) -> Fixed:
    """Always ``seconds`` (a bare number as a think time means the same). Called
    ``constant`` before, which is also a load shape's name (``--shape constant(...)``)."""
    return Fixed(seconds)


def uniform(low: float, high: float) -> Uniform:
    """Any time from ``low`` to ``high`` seconds, each as likely."""
    return Uniform(low, high)


def normal(mean: float, stdev: float, low: float = 0.0, high: float = math.inf) -> Normal:
    """A normal distribution of seconds, clipped to [``low``, ``high``]."""
    return Normal(mean, stdev, low, high)


def lognormal(median: float, sigma: float, low: float = 0.0, high: float = math.inf) -> LogNormal:
    """A log-normal distribution of seconds around ``median``: mostly near it, now and
    then much longer, as people are; clipped to [``low``, ``high``]."""
    return LogNormal(median, sigma, low, high)


def human_like(median: float = math.exp(0.5), sigma: float = 0.3) -> LogNormal:
    """:func:`lognormal` with defaults fitted to people answering a prompt (~1.6 s)."""
    return LogNormal(median, sigma)


def choice(*options: float) -> Choice:
    """One of ``options`` seconds, each as likely."""
    return Choice(tuple(options))


def sample_seconds(think: ThinkTime, rng: random.Random) -> Seconds:
    """Seconds to wait for any accepted think-time value."""
    if isinstance(think, int | float):
        return float(think)
    sample = getattr(think, "sample", None)
    if sample is not None:
        return float(sample(rng))
    return float(think())  # type: ignore[operator]


PATTERNS = ("random", "burst", "steady", "human_like")


def response_pattern(
    name: str, *, low: float = 0.0, high: float = math.inf
) -> Distribution:
    """000's answer-timing patterns by name, each bounded to [low, high] seconds.

    ``random``: uniform 0.5–3 s; ``burst``: quick answers then pauses (0.2/0.3/0.4 or
    2/3 s); ``steady``: normal 1.5 ± 0.2 s; ``human_like``: log-normal, median e^0.5 s.
    """
    if name == "random":
        return Uniform(max(0.5, low), min(3.0, high))
    if name == "burst":
        return Choice(tuple(min(max(v, low), high) for v in (0.2, 0.3, 0.4, 2.0, 3.0)))
    if name == "steady":
        return Normal(1.5, 0.2, low, high)
    if name == "human_like":
        return LogNormal(math.exp(0.5), 0.3, low, high)
    from horde.errors import ConfigError

    raise ConfigError(f"unknown response pattern {name!r}; choose from {', '.join(PATTERNS)}")


def renamed(name: str, stacklevel: int = 3) -> Callable[[float], Fixed] | None:
    """``constant``, this module's name for :func:`fixed` before: still there, with a
    DeprecationWarning; ``None`` for any other name."""
    if name != "constant":
        return None
    warnings.warn("horde: constant is now fixed (a think time; constant is a load shape)",
                  DeprecationWarning, stacklevel=stacklevel)
    return fixed


def __getattr__(name: str) -> Callable[[float], Fixed]:
    found = renamed(name)
    if found is None:
        raise AttributeError(f"module 'horde.scenario.think' has no attribute {name!r}")
    return found
