"""The circuit breaker judges attempts that have an outcome, not those still connecting."""

from horde.engine.circuit_breaker import CircuitBreaker
from horde.metrics.recorder import ConnectionCounts


def test_attempts_in_flight_neither_delay_nor_dilute_the_verdict():
    counts = ConnectionCounts(attempted=30, failed=19)  # 11 still connecting
    breaker = CircuitBreaker(counts, limit=0.5)
    assert breaker.allows_more(0.5)  # 19 outcomes: not enough to judge yet
    counts.failed = 20
    assert not breaker.allows_more(0.6)
    assert breaker.report() == {
        "limit": 0.5, "tripped": True, "tripped_at_s": 0.6, "failure_rate": 1.0
    }


def test_a_healthy_target_keeps_it_closed():
    counts = ConnectionCounts(attempted=40, succeeded=38, failed=2)
    assert CircuitBreaker(counts, limit=0.1).allows_more(1.0)
