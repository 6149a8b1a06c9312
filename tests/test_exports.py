"""The public surface is deliberate: the package ``__init__`` is the one public module.

The export list is pinned as a literal, so removing or renaming a public name (one the
README imports, say) fails here, and adding one is a decision this file records.
"""

from __future__ import annotations

import inspect
import pkgutil
import subprocess
import sys

import async_spotify_etl
from async_spotify_etl.core import errors

EXPORTED = {
    "AlbumFailure",
    "AlbumResult",
    "AlbumUnavailableError",
    "ArtistFailure",
    "ArtistResult",
    "ArtistUnavailableError",
    "AuthenticationError",
    "BadRequestError",
    "BudgetSpentError",
    "ClientSettings",
    "ClientStats",
    "ConfigurationError",
    "Credentials",
    "EndpointUnavailableError",
    "EnrichSettings",
    "ForbiddenError",
    "HTTPStatusError",
    "InvalidIdError",
    "MalformedAnswerError",
    "NotFoundError",
    "Pull",
    "PullResult",
    "PullSettings",
    "PullStats",
    "QuotaExceededError",
    "RateLimitedError",
    "ResponseTooLargeError",
    "ResumableStop",
    "ServerError",
    "SettingsError",
    "SpotifyAPI",
    "SpotifyClient",
    "SpotifyETLError",
    "StillFailingError",
    "TransportError",
    "UnauthorizedError",
    "UnreachableHostError",
    "UnreadableItemsError",
    "UnsafeRequestError",
    "__version__",
    "build_report",
    "load_pull",
    "minimum_requests",
    "read_committed",
    "run_dataset",
    "run_pull",
}


def test_the_exported_names_are_exactly_the_pinned_list() -> None:
    assert set(async_spotify_etl.__all__) == EXPORTED
    assert len(async_spotify_etl.__all__) == len(EXPORTED)


def test_every_exported_name_resolves_to_the_package_code() -> None:
    assert async_spotify_etl.__version__.count(".") == 2
    for member in EXPORTED - {"__version__"}:
        value = getattr(async_spotify_etl, member)
        assert value.__module__.startswith("async_spotify_etl."), member


def test_every_exception_a_caller_can_catch_is_exported() -> None:
    raised = {
        name
        for name, value in vars(errors).items()
        if inspect.isclass(value) and issubclass(value, errors.SpotifyETLError)
    }
    assert raised, "the errors module defines no exception"
    assert raised <= set(async_spotify_etl.__all__), raised - set(async_spotify_etl.__all__)


def test_the_errors_docstring_draws_every_exception_under_its_parent() -> None:
    doc = (errors.__doc__ or "").splitlines()
    rows = [line for line in doc if "Error" in line or "Stop" in line]
    names = [row.lstrip(" │├└─").split()[0] for row in rows]
    indent = [len(row) - len(row.lstrip(" │├└─")) for row in rows]
    depth = dict(zip(names, indent, strict=True))
    for name, value in vars(errors).items():
        if not (inspect.isclass(value) and issubclass(value, errors.SpotifyETLError)):
            continue
        assert name in depth, f"{name} is missing from the errors tree"
        if value is errors.SpotifyETLError:
            continue
        parent = next(b for b in value.__mro__[1:] if issubclass(b, errors.SpotifyETLError))
        above = names[: names.index(name)]
        drawn_under = next(n for n in reversed(above) if depth[n] < depth[name])
        assert drawn_under == parent.__name__, f"{name} is drawn under {drawn_under}"


def test_internal_modules_declare_no_public_surface() -> None:
    """Only the package, the sandbox and the dlt sources (public subpackages) say what they
    export."""
    public = {
        "async_spotify_etl",
        "async_spotify_etl.sandbox",
        "async_spotify_etl.integrations.dlt",
    }
    for info in pkgutil.walk_packages(async_spotify_etl.__path__, "async_spotify_etl."):
        if info.name in public or info.name.endswith("__main__"):
            continue
        module = __import__(info.name, fromlist=["_"])
        assert not hasattr(module, "__all__"), f"{info.name} declares __all__"


def test_the_package_imports_its_names_on_first_use() -> None:
    """``import async_spotify_etl`` stays light; ``import *`` still binds every export."""
    probe = (
        "import sys, async_spotify_etl\n"
        "assert 'aiohttp' not in sys.modules, 'import async_spotify_etl loaded aiohttp'\n"
        "from async_spotify_etl import *\n"
        "print(*sorted(k for k in dir() if not k.startswith('_') or k == '__version__'))"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert set(done.stdout.split()) - {"sys", "async_spotify_etl"} == EXPORTED


def test_an_unknown_name_is_an_attribute_error() -> None:
    assert not hasattr(async_spotify_etl, "NoSuchName")
    assert set(dir(async_spotify_etl)) >= EXPORTED
