"""The retry decision on its own: bounds of the backoff, which exceptions retry, bad options."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from django_gearman import Retry
from django_gearman.exceptions import ConfigurationError
from django_gearman.retries import RetryPolicy

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


@given(st.integers(1, 80), st.floats(0.01, 10.0), st.integers(0, 2**32))
def test_backoff_doubles_with_jitter_within_the_cap(attempt: int, base: float, seed: int) -> None:
    policy = RetryPolicy(retries=3, base_delay=base, max_delay=60.0)
    ceiling = min(60.0, base * 2 ** (attempt - 1))
    delay = policy.backoff(attempt, random.Random(seed))
    assert ceiling / 2 <= delay <= ceiling


def test_only_retry_on_exceptions_retry_and_only_while_attempts_are_left() -> None:
    policy = RetryPolicy(retries=2, retry_on=(KeyError,))
    assert policy.max_attempts == 3
    assert policy.delay_after(KeyError("x"), 1, 3, NOW) is not None
    assert policy.delay_after(KeyError("x"), 3, 3, NOW) is None
    assert policy.delay_after(ValueError("x"), 1, 3, NOW) is None


def test_retry_after_is_honoured_and_still_bounded() -> None:
    policy = RetryPolicy(retries=1, retry_on=())
    assert policy.delay_after(Retry(after=5), 1, 2, NOW) == timedelta(seconds=5)
    assert policy.delay_after(Retry(after=timedelta(0)), 1, 2, NOW) == timedelta(0)
    at = NOW + timedelta(minutes=3)
    assert policy.delay_after(Retry(after=at), 1, 2, NOW) == timedelta(minutes=3)
    assert policy.delay_after(Retry(after=NOW - timedelta(days=1)), 1, 2, NOW) == timedelta(0)
    backoff = policy.delay_after(Retry(), 1, 2, NOW)
    assert backoff is not None and timedelta(0) < backoff <= timedelta(seconds=1)
    assert policy.delay_after(Retry(after=1), 2, 2, NOW) is None  # no attempts left


@pytest.mark.parametrize(
    "options",
    [
        {"retries": -1},
        {"retries": True},
        {"retries": 1.5},
        {"retries": 10**6},
        {"retry_on": ValueError},
        {"retry_on": (int,)},
        {"base_delay": 0},
        {"base_delay": 5, "max_delay": 1},
    ],
)
def test_bad_options_are_configuration_errors(options: dict[str, object]) -> None:
    with pytest.raises(ConfigurationError):
        RetryPolicy(**options)  # type: ignore[arg-type]


@pytest.mark.parametrize("after", ["5", True, datetime(2026, 1, 1), [1]])
def test_bad_retry_after_is_a_configuration_error(after: object) -> None:
    with pytest.raises(ConfigurationError):
        Retry(after=after)  # type: ignore[arg-type]
