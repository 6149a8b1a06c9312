"""Property tests of Retry-After parsing and the retry delay."""

from __future__ import annotations

import datetime as dt
import email.utils
import math

from hypothesis import given
from hypothesis import strategies as st

from async_spotify_etl.client.retry import RetryPolicy, parse_retry_after

NOW = dt.datetime(2026, 11, 25, 6, 0, 0, tzinfo=dt.UTC)


@given(st.integers(0, 10**7), st.sampled_from(["", " ", "\t"]))
def test_retry_after_seconds_are_read_exactly(seconds: int, pad: str) -> None:
    assert parse_retry_after(f"{pad}{seconds}{pad}", NOW) == float(seconds)


@given(st.integers(-(10**6), 10**6))
def test_retry_after_as_an_http_date_is_the_seconds_until_then(delta: int) -> None:
    header = email.utils.format_datetime(NOW + dt.timedelta(seconds=delta), usegmt=True)
    assert parse_retry_after(header, NOW) == max(0.0, float(delta))


@given(st.text(max_size=40))
def test_any_retry_after_header_is_none_or_a_finite_wait(header: str) -> None:
    seconds = parse_retry_after(header, NOW)
    assert seconds is None or (math.isfinite(seconds) and seconds >= 0)


@given(
    st.integers(0, 80),
    st.one_of(st.none(), st.floats(0, 10**5)),
    st.floats(0, 0.999999),
)
def test_a_retry_delay_honours_retry_after_and_the_cap(
    attempt: int, retry_after: float | None, roll: float
) -> None:
    policy = RetryPolicy(max_retries=5, base=0.5, cap=30.0, random=lambda: roll)
    delay = policy.delay(attempt, retry_after)
    if retry_after:
        assert retry_after <= delay <= retry_after + policy.retry_after_jitter
    else:
        assert 0 <= delay <= policy.cap
