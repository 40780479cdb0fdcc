"""The one retry-delay rule: growth, cap, jitter, reset (no sockets, no sleeping)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from django_gearman.protocol import Backoff


def test_delays_grow_by_the_factor_up_to_the_cap() -> None:
    backoff = Backoff(0.1, 1.0, jitter=0.0)
    assert [round(backoff.next(), 6) for _ in range(6)] == [0.1, 0.2, 0.4, 0.8, 1.0, 1.0]
    assert backoff.failures == 6


def test_reset_starts_again_at_the_initial_delay() -> None:
    backoff = Backoff(0.5, 8.0, factor=3.0, jitter=0.0)
    backoff.next()
    backoff.next()
    backoff.reset()
    assert backoff.failures == 0
    assert backoff.next() == 0.5


def test_jitter_only_shortens_a_delay_by_at_most_its_fraction() -> None:
    assert Backoff(1.0, 1.0, jitter=0.25, random_fraction=lambda: 0.999999).next() > 0.75
    assert Backoff(1.0, 1.0, jitter=0.25, random_fraction=lambda: 0.5).next() == 0.875
    assert Backoff(1.0, 1.0, jitter=0.25, random_fraction=lambda: 0.0).next() == 1.0


def test_a_zero_initial_delay_never_waits() -> None:
    backoff = Backoff(0.0, 5.0)
    assert [backoff.next() for _ in range(3)] == [0.0, 0.0, 0.0]


def test_thousands_of_failures_stay_at_the_cap_without_overflow() -> None:
    backoff = Backoff(0.001, 30.0, factor=10.0, jitter=0.0)
    for _ in range(5000):
        delay = backoff.next()
    assert delay == 30.0


@pytest.mark.parametrize(
    "arguments",
    [(-1.0, 1.0, 2.0, 0.1), (2.0, 1.0, 2.0, 0.1), (0.1, 1.0, 0.5, 0.1), (0.1, 1.0, 2.0, 1.0)],
)
def test_impossible_settings_are_value_errors(arguments: tuple[float, float, float, float]) -> None:
    with pytest.raises(ValueError):
        Backoff(*arguments)


@given(
    initial=st.floats(0.0, 10.0),
    extra=st.floats(0.0, 100.0),
    factor=st.floats(1.0, 5.0),
    jitter=st.floats(0.0, 0.99),
    fraction=st.floats(0.0, 0.999),
    failures=st.integers(1, 60),
)
def test_every_delay_lies_between_its_jittered_floor_and_the_cap(
    initial: float, extra: float, factor: float, jitter: float, fraction: float, failures: int
) -> None:
    backoff = Backoff(initial, initial + extra, factor, jitter, random_fraction=lambda: fraction)
    previous_undelayed = 0.0
    for _ in range(failures):
        undelayed = backoff.peek()
        delay = backoff.next()
        assert undelayed >= previous_undelayed  # never shrinks until reset
        assert undelayed * (1 - jitter) - 1e-12 <= delay <= undelayed <= initial + extra
        previous_undelayed = undelayed
