"""``spotify-etl watch --publish`` and ``spotify-etl events --follow`` as users run them:
real processes, a real nats-server, the sandbox's listings moving while they run (#27.5).

Each test ends with what the next start publishes first (the runs the index has not
published yet), then checks the stream against the committed events.ndjson: every event
once, in order per market, nothing missing."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

import orjson
import pytest

from async_spotify_etl.output.dataset import Dataset, read_index
from tests.nats_server import NatsServer, free_port, unavailable
from tests.run.test_dataset import every

from .conftest import by_market, file_events, key, stored
from .live import (
    HoldingProxy,
    caught_up,
    cli,
    ended,
    observed_days,
    progress,
    publish_rest,
    start,
    wait_for,
)

#: A small, fast catalogue whose listings move every DAY seconds.
SANDBOX = ("--sandbox", "--sandbox-albums", "10", "--sandbox-latency", "0")
MARKETS = ("--market", "US", "--market", "GB")
DAY = "2"


def watch(root: Path, *extra: str) -> list[str]:
    return cli("watch", *SANDBOX, *MARKETS, "--dataset", str(root), *extra)


def check_stream(url: str, prefix: str, root: Path) -> list[dict[str, object]]:
    """The stream holds every committed event, album and artist once, events in the files'
    order (so in order per market); returns the events' bodies."""
    messages = asyncio.run(stored(url, prefix.upper()))
    assert len({m.msg_id for m in messages}) == len(messages), "a message went out twice"
    events = [m for m in messages if m.subject.startswith(f"{prefix}.events.")]
    files = file_events(root)
    assert [key(m.body) for m in events] == files
    assert by_market([key(m.body) for m in events]) == by_market(files)
    albums = [m.body["album"]["id"] for m in messages if m.subject == f"{prefix}.albums"]
    assert albums == [a["id"] for a in every(root, "albums")]
    artists = [m.body["artist"]["id"] for m in messages if m.subject == f"{prefix}.artists"]
    assert artists == [a["id"] for a in every(root, "artists")]
    return [m.body for m in events]


def test_three_sandbox_days_watched_live_give_each_event_once_in_order(
    nats_server: NatsServer, tmp_path: Path
) -> None:
    root, url = tmp_path / "ds", f"{nats_server.url}/live"
    argv = watch(root, "--sandbox-day-seconds", DAY, "--every", "0.5", "--publish", url)
    proc = start(argv, tmp_path, tmp_path / "watch.log")
    try:
        wait_for("a first run published", lambda: progress(root, "live") is not None, proc)
        printed = tmp_path / "printed.ndjson"
        with printed.open("wb") as out:
            follow = start(
                cli("events", "--follow", "--from", url), tmp_path, tmp_path / "events.log",
                stdout=out,
            )  # fmt: skip
        wait_for("three sandbox days watched", lambda: len(observed_days(root)) >= 3, proc)
        wait_for("all published", lambda: caught_up(root, "live"), proc)
    finally:
        proc.send_signal(signal.SIGTERM)
    assert ended(proc) in (0, 75)
    log = (tmp_path / "watch.log").read_text()
    polls = [line.split(" poll ")[1].split(":")[0] for line in log.splitlines() if " poll " in line]
    assert polls == [str(n) for n in range(1, len(polls) + 1)]  # one line a poll
    assert len(polls) >= len(read_index(root).runs) >= 3
    publish_rest(url, root)
    events = check_stream(url, "live", root)
    kinds = {e["type"] for e in events}
    assert kinds == {"listed", "delisted"}  # the days moved the listings
    assert all(e["version"] == 1 and e["name"] and e["release_date"] for e in events)

    # the consumer printed every event, once, as JSON lines, and stops on SIGTERM
    def lines() -> list[bytes]:
        return printed.read_bytes().splitlines()

    wait_for("every event printed", lambda: len(lines()) >= len(events), follow)
    follow.send_signal(signal.SIGTERM)
    assert ended(follow) == 0
    assert [orjson.loads(line) for line in lines()] == events


