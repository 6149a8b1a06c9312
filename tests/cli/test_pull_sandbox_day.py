"""``spotify-etl pull --sandbox --sandbox-day N``: the day's lists, and part of the plan."""

from __future__ import annotations

from pathlib import Path

import pytest

from async_spotify_etl.cli import main
from async_spotify_etl.sandbox import SandboxConfig
from async_spotify_etl.sandbox.catalogue import Catalogue
from tests.pulls import read_pull

from .test_pull_cli import SANDBOX, one_error_line

pytestmark = pytest.mark.usefixtures("clean_env")

PULL = ["pull", *SANDBOX, "--market", "US,GB", "--sandbox-albums", "8", "--quiet"]


def _listed(day: int) -> set[str]:
    config = SandboxConfig(markets=("US", "GB"), albums_per_market=8, day=day)
    return set(Catalogue(config, "http://x/v1").truth()["albums"])


def test_a_pull_on_a_later_day_gets_that_days_albums(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*PULL, "--sandbox-day", "4", "--out", "d4"]) == 0
    assert main([*PULL, "--out", "d0"]) == 0
    pulled = {d: {a["id"] for a in read_pull(Path(d))["albums"]} for d in ("d0", "d4")}
    assert pulled == {"d0": _listed(0), "d4": _listed(4)}
    assert pulled["d0"] != pulled["d4"]
    assert main([*PULL, "--sandbox-day", "5", "--out", "d4", "--resume"]) == 2
    assert "different plan" in one_error_line(capsys.readouterr().err)


def test_a_negative_day_is_one_line_naming_the_flag(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stop:
        main([*PULL, "--sandbox-day", "-1", "--out", "o"])
    assert stop.value.code == 2
    assert "--sandbox-day: must not be negative" in one_error_line(capsys.readouterr().err)
    assert not Path("o").exists()
    assert main(["sandbox", "--day", "-2"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "--day is out of range: -2" in err
