"""The retry policy's delays as pure functions: no sleeping, randomness injected."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from async_spotify_etl.client.retry import RETRYABLE_STATUSES, RetryPolicy, parse_retry_after

NOW = dt.datetime(2026, 11, 25, 12, 0, 0, tzinfo=dt.UTC)


def policy(value: float, **kwargs: float) -> RetryPolicy:
    return RetryPolicy(random=lambda: value, **kwargs)  # type: ignore[arg-type]


def test_backoff_grows_exponentially_until_the_cap() -> None:
    top = policy(0.999999, base=0.5, cap=30.0)
    ceilings = [top.ceiling(a) for a in range(8)]
    assert ceilings == [0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0]
    assert top.ceiling(10_000) == 30.0  # no overflow on absurd attempt numbers


def test_full_jitter_spans_zero_to_the_ceiling() -> None:
    assert policy(0.0).backoff(3) == 0.0
    assert policy(0.5, base=1.0, cap=100.0).backoff(3) == pytest.approx(4.0)
    assert policy(0.999, base=1.0, cap=100.0).backoff(3) == pytest.approx(7.992)


@given(attempt=st.integers(0, 200), r=st.floats(0.0, 0.999999))
def test_backoff_is_always_within_zero_and_cap(attempt: int, r: float) -> None:
    delay = policy(r, base=0.5, cap=30.0).delay(attempt)
    assert 0.0 <= delay < 30.0


def test_positive_retry_after_is_honoured_plus_bounded_jitter() -> None:
    assert policy(0.0).delay(0, 7.0) == 7.0
    assert policy(0.999, retry_after_jitter=0.5).delay(4, 7.0) == pytest.approx(7.4995)


@pytest.mark.parametrize("retry_after", [None, 0.0])
def test_zero_or_missing_retry_after_means_the_short_backoff(retry_after: float | None) -> None:
    p = policy(0.5, base=0.5, cap=30.0)
    assert p.delay(0, retry_after) == pytest.approx(0.25)
    assert p.delay(2, retry_after) == pytest.approx(1.0)


def test_can_retry_is_bounded_by_max_retries() -> None:
    p = RetryPolicy(max_retries=2)
    assert [p.can_retry(n) for n in range(4)] == [True, True, False, False]
    assert not RetryPolicy(max_retries=0).can_retry(0)


def test_retryable_statuses_are_the_transient_5xx() -> None:
    assert frozenset({500, 502, 503, 504}) == RETRYABLE_STATUSES
    assert not {400, 401, 403, 404, 429} & RETRYABLE_STATUSES


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("120", 120.0),
        (" 3 ", 3.0),
        ("0", 0.0),
        ("1.5", 1.5),
        ("-4", 0.0),
        ("Wed, 25 Nov 2026 12:00:30 GMT", 30.0),
        ("Wed, 25 Nov 2026 11:59:00 GMT", 0.0),
        (None, None),
        ("", None),
        ("soon", None),
        ("nan", None),
        ("inf", None),
    ],
)
def test_parse_retry_after(header: str | None, expected: float | None) -> None:
    assert parse_retry_after(header, now=NOW) == expected
