"""Datasets built from real sandbox pulls, laid out as ``pull --dataset`` lays them out.

Each run lists a window of the sandbox's listing that moves by :data:`SHIFT` albums a run
(some albums leave, new ones enter, every position shifts), fetches with an ordinary pull
(``--ids``) only the albums the dataset has not fetched yet (and, on the third run, the
first run's albums still listed, as ``--refresh-after`` would), and writes its own
``listings.ndjson`` and ``events.ndjson``; dataset.json lists the runs that finished.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from async_spotify_etl.core.settings import ClientSettings, PullSettings
from async_spotify_etl.run.pull import run_pull

MARKETS = ("US", "GB")
WINDOW = 12
SHIFT = 4
RUNS = 3
#: An album id the sandbox does not know: the second run asks for it and records a failure.
MISSING = "0123456789abcdefABCDEF"
#: The second run writes gzip, the others plain files.
GZIP_RUN = 1
#: The runs' UTC start times, one a day (the run ids).
STARTS = tuple(dt.datetime(2026, 12, 1 + k, 7, 13, tzinfo=dt.UTC) for k in range(RUNS + 1))


def run_id(k: int) -> str:
    return f"{STARTS[k]:%Y-%m-%dT%H%M%SZ}"


def iso(at: dt.datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass
class Dataset:
    """A dataset under construction: ``await run(k)`` adds run k and lists it."""

    root: Path
    sandbox: Any
    fetched: dict[str, int] = field(default_factory=dict)  # album id -> run that fetched it
    listed: dict[int, dict[str, list[str]]] = field(default_factory=dict)
    entries: list[dict[str, Any]] = field(default_factory=list)

    @property
    def truth(self) -> dict[str, Any]:
        truth: dict[str, Any] = self.sandbox.truth()
        return truth

    def listing(self, k: int) -> dict[str, list[str]]:
        """Run k's listing per market, in position order."""
        return {m: self.truth["markets"][m][SHIFT * k : SHIFT * k + WINDOW] for m in MARKETS}

    def folder(self, k: int) -> Path:
        return self.root / "runs" / run_id(k)

    async def pull(self, k: int) -> Path:
        """Run k's pull into its folder (not yet listed in dataset.json)."""
        listing = self.listing(k)
        seen = dict.fromkeys(a for m in MARKETS for a in listing[m])
        wanted = [a for a in seen if a not in self.fetched]
        if k == 2:  # the first run's albums, refreshed
            wanted += [a for a in seen if self.fetched.get(a) == 0]
        out = self.folder(k)
        out.parent.mkdir(parents=True, exist_ok=True)
        ids = self.root / f"ids-{k}.txt"
        missing = [MISSING] if k == 1 else []
        ids.write_text("".join(f"{a}\n" for a in [*wanted, *missing]))
        settings = PullSettings(
            out=out,
            markets=MARKETS,
            source="ids",
            ids_file=ids,
            compress="gzip" if k == GZIP_RUN else "none",
            client=ClientSettings(
                api_url=self.sandbox.api_url,
                token_url=self.sandbox.token_url,
                rate=1000.0,
                concurrency=8,
            ),
        )
        result = await run_pull(settings, self.sandbox.credentials)
        assert result.status in ("complete", "failed")
        self.fetched.update(dict.fromkeys(wanted, k))
        return out

    async def run(self, k: int) -> None:
        """Pull run k, write its listing and events, and list it in dataset.json."""
        out = await self.pull(k)
        listing = self.listing(k)
        at = iso(STARTS[k])
        lines = [
            {"run_id": run_id(k), "observed_at": at, "market": m, "position": p, "album_id": a}
            for m in MARKETS
            for p, a in enumerate(listing[m], start=1)
        ]
        _write_lines(out / "listings.ndjson", lines)
        _write_lines(out / "events.ndjson", self._events(k, listing, at))
        self.listed[k] = listing
        manifest = orjson.loads((out / "manifest.json").read_bytes())
        self.entries.append(
            {
                "id": run_id(k),
                "path": f"runs/{run_id(k)}",
                "started_at": at,
                "finished_at": iso(STARTS[k] + dt.timedelta(minutes=3)),
                "status": manifest["status"],
                "markets": list(MARKETS),
                "counts": manifest["counts"],
            }
        )
        index = self.root / "dataset.json"
        tmp = index.with_suffix(".tmp")
        tmp.write_bytes(orjson.dumps({"format": 1, "runs": self.entries}))
        tmp.replace(index)

    def _events(self, k: int, listing: dict[str, list[str]], at: str) -> list[dict[str, Any]]:
        previous = self.listed[max(self.listed)] if self.listed else {m: [] for m in MARKETS}
        events = []
        for m in MARKETS:
            before = {a: p for p, a in enumerate(previous[m], start=1)}
            now = {a: p for p, a in enumerate(listing[m], start=1)}
            events += [
                _event(k, at, m, a, "listed", p, None) for a, p in now.items() if a not in before
            ]
            events += [
                _event(k, at, m, a, "delisted", None, p) for a, p in before.items() if a not in now
            ]
        return events

    def expected_listings(self) -> set[tuple[str, str, int, str]]:
        return {
            (run_id(k), m, p, a)
            for k, listing in self.listed.items()
            for m in MARKETS
            for p, a in enumerate(listing[m], start=1)
        }


def _event(
    k: int, at: str, market: str, album: str, event: str, pos: int | None, prev: int | None
) -> dict[str, Any]:
    return {
        "run_id": run_id(k),
        "at": at,
        "market": market,
        "album_id": album,
        "event": event,
        "position": pos,
        "previous_position": prev,
    }


def _write_lines(path: Path, lines: list[dict[str, Any]]) -> None:
    path.write_bytes(b"".join(orjson.dumps(line) + b"\n" for line in lines))


async def make_dataset(sandbox_factory: Any, root: Path, runs: int = RUNS) -> Dataset:
    """A dataset of ``runs`` runs in ``root`` from one sandbox."""
    sandbox = await sandbox_factory(
        seed=23, markets=MARKETS, albums_per_market=WINDOW + SHIFT * RUNS, access="extended"
    )
    dataset = Dataset(root, sandbox)
    for k in range(runs):
        await dataset.run(k)
    return dataset
