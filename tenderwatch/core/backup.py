"""Online backup of the database and the check that a backup can be restored.

``backup`` uses SQLite's online backup API (``sqlite3.Connection.backup``) in one step
(``pages=-1``). Why one step: copying in slices lets other processes write between slices,
and SQLite then restarts the copy from the start whenever the source changed — under a busy
scheduler it might never finish. In one step the copy reads a single snapshot inside one read
transaction; the base is in WAL mode, so the scheduler and the board keep writing meanwhile
(a reader never blocks a writer in WAL mode), and the copy is exactly that snapshot.

The table counts of the same snapshot are read first, in the same read transaction, so the
restore check can compare the copy with what it must contain exactly, even while writers go on.

The copy is written under a temporary name beside the target and renamed at the end: a
failed backup never leaves a half-written file under the name cron rotates.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from tenderwatch.core.migrations import migrations, unknown_applied
from tenderwatch.core.store import BUSY_TIMEOUT_S, TenderwatchDatabase


class BackupError(RuntimeError):
    """The backup or its check failed (one French sentence)."""


@dataclass
class CheckResult:
    """What the restore check found."""

    path: str
    integrity: str = ""
    counts: dict[str, int] = field(default_factory=dict)
    expected: dict[str, int] | None = None
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def _tables(conn: sqlite3.Connection) -> list[str]:
    return [
        r[0]
        for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table'"
            " AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '%_fts%' ORDER BY name"
        )
    ]


def _counts(conn: sqlite3.Connection) -> dict[str, int]:
    return {
        t: conn.execute(f"SELECT count(*) FROM [{t}]").fetchone()[0]  # noqa: S608
        for t in _tables(conn)
    }


def target_path(path: str | Path, now: str) -> Path:
    """``path`` itself, or a dated file inside it when it is a folder (for cron)."""
    target = Path(path).expanduser()
    if target.is_dir():
        return target / f"tenderwatch-{now}.db"
    return target


def backup(
    source: str | Path, path: str | Path, *, now: str, overwrite: bool = False
) -> CheckResult:
    """Copy the live database ``source`` to ``path`` and check the copy; return the check.

    Raises :class:`BackupError` when the source is missing, the target exists (without
    ``overwrite``), or the copy fails its check (the bad copy is then removed)."""
    src_path = Path(source).expanduser()
    if not src_path.exists():
        raise BackupError(f"base introuvable : {src_path}")
    target = target_path(path, now)
    if target.resolve() == src_path.resolve():
        raise BackupError("la sauvegarde ne peut pas remplacer la base elle-même")
    if target.exists() and not overwrite:
        raise BackupError(f"{target} existe déjà (--overwrite pour le remplacer)")
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=".tenderwatch-backup-", dir=target.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    src = sqlite3.connect(str(src_path), timeout=BUSY_TIMEOUT_S, isolation_level=None)
    try:
        dst = sqlite3.connect(str(tmp), isolation_level=None)
        try:
            # One read transaction: the counts and the copy see the same snapshot.
            src.execute("BEGIN")
            expected = _counts(src)
            src.backup(dst, pages=-1)
            src.execute("COMMIT")
            # A standalone file: no -wal/-shm to carry along with it.
            dst.execute("PRAGMA journal_mode = DELETE")
        finally:
            dst.close()
    except sqlite3.Error as exc:
        tmp.unlink(missing_ok=True)
        raise BackupError(f"sauvegarde impossible : {exc}") from exc
    finally:
        src.close()
    result = restore_check(tmp, expected=expected)
    result.path = str(target)
    if not result.ok:
        tmp.unlink(missing_ok=True)
        raise BackupError("copie refusée : " + " ; ".join(result.problems))
    os.replace(tmp, target)
    os.chmod(target, 0o600)  # members' addresses are personal data
    return result


def restore_check(path: str | Path, *, expected: dict[str, int] | None = None) -> CheckResult:
    """Restore ``path`` to a scratch copy and check it as tenderwatch would open it:
    ``PRAGMA integrity_check``, foreign keys, migrations this version knows, and, given
    ``expected``, the exact row count of every table."""
    file = Path(path).expanduser()
    result = CheckResult(path=str(file), expected=expected)
    if not file.exists():
        result.problems.append(f"fichier introuvable : {file}")
        return result
    with tempfile.TemporaryDirectory(prefix="tenderwatch-restore-") as scratch:
        copy = Path(scratch) / "restaure.db"
        shutil.copyfile(file, copy)
        try:
            conn = sqlite3.connect(str(copy), isolation_level=None)
        except sqlite3.Error as exc:
            result.problems.append(f"illisible : {exc}")
            return result
        try:
            rows = [r[0] for r in conn.execute("PRAGMA integrity_check")]
            result.integrity = "ok" if rows == ["ok"] else "; ".join(rows[:5])
            if rows != ["ok"]:
                result.problems.append(f"intégrité : {result.integrity}")
            bad_keys = conn.execute("PRAGMA foreign_key_check").fetchall()
            if bad_keys:
                result.problems.append(f"{len(bad_keys)} référence(s) cassée(s)")
            db = TenderwatchDatabase(conn)
            if not db["_sqlite_migrations"].exists() or not migrations.applied(db):
                result.problems.append("pas une base tenderwatch (aucune migration)")
            elif unknown := unknown_applied(db):
                result.problems.append(
                    f"migrations inconnues de cette version : {', '.join(unknown)}"
                )
            result.counts = _counts(conn)
        except sqlite3.DatabaseError as exc:
            result.problems.append(f"base abîmée : {exc}")
        finally:
            conn.close()
    if expected is not None and result.counts:
        for table, count in sorted(expected.items()):
            got = result.counts.get(table)
            if got != count:
                result.problems.append(f"table {table} : {got} ligne(s) au lieu de {count}")
    return result
