"""The circuit breaker (000): stop adding load once too many connections fail.

After at least ``min_attempts`` connection attempts have an outcome, if more than
``limit`` of them failed, the breaker trips for good (an attempt still in flight has no
outcome yet and counts neither way): pacing starts no more users or sessions, the
users already running go on, and the run still completes its report — which says when
and why the breaker tripped.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from horde.metrics.recorder import ConnectionCounts

MIN_ATTEMPTS = 20


@dataclass(slots=True)
class CircuitBreaker:
    connections: ConnectionCounts
    limit: float | None
    min_attempts: int = MIN_ATTEMPTS
    tripped_at: float | None = None
    failure_rate: float | None = None

    def allows_more(self, t: float) -> bool:
        """False from the moment the failure rate has passed the limit (``t``: load time)."""
        if self.limit is None or self.tripped_at is not None:
            return self.tripped_at is None
        failed = self.connections.failed
        decided = failed + self.connections.succeeded
        if decided >= self.min_attempts:
            rate = failed / decided
            if rate > self.limit:
                self.tripped_at, self.failure_rate = round(t, 3), round(rate, 4)
                return False
        return True

    def report(self) -> dict[str, Any] | None:
        if self.limit is None:
            return None
        return {
            "limit": self.limit,
            "tripped": self.tripped_at is not None,
            "tripped_at_s": self.tripped_at,
            "failure_rate": self.failure_rate,
        }
