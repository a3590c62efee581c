"""``tenderwatch db reparse`` under real faults: a full disk, a kill in the middle, two
processes at once. Real ``python -m tenderwatch`` processes on a real database file.

The notices are the 5 real BOAMP API records (tests/fixtures/boamp-api) under new idwebs,
stored as an earlier normaliser might have read them: with another title. Reparse must give
each its real title back, once, without losing or half-writing any.
"""

from __future__ import annotations

import json
import signal
import sqlite3
from pathlib import Path

from tenderwatch.core.records import RawNotice
from tenderwatch.core.store import Store
from tenderwatch.crawler.normalise import normalise
from tests.conftest import FIXTURES
from tests.faults.conftest import SmallDisk, assert_one_sentence, run_tw, start_tw
from tests.faults.test_concurrency import finish
from tests.faults.test_disk_full import _fill_for_writes, consistency

REAL = json.loads((FIXTURES / "boamp-api" / "boamp-where-date.json").read_text("utf-8"))
RECORDS = REAL["data"]["results"]
OLD_TITLE = "Titre lu par un normaliseur d'une version antérieure"


def store_old_readings(db: Path, count: int) -> None:
    """``count`` notices whose stored row differs from what their payload reads now."""
    store = Store(db)
    with store.db.atomic():
        for i in range(count):
            record = {**RECORDS[i % len(RECORDS)], "idweb": f"26-8{i:04d}"}
            body = json.dumps(record, ensure_ascii=False).encode()
            raw = RawNotice("boamp", record["idweb"], "u", "application/json", body)
            notice = normalise(raw)
            notice.title = OLD_TITLE
            store.save(raw, notice)
    store.close()


def old_titles(db: Path) -> int:
    with sqlite3.connect(db) as conn:
        count = conn.execute("SELECT count(*) FROM notices WHERE title = ?", [OLD_TITLE])
        return count.fetchone()[0]


def updated(stdout: str) -> int:
    """The « N mis à jour » figure of a reparse report."""
    line = next(x for x in stdout.splitlines() if " mis à jour, " in x)
    return int(line.split(" : ", 1)[1].split()[0])


def test_full_disk_is_one_sentence_and_the_next_run_finishes(small_disk: SmallDisk) -> None:
    db = small_disk.path / "t.db"
    store_old_readings(db, 30)
    _fill_for_writes(small_disk, db)
    result = run_tw(["db", "reparse"], db)
    assert_one_sentence(result, "disque plein", str(db))
    assert "— OK" not in result.stdout
    small_disk.make_room()
    assert consistency(db)["notices"] == 30  # nothing lost, nothing half-written
    again = run_tw(["db", "reparse"], db)
    assert again.returncode == 0, again.stdout + again.stderr
    assert old_titles(db) == 0


def test_killed_in_the_middle_then_run_again(tmp_path: Path) -> None:
    db = tmp_path / "t.db"
    store_old_readings(db, 2500)
    proc = start_tw(["db", "reparse"], db)
    assert proc.stderr is not None
    line = proc.stderr.readline()  # « relus : 1000 / 2500 » once the first thousand is done
    assert "relus : 1000 / 2500" in line, line
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    left = old_titles(db)
    assert 0 < left <= 1500
    assert consistency(db)["notices"] == 2500
    again = run_tw(["db", "reparse"], db)
    assert again.returncode == 0, again.stdout + again.stderr
    assert updated(again.stdout) == left
    assert old_titles(db) == 0


def test_two_at_once_update_each_notice_once(tmp_path: Path) -> None:
    db = tmp_path / "t.db"
    store_old_readings(db, 600)
    results = finish([start_tw(["db", "reparse"], db) for _ in range(2)])
    for code, stdout, stderr in results:
        assert code == 0, stdout + stderr
        assert "Traceback" not in stderr and "database is locked" not in stderr, stderr
    # Each notice is compared and written under the write lock: one process updates it,
    # the other then finds it unchanged.
    assert sum(updated(stdout) for _, stdout, _ in results) == 600
    assert old_titles(db) == 0
    assert consistency(db)["notices"] == 600
