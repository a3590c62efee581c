"""Regenerate the README screenshots: a rendered alert e-mail, the run report of the demo,
the shared board (a group's board and a notice page, as a signed-in member sees them) and
the observatory of social clauses (on a generated database; ``--observatoire-only``).

    python scripts/screenshots.py [--demo-output tenderwatch-demo]

Runs ``tenderwatch demo`` (unless its output folder already holds a report), then takes
screenshots with headless Chromium (Debian package ``chromium``: ``apt-get install chromium``)
into ``docs/screenshots/``. Chromium is started with its background networking off, as this
machine has no network beyond the package registries.

The board's screenshots are taken on a copy of the demo's database (the demo output is left
as it was), with the example configuration's members and a few of their marks, served by
waitress in this process; Playwright (a test extra) drives the same Chromium, signed in
through a real sign-in link.
"""

from __future__ import annotations

import argparse
import io
import secrets
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "screenshots"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
]


def chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    sys.exit("Chromium introuvable : apt-get install chromium")


def shoot(browser: str, page: Path, target: Path, size: str) -> None:
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run(
            [
                browser,
                *FLAGS,
                f"--user-data-dir={profile}",
                f"--window-size={size}",
                f"--screenshot={target}",
                page.resolve().as_uri(),
            ],
            check=True,
            capture_output=True,
            timeout=120,
        )
    print(f"{target.relative_to(ROOT)} ({target.stat().st_size // 1024} Ko)")


#: The group whose board is shown, the member signed in, the notice opened.
BOARD_GROUP = "ea-esat-rhone"
BOARD_MEMBER = "lucie@esat-rhone.example"
BOARD_NOTICE = "boamp:99-0002"


def prepare_board_db(demo_db: Path, target: Path) -> list:
    """Copy the demo's database to ``target`` with the example configuration's members and
    a few marks, a note and an added notice on :data:`BOARD_GROUP`'s board; the groups."""
    sys.path.insert(0, str(ROOT))
    from tenderwatch.board_commands import sync_members
    from tenderwatch.core.board import Board
    from tenderwatch.core.store import Store
    from tenderwatch.notifier.groups import load_groups

    groups = load_groups(ROOT / "config" / "tenderwatch.example.toml")
    source = Store(demo_db, migrate=False)
    source.db.execute("VACUUM INTO ?", [str(target)])  # a consistent copy, WAL included
    source.close()
    store = Store(target)
    board = Board(store)
    sync_members(board, groups)
    samir = board.member_by_email("samir@ea-rhone.example")
    lucie = board.member_by_email(BOARD_MEMBER)
    if samir is None or lucie is None:
        sys.exit("membres de démonstration absents de config/tenderwatch.example.toml")
    g = BOARD_GROUP
    board.add_item(g, "boamp:99-0007", samir.id)
    board.set_mark(g, BOARD_NOTICE, "1", samir.id, "on_repond", text="dossier en cours")
    board.set_mark(g, BOARD_NOTICE, "3", lucie.id, "cherche_partenaire", role_wanted="cotraitance")
    board.set_mark(g, BOARD_NOTICE, "2", lucie.id, "interesse")
    board.set_mark(g, "boamp:99-0006", "", lucie.id, "pas_pour_nous", reason="secteur")
    board.add_note(
        g, BOARD_NOTICE, samir.id, "Visite des locaux le 12 ; qui peut venir pour la vitrerie ?"
    )
    store.close()
    return groups


