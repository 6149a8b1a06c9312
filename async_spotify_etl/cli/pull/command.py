"""What ``spotify-etl pull`` does once its flags are parsed.

Turns flags, the environment and the ``.env`` file into settings objects, runs the pull
(optionally against an embedded sandbox) and maps the ending to an exit code with one
line on stderr. The sandbox and rich are imported only when they are used.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import datetime as dt
import gc
import logging
import signal
import sys
from collections.abc import Callable, Iterator, Mapping
from contextlib import AsyncExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from ...core import settings as defaults
from ...core.errors import (
    ConfigurationError,
    ResumableStop,
    SettingsError,
    SpotifyETLError,
    UnreachableHostError,
    render,
)
from ...core.settings import (
    ClientSettings,
    Compression,
    Credentials,
    EnrichSettings,
    PullSettings,
    environment,
    plan_fields,
)
from ...engine.ids_file import IdsInput, input_of
from ...engine.known import NOTHING_KNOWN
from ...output.dataset import dataset_above, holds_pull
from ...output.manifest import Manifest
from ...run.ending import Ending, ending_of
from ...run.progress import Snapshot
from ...run.pull import run_pull
from ...run.resume import resume_settings
from ..logs import configured_logging, say
from ..progress import ProgressMode, ProgressReporter, print_summary
from .flags import SANDBOX_DEFAULTS, SANDBOX_FLAGS, SETTING_FLAGS

if TYPE_CHECKING:
    from rich.console import Console

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class _Invocation:
    settings: PullSettings
    env: Mapping[str, str]
    sandbox: dict[str, Any] | None
    progress: ProgressMode
    quiet: bool
    log_format: str
    #: ``--dataset``: settings.out is the dataset's folder, this many days the refresh age.
    dataset: bool = False
    refresh_after: float | None = None
    abandon_unfinished: bool = False
    #: ``--publish``: where a dataset's finished runs are published after the run.
    publish: str | None = None
    #: ``--since DAYS`` (or its default) for a watchlist: counted back from the day the
    #: pull observes (the sandbox's simulated day with ``--sandbox``).
    since_days: int | None = None


def pull(args: argparse.Namespace) -> int:
    """Run ``pull`` and return its exit code."""
    with configured_logging(args.log_format, args.quiet, _progress_mode(args)) as console:
        invocation = _invocation(args)
        try:
            if args.dry_run:
                return asyncio.run(_dry_run(invocation))
            with _collector_tuned():
                return asyncio.run(_pull(invocation, console))
        except (KeyboardInterrupt, asyncio.CancelledError, SpotifyETLError) as exc:
            ending = ending_of(exc)
            if not ending.resumable:
                raise
            # Resumable: exit 75 is for a scheduler to treat as success, 130 an interruption.
            level = "warning"
            line = _stop_line(exc, ending, args)
            say(args.log_format, level, line, exit_code=ending.exit_code)
            return ending.exit_code


def _stop_line(exc: BaseException, ending: Ending, args: argparse.Namespace) -> str:
    """The last line of a pull that stopped resumably: why, and what to run next."""
    hint = render(ending.hint, SETTING_FLAGS, {})
    if args.dataset is not None:  # the next run finishes the unfinished one by itself
        hint = "run the same command again: it finishes this run first"
    if ending.status == "interrupted":
        return f"interrupted; what was complete is saved in {args.dataset or args.out}; {hint}"
    if args.dry_run:  # nothing to resume: the plan is counted again from the start
        hint = "try again when the API answers again"
    if isinstance(exc, ResumableStop):
        return f"stopped: {exc}; {hint}"
    if isinstance(exc, UnreachableHostError):  # not the API failing: it was never reached
        return f"stopped: {exc}; check the URL and the network, then {hint}"
    return f"stopped: the API kept failing after the retries ({type(exc).__name__}: {exc}); {hint}"


#: The cyclic collector's thresholds during a pull (CPython's default is 700, 10, 10).
GC_THRESHOLD = (100_000, 10, 10)


@contextmanager
def _collector_tuned() -> Iterator[None]:
    """Run the cyclic garbage collector rarely while the pull runs, as the command's process
    is the pull's own; the library leaves the collector to the program that embeds it.

    A pull allocates millions of containers (parsed JSON) that reference counting frees;
    none is part of a cycle, yet by default a collection runs every 700 new containers.
    A young generation of 100,000 runs ~140x fewer (measured on 5,000 albums: ~25% less
    CPU for the pull, the same peak RSS); what little cyclic garbage a pull makes
    (asyncio futures, exceptions) waits a little longer.
    """
    saved = gc.get_threshold()
    gc.set_threshold(*GC_THRESHOLD)
    try:
        yield
    finally:
        gc.set_threshold(*saved)


def _progress_mode(args: argparse.Namespace) -> ProgressMode:
    if args.quiet or args.progress is False or args.dry_run:
        return "off"
    # A bar is no JSON line: with --log-format json progress is a log record on a terminal too.
    return "bar" if sys.stderr.isatty() and args.log_format == "text" else "log"


def _where(args: argparse.Namespace) -> Path:
    """The pull's directory, or the dataset's; refuses flags that would be ignored, and a
    pull folder in a dataset or a dataset in a pull folder."""
    if args.dataset is None:
        for flag, given in (
            ("--refresh-after", args.refresh_after is not None),
            ("--abandon-unfinished", args.abandon_unfinished),
            ("--publish", args.publish is not None),
        ):
            if given:
                raise ConfigurationError(f"{flag} needs --dataset")
        out: Path = args.out or Path("data")
        dataset = dataset_above(out.absolute())
        if dataset is not None:
            raise ConfigurationError(
                f"{out} is {'a' if dataset == out.absolute() else 'inside the'} dataset {dataset}:"
                f" add to it with --dataset {dataset}, or give --out a folder outside it"
            )
        return out
    for flag, given in (("--out", args.out is not None), ("--resume", args.resume)):
        if given:
            why = (
                "a dataset's runs have folders of their own"
                if flag == "--out"
                else "a dataset run finishes an unfinished last run by itself"
            )
            raise ConfigurationError(f"--dataset and {flag} do not go together: {why}")
    root = Path(args.dataset)
    if holds_pull(root):
        raise ConfigurationError(
            f"{root} holds a pull, not a dataset: give --dataset a new folder or a dataset's"
            f" (continue that pull with --out {root} --resume)"
        )
    return root


def _pacing_flags(args: argparse.Namespace) -> float | Literal["auto"]:
    """The rate to pull at; refuses the pacing flags that would be silently ignored."""
    if args.rate == "auto" and args.window is not None:
        raise ConfigurationError(
            "--rate auto and --window do not go together: a --window paces with the polite"
            f" {defaults.POLITE_RATE:g} requests/s, auto off; drop one of them"
        )
    rate: float | Literal["auto"] = args.rate if args.rate is not None else defaults.DEFAULT_RATE
    if args.forget_limit and (rate != "auto" or args.window is not None):
        given = "--window" if args.window is not None else f"--rate {rate:g}"
        raise ConfigurationError(
            f"--forget-limit is for --rate auto, and {given} learns no limit: drop one of them"
        )
    return rate


def _invocation(args: argparse.Namespace) -> _Invocation:
    out = _where(args)
    rate = _pacing_flags(args)
    env = environment(args.env_file)
    client = ClientSettings(
        api_url=args.api_url or env.get("SPOTIFY_API_URL") or defaults.DEFAULT_API_URL,
        token_url=args.accounts_url
        or env.get("SPOTIFY_ACCOUNTS_URL")
        or defaults.DEFAULT_TOKEN_URL,
        rate=rate,
        burst=args.burst,
        window=args.window,
        forget_limit=args.forget_limit,
        concurrency=args.concurrency,
        max_retries=args.max_retries,
        max_wait=args.max_wait,
        timeout=args.timeout,
        budget=args.budget,
    )
    if args.ids is not None and args.artist_ids is not None:
        raise ConfigurationError("--ids and --artist-ids do not go together: pick one")
    source = args.source
    if args.artist_ids is not None:
        if source not in (None, "auto", "artists"):
            raise ConfigurationError(f"--artist-ids needs --source artists, not {source}")
        source = "artists"
    since = args.since if isinstance(args.since, str) else None
    # where the enrichment APIs are (tests, a mirror): the environment, else the real hosts
    enrichment = EnrichSettings(
        deezer_url=env.get("DEEZER_API_URL") or defaults.DEFAULT_DEEZER_URL,
        musicbrainz_url=env.get("MUSICBRAINZ_API_URL") or defaults.DEFAULT_MUSICBRAINZ_URL,
    )
    given = {
        "markets": _markets(args.market) if args.market else None,
        "source": source,
        "ids_file": args.ids if args.artist_ids is None else args.artist_ids,
        "since": since,
        "include_groups": args.include_groups,
        "expand": args.expand,
        "artists": args.artists,
        "enrich": args.enrich,
        "max_albums": args.max_albums,
        "compress": args.compress,
    }
    fields = {k: v for k, v in given.items() if v is not None}
    settings = (
        resume_settings(out, client=client, enrichment=enrichment, **fields)
        if args.resume
        else PullSettings(out=out, client=client, enrichment=enrichment, **fields)
    )
    watching = settings.source == "artists"
    for flag, value in (("--since", args.since), ("--include-groups", args.include_groups)):
        if value is not None and not watching:
            raise ConfigurationError(f"{flag} needs --artist-ids")
    since_days = None
    if watching and settings.since is None:
        since_days = args.since if isinstance(args.since, int) else defaults.DEFAULT_SINCE_DAYS
    sandbox = _sandbox_options(args)
    if args.publish is not None:  # a URL that cannot be used is refused before pulling
        from ...stream.target import Target

        Target.parse(args.publish)
    return _Invocation(
        settings,
        env,
        sandbox,
        _progress_mode(args),
        args.quiet,
        args.log_format,
        dataset=args.dataset is not None,
        refresh_after=args.refresh_after,
        abandon_unfinished=args.abandon_unfinished,
        publish=args.publish,
        since_days=since_days,
    )


def _sandbox_options(args: argparse.Namespace) -> dict[str, Any] | None:
    """The embedded sandbox's options, or None; a --sandbox-* flag without --sandbox, or a
    URL flag with it, would be silently ignored, so each is refused in one line."""
    given = {k: getattr(args, flag[2:].replace("-", "_")) for k, flag in SANDBOX_FLAGS.items()}
    if not args.sandbox:
        named = [SANDBOX_FLAGS[k] for k, v in given.items() if v is not None]
        if named:
            raise ConfigurationError(f"{named[0]} needs --sandbox")
        return None
    for flag, value in (("--api-url", args.api_url), ("--accounts-url", args.accounts_url)):
        if value:
            raise ConfigurationError(f"--sandbox serves its own API: drop {flag} or --sandbox")
    options = {k: SANDBOX_DEFAULTS[k] if v is None else v for k, v in given.items()}
    options["rate_limit"] = options["rate_limit"] or None
    return options


def _markets(values: list[str] | None) -> tuple[str, ...]:
    """``--market`` values, comma-separated or repeated, upper-cased, each once.

    PullSettings says which of them is not a market."""
    codes = (code.strip().upper() for value in values or ["US"] for code in value.split(","))
    return tuple(dict.fromkeys(codes))


async def _open_sandbox(stack: AsyncExitStack, invocation: _Invocation) -> tuple[Any, Any]:
    from ...sandbox import Sandbox, SandboxConfig

    assert invocation.sandbox is not None
    try:
        config = SandboxConfig(markets=invocation.settings.markets, **invocation.sandbox)
    except SettingsError as exc:  # spelled as the pull's --sandbox-* flags
        flags = {**SETTING_FLAGS, **SANDBOX_FLAGS}
        raise ConfigurationError(exc.render(flags)) from None
    sandbox = await stack.enter_async_context(Sandbox(config))
    return sandbox, sandbox.credentials


async def _connect(
    stack: AsyncExitStack, invocation: _Invocation
) -> tuple[PullSettings, Credentials, dt.datetime | None]:
    """The settings and credentials to pull with, and the date the run observes: None (the
    wall clock) for Spotify, the simulated date of the sandbox's day for the sandbox."""
    settings, credentials, observed = await _connect_live(stack, invocation)
    return settings, credentials, observed()


