"""RGPD: ``members export`` gathers everything about a person; ``members erase`` deletes
the person and keeps the group's work under « membre effacé ». Real database files, the CLI
in real subprocesses."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from tenderwatch.core.board import Board, email_bucket
from tenderwatch.core.personal import ERASED_NAME, erase, export
from tenderwatch.core.store import Store
from tenderwatch.core.structures import import_structures

from ..conftest import cli_env, run_cli
from ..web.conftest import add_notice, deliver

ALICE = "alice.martin@jardins.example"
BOB = "bob@atelier.example"


def _populate(store: Store) -> tuple[int, int]:
    """Two members of one group, marks, notes, sign-ins, audit; Alice is also a structure's
    contact address."""
    add_notice(store, "boamp:26-1", title="Nettoyage des écoles")
    deliver(store, "aci-drome", "boamp:26-1")
    board = Board(store)
    alice = board.upsert_member(
        email=ALICE,
        name="Alice Martin",
        group_id="aci-drome",
        role="admin",
        structure_siret="26900000000019",
    )
    bob = board.upsert_member(email=BOB, name="Bob Durand", group_id="aci-drome")
    board.set_mark("aci-drome", "boamp:26-1", "", alice.id, "on_repond", text="On y va")
    board.set_mark("aci-drome", "boamp:26-1", "", bob.id, "interesse")
    board.add_note("aci-drome", "boamp:26-1", alice.id, "Je m'occupe du mémoire technique")
    used = board.create_signin(alice.id, minutes=30)
    board.consume_signin(used)
    board.create_signin(alice.id, minutes=30)  # unused: a live credential
    board.audit(f"member:{alice.id}", "signin", f"member:{alice.id}")
    board.rate_allow(email_bucket(ALICE), 5)
    csv_text = (
        "siret;nom;type;departement;courriel;secteurs\n"
        f"26900000000019;Jardins de la Drôme;ACI;26;{ALICE};espaces verts\n"
    )
    import_structures(store, csv_text.encode(), "csv")
    # The group as copied from the TOML (réseau features): its settings list the members.
    members = [{"email": ALICE, "name": "Alice Martin"}, {"email": BOB, "name": "Bob Durand"}]
    settings = json.dumps({"id": "aci-drome", "members": members}, sort_keys=True)
    store.db.execute(
        "INSERT INTO group_settings (id, settings, origin, created_at, updated_at, updated_by)"
        " VALUES ('aci-drome', ?, 'file', 'now', 'now', ?)",
        [settings, ALICE],
    )
    store.db.execute(
        "INSERT INTO group_changes (group_id, at, actor, action, after)"
        " VALUES ('aci-drome', 'now', ?, 'import', ?)",
        [f"member:{alice.id}", settings],
    )
    store.db.conn.commit()
    return alice.id, bob.id


def test_export_holds_everything_about_the_person_and_no_nonce(store: Store) -> None:
    _populate(store)
    data = export(store, ALICE.upper())  # addresses compare case-insensitively
    assert data["member"]["email"] == ALICE and data["member"]["name"] == "Alice Martin"
    tables = data["tables"]
    assert [m["group_id"] for m in tables["board_memberships"]] == ["aci-drome"]
    assert [(m["status"], m["text"]) for m in tables["board_marks"]] == [("on_repond", "On y va")]
    assert tables["board_notes"][0]["text"] == "Je m'occupe du mémoire technique"
    signins = tables["board_signin"]
    assert len(signins) == 2 and sum(1 for s in signins if s["used_at"]) == 1
    assert all("nonce" not in s for s in signins)
    nonces = [r[0] for r in store.db.execute("SELECT nonce FROM board_signin")]
    assert not any(n in json.dumps(data) for n in nonces)
    actions = {a["action"] for a in tables["board_activity"]}
    assert {"mark", "note"} <= actions
    audit = data["mentions"]["board_audit.target"]
    assert {a["action"] for a in audit} >= {"member-upsert", "signin"}
    assert [s["siret"] for s in data["structures"]] == ["26900000000019"]
    assert data["signin_requests_last_hour_window"] == 1
    assert data["mentions"]["group_settings.settings"] == [
        {"group": "aci-drome", "at": None, "entries": [{"email": ALICE, "name": "Alice Martin"}]}
    ]
    assert data["mentions"]["group_changes.actor"][0]["action"] == "import"
    # Nothing of Bob's.
    assert "Bob" not in json.dumps(data) and BOB not in json.dumps(data)
    assert export(store, "personne@nulle.part") is None


def test_erase_deletes_the_person_and_keeps_marks_and_notes_anonymised(
    store: Store, tmp_path: Path
) -> None:
    alice_id, bob_id = _populate(store)
    counts = erase(store, ALICE)
    assert counts["board_memberships"] == 1 and counts["board_signin"] == 2
    board = Board(store)
    assert board.member_by_email(ALICE) is None
    marks = {m["member_name"]: m for m in board.marks("aci-drome", "boamp:26-1")}
    assert set(marks) == {ERASED_NAME, "Bob Durand"}
    assert marks[ERASED_NAME]["status"] == "on_repond"
    assert [n["member_name"] for n in board.notes("aci-drome", "boamp:26-1")] == [ERASED_NAME]
    assert board.relevance("aci-drome")["relevant"] == 1
    # The placeholder author belongs to no group: it cannot sign in.
    placeholder = board.member(marks[ERASED_NAME]["member_id"])
    assert placeholder.groups == {} and placeholder.email.endswith(".invalid")
    # Bob is untouched, in the group's settings too.
    assert board.member(bob_id).groups == {"aci-drome": "member"}
    settings = json.loads(store.db.execute("SELECT settings FROM group_settings").fetchone()[0])
    assert [m["email"] for m in settings["members"]] == [BOB]
    # Nowhere in the whole database: not the address, the name, the rate-limit key, nor
    # the old id as an actor.
    dump = "\n".join(store.db.conn.iterdump())
    for trace in (ALICE, "Alice Martin", email_bucket(ALICE), f"member:{alice_id}'"):
        assert trace not in dump, trace
    assert store.db.execute(
        "SELECT email FROM structures WHERE siret = '26900000000019'"
    ).fetchone() == (None,)
    # The erasure itself is audited, without the address.
    assert (
        store.db.execute(
            "SELECT count(*) FROM board_audit WHERE action = 'member-erase'"
        ).fetchone()[0]
        == 1
    )
    assert erase(store, ALICE) is None


def test_cli_export_and_erase_with_confirmation(tmp_path: Path) -> None:
    env = cli_env(tmp_path)
    store = Store(tmp_path / "cli.db")
    _populate(store)
    store.close()
    out = tmp_path / "alice.json"
    exported = run_cli(["members", "export", ALICE, "-o", str(out)], env)
    assert exported.returncode == 0, exported.stderr
    assert json.loads(out.read_text("utf-8"))["member"]["email"] == ALICE
    refused = run_cli(["members", "erase", ALICE], env)
    assert refused.returncode == 1 and "--yes" in refused.stderr
    db = sqlite3.connect(tmp_path / "cli.db")
    assert db.execute("SELECT count(*) FROM board_members WHERE email = ?", [ALICE]).fetchone()[0]
    erased = run_cli(["members", "erase", ALICE, "--yes"], env)
    assert erased.returncode == 0, erased.stderr
    assert "conservées sous « membre effacé »" in erased.stdout
    assert ALICE not in erased.stdout + erased.stderr
    assert not db.execute("SELECT count(*) FROM board_members WHERE email = ?", [ALICE]).fetchone()[
        0
    ]
    unknown = run_cli(["members", "export", ALICE], env)
    assert unknown.returncode == 1 and "aucun membre" in unknown.stderr
