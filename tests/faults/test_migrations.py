"""Schema faults (issue #8): a base from a newer tenderwatch is refused by name, a migration
that fails or is killed half-way leaves nothing of itself, a file that is not SQLite is one
sentence. Every case runs the real CLI in its own process."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

from tenderwatch.core.migrations import migrations
from tenderwatch.core.store import Store
from tests.conftest import ROOT
from tests.faults.conftest import assert_one_sentence, run_tw

LAST = migrations._migrations[-1].name


def tables(db: Path) -> set[str]:
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
    conn.close()
    return {r[0] for r in rows}


def applied(db: Path) -> list[str]:
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT name FROM _sqlite_migrations ORDER BY id").fetchall()
    conn.close()
    return [r[0] for r in rows]


def test_base_from_a_newer_version_is_refused(tmp_path: Path) -> None:
    db = tmp_path / "t.db"
    Store(db).close()
    with sqlite3.connect(db) as conn:
        conn.execute(
            "INSERT INTO _sqlite_migrations (migration_set, name, applied_at)"
            " VALUES ('tenderwatch', '9999_from_the_future', '2030-01-01')"
        )
    conn.close()
    for args in (["notices", "list"], ["db", "migrate"], ["classify"]):
        result = run_tw(args, db)
        assert_one_sentence(
            result,
            "base créée par une version plus récente de tenderwatch",
            "migration 9999_from_the_future inconnue",
            "mettez tenderwatch à jour",
        )


def test_not_a_sqlite_file_is_one_sentence(tmp_path: Path) -> None:
    db = tmp_path / "notes.db"
    db.write_text("ceci n'est pas une base\n" * 200, encoding="utf-8")
    for args in (["notices", "list"], ["db", "migrate"], ["notify"]):
        assert_one_sentence(run_tw(args, db), "illisible", "n'est pas une base SQLite")
    assert db.read_text(encoding="utf-8").startswith("ceci n'est pas")


def _base_before_last(db: Path) -> None:
    """A base with every migration but the last one applied."""
    store = Store(db, migrate=False)
    migrations.apply(store.db, stop_before=LAST)
    store.close()


# The last migration is made to fail (or the process to die) after its first statement:
# the transaction around it must take that statement back.
CRASH = textwrap.dedent(
    """
    import os, signal, sys
    from sqlite_utils.db import Table
    from tenderwatch.core.migrations import migrations
    from tenderwatch.cli import main

    step = migrations._migrations[-1]
    original = step.fn

    def half(db):
        db.execute("CREATE TABLE half_done (x)")  # stands for the migration's first DDL
        original(db)
        if sys.argv[1] == "kill":
            os.kill(os.getpid(), signal.SIGKILL)
        raise RuntimeError("boom")

    step.fn = half
    main(["db", "migrate", "--db", sys.argv[2]])
    """
)


def test_migration_killed_half_way_is_not_applied(tmp_path: Path) -> None:
    db = tmp_path / "t.db"
    _base_before_last(db)
    before = tables(db)
    done = subprocess.run(
        [sys.executable, "-c", CRASH, "kill", str(db)], cwd=ROOT, capture_output=True, check=False
    )
    assert done.returncode == -signal.SIGKILL
    assert tables(db) == before  # neither the first statement nor the migration's tables
    assert LAST not in applied(db)
    again = run_tw(["db", "migrate"], db)
    assert again.returncode == 0, again.stderr
    assert LAST in again.stdout and applied(db)[-1] == LAST


def test_migration_failing_half_way_is_one_sentence_and_not_applied(tmp_path: Path) -> None:
    db = tmp_path / "t.db"
    _base_before_last(db)
    before = tables(db)
    done = subprocess.run(
        [sys.executable, "-c", CRASH, "raise", str(db)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert_one_sentence(done, f"la migration {LAST} a échoué", "RuntimeError : boom")
    assert "half_done" not in tables(db) and tables(db) == before
    assert LAST not in applied(db)


def test_migration_error_on_a_real_conflict_is_one_sentence(tmp_path: Path) -> None:
    """Without any patch: an object in the way of a migration (here a view named like the
    table migration 0002 creates) stops it; nothing of it stays and the CLI says why."""
    db = tmp_path / "t.db"
    store = Store(db, migrate=False)
    migrations.apply(store.db, stop_before="0002_classifications")
    store.db.execute("CREATE VIEW classifications AS SELECT 1 AS x")
    store.close()
    result = run_tw(["db", "migrate"], db)
    assert_one_sentence(result, "la migration 0002_classifications a échoué")
    assert applied(db) == ["0001_initial"]
    assert "deliveries" not in tables(db)


def test_verbose_adds_the_traceback(tmp_path: Path) -> None:
    db = tmp_path / "notes.db"
    db.write_text("ceci n'est pas une base\n" * 200, encoding="utf-8")
    result = run_tw(["-v", "notices", "list"], db)
    assert result.returncode == 1
    assert "Traceback" in result.stderr and "Erreur : base de données illisible" in result.stderr
