"""The store: migrations, raw payloads, no loss on update, procedures and their state."""

from __future__ import annotations

import json

from tenderwatch.core.records import (
    AWARD,
    CALL_FOR_TENDERS,
    CANCELLATION,
    CORRIGENDUM,
    Lot,
    Notice,
    NoticeLink,
    RawNotice,
)
from tenderwatch.core.store import NEW, UNCHANGED, UPDATED, Store


def raw_for(notice: Notice, body: bytes | None = None) -> RawNotice:
    return RawNotice(
        source=notice.source,
        source_id=notice.source_id,
        url="http://x",
        content_type="application/json",
        body=body if body is not None else json.dumps(notice.to_dict()).encode(),
    )


def notice(source_id: str = "26-1", source: str = "boamp", **kw: object) -> Notice:
    base: dict[str, object] = dict(
        id=f"{source}:{source_id}",
        source=source,
        source_id=source_id,
        form="test",
        title="Nettoyage des locaux",
        nature=CALL_FOR_TENDERS,
        published="2026-01-10",
        deadline="2026-02-10T12:00:00+01:00",
        text="Clause sociale d'insertion : 5 % des heures.",
        buyer_name="Ville de Valence",
    )
    base.update(kw)
    return Notice(**base)  # type: ignore[arg-type]


def test_migrations_create_the_schema_in_wal_with_foreign_keys(store: Store) -> None:
    from tenderwatch.core.migrations import migrations

    names = store.applied_migrations()
    assert names[0] == "0001_initial"
    assert names == [m.name for m in migrations._migrations]
    assert store.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert store.db.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    for table in (
        "raw_notices",
        "notices",
        "lots",
        "notice_links",
        "procedures",
        "crawls",
        "classifications",
        "deliveries",
        "state",
    ):
        assert table in store.db.table_names()


def test_migrate_twice_applies_nothing_new(store: Store) -> None:
    assert store.migrate() == []


def test_lot_of_an_unknown_notice_is_refused(store: Store) -> None:
    import sqlite3

    import pytest

    with pytest.raises(sqlite3.IntegrityError):
        store.db["lots"].insert({"notice_id": "boamp:nope", "lot_id": "1"})


def test_save_then_same_payload_is_unchanged(store: Store) -> None:
    n = notice()
    raw = raw_for(n)
    assert store.save(raw, n) == NEW
    assert store.save(raw, n) == UNCHANGED
    assert store.db["raw_notices"].count == 1


def test_raw_payload_is_kept_byte_for_byte(store: Store) -> None:
    n = notice()
    body = b'{"idweb": "26-1",\r\n "objet": "caf\xc3\xa9"}  '
    store.save(raw_for(n, body), n)
    row = next(store.db.query("SELECT body, content_hash FROM raw_notices"))
    assert row["body"] == body
    assert row["content_hash"] == raw_for(n, body).content_hash


def test_new_payload_updates_and_keeps_both_versions(store: Store) -> None:
    store.save(raw_for(notice(), b"v1"), notice())
    assert store.save(raw_for(notice(), b"v2"), notice(title="Nettoyage (modifié)")) == UPDATED
    assert store.get_notice("boamp:26-1")["title"] == "Nettoyage (modifié)"
    assert store.db["raw_notices"].count == 2


def test_thinner_version_does_not_erase_what_was_known(store: Store) -> None:
    rich = notice(lots=[Lot(lot_id="1", title="Vitrerie")], buyer_siret="21260362100016")
    store.save(raw_for(rich, b"v1"), rich)
    thin = notice(text="", buyer_siret=None, lots=[])
    store.save(raw_for(thin, b"v2"), thin)
    stored = store.get_notice("boamp:26-1")
    assert stored["text"].startswith("Clause sociale")
    assert stored["buyer_siret"] == "21260362100016"
    assert [lot["title"] for lot in stored["lots"]] == ["Vitrerie"]


def test_unparsed_payload_is_kept_with_its_reason(store: Store) -> None:
    raw = RawNotice(
        source="boamp",
        source_id="26-9",
        url="u",
        content_type="application/json",
        body=b"{not json",
    )
    store.save_unparsed(raw, "malformed_json: line 1")
    row = next(store.db.query("SELECT parse_error, body FROM raw_notices"))
    assert row["parse_error"].startswith("malformed_json")
    assert row["body"] == b"{not json"


def test_full_text_search_follows_updates(store: Store) -> None:
    store.save(raw_for(notice(), b"v1"), notice())
    assert [r["id"] for r in store.search("insertion")] == ["boamp:26-1"]
    changed = notice(text="Marché réservé aux entreprises adaptées")
    store.save(raw_for(changed, b"v2"), changed)
    assert store.search("insertion") == []
    assert [r["id"] for r in store.search("entreprises adaptees")] == ["boamp:26-1"]