async def _connect_live(
    stack: AsyncExitStack, invocation: _Invocation
) -> tuple[PullSettings, Credentials, Callable[[], dt.datetime | None]]:
    """As :func:`_connect`, the observed date asked anew at each run (``watch``: the
    sandbox's day moves with ``--sandbox-day-seconds``)."""
    settings = invocation.settings
    now = dt.datetime.now(dt.UTC)
    if invocation.sandbox is None:
        settings = _window(settings, invocation.since_days, now.date())
        return settings, Credentials.from_env(dict(invocation.env)), lambda: None
    sandbox, credentials = await _open_sandbox(stack, invocation)
    # a new port each time: nothing to remember for the next run, so nothing is written
    client = settings.client.replace(
        api_url=sandbox.api_url, token_url=sandbox.token_url, remember=False
    )

    def observed() -> dt.datetime:
        day = sandbox.config.today_date + dt.timedelta(days=sandbox.state.day)
        return dt.datetime.combine(day, dt.datetime.now(dt.UTC).time(), dt.UTC)

    # the sandbox serves the enrichment APIs too, under these prefixes
    enrichment = dataclasses.replace(
        settings.enrichment,
        deezer_url=f"{sandbox.url}/deezer",
        musicbrainz_url=f"{sandbox.url}/musicbrainz/ws/2",
    )
    settings = _window(settings, invocation.since_days, observed().date())
    replaced = dataclasses.replace(settings, client=client, enrichment=enrichment)
    return replaced, credentials, observed


