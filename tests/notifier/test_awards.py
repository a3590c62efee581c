"""Awards linked to the insertion clause of their call, and who receives « attributaire à
démarcher » (issue #12). Notices go through the real store, calls through the real
classifier; DECP records are written in the shape of ``crawler.normalise.decp`` (one lot,
winners with their SIRET in ``winner_ids``, ``award_date``, ``awarded_value``)."""

from __future__ import annotations

import json
import tomllib
from functools import cache
from pathlib import Path

import pytest

from tenderwatch.classifier import Classifier, NoticeInput
from tenderwatch.core.board import Board
from tenderwatch.core.records import AWARD, CALL_FOR_TENDERS, Lot, Notice, NoticeLink, RawNotice
from tenderwatch.core.store import Store
from tenderwatch.notifier.awards import (
    award_contact_match,
    award_rows,
    link_awards,
    object_similarity,
    render_award_contact,
    split_winner,
)
from tenderwatch.notifier.groups import check_groups
from tenderwatch.notifier.models import STRUCTURE_KINDS, Group

BUYER = "21260362500018"
TWO_CLAUSES = """Avis de marché
Objet : Réhabilitation du groupe scolaire Jean Moulin à Valence.
Le marché est divisé en 2 lots.
Lot 1 : Gros œuvre
Lot 2 : Peinture et revêtements de sols
Pour le lot 1, le titulaire réservera au moins 300 heures de travail à des personnes rencontrant des difficultés sociales ou professionnelles, conformément à l'article L. 2112-2 du code de la commande publique.
Pour le lot 2, le titulaire réservera au moins 450 heures de travail à des personnes rencontrant des difficultés sociales ou professionnelles, conformément à l'article L. 2112-2 du code de la commande publique."""
LOT2_ONLY = """Avis de marché
Objet : Réhabilitation du groupe scolaire Jean Moulin à Valence.
Le marché est divisé en 2 lots.
Lot 1 : Gros œuvre
Lot 2 : Peinture et revêtements de sols
Pour le lot 2, le titulaire réservera au moins 450 heures de travail à des personnes rencontrant des difficultés sociales ou professionnelles, conformément à l'article L. 2112-2 du code de la commande publique."""
WHOLE = """Avis de marché
Objet : Nettoyage des locaux administratifs de la communauté d'agglomération.
Le marché est divisé en 2 lots.
Lot 1 : Nettoyage des bureaux
Lot 2 : Nettoyage des vitres
Le titulaire réservera au moins 1200 heures de travail à des personnes rencontrant des difficultés sociales ou professionnelles, conformément à l'article L. 2112-2 du code de la commande publique."""
NO_CLAUSE = """Avis de marché
Objet : Entretien des espaces verts des parcs et jardins de la ville.
Les offres sont jugées sur le prix (60 %) et la valeur technique (40 %)."""

LOTS = [
    Lot(lot_id="1", title="Gros œuvre"),
    Lot(lot_id="2", title="Peinture et revêtements de sols"),
]


@cache
def classifier() -> Classifier:
    """One classifier for the module: loading its patterns is the slow part."""
    return Classifier()


def save_call(
    store: Store,
    source_id: str,
    text: str,
    *,
    title: str = "Réhabilitation du groupe scolaire Jean Moulin",
    lots: list[Lot] | None = None,
    cpv: tuple[str, ...] = ("45453000",),
    buyer: str = BUYER,
    published: str = "2026-06-01",
    departements: tuple[str, ...] = ("26",),
    links: tuple[NoticeLink, ...] = (),
) -> str:
    """Store a call for tenders and classify it with the real classifier."""
    lots = LOTS if lots is None else lots
    notice = Notice(
        id=f"boamp:{source_id}",
        source="boamp",
        source_id=source_id,
        form="test",
        title=title,
        nature=CALL_FOR_TENDERS,
        published=published,
        buyer_name="Ville de Valence",
        buyer_siret=buyer,
        departements=list(departements),
        cpv=list(cpv),
        text=text,
        lots=lots,
        links=list(links),
    )
    store.save(RawNotice("boamp", source_id, "u", "text/plain", text.encode()), notice)
    result = classifier().classify(
        NoticeInput(
            id=notice.id,
            text=text,
            title=title,
            published=published,
            lots=[{"lot_id": lot.lot_id, "title": lot.title} for lot in lots],
        )
    )
    store.save_classifications([result])
    return notice.id


