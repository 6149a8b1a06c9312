"""A throwaway PostgreSQL server for the tests: ``initdb`` and ``pg_ctl`` on a free port
with a temporary socket directory, stopped at the end. As root, the server runs as the
``postgres`` user (PostgreSQL refuses to run as root)."""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

#: The password of the test role: tests check it is never printed or logged.
PASSWORD = "s3cret-Pa55word"


@dataclass(frozen=True)
class Server:
    host: str
    port: int

    def url(self, *, password: bool = True) -> str:
        auth = f"etl:{PASSWORD}" if password else "etl"
        return f"postgresql://{auth}@{self.host}:{self.port}/warehouse"


def _binary(name: str) -> str | None:
    found = shutil.which(name) or next(
        iter(sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)), None
    )
    return found


def unavailable() -> str | None:
    """Why no server can be had here, or None."""
    if _binary("initdb") is None or _binary("pg_ctl") is None:
        return "no PostgreSQL server binaries (initdb, pg_ctl); apt-get install postgresql"
    if os.geteuid() == 0 and (shutil.which("runuser") is None or not _has_user("postgres")):
        return "running as root without a postgres user to run the server as"
    return None


def _has_user(name: str) -> bool:
    import pwd

    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def server() -> Iterator[Server]:
    """Start a cluster with a role ``etl`` (password :data:`PASSWORD`, scram over TCP)
    owning a database ``warehouse``; stop and delete it at the end."""
    initdb, pg_ctl = _binary("initdb"), _binary("pg_ctl")
    assert initdb
    assert pg_ctl
    as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    root = Path(tempfile.mkdtemp(prefix="spotify-etl-pg-"))
    root.chmod(0o777)
    data, sock = root / "data", root / "sock"
    sock.mkdir()
    sock.chmod(0o777)
    port = _free_port()
    env = {**os.environ, "LC_ALL": "C"}

    def run(*cmd: str) -> None:
        subprocess.run([*as_user, *cmd], check=True, capture_output=True, env=env, timeout=120)

    try:
        run(
            initdb,
            "-D",
            str(data),
            "-U",
            "postgres",
            "--auth-local=trust",
            "--auth-host=scram-sha-256",
            "-E",
            "UTF8",
        )
        options = f"-p {port} -k {sock} -c listen_addresses=127.0.0.1 -c fsync=off"
        run(pg_ctl, "-D", str(data), "-o", options, "-l", str(root / "log"), "-w", "start")
        try:
            import psycopg

            admin = dict(host=str(sock), port=port, user="postgres", dbname="postgres")
            with psycopg.connect(**admin, autocommit=True) as con:  # type: ignore[arg-type]
                con.execute(f"CREATE ROLE etl LOGIN PASSWORD '{PASSWORD}'")
                con.execute("CREATE DATABASE warehouse OWNER etl")
            yield Server("127.0.0.1", port)
        finally:
            run(pg_ctl, "-D", str(data), "-m", "immediate", "-w", "stop")
    finally:
        shutil.rmtree(root, ignore_errors=True)
