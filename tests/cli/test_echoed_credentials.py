"""A token endpoint that echoes the request's Authorization header back in its error: no
form of the credentials (the secret, the Base64 of ``id:secret`` in any variant, a part
of it after ``Basic``) reaches stderr, the JSON log or any file of the pull (#23.2)."""

from __future__ import annotations

import asyncio
import base64
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

import pytest
from aiohttp import web

from async_spotify_etl.cli import main

CLIENT_ID = "echo-client"
#: Chosen so that standard and URL-safe Base64 differ and padding is needed.
SECRET = "echo-secret>>?~~"
PAIR = f"{CLIENT_ID}:{SECRET}".encode()
STANDARD = base64.b64encode(PAIR).decode()
URLSAFE = base64.urlsafe_b64encode(PAIR).decode()
#: ``echo-client:`` is 12 bytes, 16 Base64 characters: what follows encodes the secret.
SECRET_PART = STANDARD[16:28]

Echo = Callable[[str], tuple[int, str]]

ECHOES: dict[str, Echo] = {
    "basic header": lambda header: (401, header),
    "bare url-safe unpadded": lambda header: (400, f"got {URLSAFE.rstrip('=')} from you"),
    "cut short, lower case": lambda header: (401, f"authorization: basic {header[6:36]}…"),
    "percent-encoded in a 503": lambda header: (503, "header was " + quote(header, safe="")),
    "the secret itself": lambda header: (401, f"secret {SECRET} and {quote(SECRET)}"),
}


@contextmanager
def echoing(echo: Echo) -> Iterator[str]:
    """A token endpoint on its own loop in a thread, answering every request with an
    error that repeats its Authorization header as ``echo`` spells it; yields its URL."""
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    where: list[str] = []

    async def token(request: web.Request) -> web.Response:
        status, text = echo(request.headers.get("Authorization", ""))
        error = "server_error" if status >= 500 else "invalid_client"
        return web.json_response({"error": error, "error_description": text}, status=status)

    async def start() -> web.AppRunner:
        app = web.Application()
        app.router.add_post("/api/token", token)
        runner = web.AppRunner(app, handle_signals=False, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        where.append(f"http://127.0.0.1:{runner.addresses[0][1]}")
        return runner

    def serve() -> None:
        runner = loop.run_until_complete(start())
        ready.set()
        loop.run_forever()
        loop.run_until_complete(runner.cleanup())
        loop.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    assert ready.wait(10)
    yield where[0]
    loop.call_soon_threadsafe(loop.stop)
    thread.join(10)


def leaks(text: str) -> list[str]:
    forms = {SECRET, quote(SECRET, safe=""), STANDARD, URLSAFE, SECRET_PART}
    forms |= {f.rstrip("=") for f in forms}
    return [form for form in forms if form in text]


@pytest.mark.usefixtures("clean_env")
@pytest.mark.parametrize("log_format", ["text", "json"])
@pytest.mark.parametrize("kind", list(ECHOES))
def test_an_echoed_authorization_header_is_never_repeated(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    kind: str,
    log_format: str,
) -> None:
    monkeypatch.setenv("SPOTIFY_CLIENT_ID", CLIENT_ID)
    monkeypatch.setenv("SPOTIFY_CLIENT_SECRET", SECRET)
    with echoing(ECHOES[kind]) as url:
        argv = ["pull", "--api-url", f"{url}/v1", "--accounts-url", f"{url}/api/token"]
        argv += ["--out", "o", "--log-format", log_format, "--max-retries", "1"]
        code = main(argv)
    err = capsys.readouterr().err
    assert code == (75 if "503" in kind else 3), err
    assert "***" in err  # what the server said is shown, blanked
    assert leaks(err) == []
    written = [p.read_text(errors="replace") for p in (tmp_path / "o").rglob("*") if p.is_file()]
    assert written  # the manifest says how the run failed
    assert leaks("\n".join(written)) == []
