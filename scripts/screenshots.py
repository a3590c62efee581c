"""Regenerate the README screenshots: a rendered alert e-mail and the run report of the demo.

    python scripts/screenshots.py [--demo-output tenderwatch-demo]

Runs ``tenderwatch demo`` (unless its output folder already holds a report), then takes
screenshots with headless Chromium (Debian package ``chromium``: ``apt-get install chromium``)
into ``docs/screenshots/``. Chromium is started with its background networking off, as this
machine has no network beyond the package registries.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--demo-output", type=Path, default=ROOT / "tenderwatch-demo")
    args = parser.parse_args()
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
    shoot(browser, chosen, OUT / "alerte.png", "900,1300")
    shoot(browser, report, OUT / "rapport.png", "1200,1500")


if __name__ == "__main__":
    main()
