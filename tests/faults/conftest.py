"""Fixtures for real faults: a small tmpfs that can be filled or made read-only, CLI
subprocesses, a database with notices to classify and groups to alert."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tenderwatch.core.records import Lot
from tenderwatch.core.store import Store
from tenderwatch.localservers import Mailbox, Webhook
from tests.conftest import ROOT, cli_env
from tests.e2e.test_notify_cycle import RESERVED_EA_LOT, SIAE_RESERVED, config, save


class SmallDisk:
    """A tmpfs mounted for one test: fill it to leave a few bytes, or remount it read-only.
    A real ENOSPC/EROFS from the kernel, so SQLite raises its own SQLITE_FULL/READONLY."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def free(self) -> int:
        st = os.statvfs(self.path)
        return st.f_bavail * st.f_frsize

    def fill(self, leave: int = 0) -> None:
        """Take all the free space but ``leave`` bytes with a filler file."""
        filler = self.path / "filler"
        size = max(0, self.free() - leave)
        with filler.open("ab") as fh:
            fh.write(b"\0" * size)

    def make_room(self) -> None:
        (self.path / "filler").unlink(missing_ok=True)

    def read_only(self) -> None:
        subprocess.run(["mount", "-o", "remount,ro", str(self.path)], check=True)


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[SmallDisk]:
    """A 16 MB tmpfs (needs root or CAP_SYS_ADMIN; skipped otherwise)."""
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", str(mnt)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        pytest.skip(f"montage tmpfs impossible ici : {done.stderr.strip()}")
    try:
        yield SmallDisk(mnt)
    finally:
        # Lazy: a connection the test left open must not keep the mount behind.
        subprocess.run(["umount", "-l", str(mnt)], check=False)


def tw(args: list[str], db: Path, *, config: Path | None = None) -> list[str]:
    """The argv of ``python -m tenderwatch`` on ``db`` (and ``config``)."""
    argv = [sys.executable, "-m", "tenderwatch", *args, "--db", str(db)]
    if config is not None:
        argv += ["--config", str(config)]
    return argv


def run_tw(
    args: list[str], db: Path, *, config: Path | None = None, timeout: int = 180
) -> subprocess.CompletedProcess[str]:
    """Run one ``tenderwatch`` command in its own process."""
    return subprocess.run(
        tw(args, db, config=config),
        env=cli_env(db.parent),
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
        check=False,
    )


def start_tw(args: list[str], db: Path, *, config: Path | None = None) -> subprocess.Popen[str]:
    """Start one ``tenderwatch`` command without waiting for it."""
    return subprocess.Popen(
        tw(args, db, config=config),
        env=cli_env(db.parent),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )


def assert_one_sentence(result: subprocess.CompletedProcess[str], *words: str) -> None:
    """A failure told as one French line on stderr, no traceback, exit code 1."""
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("Erreur : ")]
    assert len(errors) == 1, result.stderr
    for word in words:
        assert word in errors[0], errors[0]


def save_notices(store: Store, count: int, *, prefix: str = "26-5") -> list[str]:
    """``count`` distinct calls for tenders in the Drôme, half with a reserved lot (EA/ESAT)
    and an insertion clause, half reserved to SIAE, each with its own title (one e-mail
    subject per notice, so that a message sent twice shows)."""
    ids = []
    for i in range(count):
        source_id = f"{prefix}{i:03d}"
        text = SIAE_RESERVED if i % 2 else RESERVED_EA_LOT
        lots = (
            []
            if i % 2
            else [
                Lot(lot_id="1", title="Entretien des espaces verts"),
                Lot(lot_id="2", title="Nettoyage des locaux"),
            ]
        )
        save(store, source_id, f"Marché n° {source_id} de la commune", text, lots)
        ids.append(f"boamp:{source_id}")
    return ids


def notify_setup(tmp_path: Path, db: Path, mailbox: Mailbox, hook: Webhook, count: int) -> Path:
    """A base with ``count`` classified notices and the two Drôme groups (SMTP + webhook):
    what a ``notify`` then sends, each message once."""
    store = Store(db)
    save_notices(store, count)
    store.close()
    cfg = config(tmp_path, mailbox, hook)
    done = run_tw(["classify"], db, config=cfg)
    assert done.returncode == 0, done.stderr
    return cfg