def shoot_board(db: Path, groups: list) -> None:
    """Serve the board on a free loopback port and screenshot it signed in."""
    from playwright.sync_api import sync_playwright
    from waitress.server import create_server

    from tenderwatch.core.board import WebSettings
    from tenderwatch.web import create_app, signin_link
    from tenderwatch.web.mail import ConsoleMailer

    app = create_app(
        str(db),
        WebSettings(),
        secret_key=secrets.token_urlsafe(32),
        groups=groups,
        mailer=ConsoleMailer(stream=io.StringIO()),
    )
    server = create_server(app, host="127.0.0.1", port=0, threads=2)
    base = f"http://127.0.0.1:{server.effective_port}"
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(
                executable_path=chromium(), args=[f for f in FLAGS if f != "--headless"]
            )
            page = browser.new_page(viewport={"width": 1200, "height": 900}, locale="fr-FR")
            page.goto(base + signin_link(app, BOARD_MEMBER))
            page.get_by_role("button", name="Ouvrir le tableau de veille").click()
            page.wait_for_url(f"{base}/g/{BOARD_GROUP}/")
            target = OUT / "board.png"
            page.screenshot(path=str(target), full_page=True)
            print(f"{target.relative_to(ROOT)} ({target.stat().st_size // 1024} Ko)")
            page.goto(f"{base}/g/{BOARD_GROUP}/avis/{BOARD_NOTICE}")
            target = OUT / "avis.png"
            # The top of the notice: facts, detected clauses, lots with their marks.
            height = min(2200, page.evaluate("document.documentElement.scrollHeight"))
            page.screenshot(
                path=str(target),
                full_page=True,
                clip={"x": 0, "y": 0, "width": 1200, "height": height},
            )
            print(f"{target.relative_to(ROOT)} ({target.stat().st_size // 1024} Ko)")
            browser.close()
    finally:
        server.close()


def shoot_observatory(notices: int = 30_000) -> None:
    """The observatory (``/observatoire/``) on a generated database: the demo's dozen notices
    would draw empty charts, so ``benchmarks/observatory.py`` builds ``notices`` notices over
    a year in the demo's shapes (labels at realistic rates); the page says nothing of real
    buyers. Served by waitress in this process, signed in through a real sign-in link."""
    from playwright.sync_api import sync_playwright
    from waitress.server import create_server

    sys.path.insert(0, str(ROOT / "benchmarks"))
    from observatory import build  # benchmarks/observatory.py

    from tenderwatch.core.board import Board, WebSettings
    from tenderwatch.core.store import Store
    from tenderwatch.web import create_app, signin_link
    from tenderwatch.web.mail import ConsoleMailer

    member = "coordination@reseau.example"
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "observatoire.db"
        build(db, notices)
        store = Store(str(db))
        Board(store).upsert_member(email=member, name="Coordination du réseau", group_id="reseau")
        store.close()
        app = create_app(
            str(db),
            WebSettings(),
            secret_key=secrets.token_urlsafe(32),
            mailer=ConsoleMailer(stream=io.StringIO()),
        )
        server = create_server(app, host="127.0.0.1", port=0, threads=2)
        base = f"http://127.0.0.1:{server.effective_port}"
        threading.Thread(target=server.run, daemon=True).start()
        try:
            with sync_playwright() as pw:
                browser = pw.chromium.launch(
                    executable_path=chromium(), args=[f for f in FLAGS if f != "--headless"]
                )
                page = browser.new_page(viewport={"width": 1280, "height": 900}, locale="fr-FR")
                page.goto(base + signin_link(app, member))
                page.get_by_role("button", name="Ouvrir le tableau de veille").click()
                page.goto(base + "/observatoire/?region=84")
                target = OUT / "observatoire.png"
                page.screenshot(path=str(target), full_page=True)
                print(f"{target.relative_to(ROOT)} ({target.stat().st_size // 1024} Ko)")
                browser.close()
        finally:
            server.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--observatoire-only", action="store_true", help="only the observatory's screenshot"
    )
    parser.add_argument("--demo-output", type=Path, default=ROOT / "tenderwatch-demo")
    parser.add_argument(
        "--board-only", action="store_true", help="only the board's screenshots (board, avis)"
    )
    args = parser.parse_args()
    if args.observatoire_only:
        OUT.mkdir(parents=True, exist_ok=True)
        shoot_observatory()
        return
    report = args.demo_output / "rapport.html"
    if not report.exists():
        subprocess.run(
            [sys.executable, "-m", "tenderwatch", "demo", "--output", str(args.demo_output)],
            cwd=ROOT,
            check=True,
        )
    browser = chromium()
    OUT.mkdir(parents=True, exist_ok=True)
    # The alert for the lot reserved to EA/ESAT: the most telling of the demo's e-mails.
    emails = sorted((args.demo_output / "emails").glob("*.html"))
    chosen = next((p for p in emails if "ea-esat" in p.name), emails[0])
    if not args.board_only:
        shoot(browser, chosen, OUT / "alerte.png", "900,1300")
        shoot(browser, report, OUT / "rapport.png", "1200,1500")
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "tableau.db"
        groups = prepare_board_db(args.demo_output / "demo.db", db)
        shoot_board(db, groups)
    shoot_observatory()


if __name__ == "__main__":
    main()
