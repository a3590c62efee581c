"""A read-only database, for real: the tmpfs holding it is remounted read-only (root ignores
file modes, a read-only mount it cannot write through). Writing commands say so in one
sentence (issue #8); nothing stored is lost. (A WAL base on a read-only disk cannot even be
opened for reading: SQLite needs its -shm file; read commands say so too.)"""

from __future__ import annotations

import sqlite3
import subprocess
from pathlib import Path

from tenderwatch.core.store import Store
from tenderwatch.localservers import Mailbox, Webhook
from tests.faults.conftest import (
    SmallDisk,
    assert_one_sentence,
    notify_setup,
    run_tw,
    save_notices,
)


def test_classify_and_notify_on_a_read_only_base(small_disk: SmallDisk, tmp_path: Path) -> None:
    db = small_disk.path / "t.db"
    mailbox = Mailbox().start()
    hook = Webhook().start()
    try:
        cfg = notify_setup(tmp_path, db, mailbox, hook, count=4)
        # New notices to classify, then the disk turns read-only under the base.
        store = Store(db)
        save_notices(store, 4, prefix="26-7")
        store.close()
        small_disk.read_only()
        for args in (["classify"], ["notify"], ["db", "migrate"], ["notices", "list"]):
            result = run_tw(args, db, config=cfg)
            assert_one_sentence(result, "base en lecture seule", str(db))
        assert mailbox.messages == []
    finally:
        mailbox.stop()
        hook.close()
    subprocess.run(["mount", "-o", "remount,rw", str(small_disk.path)], check=True)
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT count(*) FROM notices").fetchone() == (8,)
        assert conn.execute("SELECT count(*) FROM classifications").fetchone() == (4,)
    conn.close()
