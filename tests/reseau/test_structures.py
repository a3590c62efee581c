"""Import of member structures: CSV, le marché de l'inclusion, les emplois de l'inclusion.

Every fixture is a hand-written file in tests/fixtures/directories (see its PROVENANCE.md);
the CLI runs in a real subprocess on a real database file."""

from __future__ import annotations

import json
import sqlite3

import pytest

from tenderwatch.core.board import Board
from tenderwatch.core.store import Store
from tenderwatch.core.structures import (
    import_structures,
    luhn_ok,
    siret_problem,
    structures,
)

from ..conftest import FIXTURES, cli_env, run_cli

DIR = FIXTURES / "directories"


def _read(name: str) -> bytes:
    return (DIR / name).read_bytes()


def _count(store: Store) -> int:
    return store.db.execute("SELECT count(*) FROM structures").fetchone()[0]


def _by_siret(store: Store) -> dict[str, dict]:
    return {r["siret"]: r for r in structures(store)}


def test_siret_check_digit_and_la_poste_exception() -> None:
    assert siret_problem("44100000000014") is None
    assert "clé de contrôle" in siret_problem("44100000000015")
    assert "14 chiffres" in siret_problem("4410000000001")
    assert "14 chiffres" in siret_problem("4410000000001A")
    # La Poste (SIREN 356000000): Luhn does not hold, the digit sum is a multiple of 5.
    assert not luhn_ok("35600000049837")
    assert siret_problem("35600000049837") is None
    assert "clé de contrôle" in siret_problem("35600000049838")
    # The exception is La Poste's only: another SIREN with a digit sum multiple of 5 and a
    # wrong Luhn key is refused.
    other = "44100000000001"
    assert not luhn_ok(other) and sum(map(int, other)) % 5 == 0
    assert siret_problem(other) is not None


def test_csv_import_creates_merges_and_maps_sectors(store: Store) -> None:
    report = import_structures(store, _read("membres.csv"), "csv")
    assert report.written and not report.skipped
    assert [siret for _, siret in report.created] == [
        "44100000000014",
        "26900000000019",
        "75100000000016",
        "69300000000028",
        "35600000049837",
    ]
    # Line 7 repeats line 3's SIRET: merged into it, not a second structure.
    assert report.merged == [("ligne 7", "même SIRET 26900000000019 que la ligne 3")]
    assert _count(store) == 5
    rows = _by_siret(store)
    jardins = rows["26900000000019"]
    assert jardins["name"] == "Jardins de la Drôme (Valence)"  # the later row completes
    assert jardins["kind"] == "ACI"  # « Atelier et chantier d'insertion » → ACI
    # espaces verts (7731, 4511) + maraîchage (031) + paysage (7731), united.
    assert jardins["cpv_prefixes"] == ["031", "4511", "7731"]
    assert rows["44100000000014"]["cpv_prefixes"] == ["909", "9091"]  # word + prefix
    assert rows["75100000000016"]["cpv_prefixes"] == ["7731"]  # 77310000-6 → prefix
    assert rows["35600000049837"]["departement"] == "01"  # « 1 » → 01
    assert rows["35600000049837"]["kind"] == "ESAT"
    # An unknown sector word is kept as a word and reported, the row is imported.
    assert "tri postal" in rows["69300000000028"]["sector_words"]
    assert any("tri postal" in reason for _, reason in report.warnings)
    # Imported again: nothing changes.
    again = import_structures(store, _read("membres.csv"), "csv")
    assert not again.created and not again.updated and len(again.unchanged) == 5


def test_csv_bad_rows_reported_with_their_line_and_nothing_imported(store: Store) -> None:
    report = import_structures(store, _read("membres-erreurs.csv"), "csv")
    assert not report.written
    reasons = dict(report.skipped)
    assert set(reasons) == {"ligne 3", "ligne 4", "ligne 5", "ligne 6"}
    assert "clé de contrôle fausse" in reasons["ligne 3"]
    assert "14 chiffres" in reasons["ligne 4"]
    assert "type « SCOP » inconnu" in reasons["ligne 5"]
    assert "courriel manquant" in reasons["ligne 6"]
    # The valid line 2 is not written either: all or nothing.
    assert _count(store) == 0
    report = import_structures(store, _read("membres-erreurs.csv"), "csv", skip_invalid=True)
    assert report.written and [s for _, s in report.created] == ["38300000000018"]
    assert _count(store) == 1


def test_a_failure_while_writing_leaves_nothing_half_imported(store: Store) -> None:
    import_structures(store, _read("membres-erreurs.csv"), "csv", skip_invalid=True)
    before = list(store.db.query("SELECT * FROM structures"))
    # A real SQLite failure on the fourth structure written (after three were inserted).
    store.db.execute(
        "CREATE TRIGGER fail_fourth BEFORE INSERT ON structures"
        " WHEN NEW.siret = '69300000000028' BEGIN SELECT RAISE(ABORT, 'disque plein'); END"
    )
    with pytest.raises(sqlite3.IntegrityError):
        import_structures(store, _read("membres.csv"), "csv", group_id="reseau-26")
    assert list(store.db.query("SELECT * FROM structures")) == before
    assert store.db.execute("SELECT count(*) FROM board_members").fetchone()[0] == 0
    assert not store.db.conn.in_transaction


