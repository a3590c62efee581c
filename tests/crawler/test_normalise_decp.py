"""DECP records → Notice, field by field, in the three shapes (tests/fixtures/decp)."""

from __future__ import annotations

import json
from dataclasses import asdict

import pytest

from tenderwatch.core.records import AWARD, RawNotice
from tenderwatch.crawler.normalise import NormaliseError, normalise
from tenderwatch.crawler.normalise.decp import normalise_decp_record
from tests.conftest import FIXTURES

DECP = FIXTURES / "decp"


def contracts(name: str) -> list[dict]:
    """The contracts of a DECP file, whichever JSON shape it uses."""
    marches = json.loads((DECP / name).read_text(encoding="utf-8"))["marches"]
    return marches["marche"] if isinstance(marches, dict) else marches


def tabular(contract_id: str) -> dict:
    for line in (DECP / "records.jsonl").read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        if record.get("id") == contract_id:
            return record
    raise KeyError(contract_id)


def test_flat_array_shape_real_record() -> None:
    """Real GIP Maximilien file with flat arrays (``"titulaires": [{...}]``)."""
    notice = normalise_decp_record(contracts("decp-13001845000028-2024-02-29-01.json")[0])
    assert notice.id == "decp:13001845000028-2024_D2F_2023S12323_33 962_01"
    assert notice.nature == AWARD
    assert notice.form == "decp/marche"
    assert notice.title.startswith("Développement et intégration à l’écosystème")
    assert notice.buyer_siret == "13001845000028"
    assert notice.published == "2024-01-02"  # dateNotification, not datePublicationDonnees
    assert notice.cpv == ["72210000"]
    assert notice.departements == ["93"]
    assert notice.estimated_value == 952543.75
    assert notice.procedure == "Appel d'offres ouvert"
    [lot] = notice.lots
    assert (lot.lot_id, lot.result, lot.award_date, lot.awarded_value) == (
        "1",
        "awarded",
        "2024-01-02",
        952543.75,
    )
    assert lot.winner_ids == ["44090956200041"]
    assert lot.winners == notice.winners == ["SIRET 44090956200041"]
    # An empty list is "not said", not "said no".
    assert notice.signals.codes == {} and notice.signals.reserved is None


def test_wrapped_shape_with_modification_and_both_considerations() -> None:
    """Schema example (fictitious, format only): wrapped objects, a modification."""
    notice = normalise_decp_record(contracts("fcp-marches_avec_modifications.json")[0])
    assert notice.source_id == "21750001630066-TEST2022"
    assert notice.cpv == ["45000000"]  # "45000000-7": check digit dropped
    assert notice.departements == ["75"]  # from "Code postal" 75000
    # The modification names the holders after it (a transfer): the lot carries them, the
    # initial holder stays in the text.
    assert notice.lots[0].winner_ids == ["SIRET 868768687576575"]  # 15 digits: kept typed
    assert "Titulaires : SIRET 55204599900869" in notice.text
    assert "Titulaires après modification : SIRET 868768687576575" in notice.text
    assert notice.lots[0].awarded_value == 575000  # the initial amount
    assert notice.signals.codes["decp_social"] == ["clause", "criterion"]
    assert notice.signals.codes["decp_considerations_sociales"] == [
        "Clause sociale",
        "Critère social",
    ]
    assert notice.signals.reserved is None
    # The modification is kept in the text, with its date, amount, duration and holders.
    assert (
        "Modification n° 1 : notifiée le 2022-10-18 ; montant 123\u202f457,87 EUR ; "
        "durée 12 mois ; titulaires : SIRET 868768687576575"
    ) in notice.text
    # The considerations never enter the text (the text rules must not count them twice).
    assert "Clause sociale" not in notice.text and "Critère social" not in notice.text


@pytest.mark.parametrize(
    "contract_id",
    ["D2F0000402", "D2F0000302", "D2F2017S0000102", "D2F2019S0046902", "D2F2020S0492802"],
)
def test_hard_negatives_objects_naming_social_clauses(contract_id: str) -> None:
    """Real records whose object names « clauses sociales (MACS) » but which declare « Pas de
    considération sociale »: no positive signal, and an explicit « no reservation »."""
    [contract] = [
        c for c in contracts("decp-13001845000028-2024-10-06-01.json") if c["id"] == contract_id
    ]
    notice = normalise_decp_record(contract)
    assert "clauses sociales" in notice.title.lower() or "clause" in notice.text.lower()
    assert notice.signals.codes["decp_social"] == ["none"]
    assert notice.signals.reserved is False


def test_tabular_row_lot_in_id_named_winner_and_fillers() -> None:
    notice = normalise_decp_record(tabular("2026-0042-LOT2"))
    assert notice.buyer_name == "Ville de Lyon (fictive)"
    assert notice.departements == ["69"]  # INSEE commune 69123
    [lot] = notice.lots
    assert lot.lot_id == "2"  # the id names the lot
    assert lot.winners == ["MENUISERIES DU RHONE"]
    assert lot.winner_ids == ["38012986600047"]  # CDL fillers of columns 2-3 dropped
    assert notice.signals.codes["decp_social"] == ["clause"]


@pytest.mark.parametrize(
    ("contract_id", "social", "reserved"),
    [
        ("2026-0042-LOT1", ["criterion", "clause"], None),  # joined with ", "
        ("AC-2026-7", ["clause", "criterion"], None),  # joined with ";"
        ("M26-117", ["reserved"], True),  # a reservation of unknown kind
        ("M26-118", ["none"], False),
        ("2026MAPA32", ["none"], False),  # legacy « Sans objet »
    ],
)
def test_tabular_considerations(contract_id: str, social: list[str], reserved: bool | None) -> None:
    notice = normalise_decp_record(tabular(contract_id))
    assert notice.signals.codes["decp_social"] == social
    assert notice.signals.reserved is reserved