def save_award(store: Store, source_id: str, call_id: str, lots: list[Lot]) -> str:
    text = f"Avis d'attribution {source_id}"
    notice = Notice(
        id=f"boamp:{source_id}",
        source="boamp",
        source_id=source_id,
        form="test",
        title="Réhabilitation du groupe scolaire Jean Moulin",
        nature=AWARD,
        published="2026-09-15",
        buyer_name="Ville de Valence",
        departements=["26"],
        text=text,
        lots=lots,
        links=[NoticeLink(kind="corrects", target=call_id)],
    )
    store.save(RawNotice("boamp", source_id, "u", "text/plain", text.encode()), notice)
    return notice.id


def save_decp(
    store: Store,
    source_id: str,
    objet: str,
    *,
    buyer: str = BUYER,
    cpv: tuple[str, ...] = ("45442100",),
    notified: str = "2026-09-20",
) -> str:
    """A DECP contract as ``crawler.normalise.decp`` writes it."""
    lot = Lot(
        lot_id="1",
        title=objet,
        cpv=list(cpv),
        departements=["26"],
        result="awarded",
        winners=["Peintures Rhodaniennes SAS"],
        winner_ids=["44090956200041"],
        award_date=notified,
        awarded_value=182000.0,
    )
    notice = Notice(
        id=f"decp:{source_id}",
        source="decp",
        source_id=source_id,
        form="decp/marche",
        title=objet,
        nature=AWARD,
        published=notified,
        buyer_siret=buyer,
        departements=["26"],
        cpv=list(cpv),
        estimated_value=182000.0,
        text=f"Objet du marché\n{objet}",
        lots=[lot],
        winners=list(lot.winners),
    )
    store.save(RawNotice("decp", source_id, "u", "application/json", objet.encode()), notice)
    return notice.id


def awarded(lot_id: str, winner: str, value: float | None = None) -> Lot:
    return Lot(lot_id=lot_id, result="awarded", winners=[winner], estimated_value=value)


# -- linking ----------------------------------------------------------------------------------


def test_each_lot_gets_the_hours_and_clause_of_its_own_lot(store: Store) -> None:
    call = save_call(store, "26-4001", TWO_CLAUSES)
    award = save_award(
        store,
        "26-4002",
        call,
        [awarded("1", "Maçonnerie Drômoise"), awarded("2", "Peintures Rhodaniennes SAS", 182000)],
    )
    report = link_awards(store, [award])
    assert (report.linked, report.rows) == (1, 2)
    rows = {r["lot_id"]: r for r in award_rows(store, award)}
    assert rows["1"]["winner_name"] == "Maçonnerie Drômoise"
    assert rows["1"]["insertion_hours"] == 300
    assert "lot 1" in rows["1"]["clause"] and "300 heures" in rows["1"]["clause"]
    assert rows["2"]["winner_name"] == "Peintures Rhodaniennes SAS"
    assert rows["2"]["insertion_hours"] == 450
    assert "lot 2" in rows["2"]["clause"] and "450 heures" in rows["2"]["clause"]
    assert rows["2"]["value"] == 182000
    assert rows["2"]["award_date"] == "2026-09-15"
    assert rows["2"]["call_notice_id"] == call and rows["2"]["link"] == "procedure"
    assert rows["2"]["labels"] == ["insertion_clause"]
    assert rows["2"]["departements"] == ["26"]
    # Linking again rewrites the same rows, it does not add any.
    link_awards(store, [award])
    assert store.db["awards"].count == 2


def test_lot_without_clause_and_lot_not_awarded_make_no_row(store: Store) -> None:
    call = save_call(store, "26-4011", LOT2_ONLY)
    award = save_award(
        store,
        "26-4012",
        call,
        [
            awarded("1", "Maçonnerie Drômoise"),
            Lot(lot_id="2", result="not_awarded"),
        ],
    )
    report = link_awards(store, [award])
    assert report.rows == 0 and report.unlinked == [award]
    assert award_rows(store, award) == []


