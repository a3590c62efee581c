"""The board in a real browser: Debian's Chromium driven by Playwright (sync API), against a
real ``tenderwatch serve`` process on a free loopback port, with a real local SMTP server
(:class:`tenderwatch.localservers.Mailbox`) receiving the sign-in e-mails.

No browser is downloaded (no ``playwright install``): Playwright drives the system Chromium
(``apt-get install chromium``). Without it the whole folder is skipped, with the reason,
except in CI (``CI`` set), where a missing browser fails: CI cannot silently skip.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tenderwatch.core.board import Board
from tenderwatch.core.store import Store
from tenderwatch.localservers import Mailbox, free_port

from ..conftest import ROOT, cli_env
from ..web.conftest import add_notice, deliver

CHROMIUM = Path("/usr/bin/chromium")
#: Flags for a machine without network beyond loopback: nothing phones home.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SECRET = "clé-des-tests-navigateur-0123456789abcdef"
GROUP = "aci-drome"
GROUP_NAME = "ACI Vallée de la Drôme"
NOTICE = "boamp:26-1"
ALICE = "alice@aci.example"
BRUNO = "bruno@aci.example"
ERIC = "eric@aci.example"

CONFIG = """
[notify]
apprise_config = "apprise.yml"

[web]
base_url = "{base}"
link_minutes = 20

[[groups]]
id = "aci-drome"
name = "ACI Vallée de la Drôme"
kind = "siae"
structure_kinds = ["ACI", "ETTI"]
"""


def _unavailable(reason: str) -> None:
    """Skip, or fail in CI (``CI`` set) so that CI never passes without the browser tests."""
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI : les tests navigateur ne peuvent pas être sautés)")
    pytest.skip(reason)


def build_database(path: Path, extra: int = 0) -> None:
    """Three notices on the group's board (one with two lots, lot 2 reserved to SIAE), one
    delivered to another group, and three members of the group; ``extra`` more notices on
    the board (Drôme, deadlines spread over the weeks ahead)."""
    store = Store(path)
    for k in range(extra):
        add_notice(
            store,
            f"boamp:26-{100 + k}",
            title=f"Avis supplémentaire n° {k + 1}",
            deadline_days=20 + k,
            departements=["26"],
        )
        deliver(store, GROUP, f"boamp:26-{100 + k}")
    add_notice(
        store,
        NOTICE,
        title="Nettoyage des locaux municipaux",
        lots=[
            {"id": "1", "title": "Vitrerie", "labels": []},
            {
                "id": "2",
                "title": "Espaces verts",
                "labels": ["reserved_siae"],
                "departements": ["26"],
            },
        ],
        labels=["insertion_clause", "reserved_siae"],
    )
    add_notice(
        store,
        "boamp:26-2",
        title="Entretien des espaces verts",
        deadline_days=3,
        departements=["07"],
    )
    add_notice(store, "boamp:69-9", title="Blanchisserie réservée EA", departements=["69"])
    deliver(store, GROUP, NOTICE)
    deliver(store, GROUP, "boamp:26-2")
    deliver(store, "ea-rhone", "boamp:69-9")
    board = Board(store)
    for email, name, structure, kind, role in [
        (ALICE, "Alice Martin", "ACI Drôme Nature", "ACI", "admin"),
        (BRUNO, "Bruno Petit", "ETTI Valence", "ETTI", "member"),
        (ERIC, "Éric Garnier", "ACI Diois", "ACI", "member"),
    ]:
        board.upsert_member(
            email=email,
            name=name,
            group_id=GROUP,
            role=role,
            structure_name=structure,
            structure_kind=kind,
        )
    store.close()


@pytest.fixture
def expect(browser: Any) -> Any:
    """Playwright's auto-waiting assertions (imported once the browser is known to run, so
    that a machine without Chromium skips instead of failing to collect)."""
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect


@dataclass
class Server:
    """A running ``tenderwatch serve`` and the SMTP server its sign-in e-mails go to."""

    base: str
    mailbox: Mailbox
    log: Path

    def notice_link(self, notice_id: str, email: str | None = None) -> str:
        """The board link an alert carries for ``notice_id`` (tenderwatch.core.board)."""
        from tenderwatch.core.board import notice_url

        return notice_url(notice_id, base_url=self.base, email=email)

    def wait_for_link(self, email: str, already: int, timeout: float = 30.0) -> str:
        """The sign-in link of the first e-mail to ``email`` after the first ``already``
        messages, as received by the SMTP server."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for message in self.mailbox.messages[already:]:
                if message["To"].strip() == email:
                    body = message.get_body(("plain",)).get_content()
                    found = re.search(re.escape(self.base) + r"/connexion/[\w.\-]+", body)
                    assert found, body
                    return found.group(0)
            time.sleep(0.1)
        raise AssertionError(f"aucun e-mail pour {email} ; journal :\n{self.log.read_text()}")


@pytest.fixture
def server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Server]:
    """``python -m tenderwatch serve`` on a free loopback port, on a fresh database, sending
    its sign-in links through a local SMTP server. Indirect parameter: ``{"extra": n}``
    more notices on the board."""
    mailbox = Mailbox().start()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    (tmp_path / "apprise.yml").write_text(
        f"version: 1\nurls:\n  - {mailbox.url('ops@example.org')}:\n      - tag: connexion\n",
        encoding="utf-8",
    )
    config = tmp_path / "tenderwatch.toml"
    config.write_text(CONFIG.format(base=base), encoding="utf-8")
    db = tmp_path / "board.db"
    build_database(db, **getattr(request, "param", {}))
    env = cli_env(
        tmp_path,
        TENDERWATCH_DB=str(db),
        TENDERWATCH_CONFIG=str(config),
        TENDERWATCH_WEB_SECRET_KEY=SECRET,
    )
    log_path = tmp_path / "serve.log"
    log = log_path.open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "tenderwatch", "serve", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=ROOT,
    )
    try:
        deadline = time.monotonic() + 90
        while True:
            if proc.poll() is not None:
                raise AssertionError(f"le serveur s'est arrêté :\n{log_path.read_text()}")
            try:
                with urllib.request.urlopen(base + "/connexion", timeout=5) as response:
                    if response.status == 200:
                        break
            except (urllib.error.URLError, OSError):
                pass
            if time.monotonic() > deadline:
                raise AssertionError(f"le serveur ne répond pas :\n{log_path.read_text()}")
            time.sleep(0.2)
        yield Server(base=base, mailbox=mailbox, log=log_path)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=30)
        log.close()
        mailbox.stop()
