"""``tenderwatch run``: one cycle on the offline replay, in a subprocess — the harvest is
classified and the observatory's facts are rebuilt at the end of the run, so that the first
member to open the observatory after a harvest does not wait for them."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from tenderwatch.core.observatory import _fingerprint
from tenderwatch.core.store import Store
from tests.conftest import cli_env, run_cli


def test_run_classifies_and_refreshes_the_observatory(tmp_path: Path) -> None:
    env = cli_env(tmp_path)
    result = run_cli(["run", "boamp", "--replay"], env, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Observatoire mis à jour." in result.stdout
    store = Store(tmp_path / "cli.db")
    try:
        stored = store.db.execute(
            "SELECT value FROM state WHERE key = 'observatory_fingerprint'"
        ).fetchone()
        assert stored is not None and stored[0] == _fingerprint(store.db)
        facts = store.db.execute("SELECT count(*) FROM observatory_facts").fetchone()[0]
    finally:
        store.close()
    with sqlite3.connect(tmp_path / "cli.db") as conn:
        calls = conn.execute(
            "SELECT count(*) FROM notices WHERE nature = 'call_for_tenders'"
            " AND (canonical_id IS NULL OR canonical_id = id)"
        ).fetchone()[0]
        classified = conn.execute(
            "SELECT count(DISTINCT notice_id) FROM classifications"
        ).fetchone()
    assert calls > 0 and facts == calls
    assert classified[0] > 0
    # Nothing new: the facts are left as they are, and the run says nothing about them.
    again = run_cli(["run", "boamp", "--replay"], env, timeout=300)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "Observatoire mis à jour." not in again.stdout
