"""A token bucket per API key: the chatbot's OpenAI-style endpoint answers 429 by rule.

``rate`` requests per second refill a bucket of ``burst``; a request that finds it empty
is refused with the seconds until the next one would pass (the 429's ``Retry-After``).
``rate`` 0 means no limit. No clock of its own: callers pass ``now`` (seconds, monotonic),
so the rule is tested as a table of times.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["RateLimiter"]


@dataclass(slots=True)
class _Bucket:
    tokens: float
    at: float


@dataclass(slots=True)
class RateLimiter:
    rate: float  # requests per second per key; 0: unlimited
    burst: int  # requests a key may make at once after a quiet spell
    _buckets: dict[str, _Bucket] = field(default_factory=dict)

    def take(self, key: str, now: float) -> float:
        """Spend one request of ``key``'s bucket: 0.0 when allowed, else the seconds to
        wait before one would be (nothing is spent then)."""
        if self.rate <= 0:
            return 0.0
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = _Bucket(float(self.burst), now)
        bucket.tokens = min(float(self.burst), bucket.tokens + (now - bucket.at) * self.rate)
        bucket.at = now
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return 0.0
        return (1.0 - bucket.tokens) / self.rate
