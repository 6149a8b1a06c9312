"""Settings refuse what no pull can run with, naming the field as the caller spells it."""

from __future__ import annotations

from pathlib import Path

import pytest

from async_spotify_etl import (
    ClientSettings,
    ConfigurationError,
    Credentials,
    PullSettings,
    SettingsError,
)
from async_spotify_etl.cli.pull.flags import SETTING_FLAGS

BAD_PULLS: list[tuple[dict[str, object], str, str]] = [
    ({"markets": ()}, "markets", "markets must name at least one market"),
    ({"markets": ("USA",)}, "markets", "markets 'USA' is not a two-letter country code"),
    ({"markets": ("us",)}, "markets", "markets 'us' is not a two-letter country code"),
    ({"markets": ("UK",)}, "markets", "the United Kingdom is GB"),
    ({"markets": ("ZZ",)}, "markets", "'ZZ' is not an ISO 3166-1 country"),
    ({"source": "charts"}, "source", "source must be one of auto, new-releases, search, ids"),
    ({"expand": "all"}, "expand", "expand must be one of auto, several, album, tracks"),
    ({"compress": "zstd"}, "compress", "compress must be one of none, gzip, not 'zstd'"),
    ({"max_albums": 0}, "max_albums", "max_albums must be at least 1, got 0"),
    ({"ids_file": Path("x"), "source": "search"}, "ids_file", "ids_file needs source ids"),
    ({"source": "ids"}, "ids_file", "source ids needs ids_file FILE"),
    ({"ids_file": Path("x"), "expand": "tracks"}, "expand", "it cannot work from ids_file"),
]


@pytest.mark.parametrize(("changes", "field", "message"), BAD_PULLS)
def test_pull_settings_refuse_what_no_pull_can_run(
    changes: dict[str, object], field: str, message: str
) -> None:
    with pytest.raises(SettingsError) as raised:
        PullSettings(out=Path("out"), **changes)  # type: ignore[arg-type]
    assert raised.value.field == field
    assert message in str(raised.value)
    assert "--" not in str(raised.value)  # a library caller never typed a flag
    rendered = raised.value.render(SETTING_FLAGS)  # the command line spells them as flags
    assert SETTING_FLAGS[field] in rendered
    assert "{" not in rendered


def test_settings_that_can_run_are_accepted() -> None:
    settings = PullSettings(out=Path("o"), markets=("US", "GB"), ids_file=Path("x"), source="ids")
    assert settings.markets == ("US", "GB")


@pytest.mark.parametrize(
    ("changes", "field"),
    [({"rate": 0}, "rate"), ({"concurrency": 0}, "concurrency"), ({"window": (0, 30)}, "window")],
)
def test_client_settings_name_the_field(changes: dict[str, object], field: str) -> None:
    with pytest.raises(ConfigurationError) as raised:
        ClientSettings(**changes)  # type: ignore[arg-type]
    assert isinstance(raised.value, SettingsError)
    assert raised.value.field == field
    assert str(raised.value).startswith(field)
    assert raised.value.render(SETTING_FLAGS).startswith(SETTING_FLAGS[field])


def test_credentials_from_env_read_dot_env_under_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SPOTIFY_CLIENT_ID", raising=False)
    monkeypatch.delenv("SPOTIFY_CLIENT_SECRET", raising=False)
    Path(".env").write_text("SPOTIFY_CLIENT_ID=from-file\nSPOTIFY_CLIENT_SECRET=s3cret\n")
    assert Credentials.from_env() == Credentials("from-file", "s3cret")
    monkeypatch.setenv("SPOTIFY_CLIENT_ID", "from-environment")  # the environment wins
    assert Credentials.from_env().client_id == "from-environment"
    Path(".env").unlink()
    with pytest.raises(ConfigurationError, match="missing SPOTIFY_CLIENT_SECRET"):
        Credentials.from_env()


def test_an_env_file_that_is_a_directory_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    Path(".env").mkdir()
    with pytest.raises(SettingsError, match=r"env_file \.env is a directory"):
        Credentials.from_env()
