"""``tenderwatch db reparse``: stored payloads read again by the current normalisers, in a
real subprocess on a real database file.

The "before" state is what an earlier normaliser stored for the real BOAMP award 17-2599
(tests/fixtures/boamp-xml-v230): the same notice without the per-lot award date and amount
that legacy ``DECISION/RENSEIGNEMENT`` gives (read since issue #12).
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import replace
from pathlib import Path

from tenderwatch.core.records import RawNotice
from tenderwatch.core.store import Store
from tenderwatch.crawler.normalise import normalise
from tenderwatch.crawler.normalise.boamp import boamp_xml_to_record
from tests.conftest import FIXTURES, cli_env, run_cli

AWARD = boamp_xml_to_record((FIXTURES / "boamp-xml-v230" / "test-attribution-12.xml").read_bytes())
CALL = boamp_xml_to_record((FIXTURES / "boamp-xml-v230" / "test-pub.xml").read_bytes())


def raw_of(record: dict) -> RawNotice:
    body = json.dumps(record, ensure_ascii=False).encode()
    return RawNotice("boamp", record["idweb"], record["url_avis"], "application/json", body)


def as_stored_before(db: Path) -> None:
    """The award as an earlier normaliser stored it, classified, and alerted once."""
    store = Store(db)
    raw = raw_of(AWARD)
    notice = normalise(raw)
    old_lots = [replace(lot, award_date=None, awarded_value=None) for lot in notice.lots]
    store.save(raw, replace(notice, lots=old_lots))
    store.save(raw_of(CALL), normalise(raw_of(CALL)))
    store.save_classifications(
        [
            {
                "id": "boamp:17-2599",
                "model_version": "test",
                "labels": {},
                "lots": [],
                "insertion_hours": None,
                "evidence": [],
                "conflicts": [],
                "content_hash": raw.content_hash,
            }
        ]
    )
    store.close()


def rows(db: Path, sql: str) -> list[tuple]:
    with sqlite3.connect(db) as conn:
        return conn.execute(sql).fetchall()


def reparse(tmp_path: Path, *args: str):
    return run_cli(["db", "reparse", *args], cli_env(tmp_path))


def test_stored_award_gains_its_lot_dates_and_is_classified_again(tmp_path: Path) -> None:
    db = tmp_path / "cli.db"
    as_stored_before(db)
    lot2 = "SELECT award_date, awarded_value FROM lots WHERE notice_id = 'boamp:17-2599' AND lot_id = '2'"
    assert rows(db, lot2) == [(None, None)]

    result = reparse(tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Relecture des avis enregistrés — OK" in result.stdout
    assert "2 avis relus : 1 mis à jour, 1 inchangés." in result.stdout
    assert "reclassés au prochain « tenderwatch classify »" in result.stdout
    assert "relus : 2 / 2" in result.stderr
    assert rows(db, lot2) == [("2016-10-20", 60000.0)]
    # The stale classification is kept (the board and the observatory still read it) but
    # the next classify reads the notice again.
    assert rows(db, "SELECT notice_id, content_hash FROM classifications") == [
        ("boamp:17-2599", None)
    ]
    store = Store(db)
    assert store.notice_ids_to_classify("test") == ["boamp:16-186394", "boamp:17-2599"]
    store.close()

    again = reparse(tmp_path)
    assert again.returncode == 0
    assert "2 avis relus : 0 mis à jour, 2 inchangés." in again.stdout


def test_payload_unreadable_at_harvest_is_read_now(tmp_path: Path) -> None:
    db = tmp_path / "cli.db"
    store = Store(db)
    store.save_unparsed(raw_of(CALL), "missing_field: a normaliser of an earlier version")
    # Malformed JSON (written for this test): unreadable then, unreadable now.
    store.save_unparsed(
        RawNotice("boamp", "26-0000", "u", "application/json", b'{"idweb": "26-0000",'),
        "malformed_json",
    )
    store.close()

    result = reparse(tmp_path, "--source", "boamp")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 désormais lues et enregistrées, 1 toujours illisibles" in result.stdout
    assert rows(db, "SELECT id FROM notices") == [("boamp:16-186394",)]
    assert rows(db, "SELECT source_id, parse_error IS NULL FROM raw_notices ORDER BY 1") == [
        ("16-186394", 1),
        ("26-0000", 0),
    ]


def test_refused_payload_keeps_its_notice_and_fails_the_command(tmp_path: Path) -> None:
    """A notice stored from a payload the current normalisers refuse (here its bytes cut in
    the middle, written for this test) stays as it was; the command says so and exits 1."""
    db = tmp_path / "cli.db"
    store = Store(db)
    good = raw_of(CALL)
    cut = RawNotice("boamp", good.source_id, good.url, good.content_type, good.body[:500])
    store.save(cut, normalise(good))
    store.db["deliveries"].insert(
        {
            "group_id": "aci-drome",
            "notice_id": "boamp:16-186394",
            "kind": "alert",
            "channel": "notag:aci-drome",
            "status": "sent",
            "attempts": 1,
            "created_at": "2026-11-30T08:00:00+00:00",
        }
    )
    before = rows(db, "SELECT * FROM notices")
    store.close()

    result = reparse(tmp_path)
    assert result.returncode == 1
    assert "Relecture des avis enregistrés — INCOMPLET" in result.stdout
    assert "boamp:16-186394 : malformed_json" in result.stdout
    assert rows(db, "SELECT * FROM notices") == before
    assert rows(db, "SELECT count(*) FROM deliveries") == [(1,)]


def test_missing_database_is_an_error_not_a_new_base(tmp_path: Path) -> None:
    result = reparse(tmp_path)
    assert result.returncode != 0
    assert "Erreur" in result.stderr
    assert not (tmp_path / "cli.db").exists()


def test_a_newer_version_stored_meanwhile_is_never_overwritten(tmp_path: Path) -> None:
    """Reparse lists the notices, then reads them one by one; a crawl may store a newer
    version in between. The older payload read again must not replace it."""
    store = Store(tmp_path / "t.db")
    old = raw_of(AWARD)
    store.save(old, normalise(old))
    newer_record = {**AWARD, "objet": "Fourniture de denrées alimentaires (avis rectifié)"}
    newer = raw_of(newer_record)
    store.save(newer, normalise(newer))
    stored = store.get_notice("boamp:17-2599")
    assert stored["content_hash"] == newer.content_hash
    assert store.renormalise(normalise(old), old.content_hash) is False
    assert store.get_notice("boamp:17-2599") == stored
    store.close()
