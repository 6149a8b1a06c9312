"""Properties of the sandbox's paging links and rolling window, over many inputs."""

from __future__ import annotations

import math
from urllib.parse import parse_qs, urlsplit

import orjson
from hypothesis import given
from hypothesis import strategies as st

from async_spotify_etl.sandbox.behaviours import RollingWindow
from async_spotify_etl.sandbox.pages import paging

URL = "http://127.0.0.1:1/v1/albums/abc/tracks"


def _offset(link: str | None) -> int | None:
    if link is None:
        return None
    query = parse_qs(urlsplit(link).query)
    assert query["market"] == ["SE"]
    return int(query["offset"][0])


@given(
    total=st.integers(0, 400),
    limit=st.integers(1, 50),
    offset=st.integers(0, 450),
)
def test_paging_links_step_by_limit_and_keep_the_query(total: int, limit: int, offset: int) -> None:
    items = [orjson.dumps({"n": n}) for n in range(offset, min(offset + limit, total))]
    query = {"market": "SE", "limit": str(limit), "offset": str(offset)}
    page = orjson.loads(paging(URL, query, items, offset=offset, limit=limit, total=total))
    assert [i["n"] for i in page["items"]] == list(range(offset, min(offset + limit, total)))
    assert (page["limit"], page["offset"], page["total"]) == (limit, offset, total)
    assert _offset(page["href"]) == offset
    assert _offset(page["next"]) == (offset + limit if offset + limit < total else None)
    assert _offset(page["previous"]) == (max(0, offset - limit) if offset else None)


@given(
    limit=st.integers(1, 8),
    window=st.floats(0.5, 60.0),
    gaps=st.lists(st.floats(0.0, 20.0), min_size=1, max_size=60),
)
def test_rolling_window_never_overfills_and_retry_after_is_exact(
    limit: int, window: float, gaps: list[float]
) -> None:
    rolling = RollingWindow(limit, window)
    admitted: list[float] = []
    now = 0.0
    for gap in gaps:
        now += gap
        wait = rolling.admit(now)
        recent = [t for t in admitted if t > now - window]
        if wait is None:
            assert len(recent) < limit
            admitted.append(now)
        else:
            assert len(recent) == limit
            frees_at = min(recent) + window
            assert wait == max(1, math.ceil(frees_at - now))
