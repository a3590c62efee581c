"""The observatory's charts in a real browser: Debian's Chromium driven by Playwright, against
the board served by waitress on a loopback port, signed in through a real sign-in link.
Skipped (with the reason) when Chromium is absent, failed in CI (as tests/browser)."""

from __future__ import annotations

import io
import os
import threading
from pathlib import Path

import pytest

from tenderwatch.core.board import WebSettings
from tenderwatch.web import create_app, signin_link
from tenderwatch.web.mail import ConsoleMailer

from .conftest import MEMBER, SECRET

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def test_charts_render_in_chromium(obs_app, obs_db, tmp_path, browser):
    if not CHROMIUM.exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} absent (CI : le test navigateur ne peut pas être sauté)")
        pytest.skip(f"{CHROMIUM} absent : apt-get install -y chromium")
    from waitress.server import create_server

    app = create_app(
        obs_db, WebSettings(), secret_key=SECRET, mailer=ConsoleMailer(stream=io.StringIO())
    )
    server = create_server(app, host="127.0.0.1", port=0, threads=2)
    base = f"http://127.0.0.1:{server.effective_port}"
    threading.Thread(target=server.run, daemon=True).start()
    errors: list[str] = []
    dialogs: list[str] = []
    try:
        if True:  # the session's browser (tests/conftest.py)
            page = browser.new_page(viewport={"width": 1200, "height": 900}, locale="fr-FR")
            # A CSP violation (an inline style the policy refuses) shows up as a console error.
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
            page.goto(base + signin_link(app, MEMBER))
            page.get_by_role("button").filter(has_text="Ouvrir").click()
            page.goto(base + "/observatoire/?region=84")
            assert page.get_by_role(
                "heading", name="Observatoire des clauses sociales"
            ).is_visible()
            # Each chart is laid out (a real size) and named for assistive technology.
            for chart in ("chart-clauses", "chart-reserves", "chart-tendance"):
                box = page.locator(f"#{chart}").bounding_box()
                assert box and box["width"] > 300 and box["height"] > 80, chart
                name = page.locator(f"#{chart}").get_attribute("aria-labelledby")
                assert name and page.locator(f"#{chart}-title").count() == 1
            # The first bar (at least one clause: 71.4 %) is drawn wider than the second.
            bars = page.locator("#chart-clauses rect")
            first, second = bars.nth(0).bounding_box(), bars.nth(1).bounding_box()
            assert first["width"] > second["width"] > 0
            # The table stands beside the chart on a wide screen.
            table = page.locator("#table-clauses").bounding_box()
            chart = page.locator("#chart-clauses").bounding_box()
            assert table["x"] > chart["x"] + chart["width"] - 1
            shot = tmp_path / "observatoire.png"
            page.screenshot(path=str(shot), full_page=True)
            assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 20_000
            page.goto(base + "/observatoire/acheteurs")
            assert page.locator("#chart-acheteurs rect").count() == 3
            # The hostile name is shown as text, never run: no dialog opened, text visible.
            assert page.get_by_text('<script>alert("x")</script>', exact=False).count() >= 1
            page.close()
    finally:
        server.close()
    assert [e for e in errors if "Content Security Policy" in e] == []
    assert dialogs == []
