"""Shared test fixtures: a fresh migrated store per test, fixture paths, CLI runner."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tenderwatch.core.store import Store
from tenderwatch.localservers import Mailbox, Webhook

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"


@pytest.fixture
def store(tmp_path: Path) -> Store:
    """A fresh database file with every migration applied."""
    s = Store(tmp_path / "test.db")
    yield s
    s.close()


def cli_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """Environment for a CLI subprocess: no user config, fast retries, no start delay."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TENDERWATCH_")}
    env.update(
        TENDERWATCH_DB=str(tmp_path / "cli.db"),
        TENDERWATCH_CRAWL_BACKOFF_BASE="0.01",
        TENDERWATCH_CRAWL_AUTOTHROTTLE_START_DELAY="0",
        TENDERWATCH_CRAWL_DOWNLOAD_TIMEOUT="10",
        TENDERWATCH_CONTACT="veille-tests@example.org",
    )
    env.update(extra)
    return env


def run_cli(
    args: list[str], env: dict[str, str], timeout: int = 120
) -> subprocess.CompletedProcess[str]:
    """Run ``tenderwatch`` in a subprocess (the Twisted reactor runs once per process)."""
    return subprocess.run(
        [sys.executable, "-m", "tenderwatch.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
    )


# One headless Chromium for the whole session, shared by tests/browser and the observatory
# (Playwright's sync API allows a single instance per process).
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, _unavailable  # noqa: E402


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """One headless Chromium for the session; each test opens its own contexts."""
    if not CHROMIUM.exists():
        _unavailable(f"{CHROMIUM} absent : apt-get install -y chromium")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        # Playwright is a test extra: missing it is a broken set-up, never a reason to skip.
        pytest.fail("playwright absent : pip install '.[test]'")
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()




# Real local servers, started and stopped by each test that names them.
@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    box = Mailbox().start()
    yield box
    box.stop()


@pytest.fixture
def webhook() -> Iterator[Webhook]:
    hook = Webhook().start()
    yield hook
    hook.close()