def test_a_clause_for_every_lot_gives_the_whole_contracts_hours(store: Store) -> None:
    lots = [
        Lot(lot_id="1", title="Nettoyage des bureaux"),
        Lot(lot_id="2", title="Nettoyage des vitres"),
    ]
    call = save_call(store, "26-4021", WHOLE, title="Nettoyage des locaux", lots=lots)
    award = save_award(store, "26-4022", call, [awarded("2", "Vitres Nettes")])
    link_awards(store, [award])
    [row] = award_rows(store, award)
    assert row["lot_id"] == "2" and row["insertion_hours"] == 1200
    assert row["hours_scope"] == "marché"  # not 1200 hours on lot 2 alone


def test_award_of_a_call_without_clause_is_not_linked(store: Store) -> None:
    call = save_call(store, "26-4031", NO_CLAUSE, title="Espaces verts", lots=[])
    award = save_award(store, "26-4032", call, [])
    store.db.execute("UPDATE notices SET winners = ? WHERE id = ?", ['["Jardins du Sud"]', award])
    assert link_awards(store, [award]).rows == 0


# -- DECP -------------------------------------------------------------------------------------


def test_decp_record_links_by_buyer_cpv_division_and_object(store: Store) -> None:
    call = save_call(store, "26-4041", LOT2_ONLY)
    decp = save_decp(
        store,
        "212603625000182026P014",
        "Réhabilitation groupe scolaire Jean Moulin - lot 2 peinture",
    )
    report = link_awards(store, [decp])
    assert report.rows == 1
    [row] = award_rows(store, decp)
    assert row["call_notice_id"] == call and row["link"] == "decp-match"
    assert row["lot_id"] == "2" and row["insertion_hours"] == 450
    assert row["winner_siret"] == "44090956200041"
    assert row["award_date"] == "2026-09-20" and row["value"] == 182000
    assert row["match_score"] >= 0.6


JAURES = """Avis de marché
Objet : Travaux de rénovation du groupe scolaire Jean Jaurès.
Le marché est divisé en 2 lots.
Lot 1 : Gros œuvre
Lot 2 : Menuiseries extérieures
Pour le lot 2, le titulaire réservera au moins 350 heures de travail à des personnes rencontrant des difficultés sociales ou professionnelles, conformément à l'article L. 2112-2 du code de la commande publique."""


def test_decp_row_from_the_normaliser_links_to_its_lot(store: Store) -> None:
    """A tabular DECP row (data.economie.gouv.fr shape) through helper L1's normaliser."""
    from tenderwatch.crawler.normalise.decp import normalise_decp_record

    call = save_call(
        store,
        "26-4045",
        JAURES,
        title="Travaux de rénovation du groupe scolaire Jean Jaurès",
        lots=[
            Lot(lot_id="1", title="Gros œuvre"),
            Lot(lot_id="2", title="Menuiseries extérieures"),
        ],
        cpv=("45421000",),
        buyer="21690123100011",
        departements=("69",),
    )
    row = {
        "id": "2026-0042-LOT2",
        "acheteur_id": "21690123100011",
        "nature": "Marché",
        "objet": "Travaux de rénovation du groupe scolaire Jean Jaurès - Lot 2 : menuiseries",
        "codecpv": "45421000",
        "lieuexecution_code": "69123",
        "lieuexecution_typecode": "Code commune",
        "datenotification": "2026-10-02",
        "montant": 184500.0,
        "considerationssociales": "Clause sociale",
        "titulaire_id_1": "38012986600047",
        "titulaire_typeidentifiant_1": "SIRET",
        "titulaire_denominationsociale_1": "MENUISERIES DU RHONE",
    }
    notice = normalise_decp_record(row)
    store.save(RawNotice("decp", notice.source_id, "u", "application/json", b"{}"), notice)
    link_awards(store, [notice.id])
    [linked] = award_rows(store, notice.id)
    assert (linked["call_notice_id"], linked["lot_id"]) == (call, "2")
    assert linked["winner_name"] == "MENUISERIES DU RHONE"
    assert linked["winner_siret"] == "38012986600047"
    assert (linked["insertion_hours"], linked["value"]) == (350, 184500)
    assert linked["award_date"] == "2026-10-02"


def test_decp_same_buyer_and_division_but_another_object_is_not_linked(store: Store) -> None:
    save_call(store, "26-4051", LOT2_ONLY)
    decp = save_decp(
        store, "212603625000182026P015", "Rénovation de la salle des fêtes Victor Hugo"
    )
    assert link_awards(store, [decp]).rows == 0