def test_tabular_two_winners_and_foreign_identifier() -> None:
    two = normalise_decp_record(tabular("2026-0042-LOT1")).lots[0]
    assert two.winners == ["BATI LYON", "SIRET 52345678900028"]
    assert two.winner_ids == ["41234567800019", "52345678900028"]
    vat = normalise_decp_record(tabular("M26-118")).lots[0]
    assert vat.winner_ids == ["TVA FR12345678901"]
    assert normalise_decp_record(tabular("2026MAPA32")).departements == ["2A"]


def test_cdl_filler_considerations_are_not_said() -> None:
    notice = normalise_decp_record(tabular("2026MAPA31"))
    assert notice.signals.codes == {} and notice.signals.reserved is None


def test_concession_wrapped() -> None:
    data = json.loads((DECP / "fcp-concessions.json").read_text(encoding="utf-8"))
    concession = data["marches"]["contrat-concession"][0]
    notice = normalise_decp_record(concession)
    assert notice.form == "decp/concession"
    assert notice.buyer_siret == concession["autoriteConcedante"]["id"]
    assert notice.published == concession["dateSignature"]
    assert notice.lots[0].winner_ids == [
        c["concessionnaire"]["id"] for c in concession["concessionnaires"]
    ]
    assert notice.estimated_value == concession["valeurGlobale"]


def test_dispatch_and_errors() -> None:
    text = json.dumps(tabular("M26-117"), ensure_ascii=False).encode()
    raw = RawNotice("decp", "22590001500010-M26-117", "http://x/records", "application/json", text)
    assert normalise(raw).id == "decp:22590001500010-M26-117"
    for body, reason in [
        (b'{"id": "X1", "objet": "sans acheteur"}', "missing_field"),
        (b'{"id": "X1", "acheteur_id": "21690123100011"}', "missing_field"),
        (b'{"id": "X1", "acheteur_id": "2169', "malformed_json"),
        (b"[1, 2]", "malformed_record"),
    ]:
        with pytest.raises(NormaliseError) as exc:
            normalise(RawNotice("decp", "k", "u", "application/json", body))
        assert exc.value.reason == reason


@pytest.fixture(scope="module")
def classifier():  # type: ignore[no-untyped-def]
    from tenderwatch.classifier.classifier import Classifier

    return Classifier()


def test_decp_flag_alone_is_probable_never_sure(classifier) -> None:  # type: ignore[no-untyped-def]
    from tenderwatch.classifier.classifier import NoticeInput

    def classify(record: dict):  # type: ignore[no-untyped-def]
        n = normalise_decp_record(record)
        return classifier.classify(
            NoticeInput(
                id=n.id,
                text=n.text,
                title=n.title,
                published=n.published,
                signals=asdict(n.signals),
                lots=[asdict(lot) for lot in n.lots],
            )
        )

    result = classify(tabular("AC-2026-7"))  # object says nothing social; the flags do
    assert result["labels"]["insertion_clause"] and result["labels"]["insertion_criterion"]
    assert result["confidence"]["insertion_clause"]["level"] == "probable"
    assert result["confidence"]["insertion_criterion"]["level"] == "probable"
    [evidence] = [e for e in result["evidence"] if e["label"] == "insertion_clause"]
    assert (evidence["source"], evidence["field"]) == ("structured", "DECP considerationsSociales")
    # « Pas de considération sociale » with a text positive: reported, never silenced.
    [hard] = [
        c for c in contracts("decp-13001845000028-2024-10-06-01.json") if c["id"] == "D2F0000402"
    ]
    negative = classify(hard)
    if negative["labels"]["insertion_clause"]:
        assert any(
            c["structured"] == "DECP=Pas de considération sociale" for c in negative["conflicts"]
        )


def test_holders_after_the_latest_modification_that_names_any() -> None:
    """Written for this test in the schema's flat shape: two modifications name holders
    (listed out of date order), a third only changes the amount."""
    contract = {
        "id": "2025-017",
        "acheteur": {"id": "21690123100011"},
        "objet": "Entretien des espaces verts",
        "codeCPV": "77310000",
        "dateNotification": "2025-03-01",
        "montant": 90000,
        "titulaires": [{"id": "38012986600047", "typeIdentifiant": "SIRET"}],
        "modifications": [
            {
                "id": 2,
                "dateNotificationModification": "2025-09-01",
                "titulaires": [{"id": "81234567800016", "typeIdentifiant": "SIRET"}],
            },
            {
                "id": 1,
                "dateNotificationModification": "2025-06-01",
                "titulaires": [{"id": "44306184100047", "typeIdentifiant": "SIRET"}],
            },
            {"id": 3, "dateNotificationModification": "2025-11-01", "montant": 99000},
        ],
    }
    notice = normalise_decp_record(contract)
    assert notice.lots[0].winner_ids == ["81234567800016"]
    assert notice.lots[0].awarded_value == 90000
    assert "Titulaires : SIRET 38012986600047" in notice.text
    assert "Modification n° 3 : notifiée le 2025-11-01 ; montant 99" in notice.text
    # Without any modification naming holders, the initial ones stay.
    del contract["modifications"][:2]
    assert normalise_decp_record(contract).lots[0].winner_ids == ["38012986600047"]
