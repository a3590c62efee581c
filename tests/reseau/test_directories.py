"""Live import from a directory API, against a local HTTP server serving pages in the
documented shape (tests/fixtures/directories): never the real services."""

from __future__ import annotations

import json
import sqlite3
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar
from urllib.parse import parse_qs, urlsplit

import pytest

from tenderwatch.directories import DirectoryError, fetch

from ..conftest import FIXTURES, cli_env, run_cli

TOKEN = "jeton-secret-0123456789"
PAGE = json.loads((FIXTURES / "directories" / "lemarche-siae.json").read_text("utf-8"))


class _Api(BaseHTTPRequestHandler):
    seen: ClassVar[list[tuple[str, str | None]]] = []
    next_host: ClassVar[str | None] = None

    def do_GET(self) -> None:
        query = parse_qs(urlsplit(self.path).query)
        type(self).seen.append((self.path, self.headers.get("Authorization")))
        if self.headers.get("Authorization") != f"Bearer {TOKEN}":
            self.send_response(401)
            self.end_headers()
            return
        host = type(self).next_host or f"127.0.0.1:{self.server.server_address[1]}"
        if query.get("page") == ["2"]:
            body = {"count": 3, "next": None, "results": PAGE["results"][2:]}
        else:
            body = {
                "count": 3,
                "next": f"http://{host}/api/siae/?department=44&page=2",
                "results": PAGE["results"][:2],
            }
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def api():
    _Api.seen = []
    _Api.next_host = None
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Api)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/api/siae/"
    server.shutdown()
    server.server_close()


def test_fetch_is_off_without_the_setting_and_needs_a_token(api: str) -> None:
    with pytest.raises(DirectoryError, match="TENDERWATCH_STRUCTURES_LIVE"):
        fetch("lemarche", "44", env={"TENDERWATCH_LEMARCHE_URL": api})
    with pytest.raises(DirectoryError, match="jeton manquant"):
        fetch(
            "lemarche",
            "44",
            env={"TENDERWATCH_STRUCTURES_LIVE": "1", "TENDERWATCH_LEMARCHE_URL": api},
        )
    assert _Api.seen == []  # nothing was called


def test_fetch_follows_pages_with_the_token(api: str, tmp_path: Path) -> None:
    token_file = tmp_path / "jeton"
    token_file.write_text(TOKEN + "\n")
    data = fetch(
        "lemarche",
        "44",
        pause=0,
        env={
            "TENDERWATCH_STRUCTURES_LIVE": "1",
            "TENDERWATCH_LEMARCHE_URL": api,
            "TENDERWATCH_LEMARCHE_TOKEN_FILE": str(token_file),
        },
    )
    assert [r["siret"] for r in json.loads(data)["results"]] == [
        "44100000000014",
        "07100000000019",
        "38300000000026",
    ]
    assert [p for p, _ in _Api.seen] == [
        "/api/siae/?department=44",
        "/api/siae/?department=44&page=2",
    ]
    assert all(auth == f"Bearer {TOKEN}" for _, auth in _Api.seen)


def test_token_never_sent_to_another_host_nor_printed(api: str) -> None:
    _Api.next_host = "localhost:1"  # a « next » link elsewhere
    env = {
        "TENDERWATCH_STRUCTURES_LIVE": "1",
        "TENDERWATCH_LEMARCHE_URL": api,
        "TENDERWATCH_LEMARCHE_TOKEN": TOKEN,
    }
    with pytest.raises(DirectoryError) as caught:
        fetch("lemarche", "44", pause=0, env=env)
    assert "autre adresse" in str(caught.value) and TOKEN not in str(caught.value)
    assert len(_Api.seen) == 1
    with pytest.raises(DirectoryError) as refused:
        fetch("lemarche", "44", pause=0, env={**env, "TENDERWATCH_LEMARCHE_TOKEN": "faux"})
    assert "401" in str(refused.value) and "faux" not in str(refused.value)


def test_cli_fetch_imports_the_valid_records(api: str, tmp_path: Path) -> None:
    env = cli_env(
        tmp_path,
        TENDERWATCH_STRUCTURES_LIVE="1",
        TENDERWATCH_LEMARCHE_URL=api,
        TENDERWATCH_LEMARCHE_TOKEN=TOKEN,
    )
    done = run_cli(
        ["structures", "fetch", "lemarche", "--departement", "44", "--skip-invalid"], env
    )
    assert done.returncode == 0, done.stderr
    assert "2 créée(s)" in done.stdout and "enregistrement 3 : ignorée" in done.stdout
    assert TOKEN not in done.stdout + done.stderr
    db = sqlite3.connect(tmp_path / "cli.db")
    assert db.execute("SELECT count(*) FROM structures").fetchone()[0] == 2