def test_corrigendum_moves_the_deadline_of_the_procedure(store: Store) -> None:
    first = notice()
    store.save(raw_for(first), first)
    corr = notice(
        "26-2",
        nature=CORRIGENDUM,
        published="2026-01-20",
        deadline="2026-02-24T12:00:00+01:00",
        links=[NoticeLink(kind="corrects", target="boamp:26-1")],
    )
    store.save(raw_for(corr), corr)
    a, b = store.get_notice("boamp:26-1"), store.get_notice("boamp:26-2")
    assert a["procedure_id"] == b["procedure_id"]
    state = b["procedure_state"]
    assert state["deadline"] == "2026-02-24T12:00:00+01:00"
    history = json.loads(state["deadline_history"])
    assert [h["deadline"][:10] for h in history] == ["2026-02-10", "2026-02-24"]
    assert json.loads(state["notice_ids"]) == ["boamp:26-1", "boamp:26-2"]


def test_corrigendum_before_its_notice_still_joins_the_procedure(store: Store) -> None:
    corr = notice(
        "26-2",
        nature=CORRIGENDUM,
        published="2026-01-20",
        links=[NoticeLink(kind="corrects", target="boamp:26-1")],
    )
    store.save(raw_for(corr), corr)
    first = notice()
    store.save(raw_for(first), first)
    assert (
        store.get_notice("boamp:26-1")["procedure_id"]
        == store.get_notice("boamp:26-2")["procedure_id"]
    )
    assert store.db["procedures"].count == 1


def test_cancellation_of_one_lot_cancels_only_that_lot(store: Store) -> None:
    lots = [
        Lot(lot_id="1", title="Espaces verts"),
        Lot(lot_id="2", title="Voirie"),
        Lot(lot_id="3", title="Propreté"),
    ]
    first = notice(lots=lots)
    store.save(raw_for(first), first)
    cancel = notice(
        "26-3",
        nature=CANCELLATION,
        published="2026-01-25",
        lots=[Lot(lot_id="2")],
        links=[NoticeLink(kind="corrects", target="boamp:26-1")],
    )
    store.save(raw_for(cancel), cancel)
    state = store.get_notice("boamp:26-1")["procedure_state"]
    lots_state = json.loads(state["lots_state"])
    assert lots_state["2"]["status"] == "cancelled"
    assert lots_state["1"]["status"] == "open"
    assert state["status"] == "open"


def test_cancellation_without_lots_cancels_the_procedure(store: Store) -> None:
    first = notice()
    store.save(raw_for(first), first)
    cancel = notice(
        "26-3",
        nature=CANCELLATION,
        published="2026-01-25",
        links=[NoticeLink(kind="corrects", target="boamp:26-1")],
    )
    store.save(raw_for(cancel), cancel)
    assert store.get_notice("boamp:26-1")["procedure_state"]["status"] == "cancelled"


def test_award_marks_lots_awarded_with_winners(store: Store) -> None:
    first = notice(lots=[Lot(lot_id="1"), Lot(lot_id="2")])
    store.save(raw_for(first), first)
    award = notice(
        "26-4",
        nature=AWARD,
        published="2026-03-01",
        deadline=None,
        lots=[
            Lot(lot_id="1", result="awarded", winners=["ACI Les Jardins"]),
            Lot(lot_id="2", result="not_awarded"),
        ],
        links=[NoticeLink(kind="corrects", target="boamp:26-1")],
    )
    store.save(raw_for(award), award)
    state = store.get_notice("boamp:26-1")["procedure_state"]
    lots_state = json.loads(state["lots_state"])
    assert state["status"] == "awarded"
    assert lots_state["1"]["status"] == "awarded"
    assert lots_state["1"]["winners"] == ["ACI Les Jardins"]
    assert lots_state["2"]["status"] == "not_awarded"


def test_same_notice_on_boamp_and_ted_is_one_procedure_with_boamp_canonical(store: Store) -> None:
    uuid = "1f2a3b4c-0000-4000-8000-000000000001"
    ted = notice("12345-2026", source="ted", notice_uuid=uuid, procedure_uuid="folder-1")
    store.save(raw_for(ted), ted)
    boamp = notice("26-87466", notice_uuid=uuid, procedure_uuid="folder-1")
    store.save(raw_for(boamp), boamp)
    t, b = store.get_notice("ted:12345-2026"), store.get_notice("boamp:26-87466")
    assert t["procedure_id"] == b["procedure_id"]
    assert t["canonical_id"] == b["canonical_id"] == "boamp:26-87466"
    assert {"kind": "same_as", "target": "boamp:26-87466", "target_uuid": ""} in t["links"]
    assert {"kind": "same_as", "target": "ted:12345-2026", "target_uuid": ""} in b["links"]


def test_eforms_change_notice_joins_by_uuid(store: Store) -> None:
    first = notice("1-2026", source="ted", notice_uuid="aaaa", procedure_uuid=None)
    store.save(raw_for(first), first)
    change = notice(
        "2-2026",
        source="ted",
        nature=CORRIGENDUM,
        notice_uuid="bbbb",
        links=[NoticeLink(kind="corrects", target_uuid="aaaa")],
    )
    store.save(raw_for(change), change)
    assert (
        store.get_notice("ted:1-2026")["procedure_id"]
        == store.get_notice("ted:2-2026")["procedure_id"]
    )


def test_newest_published_per_source(store: Store) -> None:
    for sid, day in (("26-1", "2026-01-10"), ("26-2", "2026-01-12")):
        n = notice(sid, published=day)
        store.save(raw_for(n), n)
    assert store.newest_published("boamp") == "2026-01-12"
    assert store.newest_published("ted") is None