@pytest.mark.parametrize(
    ("buyer", "cpv", "notified"),
    [
        ("21380185500015", ("45442100",), "2026-09-20"),  # another buyer
        (BUYER, ("90911200",), "2026-09-20"),  # another CPV division
        (BUYER, ("45442100",), "2026-01-10"),  # notified before the call was published
    ],
)
def test_decp_needs_buyer_division_and_dates(
    store: Store, buyer: str, cpv: tuple[str, ...], notified: str
) -> None:
    save_call(store, "26-4061", LOT2_ONLY)
    decp = save_decp(
        store,
        "212603625000182026P016",
        "Réhabilitation groupe scolaire Jean Moulin - lot 2 peinture",
        buyer=buyer,
        cpv=cpv,
        notified=notified,
    )
    assert link_awards(store, [decp]).rows == 0


def test_decp_two_equally_close_calls_make_no_link(store: Store) -> None:
    save_call(store, "26-4071", LOT2_ONLY, published="2026-05-01")
    save_call(store, "26-4072", LOT2_ONLY, published="2026-06-01")
    decp = save_decp(
        store, "212603625000182026P017", "Réhabilitation groupe scolaire Jean Moulin lot 2"
    )
    assert link_awards(store, [decp]).rows == 0


def test_decp_republished_call_is_one_candidate_the_latest(store: Store) -> None:
    save_call(store, "26-4091", LOT2_ONLY, published="2026-05-01")
    again = save_call(
        store,
        "26-4092",
        LOT2_ONLY,
        published="2026-06-01",
        links=(NoticeLink(kind="follows", target="boamp:26-4091"),),
    )
    decp = save_decp(store, "212603625000182026P018", "Réhabilitation scolaire Jean Moulin lot 2")
    link_awards(store, [decp])
    assert [r["call_notice_id"] for r in award_rows(store, decp)] == [again]
    # Without the lot, the winner may be lot 1's, which has no clause: no row.
    other = save_decp(store, "212603625000182026P019", "Réhabilitation groupe scolaire Jean Moulin")
    assert link_awards(store, [other]).unlinked == [other]


def test_object_similarity_and_winner_siret() -> None:
    score, shared = object_similarity(
        "Réhabilitation groupe scolaire Jean Moulin - lot 2",
        "Travaux de réhabilitation du groupe scolaire Jean-Moulin",
    )
    assert score == 1.0 and shared == 5
    # Boilerplate words shared by every contract of a buyer do not count.
    assert (
        object_similarity("Marché de travaux - lot 1", "Travaux : marché de services, lot 2")[1]
        == 0
    )
    assert split_winner("Bâti Sud (SIRET 123 456 789 00012)") == ("Bâti Sud", "12345678900012")
    assert split_winner("Peintures Rhodaniennes SAS") == ("Peintures Rhodaniennes SAS", None)


# -- who receives it --------------------------------------------------------------------------


def linked_rows(store: Store) -> list[dict]:
    call = save_call(store, "26-4081", LOT2_ONLY)
    award = save_award(store, "26-4082", call, [awarded("2", "Peintures Rhodaniennes SAS")])
    link_awards(store, [award])
    return award_rows(store, award)


STAFF = {"ETTI", "AI", "GEIQ", "EATT"}


@pytest.mark.parametrize("kind", STRUCTURE_KINDS)
def test_every_structure_kind_acts_by_its_route(store: Store, kind: str) -> None:
    rows = linked_rows(store)
    group = Group(id="g", name="G", kind="siae", structure_kinds=[kind], departements=["26"])
    found = award_contact_match(group, rows)
    assert found is not None
    lots, reasons = found
    assert lots == ["2"]
    route = "mise à disposition de personnel" if kind in STAFF else "sous-traitance"
    assert f"Votre groupe compte des {kind} : {route}" in reasons


def test_a_group_without_structure_kinds_gets_nothing(store: Store) -> None:
    rows = linked_rows(store)
    group = Group(id="g", name="G", kind="network", structure_kinds=[])
    fails: list[str] = []
    assert award_contact_match(group, rows, fails) is None
    assert "mise à disposition ni sous-traitance" in fails[0]


