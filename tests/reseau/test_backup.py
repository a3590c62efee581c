"""``tenderwatch db backup`` while another process writes, and the restore check.

The writer is a real process inserting and committing in a loop on the same WAL database;
the backup runs in another real process (the CLI)."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from tenderwatch.core.backup import backup, restore_check
from tenderwatch.core.store import Store

from ..conftest import ROOT, cli_env, run_cli

WRITER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from tenderwatch.core.store import Store

    db, stop, progress = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
    store = Store(db)
    n = 0
    while not stop.exists():
        with store.db.atomic():
            store.db.execute(
                "INSERT INTO crawls (source, started_at, errors, error_messages)"
                " VALUES ('boamp', ?, 0, ?)",
                [str(n), "x" * 2000],
            )
        n += 1
        if n % 20 == 0:
            progress.write_text(str(n))
    progress.write_text(str(n))
    store.close()
    print(n)
    """
)


def _seed(path: Path, rows: int) -> None:
    """A base of a few megabytes, so that the copy takes a while."""
    store = Store(path)
    with store.db.atomic():
        for i in range(rows):
            store.db.execute(
                "INSERT INTO raw_notices (source, source_id, content_hash, body)"
                " VALUES ('boamp', ?, ?, ?)",
                [str(i), f"h{i}", b"<avis>" + b"z" * 4000 + b"</avis>"],
            )
    store.close()


def _progress(path: Path) -> int:
    try:
        return int(path.read_text() or 0)
    except (FileNotFoundError, ValueError):
        return 0


def test_backup_while_another_process_writes(tmp_path: Path) -> None:
    db = tmp_path / "cli.db"
    _seed(db, 3000)
    stop, progress = tmp_path / "stop", tmp_path / "progress"
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(db), str(stop), str(progress)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while _progress(progress) < 40 and time.monotonic() < deadline:
            time.sleep(0.05)
        before = _progress(progress)
        assert before >= 40, "the writer did not start"
        env = cli_env(tmp_path)
        results = []
        for name in ("copie-1.db", "copie-2.db"):
            done = run_cli(["db", "backup", str(tmp_path / name)], env)
            assert done.returncode == 0, done.stderr
            assert "comptes identiques" in done.stdout
            results.append(done)
        during = _progress(progress)
        assert writer.poll() is None, "the writer stopped during the backups"
    finally:
        stop.write_text("")
        out, err = writer.communicate(timeout=60)
    assert writer.returncode == 0, err
    written = int(out.strip())
    assert during > before, "no write happened while the backups ran"
    counts = []
    for name in ("copie-1.db", "copie-2.db"):
        check = restore_check(tmp_path / name)
        assert check.ok, check.problems
        assert check.integrity == "ok"
        assert check.counts["raw_notices"] == 3000
        counts.append(check.counts["crawls"])
    # Each copy is a snapshot taken while the writer went on: between the writes seen
    # before it and those made in all; the second copy saw more than the first.
    assert before <= counts[0] < counts[1] <= written
    # A copy is a standalone file (no -wal beside it) that tenderwatch opens.
    assert not (tmp_path / "copie-1.db-wal").exists()
    reopened = Store(tmp_path / "copie-1.db", must_exist=True)
    assert reopened.db["crawls"].count == counts[0]
    reopened.close()


def test_backup_snapshot_counts_match_exactly(tmp_path: Path) -> None:
    db = tmp_path / "live.db"
    _seed(db, 50)
    (tmp_path / "sauvegardes").mkdir()
    # A folder as target (the cron case): a dated file inside it.
    result = backup(db, tmp_path / "sauvegardes", now="20261203-101500")
    assert result.ok and result.path.endswith("sauvegardes/tenderwatch-20261203-101500.db")
    assert result.counts == result.expected
    assert (Path(result.path).stat().st_mode & 0o777) == 0o600
    # The same name again is refused unless asked.
    again = run_cli(["db", "backup", result.path], cli_env(tmp_path, TENDERWATCH_DB=str(db)))
    assert again.returncode == 1 and "existe déjà" in again.stderr


def test_restore_check_refuses_a_damaged_copy(tmp_path: Path) -> None:
    db = tmp_path / "cli.db"
    _seed(db, 400)
    copy = tmp_path / "copie.db"
    backup(db, copy, now="x")
    data = bytearray(copy.read_bytes())
    # Scribble over the middle of the file (table pages), keeping the header intact.
    middle = len(data) // 2
    data[middle : middle + 8192] = b"\xff" * 8192
    damaged = tmp_path / "abimee.db"
    damaged.write_bytes(bytes(data))
    env = cli_env(tmp_path)
    good = run_cli(["db", "restore-check", str(copy)], env)
    assert good.returncode == 0, good.stderr
    assert "restauration vérifiée" in good.stdout
    bad = run_cli(["db", "restore-check", str(damaged)], env)
    assert bad.returncode == 1
    assert "ne se restaure pas" in bad.stderr
    not_ours = tmp_path / "autre.db"
    sqlite3.connect(not_ours).execute("CREATE TABLE t (x)").connection.commit()
    other = run_cli(["db", "restore-check", str(not_ours)], env)
    assert other.returncode == 1 and "pas une base tenderwatch" in other.stderr
