"""``tenderwatch explore``: the Datasette metadata (its canned queries run on a real SQLite
file), the command line it builds, the snapshot it opens, the message without Datasette."""

from __future__ import annotations

import importlib.util
import json
import sqlite3
import sys
from pathlib import Path

import pytest

from tenderwatch import explore as ex
from tenderwatch.core.board import Board
from tenderwatch.core.store import Store

from ..conftest import cli_env, run_cli
from ..web.conftest import add_notice, deliver


def _fill(store: Store) -> None:
    add_notice(store, "boamp:26-1", title="Nettoyage", departements=["26"])
    add_notice(
        store,
        "boamp:26-2",
        title="Espaces verts",
        departements=["26", "07"],
        labels=["reserved_siae"],
    )
    add_notice(store, "boamp:69-1", title="Fournitures", departements=["69"], labels=[])
    add_notice(
        store, "boamp:69-2", title="Restauration", departements=["69"], published="2026-01-05"
    )
    deliver(store, "aci-drome", "boamp:26-1")
    deliver(store, "aci-drome", "boamp:26-2")
    deliver(store, "ea-lyon", "boamp:69-2")


def _run(db: Path, name: str, **params: str) -> list[tuple]:
    sql = ex.metadata(db)["databases"][db.stem]["queries"][name]["sql"]
    conn = sqlite3.connect(db)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def test_metadata_describes_tables_and_canned_queries_answer(tmp_path: Path) -> None:
    db = tmp_path / "veille.db"
    store = Store(db)
    _fill(store)
    store.close()
    meta = ex.metadata(db)
    base = meta["databases"]["veille"]
    assert "Clauses sociales" in base["tables"]["classifications"]["description"]
    assert "données personnelles" in base["tables"]["board_members"]["description"]
    assert set(base["queries"]) == {"avis_clause_par_departement", "envois_par_groupe"}
    # Notices with a clause: 26-1 and 26-2 in 26, 26-2 in 07, 69-2 in 69 (69-1 has none).
    assert _run(db, "avis_clause_par_departement", etiquette="", depuis="") == [
        ("26", 2),
        ("07", 1),
        ("69", 1),
    ]
    assert _run(db, "avis_clause_par_departement", etiquette="reserved_siae", depuis="") == [
        ("07", 1),
        ("26", 1),
    ]
    assert _run(db, "avis_clause_par_departement", etiquette="", depuis="2026-06-01") == [
        ("26", 2),
        ("07", 1),
    ]
    rows = _run(db, "envois_par_groupe", depuis="")
    assert [(r[0], r[1], r[2], r[3], r[4]) for r in rows] == [
        ("aci-drome", "alert", "sent", 2, 2),
        ("ea-lyon", "alert", "sent", 1, 1),
    ]


def test_metadata_of_a_base_without_deliveries_omits_that_query(tmp_path: Path) -> None:
    db = tmp_path / "maigre.db"
    conn = sqlite3.connect(db)
    conn.execute("CREATE TABLE notices (id TEXT)")
    conn.commit()
    conn.close()
    base = ex.metadata(db)["databases"]["maigre"]
    assert base["queries"] == {} and set(base["tables"]) == {"notices"}


def test_command_line_is_read_only_and_immutable_on_the_snapshot(tmp_path: Path) -> None:
    args = ex.command(
        tmp_path / "a.db", tmp_path / "m.json", host="127.0.0.1", port=8123, immutable=True
    )
    assert args[:4] == [sys.executable, "-m", "datasette", "serve"]
    assert args[4:6] == ["-i", str(tmp_path / "a.db")]
    assert args[args.index("--metadata") + 1] == str(tmp_path / "m.json")
    assert args[args.index("--port") + 1] == "8123"
    live = ex.command(tmp_path / "a.db", tmp_path / "m.json", host="h", port=1, immutable=False)
    assert "-i" not in live and live[4] == str(tmp_path / "a.db")


def test_snapshot_has_no_signin_nonces_and_leaves_the_base_alone(tmp_path: Path) -> None:
    db = tmp_path / "live.db"
    store = Store(db)
    _fill(store)
    board = Board(store)
    member = board.upsert_member(email="a@b.example", name="A", group_id="aci-drome")
    board.create_signin(member.id, minutes=30)
    store.close()
    folder = tmp_path / "snap"
    folder.mkdir()
    snap = ex.snapshot_for_explore(db, folder, "now")
    conn = sqlite3.connect(snap)
    assert conn.execute("SELECT count(*) FROM board_signin").fetchone()[0] == 0
    assert conn.execute("SELECT count(*) FROM notices").fetchone()[0] == 4
    conn.close()
    live = sqlite3.connect(db)
    assert live.execute("SELECT count(*) FROM board_signin").fetchone()[0] == 1
    live.close()


@pytest.mark.skipif(
    importlib.util.find_spec("datasette") is not None, reason="Datasette is installed here"
)
def test_cli_without_datasette_says_how_to_install_and_print_command_works(
    tmp_path: Path,
) -> None:
    env = cli_env(tmp_path)
    store = Store(tmp_path / "cli.db")
    _fill(store)
    store.close()
    missing = run_cli(["explore"], env)
    assert missing.returncode == 1
    assert 'pip install "tenderwatch[explore]"' in missing.stderr
    printed = run_cli(["explore", "--print-command", "--port", "8002"], env)
    assert printed.returncode == 0, printed.stderr
    first, rest = printed.stdout.split("\n", 1)
    assert " -m datasette serve -i " in first and "--port 8002" in first
    assert str(tmp_path / "cli.db") not in first  # a snapshot, not the live base
    assert json.loads(rest)["databases"]["cli"]["queries"]