def test_watch_killed_mid_publish_and_restarted_misses_nothing_and_repeats_nothing(
    nats_server: NatsServer, tmp_path: Path
) -> None:
    """The broker stops answering after 70 publishes (the index recorded 50), watch is
        killed -9 there; the restart publishes the rest of that run (after the stream's last
    message, not the index's 50) and the next, each message once."""
    root = tmp_path / "ds"
    proxy = HoldingProxy(nats_server.port, publishes=70)
    held = f"nats://127.0.0.1:{proxy.port}/crash"
    big = ("--sandbox-albums", "40")  # ~200 messages in the first run
    argv = watch(root, *big, "--every", "30", "--publish", held)
    first = start(argv, tmp_path, tmp_path / "1.log")

    def at_50() -> bool:
        done = progress(root, "crash") or {}
        return (done.get("sent"), done.get("complete")) == (50, False)

    try:
        wait_for("50 recorded", at_50, first)
        wait_for("70 stored", lambda: len(asyncio.run(stored(nats_server.url, "CRASH"))) == 70)
    finally:
        first.kill()
        proxy.close()
    assert ended(first) == -signal.SIGKILL
    url = f"{nats_server.url}/crash"
    argv = watch(root, *big, "--every", "30", "--publish", url)
    again = start(argv, tmp_path, tmp_path / "2.log")
    try:
        wait_for("the restart published all", lambda: caught_up(root, "crash"), again)
    finally:
        again.send_signal(signal.SIGTERM)
    assert ended(again) in (0, 75)
    publish_rest(url, root)
    check_stream(url, "crash", root)
    total = len(asyncio.run(stored(url, "CRASH")))
    assert f"published {total - 70} messages of 2 runs" in (tmp_path / "2.log").read_text()


def test_a_broker_stopped_and_back_gets_everything_and_is_said_once(
    nats_server: NatsServer, tmp_path: Path
) -> None:
    root, url = tmp_path / "ds", f"{nats_server.url}/back"
    argv = watch(root, "--sandbox-day-seconds", DAY, "--every", "0.5", "--publish", url)
    proc = start(argv, tmp_path, tmp_path / "watch.log")
    try:
        wait_for("a first run published", lambda: progress(root, "back") is not None, proc)
        nats_server.stop()
        days = len(observed_days(root))
        wait_for("two more days pulled", lambda: len(observed_days(root)) >= days + 2, proc)
        nats_server.start()
        wait_for("all published", lambda: caught_up(root, "back"), proc)
    finally:
        proc.send_signal(signal.SIGTERM)
    assert ended(proc) in (0, 75)
    log = (tmp_path / "watch.log").read_text()
    assert log.count("cannot publish") == 1, log
    assert "again after" in log
    publish_rest(url, root)
    check_stream(url, "back", root)


@pytest.mark.parametrize("inside", [False, True], ids=["between-polls", "inside-a-run"])
def test_sigterm_stops_watch_cleanly_and_leaves_the_run_resumable(
    tmp_path: Path, inside: bool
) -> None:
    root = tmp_path / "ds"
    slow = ("--sandbox-albums", "60", "--sandbox-latency", "0.3") if inside else ()
    proc = start(watch(root, "--every", "30", *slow), tmp_path, tmp_path / "watch.log")
    dataset = Dataset(root)

    def in_a_run() -> bool:
        runs = root / "runs"
        return runs.is_dir() and any(runs.iterdir()) and not read_index(root).runs

    try:
        if inside:
            wait_for("a run going", in_a_run, proc)
        else:
            wait_for("a first poll ended", lambda: bool(observed_days(root)), proc)
    finally:
        proc.send_signal(signal.SIGTERM)
    code = ended(proc)
    index = read_index(root)
    if inside:
        assert code == 75
        unfinished = dataset.unfinished(index)
        assert unfinished is not None  # the next run finishes it first
    else:
        assert code == 0
        assert [r["status"] for r in index.runs] == ["complete"]
    assert "Traceback" not in (tmp_path / "watch.log").read_text()


def test_pull_dataset_publish_never_stops_for_a_broker_that_is_down(
    tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """``pull --dataset --publish``: a broker that is down is one warning line, the run
    completes (exit 0); the next pull, with the broker back, publishes both runs once."""
    if (why := unavailable()) is not None:
        pytest.skip(why)
    root, port = tmp_path / "ds", free_port()
    url = f"nats://127.0.0.1:{port}/pulls"

    def pull(day: str, log: str) -> int:
        argv = cli("pull", *SANDBOX, *MARKETS, "--sandbox-day", day, "--dataset", str(root))
        return ended(start([*argv, "--publish", url], tmp_path, tmp_path / log))

    assert pull("0", "1.log") == 0
    said = (tmp_path / "1.log").read_text()
    (line,) = [line for line in said.splitlines() if "not published" in line]
    assert line.startswith(f"spotify-etl: not published now (cannot reach nats://127.0.0.1:{port}")
    assert line.endswith("; the next run will")
    assert [r["status"] for r in read_index(root).runs] == ["complete"]
    server = NatsServer(tmp_path_factory.mktemp("nats") / "store", port)
    server.start()
    try:
        assert pull("1", "2.log") == 0
        assert caught_up(root, "pulls")
        check_stream(server.url, "pulls", root)
    finally:
        server.stop()