def _window(settings: PullSettings, days: int | None, today: dt.date) -> PullSettings:
    """A watchlist's ``--since DAYS`` as the date the plan records (a resume keeps it)."""
    if days is None:
        return settings
    return dataclasses.replace(settings, since=(today - dt.timedelta(days=days)).isoformat())


async def _dry_run(invocation: _Invocation) -> int:
    from ...engine.plan import plan_requests

    async with AsyncExitStack() as stack:
        settings, credentials, _ = await _connect(stack, invocation)
        ids = _ids(settings)
        known = NOTHING_KNOWN
        if invocation.dataset:
            from ...run.dataset import dataset_known

            known = dataset_known(settings.out, invocation.refresh_after)
        plan = await plan_requests(settings, credentials, ids, known)
    rate, note = _dry_run_rate(settings.client, credentials)
    for line in plan.lines(rate):
        print(line)
    if note:
        print(f"note: {note}")
    return 0


def _dry_run_rate(client: ClientSettings, credentials: Credentials) -> tuple[float, str]:
    """The rate the dry run times the plan at, and what to say of it with ``--rate auto``:
    the remembered limit's average rate, or the slow start's first rate (an upper bound)."""
    if not client.auto_rate:
        return client.start_rate, ""
    from ...client.memory import Memory, cache_dir

    limit = None
    if client.remember:
        directory = cache_dir(client.cache_dir)
        memory = Memory(directory, credentials.client_id, client.api_url, writable=False)
        limit = memory.limit()
    if limit is None:
        return client.start_rate, (
            f"--rate auto starts at {client.start_rate:g} requests/s and climbs while no 429"
            " comes: the pull is likely faster"
        )
    paced = limit.paced
    return round(paced.rate, 2), f"--rate auto: timed at the limit remembered for this app, {paced}"