def test_lemarche_page_updates_by_siret_and_skips_unknown_kind(store: Store) -> None:
    import_structures(store, _read("membres.csv"), "csv")
    report = import_structures(store, _read("lemarche-siae.json"), "lemarche", skip_invalid=True)
    assert report.skipped == [
        (
            "enregistrement 3",
            "type « XYZ » inconnu (attendu : EI, AI, ACI, ETTI, EITI, GEIQ, SEP, EA, EATT, ESAT)",
        )
    ]
    assert report.updated == [("enregistrement 1", "44100000000014")]
    assert report.created == [("enregistrement 2", "07100000000019")]
    rows = _by_siret(store)
    nsa = rows["44100000000014"]
    assert nsa["brand"] == "NSA" and nsa["city"] == "Nantes"
    # The CSV's sectors stay, le marché's ({name, slug} objects) are added.
    assert nsa["cpv_prefixes"] == ["909", "9091", "9831"]
    assert nsa["email"] == "contact@nettoyage-solidaire.example"  # not erased by the API
    assert nsa["networks"] == ["Fédération des entreprises d'insertion"]
    assert rows["07100000000019"]["departement"] == "07"
    assert rows["07100000000019"]["email"] is None  # directories may have no contact


def test_emplois_page_post_code_departement_and_kept_email(store: Store) -> None:
    import_structures(store, _read("membres.csv"), "csv")
    report = import_structures(store, _read("emplois-siaes.json"), "emplois")
    assert report.written and not report.skipped
    rows = _by_siret(store)
    assert rows["97400000000014"]["departement"] == "974"  # from code postal 97410
    assert rows["97400000000014"]["kind"] == "AI"
    jardins = rows["26900000000019"]
    assert jardins["name"] == "JARDINS DE LA DROME"
    assert jardins["brand"] == "Jardins de la Drôme"
    assert jardins["email"] == "jardins@drome-insertion.example"
    assert jardins["cpv_prefixes"] == ["031", "4511", "7731"]


def test_group_option_makes_members_linked_by_siret(store: Store) -> None:
    report = import_structures(store, _read("membres.csv"), "csv", group_id="reseau-26")
    assert report.members == 5
    board = Board(store)
    member = board.member_by_email("jardins@drome-insertion.example")
    assert member is not None
    assert member.structure_siret == "26900000000019"
    assert member.structure_kind == "ACI"
    assert member.groups == {"reseau-26": "member"}
    assert {r["siret"]: r["members"] for r in structures(store)}["26900000000019"] == 1
    # An administrator stays one when the directory is imported again.
    board.upsert_member(
        email="jardins@drome-insertion.example",
        name="Jardins",
        group_id="reseau-26",
        role="admin",
    )
    import_structures(store, _read("membres.csv"), "csv", group_id="reseau-26")
    assert board.member_by_email("jardins@drome-insertion.example").groups == {"reseau-26": "admin"}


def test_cli_import_refuses_a_file_with_bad_rows_then_imports(tmp_path) -> None:
    env = cli_env(tmp_path)
    bad = run_cli(["structures", "import", str(DIR / "membres-erreurs.csv")], env)
    assert bad.returncode == 1, bad.stderr
    assert "ligne 4 : ignorée — SIRET « 1310000000001 » invalide" in bad.stdout
    assert "ligne 6 : ignorée — courriel manquant" in bad.stdout
    assert "rien n'a été importé" in bad.stderr
    assert "@" not in bad.stdout  # the report names lines, never addresses
    db = sqlite3.connect(tmp_path / "cli.db")
    assert db.execute("SELECT count(*) FROM structures").fetchone()[0] == 0
    dry = run_cli(
        [
            "structures",
            "import",
            "--format",
            "lemarche",
            "--dry-run",
            str(DIR / "lemarche-siae.json"),
        ],
        env,
    )
    assert dry.returncode == 0 and "rien n'a été écrit" in dry.stdout
    assert db.execute("SELECT count(*) FROM structures").fetchone()[0] == 0
    ok = run_cli(["structures", "import", str(DIR / "membres.csv")], env)
    assert ok.returncode == 0, ok.stderr
    assert "5 créée(s)" in ok.stdout and "1 doublon(s) fusionné(s)" in ok.stdout
    listed = run_cli(["structures", "list", "--departement", "26"], env)
    assert "26900000000019 ACI" in listed.stdout
    audit = db.execute(
        "SELECT details FROM board_audit WHERE action = 'structures-import'"
    ).fetchone()
    assert json.loads(audit[0])["created"] == 5


def test_cli_group_option_refuses_an_unknown_group(tmp_path) -> None:
    config = tmp_path / "tw.toml"
    config.write_text(
        '[[groups]]\nid = "reseau-26"\nname = "Réseau Drôme"\nkind = "network"\n'
        'departements = ["26"]\n',
        encoding="utf-8",
    )
    env = cli_env(tmp_path, TENDERWATCH_CONFIG=str(config))
    typo = run_cli(["structures", "import", str(DIR / "membres.csv"), "--group", "typo"], env)
    assert typo.returncode == 1 and "groupe inconnu « typo »" in typo.stderr
    ok = run_cli(["structures", "import", str(DIR / "membres.csv"), "--group", "reseau-26"], env)
    assert ok.returncode == 0, ok.stderr
    assert "5 membre(s) ajouté(s)" in ok.stdout
    db = sqlite3.connect(tmp_path / "cli.db")
    assert db.execute(
        "SELECT count(*) FROM board_memberships WHERE group_id = 'reseau-26'"
    ).fetchone() == (5,)
