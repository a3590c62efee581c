"""Two processes, one database (issue #8): real ``python -m tenderwatch`` processes started
together, several times over. Every process must exit 0, nothing may be sent twice, the
migrations must be applied once."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import textwrap
from collections import Counter
from pathlib import Path

import pytest

from tenderwatch.cycle import lock_path
from tenderwatch.localservers import Mailbox, Webhook
from tests.conftest import ROOT
from tests.faults.conftest import notify_setup, start_tw

TRIALS = 3


def finish(procs: list[subprocess.Popen[str]], timeout: int = 240) -> list[tuple[int, str, str]]:
    out = []
    for proc in procs:
        stdout, stderr = proc.communicate(timeout=timeout)
        out.append((proc.returncode, stdout, stderr))
    return out


@pytest.mark.parametrize("trial", range(TRIALS))
def test_two_notify_at_once_send_each_message_once(tmp_path: Path, trial: int) -> None:
    db = tmp_path / "t.db"
    mailbox = Mailbox().start()
    hook = Webhook().start()
    try:
        cfg = notify_setup(tmp_path, db, mailbox, hook, count=4)
        results = finish([start_tw(["notify"], db, config=cfg) for _ in range(3)])
        for code, stdout, stderr in results:
            assert code == 0, stdout + stderr
            assert "Traceback" not in stderr and "database is locked" not in stderr, stderr
        # The ones that found a cycle running said so, with its pid, and did nothing.
        busy = [out for _, out, _ in results if "envoi des alertes déjà en cours (pid " in out]
        assert len(busy) <= 2
        mails = Counter((m["To"], m["Subject"]) for m in mailbox.messages)
        assert mails and max(mails.values()) == 1, mails
        # 4 notices: 2 to both groups (lot 2 reserved EA/ESAT, insertion in lot 1), 2 SIAE.
        assert sum(mails.values()) == 6
        assert len(hook.bodies("esat-chat")) == 2
        with sqlite3.connect(db) as conn:
            states = dict(conn.execute("SELECT status, count(*) FROM deliveries GROUP BY status"))
        conn.close()
        assert states == {"sent": 8}
        assert not lock_path(str(db)).read_text()  # the lock file is left empty
    finally:
        mailbox.stop()
        hook.close()


@pytest.mark.parametrize("trial", range(TRIALS))
def test_notify_beside_classify_and_reads(tmp_path: Path, trial: int) -> None:
    """A notify (the scheduler's) while a classify and read commands run from the CLI."""
    db = tmp_path / "t.db"
    mailbox = Mailbox().start()
    hook = Webhook().start()
    try:
        cfg = notify_setup(tmp_path, db, mailbox, hook, count=4)
        procs = [
            start_tw(["notify"], db, config=cfg),
            start_tw(["classify", "--reclassify"], db, config=cfg),
            start_tw(["notify"], db, config=cfg),
            start_tw(["deliveries", "list"], db, config=cfg),
            start_tw(["notices", "list"], db),
        ]
        for code, stdout, stderr in finish(procs):
            assert code == 0, stdout + stderr
            assert "Traceback" not in stderr, stderr
        mails = Counter((m["To"], m["Subject"]) for m in mailbox.messages)
        assert sum(mails.values()) == 6 and max(mails.values()) == 1, mails
    finally:
        mailbox.stop()
        hook.close()


@pytest.mark.parametrize("trial", range(TRIALS))
def test_migrate_at_once_on_a_new_file(tmp_path: Path, trial: int) -> None:
    db = tmp_path / "new.db"
    results = finish([start_tw(["db", "migrate"], db) for _ in range(4)])
    for code, stdout, stderr in results:
        assert code == 0, stdout + stderr
    with sqlite3.connect(db) as conn:
        names = [r[0] for r in conn.execute("SELECT name FROM _sqlite_migrations")]
    conn.close()
    assert names and len(names) == len(set(names))
    # Exactly one process applied the first migration; the others found it done.
    assert sum("0001_initial" in out for _, out, _ in results) == 1


WRITER = textwrap.dedent(
    """
    import sys
    from tenderwatch.core.store import Store
    from tests.faults.conftest import save_notices

    store = Store(sys.argv[1])
    save_notices(store, 40, prefix=sys.argv[2])
    # Read-then-write transactions as the notifier does, while the others write.
    for i in range(40):
        with store.db.atomic():
            n = store.db.execute("SELECT count(*) FROM notices").fetchone()[0]
            store.set_state("writer-" + sys.argv[2], str(n))
    store.close()
    """
)


def test_writers_in_parallel_wait_for_each_other(tmp_path: Path) -> None:
    """Deferred transactions that read then write fail at once with SQLITE_BUSY when another
    process writes; BEGIN IMMEDIATE and the busy timeout make them queue instead."""
    db = tmp_path / "w.db"
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(db), f"26-{k}"],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for k in range(4)
    ]
    for code, stdout, stderr in finish(procs):
        assert code == 0, stderr[-2000:]
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT count(*) FROM notices").fetchone() == (160,)
        assert conn.execute("SELECT count(*) FROM state").fetchone() == (4,)
    conn.close()


def test_notify_while_the_lock_is_held_says_so_and_exits_0(tmp_path: Path) -> None:
    """The lock held by another process (here a real one, holding it until told to stop):
    ``notify`` sends nothing, names that process, exits 0."""
    db = tmp_path / "t.db"
    mailbox = Mailbox().start()
    hook = Webhook().start()
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys\nfrom tenderwatch.cycle import notify_lock\n"
            "with notify_lock(sys.argv[1]):\n    print('held', flush=True)\n    sys.stdin.read()\n",
            str(db),
        ],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        cfg = notify_setup(tmp_path, db, mailbox, hook, count=2)
        assert holder.stdout.readline().strip() == "held"
        [(code, stdout, stderr)] = finish([start_tw(["notify"], db, config=cfg)])
        assert code == 0, stdout + stderr
        assert f"envoi des alertes déjà en cours (pid {holder.pid})" in stdout
        assert mailbox.messages == []
        # The holder is killed: the kernel drops its lock, the next cycle runs.
        holder.kill()
        holder.wait()
        [(code, stdout, stderr)] = finish([start_tw(["notify"], db, config=cfg)])
        assert code == 0, stdout + stderr
        assert "déjà en cours" not in stdout
        assert len(mailbox.messages) == 3  # 1 notice to both groups, 1 to the ACI
    finally:
        holder.kill()
        holder.wait()
        mailbox.stop()
        hook.close()