def _ids(settings: PullSettings) -> IdsInput | None:
    return input_of(settings.source, settings.ids_file)


async def _pull(invocation: _Invocation, console: Console | None) -> int:
    loop = asyncio.get_running_loop()
    task = asyncio.current_task()
    assert task is not None
    loop.add_signal_handler(signal.SIGTERM, task.cancel)
    try:
        async with AsyncExitStack() as stack:
            settings, credentials, observed_at = await _connect(stack, invocation)
            plan_extra = {"sandbox": _sandbox_identity(invocation.sandbox)}
            mode = invocation.progress

            def progress(snapshot: Callable[[], Snapshot]) -> ProgressReporter:
                return ProgressReporter(snapshot, mode, console=console)

            options: dict[str, Any] = {
                "progress": progress,
                "plan_extra": plan_extra if invocation.sandbox else None,
                "arguments_extra": {"sandbox": invocation.sandbox} if invocation.sandbox else None,
            }
            show = None if invocation.quiet else _summary(settings.compress)
            if invocation.dataset:
                from ...run.dataset import run_dataset

                try:
                    result = await run_dataset(
                        settings,
                        credentials,
                        refresh_after_days=invocation.refresh_after,
                        abandon_unfinished=invocation.abandon_unfinished,
                        observed_at=observed_at,
                        on_finish=show,
                        **options,
                    )
                except Exception:  # a stopped run: what finished before it still goes out
                    await _publish(invocation)
                    raise
                await _publish(invocation)
            else:
                finish = None if show is None else (lambda m: show(m, settings.out))
                result = await run_pull(settings, credentials, on_finish=finish, **options)
    finally:
        loop.remove_signal_handler(signal.SIGTERM)
    ending = ending_of(None, result.failed, result.artists_failed)
    if ending.hint:
        hint = f"{ending.hint}; see {result.paths['errors']}"
        say(invocation.log_format, "warning", hint, exit_code=ending.exit_code)
    return ending.exit_code


async def _publish(invocation: _Invocation) -> None:
    """Publish the dataset's finished runs not yet published (``--publish``); a broker
    that cannot be reached is one warning line: the next run publishes what is missing."""
    if invocation.publish is None:
        return
    from ...stream.publisher import Publisher, PublishError
    from ...stream.target import Target

    target = Target.parse(invocation.publish)
    try:
        async with Publisher(target) as publisher:
            published = await publisher.catch_up(invocation.settings.out)
    except PublishError as exc:
        say(invocation.log_format, "warning", f"not published now ({exc}); the next run will")
        return
    log.info("published %d messages to %s", published.messages, target)


def _sandbox_identity(sandbox: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """The sandbox options that decide its catalogue (a resume must serve the same one)."""
    if sandbox is None:
        return None
    from ...sandbox.config import SandboxConfig

    return {k: sandbox[k] for k in plan_fields(SandboxConfig)}


def _summary(compress: Compression) -> Callable[[Manifest, Path], None]:
    """Prints the end-of-pull summary of the pull in a folder on stdout: it is the
    command's output."""
    from ...output.layout import data_path, manifest_path

    def show(manifest: Manifest, out: Path) -> None:
        paths = {name: data_path(out, name, compress) for name in manifest.files}
        paths["manifest"] = manifest_path(out)
        print_summary(manifest, paths)

    return show
