"""The public surface is deliberate: every module declares ``__all__`` and it resolves."""

from __future__ import annotations

import importlib
import pkgutil
import subprocess
import sys

import async_spotify_etl


def _modules() -> list[str]:
    names = [async_spotify_etl.__name__]
    for info in pkgutil.walk_packages(async_spotify_etl.__path__, f"{async_spotify_etl.__name__}."):
        if info.name.rsplit(".", 1)[-1] != "__main__":
            names.append(info.name)
    return names


def test_every_module_declares_all_and_every_name_resolves() -> None:
    for name in _modules():
        module = importlib.import_module(name)
        exported = getattr(module, "__all__", None)
        assert exported is not None, f"{name} has no __all__"
        missing = [member for member in exported if not hasattr(module, member)]
        assert not missing, f"{name}.__all__ names missing members: {missing}"
        assert len(set(exported)) == len(exported), f"{name}.__all__ repeats a name"


def test_package_exports_are_public_and_versioned() -> None:
    assert async_spotify_etl.__version__.count(".") == 2
    for member in async_spotify_etl.__all__:
        if member == "__version__":
            continue
        value = getattr(async_spotify_etl, member)
        assert value.__module__.startswith("async_spotify_etl."), member


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
    assert set(done.stdout.split()) - {"sys", "async_spotify_etl"} == set(async_spotify_etl.__all__)


def test_an_unknown_name_is_an_attribute_error() -> None:
    assert not hasattr(async_spotify_etl, "NoSuchName")
    assert set(async_spotify_etl.__all__) <= set(dir(async_spotify_etl))
