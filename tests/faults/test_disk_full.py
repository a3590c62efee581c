"""A full disk, for real: a 16 MB tmpfs filled by a filler file, so that SQLite gets ENOSPC
from the kernel and raises SQLITE_FULL (issue #8). A crawl that cannot store is not « OK »;
classify and notify say it in one sentence; nothing already stored is lost and another
process always reads a consistent base."""

from __future__ import annotations

import sqlite3
from collections import Counter
from pathlib import Path

from tenderwatch.core.store import Store
from tenderwatch.localservers import Mailbox, Webhook
from tenderwatch.replay import ReplayData, ReplayServer
from tests.conftest import cli_env, run_cli
from tests.e2e.test_crawl import spread_records
from tests.faults.conftest import (
    SmallDisk,
    assert_one_sentence,
    notify_setup,
    run_tw,
    save_notices,
)

WINDOW = ["--from-date", "2026-03-01", "--until-date", "2026-03-10"]


def crawl_boamp(db: Path, server: ReplayServer):  # type: ignore[no-untyped-def]
    env = cli_env(db.parent, TENDERWATCH_DB=str(db))
    return run_cli(["crawl", "boamp", "--base-url", server.boamp_base_url, *WINDOW], env)


def consistency(db: Path) -> dict[str, int]:
    """Read the base from this (other) process and check no notice is half-written."""
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
        # Every notice has its raw payload and a procedure, every stored payload its notice.
        orphans = conn.execute(
            "SELECT count(*) FROM notices n WHERE n.procedure_id IS NULL"
            " OR NOT EXISTS (SELECT 1 FROM procedures p WHERE p.id = n.procedure_id)"
            " OR NOT EXISTS (SELECT 1 FROM raw_notices r WHERE r.source = n.source"
            " AND r.source_id = n.source_id AND r.content_hash = n.content_hash)"
        ).fetchone()[0]
        raw_alone = conn.execute(
            "SELECT count(*) FROM raw_notices r WHERE r.parse_error IS NULL AND NOT EXISTS"
            " (SELECT 1 FROM notices n WHERE n.source = r.source AND n.source_id = r.source_id)"
        ).fetchone()[0]
        assert (orphans, raw_alone) == (0, 0)
        # The full-text index follows the notices (its triggers ran in the same transaction).
        fts = conn.execute("SELECT count(*) FROM notices_fts").fetchone()[0]
        notices = conn.execute("SELECT count(*) FROM notices").fetchone()[0]
        assert fts == notices
        return {
            "notices": notices,
            "crawls": conn.execute("SELECT count(*) FROM crawls").fetchone()[0],
        }


def test_crawl_on_a_full_disk_is_incomplete_and_consistent(small_disk: SmallDisk) -> None:
    db = small_disk.path / "cli.db"
    Store(db).close()
    texts = spread_records(days=10, per_day=12)  # 120 notices, ~1 MB once stored
    small_disk.fill(leave=150_000)
    with ReplayServer(ReplayData(boamp_records=texts)) as server:
        result = crawl_boamp(db, server)
        out = result.stdout
        assert result.returncode == 1, out + result.stderr[-2000:]
        assert "Collecte BOAMP — INCOMPLET" in out
        assert "Collecte BOAMP — OK" not in out
        assert "Traceback" not in result.stderr
        stored = consistency(db)["notices"]
        assert stored < 120
        missing = 120 - stored
        # Every notice not stored counts as an error and as missing (the report itself may
        # not fit in the base either: one more error, said too).
        counts = dict(
            line.strip().rsplit(None, 1)
            for line in out.splitlines()
            if line.startswith("  ") and line.strip().split()[0] in ("erreurs", "manquants")
        )
        assert int(counts["erreurs"]) >= missing > 0, out
        assert int(counts["manquants"]) == missing, out
        assert "disque plein" in out

        # Room again: the next crawl stores the rest, nothing already stored was lost.
        small_disk.make_room()
        again = crawl_boamp(db, server)
    assert again.returncode == 0, again.stdout + again.stderr[-2000:]
    state = consistency(db)
    assert state["notices"] == 120
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT new, unchanged, ok FROM crawls ORDER BY id").fetchall()
    # The report of the full-disk crawl may not fit either; the last one says OK.
    assert rows[-1] == (missing, stored, 1)


def _fill_for_writes(small_disk: SmallDisk, db: Path) -> None:
    """Leave no room for SQLite to grow the WAL: the next write fails with SQLITE_FULL."""
    with sqlite3.connect(db) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    small_disk.fill(leave=0)


def test_classify_on_a_full_disk_is_one_sentence(small_disk: SmallDisk) -> None:
    db = small_disk.path / "t.db"
    store = Store(db)
    save_notices(store, 40)
    store.close()
    _fill_for_writes(small_disk, db)
    result = run_tw(["classify"], db)
    assert_one_sentence(result, "disque plein", str(db))
    # (With no byte free, even a reader cannot map the WAL index: check once room is back.)
    small_disk.make_room()
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT count(*) FROM notices").fetchone() == (40,)
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        # Classification batches are all-or-nothing: none half-stored.
        assert conn.execute("SELECT count(*) FROM classifications").fetchone()[0] in (0, 40)
    conn.close()
    assert run_tw(["classify"], db).returncode == 0
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT count(*) FROM classifications").fetchone() == (40,)


def test_notify_on_a_full_disk_is_one_sentence_and_sends_nothing_twice(
    small_disk: SmallDisk, tmp_path: Path
) -> None:
    db = small_disk.path / "t.db"
    mailbox = Mailbox().start()
    hook = Webhook().start()
    try:
        cfg = notify_setup(tmp_path, db, mailbox, hook, count=6)
        _fill_for_writes(small_disk, db)
        result = run_tw(["notify"], db, config=cfg)
        assert_one_sentence(result, "disque plein")
        small_disk.make_room()
        again = run_tw(["notify"], db, config=cfg)
        assert "Traceback" not in again.stderr, again.stderr
        mails = Counter((m["To"], m["Subject"]) for m in mailbox.messages)
        assert mails and max(mails.values()) == 1, mails  # nothing sent twice
        with sqlite3.connect(db) as conn:
            states = dict(conn.execute("SELECT status, count(*) FROM deliveries GROUP BY status"))
            notices = conn.execute("SELECT count(*) FROM notices").fetchone()[0]
        conn.close()
        assert notices == 6
        # 3 notices to both groups (2 mailboxes + the webhook), 3 to the ACI: 12 deliveries,
        # each sent — or, when the disk filled between a send and its result, left
        # « sending »/« unknown » (the message may have left: never sent again by itself, and
        # the next run says so with exit code 1).
        assert sum(states.values()) == 12, states
        assert set(states) <= {"sent", "sending", "unknown"}, states
        assert again.returncode == (0 if set(states) == {"sent"} else 1), again.stdout
        received = len(mailbox.messages) + len(hook.bodies("esat-chat"))
        sent = states.get("sent", 0)
        assert sent <= received <= sent + states.get("sending", 0) + states.get("unknown", 0)
    finally:
        mailbox.stop()
        hook.close()
