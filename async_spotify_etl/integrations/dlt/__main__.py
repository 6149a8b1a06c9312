"""``python -m async_spotify_etl.integrations.dlt DESTINATION``: a load through dlt.

    python -m async_spotify_etl.integrations.dlt duckdb --sandbox --market US,GB
    python -m async_spotify_etl.integrations.dlt postgres --market US,GB,DE --budget 2000
    python -m async_spotify_etl.integrations.dlt duckdb --from data/

The pull (``spotify_releases``), or the runs of a dataset folder (``--from DIR``), into any
dlt destination; its credentials come from dlt's config (``.dlt/secrets.toml`` or
``DESTINATION__POSTGRES__CREDENTIALS``...), Spotify's as the source documents. Exit 0 when
the run is complete, 2 for a configuration to fix, 75 when it stopped resumably (the next
run finishes it), 1 when dlt failed to load.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from ...core.errors import ConfigurationError
from ...core.settings import ClientSettings, Credentials

EXIT_STOPPED = 75


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return _load(args)
    except ConfigurationError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


def _load(args: argparse.Namespace) -> int:
    import dlt
    from dlt.pipeline.exceptions import PipelineStepFailed

    from .sources import SECTION, spotify_dataset, spotify_releases

    pipeline = dlt.pipeline(
        pipeline_name=args.pipeline_name,
        destination=args.destination,
        dataset_name=args.dataset_name,
        pipelines_dir=args.pipelines_dir,
    )
    markets = [m.strip() for m in args.market.split(",") if m.strip()]
    with _client(args) as (client, credentials):
        if args.source_dir is not None:
            source = spotify_dataset(args.source_dir)
        else:
            source = spotify_releases(markets=markets, client=client, credentials=credentials)
        try:
            info = pipeline.run(source)
        except PipelineStepFailed as exc:
            cause = exc.__cause__ or exc.__context__
            if isinstance(cause, ConfigurationError):
                raise cause from None
            print(f"error: dlt failed at {exc.step}: {cause or exc}", file=sys.stderr)
            return 1
    print(info)
    state = pipeline.state.get("sources", {}).get(SECTION, {})
    return EXIT_STOPPED if state.get("pending") else 0


@contextmanager
def _client(args: argparse.Namespace) -> Iterator[tuple[ClientSettings, Credentials | None]]:
    """The client settings (and credentials): Spotify's, or an embedded sandbox's."""
    budget = args.budget
    pace: dict[str, object] = {"budget": budget}
    if args.rate is not None:
        pace["rate"] = args.rate if args.rate == "auto" else float(args.rate)
    if args.concurrency is not None:
        pace["concurrency"] = args.concurrency
    if args.burst is not None:
        pace["burst"] = args.burst
    if not args.sandbox:
        urls = {"api_url": args.api_url, "token_url": args.token_url}
        yield ClientSettings().replace(**{k: v for k, v in urls.items() if v}, **pace), None
        return
    from ...sandbox import Sandbox, SandboxConfig

    config = SandboxConfig(day=args.sandbox_day, albums_per_market=args.sandbox_albums)
    ready = threading.Event()
    stop: asyncio.Event | None = None
    loop: asyncio.AbstractEventLoop | None = None
    box: list[Sandbox] = []

    async def serve() -> None:
        nonlocal stop, loop
        loop, stop = asyncio.get_running_loop(), asyncio.Event()
        async with Sandbox(config) as sandbox:
            box.append(sandbox)
            ready.set()
            await stop.wait()

    thread = threading.Thread(target=asyncio.run, args=(serve(),), daemon=True)
    thread.start()
    ready.wait()
    sandbox = box[0]
    try:
        yield (
            ClientSettings(api_url=sandbox.api_url, token_url=sandbox.token_url).replace(**pace),
            sandbox.credentials,
        )
    finally:
        assert loop is not None
        assert stop is not None
        loop.call_soon_threadsafe(stop.set)
        thread.join()


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m async_spotify_etl.integrations.dlt",
        description="Load new releases (or a dataset folder) into a dlt destination.",
    )
    parser.add_argument("destination", help="a dlt destination: duckdb, postgres, filesystem...")
    parser.add_argument("--market", default="US", help="markets, comma-separated (default US)")
    parser.add_argument("--budget", type=int, help="at most N API requests this run")
    parser.add_argument(
        "--from", dest="source_dir", type=Path, help="load this dataset or pull folder instead"
    )
    parser.add_argument("--rate", help="requests per second, or auto (the default)")
    parser.add_argument("--concurrency", type=int, help="requests in flight at once")
    parser.add_argument("--burst", type=int, help="requests the pacer may send at once")
    parser.add_argument("--api-url", help="the Web API's base URL (an emulator's)")
    parser.add_argument("--token-url", help="the accounts service's token URL")
    parser.add_argument("--pipeline-name", default="spotify_releases")
    parser.add_argument("--dataset-name", default="spotify")
    parser.add_argument("--pipelines-dir", help="dlt's working folder (default ~/.dlt/pipelines)")
    parser.add_argument("--sandbox", action="store_true", help="pull the embedded sandbox")
    parser.add_argument("--sandbox-day", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--sandbox-albums", type=int, default=100, help=argparse.SUPPRESS)
    return parser


if __name__ == "__main__":
    sys.exit(main())