def test_territory_sectors_and_labels_are_the_groups(store: Store) -> None:
    rows = linked_rows(store)
    fails: list[str] = []
    out = Group(id="g", name="G", kind="siae", structure_kinds=["ACI"], departements=["38"])
    assert award_contact_match(out, rows, fails) is None
    assert fails == ["Lot 2 hors territoire : département 26 (Drôme)"]
    other_sector = Group(
        id="g", name="G", kind="siae", structure_kinds=["ACI"], cpv_prefixes=["9091"]
    )
    assert award_contact_match(other_sector, rows) is None
    only_reserved = Group(
        id="g", name="G", kind="siae", structure_kinds=["ACI"], labels=["reserved_siae"]
    )
    assert award_contact_match(only_reserved, rows) is None
    all_france = Group(id="g", name="G", kind="siae", structure_kinds=["ACI"])
    assert award_contact_match(all_france, rows) is not None


def test_opt_out(store: Store, tmp_path: Path) -> None:
    rows = linked_rows(store)
    group = Group(id="g", name="G", kind="siae", structure_kinds=["ETTI"], awards_indirect=False)
    fails: list[str] = []
    assert award_contact_match(group, rows, fails) is None
    assert "awards_indirect = false" in fails[0]
    cfg = tmp_path / "t.toml"
    cfg.write_text(
        '[[groups]]\nid = "g"\nkind = "siae"\nstructure_kinds = ["ETTI"]\n'
        'awards_indirect = "non"\n',
        encoding="utf-8",
    )
    assert tomllib.loads(cfg.read_text())["groups"][0]["awards_indirect"] == "non"
    [error] = check_groups(cfg)
    assert "awards_indirect" in error and "true ou false attendu" in error


# -- the message and the board ----------------------------------------------------------------


def test_message_names_winner_lot_hours_buyer_and_dates(store: Store) -> None:
    rows = linked_rows(store)
    # The facilitator helper L2's classifier stores with the call.
    facilitator = {"organisation": "PLIE du Valentinois", "name": "Mme Durand", "quote": "…"}
    store.db.execute(
        "UPDATE classifications SET facilitator = ? WHERE notice_id = ?",
        [json.dumps(facilitator), rows[0]["call_notice_id"]],
    )
    message = render_award_contact(store, rows[0]["award_notice_id"], ["2"], ["Raison A"])
    assert message.title.startswith("Attributaire à démarcher · Peintures Rhodaniennes SAS · lot 2")
    for body in (message.text, message.markdown):
        assert "450 heures d'insertion" in body.replace("\\", "")
        assert "Ville de Valence" in body
        assert "15 septembre 2026" in body and "1 juin 2026" in body.replace("1er", "1")
        assert "Raison A" in body
        assert "Facilitateur de la clause : Mme Durand, PLIE du Valentinois" in body.replace(
            "**", ""
        )
    assert "Peintures Rhodaniennes SAS</strong> a remporté le lot 2" in message.html


def test_board_shows_the_outcome_of_a_lot_the_group_answered(store: Store) -> None:
    rows = linked_rows(store)
    call = rows[0]["call_notice_id"]
    board = Board(store)
    loser = board.upsert_member(
        email="alice@aci.example", name="Alice", group_id="aci", structure_name="ACI Valence"
    )
    winner = board.upsert_member(
        email="bob@peintures.example",
        name="Bob",
        group_id="aci",
        structure_name="Peintures Rhodaniennes SAS",
    )
    board.set_mark("aci", call, "2", loser.id, "on_repond")
    board.set_mark("aci", call, "2", winner.id, "on_repond")
    board.set_mark("aci", call, "1", loser.id, "on_repond")
    marks = {(m["member_id"], m["lot_id"]): m for m in board.marks("aci", call)}
    assert (
        marks[(loser.id, "2")]["outcome_text"]
        == "perdu — attributaire : Peintures Rhodaniennes SAS"
    )
    assert marks[(winner.id, "2")]["outcome"] == "gagne"
    assert "outcome_text" not in marks[(loser.id, "1")]  # lot 1 was not awarded here
    # What the member said wins over what the award notice says.
    board.set_outcome("aci", call, "2", loser.id, "abandonne")
    marks = {(m["member_id"], m["lot_id"]): m for m in board.marks("aci", call)}
    assert marks[(loser.id, "2")]["outcome"] == "abandonne"
    by_member = {
        m["member_id"]: m for m in board.marks_by_notice("aci")[call] if m["lot_id"] == "2"
    }
    assert (
        by_member[winner.id]["outcome_text"] == "gagné — attributaire : Peintures Rhodaniennes SAS"
    )
