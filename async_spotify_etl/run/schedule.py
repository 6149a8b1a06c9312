"""When ``watch`` polls next: every ``every`` seconds, more often around Friday midnight.

Spotify's new releases change at midnight local time on Fridays, market by market. Within
:data:`FRIDAY_SPAN` of a watched market's local Friday 00:00 the interval is
``friday_every`` (never more than ``every``). Pure functions of a UTC time, so they are
tested without a clock. A market's time zone comes from :data:`MARKET_ZONES` (its most
populous zone; a market not there counts as UTC).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

#: How long before and after a market's Friday midnight ``friday_every`` applies.
FRIDAY_SPAN = dt.timedelta(minutes=15)
FRIDAY = 4

MARKET_ZONES = {
    "US": "America/New_York", "CA": "America/Toronto", "MX": "America/Mexico_City",
    "BR": "America/Sao_Paulo", "AR": "America/Argentina/Buenos_Aires", "CL": "America/Santiago",
    "CO": "America/Bogota", "PE": "America/Lima", "GB": "Europe/London", "IE": "Europe/Dublin",
    "FR": "Europe/Paris", "DE": "Europe/Berlin", "ES": "Europe/Madrid", "IT": "Europe/Rome",
    "NL": "Europe/Amsterdam", "BE": "Europe/Brussels", "SE": "Europe/Stockholm",
    "NO": "Europe/Oslo", "DK": "Europe/Copenhagen", "FI": "Europe/Helsinki",
    "PL": "Europe/Warsaw", "PT": "Europe/Lisbon", "AT": "Europe/Vienna", "CH": "Europe/Zurich",
    "TR": "Europe/Istanbul", "ZA": "Africa/Johannesburg", "NG": "Africa/Lagos",
    "EG": "Africa/Cairo", "IN": "Asia/Kolkata", "JP": "Asia/Tokyo", "KR": "Asia/Seoul",
    "ID": "Asia/Jakarta", "PH": "Asia/Manila", "TH": "Asia/Bangkok", "VN": "Asia/Ho_Chi_Minh",
    "SG": "Asia/Singapore", "TW": "Asia/Taipei", "HK": "Asia/Hong_Kong", "AE": "Asia/Dubai",
    "SA": "Asia/Riyadh", "IL": "Asia/Jerusalem", "AU": "Australia/Sydney",
    "NZ": "Pacific/Auckland",
}  # fmt: skip


def zone(market: str) -> dt.tzinfo:
    """The time zone Spotify's Friday midnight falls in for ``market`` (UTC if unknown)."""
    try:
        return ZoneInfo(MARKET_ZONES[market])
    except (KeyError, ZoneInfoNotFoundError):
        return dt.UTC


def near_friday_midnight(now: dt.datetime, markets: Sequence[str]) -> bool:
    """Whether ``now`` (aware) is within :data:`FRIDAY_SPAN` of a market's Friday 00:00."""
    for market in markets:
        local = now.astimezone(zone(market))
        for days in (0, 1):  # this day's midnight, or the next one's
            day = local.date() + dt.timedelta(days=days)
            if day.weekday() != FRIDAY:
                continue
            midnight = dt.datetime.combine(day, dt.time(), tzinfo=local.tzinfo)
            if abs(midnight - local) <= FRIDAY_SPAN:
                return True
    return False


def interval(
    now: dt.datetime, markets: Sequence[str], every: float, friday_every: float | None
) -> float:
    """Seconds from the poll that started at ``now`` to the next one."""
    if friday_every is not None and near_friday_midnight(now, markets):
        return min(every, friday_every)
    return every
