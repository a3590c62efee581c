"""Tests of the BOAMP normaliser (API records and DILA XML flux) and of the XML↔dict layer.

Fixtures are real notices (see the PROVENANCE.md of each folder): five FNSimple API records,
two 3.2.5 flux files (EFORMS 26-87466, DSP 26-88471) and nineteen Boamp_v230 notices. Records
with features the fixtures lack (a reservation, links, hostile text) are made by copying a real
record and changing one field.
"""

from __future__ import annotations

import copy
import json
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from lxml import etree

from tenderwatch.core.records import AWARD, CALL_FOR_TENDERS, CORRIGENDUM, NoticeLink
from tenderwatch.crawler.normalise.boamp import (
    boamp_xml_to_record,
    normalise_boamp_record,
    normalise_boamp_xml,
)
from tenderwatch.crawler.normalise.common import NormaliseError
from tenderwatch.crawler.normalise.xmldict import dict_to_xml, xml_to_dict

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
API_FILE = FIXTURES / "boamp-api" / "boamp-where-date.json"
V3 = FIXTURES / "boamp-xml-v3"
V230 = FIXTURES / "boamp-xml-v230"
XML_FILES = sorted(V3.glob("*.xml")) + sorted(V230.glob("*.xml"))
API_IDWEBS = ["26-7298", "26-7308", "26-7319", "26-7109", "26-7113"]


@cache
def _api_records() -> dict[str, dict[str, Any]]:
    body = json.loads(API_FILE.read_text(encoding="utf-8"))
    return {r["idweb"]: r for r in body["data"]["results"]}


def api_record(idweb: str) -> dict[str, Any]:
    """A fresh copy of one real API record (tests may change it)."""
    return copy.deepcopy(_api_records()[idweb])


def with_donnees(idweb: str, change: Any) -> dict[str, Any]:
    """A real record whose parsed ``donnees`` went through ``change`` (in place)."""
    record = api_record(idweb)
    donnees = json.loads(record["donnees"])
    change(donnees)
    record["donnees"] = json.dumps(donnees, ensure_ascii=False)
    return record


def xml(path: str) -> bytes:
    return (FIXTURES / path).read_bytes()


# --------------------------------------------------------------------------- every fixture


def test_fixture_api_file_holds_the_five_records() -> None:
    assert sorted(_api_records()) == sorted(API_IDWEBS)


@pytest.mark.parametrize("idweb", API_IDWEBS)
def test_every_api_record_normalises(idweb: str) -> None:
    notice = normalise_boamp_record(api_record(idweb))
    assert notice.id == f"boamp:{idweb}"
    assert notice.title
    assert notice.published == "2026-01-21"


@pytest.mark.parametrize("path", XML_FILES, ids=lambda p: p.name)
def test_every_xml_fixture_normalises(path: Path) -> None:
    notice = normalise_boamp_xml(path.read_bytes())
    assert notice.id.startswith("boamp:") and notice.source_id in notice.id
    assert notice.title
    assert notice.published


@pytest.mark.parametrize("kind", [bytes, str])
def test_record_given_as_json_text(kind: type) -> None:
    text = json.dumps(api_record("26-7298"), ensure_ascii=False)
    body = text.encode("utf-8") if kind is bytes else text
    assert normalise_boamp_record(body) == normalise_boamp_record(api_record("26-7298"))


# --------------------------------------------------------------------------- FNSimple, 26-7298


def test_identity_of_an_api_record() -> None:
    notice = normalise_boamp_record(api_record("26-7298"))
    assert (notice.id, notice.source, notice.source_id) == ("boamp:26-7298", "boamp", "26-7298")
    assert notice.form == "boamp/FNSimple"
    assert notice.nature == CALL_FOR_TENDERS
    assert notice.language == "fr"


def test_title() -> None:
    notice = normalise_boamp_record(api_record("26-7298"))
    assert notice.title == "TRAVAUX D'AMENAGEMENTS INTERIEURS ET EXTERIEURS"


def test_buyer_name() -> None:
    assert normalise_boamp_record(api_record("26-7298")).buyer_name == "COMMUNE DE LA MADELEINE"


def test_buyer_siret() -> None:
    assert normalise_boamp_record(api_record("26-7298")).buyer_siret == "21590368300013"


def test_siret_needs_the_siret_type() -> None:
    def change(d: dict) -> None:
        d["FNSimple"]["organisme"]["typeIdentificationNational"] = {"tva": ""}

    assert normalise_boamp_record(with_donnees("26-7298", change)).buyer_siret is None


def test_departement() -> None:
    assert normalise_boamp_record(api_record("26-7298")).departements == ["59"]


def test_departements_are_cleaned() -> None:
    # The API writes "2" and "8" for the Aisne and the Ardennes.
    notice = normalise_boamp_record(api_record("26-7113"))
    assert notice.departements[:3] == ["02", "08", "10"]


def test_cpv() -> None:
    assert normalise_boamp_record(api_record("26-7298")).cpv == ["45432111"]


def test_deadline_keeps_the_offset_the_notice_states() -> None:
    # Flat datelimitereponse says 12:00+00:00; GESTION and the form say 12:00+01:00 (Paris).
    notice = normalise_boamp_record(api_record("26-7298"))
    assert notice.deadline == "2026-02-16T12:00:00+01:00"


def test_deadline_from_flat_field_when_nothing_else() -> None:
    record = api_record("26-7298")
    record["gestion"] = None

    def change(d: dict) -> None:
        del d["FNSimple"]["initial"]["procedure"]["dateReceptionOffres"]

    record["donnees"] = with_donnees("26-7298", change)["donnees"]
    assert normalise_boamp_record(record).deadline == "2026-02-16T12:00:00+00:00"


def test_deadline_moved_by_a_corrigendum() -> None:
    # A corrigendum record moves the flat field and the form's date; GESTION keeps the old one.
    def change(d: dict) -> None:
        d["FNSimple"]["initial"]["procedure"]["dateReceptionOffres"] = "2026-02-23T12:00:00+01:00"

    record = with_donnees("26-7298", change)
    record["datelimitereponse"] = "2026-02-23T12:00:00+01:00"
    assert normalise_boamp_record(record).deadline == "2026-02-23T12:00:00+01:00"


def test_flat_deadline_with_another_time_wins() -> None:
    record = api_record("26-7298")
    record["datelimitereponse"] = "2026-02-16T11:00:00+00:00"  # a true UTC conversion
    assert normalise_boamp_record(record).deadline == "2026-02-16T11:00:00+00:00"


def test_not_reserved() -> None:
    assert normalise_boamp_record(api_record("26-7298")).signals.reserved is False


def test_url() -> None:
    notice = normalise_boamp_record(api_record("26-7298"))
    assert notice.url == "https://www.boamp.fr/pages/avis/?q=idweb:26-7298"


def test_url_built_from_idweb_when_absent() -> None:
    record = api_record("26-7298")
    del record["url_avis"]
    assert normalise_boamp_record(record).url == "https://www.boamp.fr/pages/avis/?q=idweb:26-7298"


def test_procedure() -> None:
    assert normalise_boamp_record(api_record("26-7298")).procedure == "OUVERT"


def test_text_keeps_sections_in_document_order() -> None:
    text = normalise_boamp_record(api_record("26-7298")).text
    intitule = text.index("Intitulé du marché : TRAVAUX")
    description = text.index("Description : TRAVAUX")
    complementary = text.index("Informations complémentaires :\nLes renseignements")
    assert intitule < description < complementary


def test_text_has_every_readable_section() -> None:
    text = normalise_boamp_record(api_record("26-7109")).text
    for heading in (
        "Aptitude à exercer l'activité professionnelle :",
        "Critères d'attribution : énoncé dans le Rc",
        "Lieu d'exécution : 41 rue Camille Pelletan",
        "Informations complémentaires :\n1 - OBJET DU MARCHÉ",
    ):
        assert heading in text


def test_text_leaves_out_contacts_and_links() -> None:
    text = normalise_boamp_record(api_record("26-7298")).text
    assert "service-achats@ville-lamadeleine.fr" not in text
    assert "marchespublics596280.fr" not in text
    assert "+33 320127979" not in text
    assert "2026_TX_AMENAGEMENTS" not in text  # internal reference


@pytest.mark.parametrize("idweb", ["26-7308", "26-7113"])
def test_social_criteria_flag(idweb: str) -> None:
    signals = normalise_boamp_record(api_record(idweb)).signals
    assert signals.social_criteria_flag is True
    assert signals.codes["criteres_sociaux_env"] == ["sociaux", "environnementaux"]


def test_social_criteria_flag_unknown_when_nothing_said() -> None:
    assert normalise_boamp_record(api_record("26-7298")).signals.social_criteria_flag is None


def test_award_criteria_text() -> None:
    criteria = normalise_boamp_record(api_record("26-7109")).signals.award_criteria
    assert [c.description for c in criteria] == ["énoncé dans le Rc"]


def test_estimated_value_from_a_range() -> None:
    notice = normalise_boamp_record(api_record("26-7308"))
    assert (notice.estimated_value, notice.currency) == (75000.0, "EUR")


# --------------------------------------------------------------------------- FNSimple lots


def test_fnsimple_lots_numbered_by_their_description() -> None:
    lots = normalise_boamp_record(api_record("26-7308")).lots
    assert [lot.lot_id for lot in lots] == ["1", "2", "3", "4", "5", "6", "7"]
    assert lots[0].title == "1- Prestations pour l’URSSAF de Rouen (Seine Maritime)"


def test_fnsimple_lot_numbers_written_as_lot_n() -> None:
    lots = normalise_boamp_record(api_record("26-7319")).lots
    assert [(lot.lot_id, lot.title) for lot in lots] == [
        ("2", "Finition"),
        ("5", "Menuiserie"),
    ]


def test_fnsimple_lots_without_numbers_take_their_position() -> None:
    lots = normalise_boamp_record(api_record("26-7113")).lots
    assert [lot.lot_id for lot in lots] == ["1", "2", "3", "4"]
    assert lots[1].title == "TOITURE"


def test_lot_cpv_and_notice_cpv() -> None:
    notice = normalise_boamp_record(api_record("26-7319"))
    assert [lot.cpv for lot in notice.lots] == [["45410000"], ["45421000"]]
    assert notice.cpv == ["45454100", "45410000", "45421000"]


def test_lot_value_zero_means_not_given() -> None:
    lots = normalise_boamp_record(api_record("26-7319")).lots
    assert [lot.estimated_value for lot in lots] == [None, None]


def test_single_lot_given_as_a_dict() -> None:
    def change(d: dict) -> None:
        d["FNSimple"]["initial"]["lots"]["lot"] = d["FNSimple"]["initial"]["lots"]["lot"][1]

    lots = normalise_boamp_record(with_donnees("26-7319", change)).lots
    assert [(lot.lot_id, lot.cpv) for lot in lots] == [("5", ["45421000"])]


# --------------------------------------------------------------------------- MAPA, awards

# The key names of these two forms are those of real notices of the DILA flux of 2026-09-11
# (MAPA 26-88099, FNSimple attribution 26-88066; recorded in Silvafox76/FB_test), which are
# not among the fixtures: the values here are shortened.
MAPA_INITIAL = {
    "MAPA": {
        "organisme": {
            "correspondantPRM": {"nom": "M. le Maire"},
            "acheteurPublic": "Ville de Saint Cyprien (66)",
            "adr": {"voie": {"nomvoie": "Place Desnoyer"}, "cp": "66750", "ville": "Saint-Cyprien"},
            "coord": {"tel": "+33 046837680", "mel": "marches.publics@stcyprien.fr"},
        },
        "initial": {
            "natureMarche": {"fournitures": ""},
            "description": {
                "objet": "Fourniture de décorations de Noël",
                "lieuExecution": {"voie": {"nomvoie": "Commune de Saint-Cyprien"}, "cp": "66750"},
            },
            "caracteristiques": {"variantes": {"non": ""}, "principales": "Accord-cadre"},
            "duree": {"nbMois": "5"},
            "justifications": {"articlesL5212": "", "DC1": ""},
            "criteres": {
                "criterePondere": [
                    {"criterePCT": "45", "critere": "Prix"},
                    {"criterePCT": "55", "critere": "Valeur Technique"},
                ]
            },
            "procedure": {"procedureAdaptee": ""},
            "delais": {"receptionOffres": "2026-10-01T15:00:00", "validite": {"nbJours": "90"}},
            "lots": {
                "plusieursLot": "",
                "lot": [
                    {"numLot": "1", "description": "Motif 2D", "quantite": "20 000 € HT"},
                    {"numLot": "2", "description": "Petit motif 3D", "quantite": "35 000 € HT"},
                ],
            },
        },
    }
}


def mapa_record() -> dict[str, Any]:
    record = api_record("26-7298")
    record.update(
        objet=None,
        nomacheteur=None,
        code_departement=None,
        datelimitereponse=None,
        gestion=None,
        donnees=json.dumps(MAPA_INITIAL),
    )
    return record


def test_mapa_form_title_and_buyer() -> None:
    notice = normalise_boamp_record(mapa_record())
    assert notice.form == "boamp/MAPA"
    assert notice.title == "Fourniture de décorations de Noël"
    assert notice.buyer_name == "Ville de Saint Cyprien (66)"


def test_mapa_departement_from_the_buyer_postcode() -> None:
    assert normalise_boamp_record(mapa_record()).departements == ["66"]


def test_mapa_deadline_from_the_form() -> None:
    assert normalise_boamp_record(mapa_record()).deadline == "2026-10-01T15:00:00"


def test_mapa_lots() -> None:
    lots = normalise_boamp_record(mapa_record()).lots
    assert [(lot.lot_id, lot.title) for lot in lots] == [("1", "Motif 2D"), ("2", "Petit motif 3D")]


def test_mapa_weighted_criteria() -> None:
    criteria = normalise_boamp_record(mapa_record()).signals.award_criteria
    assert [(c.type, c.name, c.weight) for c in criteria] == [
        ("price", "Prix", 45.0),
        (None, "Valeur Technique", 55.0),
    ]


def test_mapa_text_skips_the_l5212_boilerplate_flags() -> None:
    text = normalise_boamp_record(mapa_record()).text
    assert "articlesL5212" not in text and "stcyprien.fr" not in text
    assert "Caractéristiques principales : Accord-cadre" in text


def test_fnsimple_award() -> None:
    def change(d: dict) -> None:
        d["FNSimple"]["attribution"] = {
            "avisInitial": {"idWeb": "26-6427", "datePublication": "2026-01-19"},
            "natureMarche": {"intitule": "Mission d'AMO", "description": "SPSI"},
            "attributionMarche": "Titulaire: SCET. Montant du marché: 82 600 Euros HT",
        }
        del d["FNSimple"]["initial"]

    record = with_donnees("26-7298", change)
    record.update(nature="ATTRIBUTION", titulaire=["SCET", "SCET"], objet=None)
    notice = normalise_boamp_record(record)
    assert notice.nature == AWARD
    assert notice.title == "Mission d'AMO"
    assert notice.winners == ["SCET"]
    assert notice.links == [NoticeLink(kind="corrects", target="boamp:26-6427")]
    assert "Attribution du marché : Titulaire: SCET." in notice.text


# --------------------------------------------------------------------------- reservations


def test_fnsimple_reserved_contract() -> None:
    def change(d: dict) -> None:
        d["FNSimple"]["initial"]["natureMarche"]["reservationMarche"] = {"oui": ""}

    notice = normalise_boamp_record(with_donnees("26-7298", change))
    assert notice.signals.reserved is True
    assert "Marché réservé : oui" in notice.text


def test_reserved_no_is_not_written_in_the_text() -> None:
    # "Marché réservé" next to "non" would mislead a keyword reader.
    assert "Marché réservé" not in normalise_boamp_record(api_record("26-7298")).text


def test_legacy_reserved_contract_with_its_structures() -> None:
    body = xml("boamp-xml-v230/test-pub-2.xml").replace(
        b"<MARCHE_RESERVE_NON/>",
        b"<MARCHE_RESERVE_OUI><ATELIERS_PROTEGES/><EMPLOIS_PROTEGES/></MARCHE_RESERVE_OUI>",
    )
    notice = normalise_boamp_xml(body)
    assert notice.signals.reserved is True
    assert notice.signals.codes["reservation"] == ["ATELIERS_PROTEGES", "EMPLOIS_PROTEGES"]
    assert "ateliers protégés" in notice.text


def test_reserved_profession_is_not_a_reserved_contract() -> None:
    # test-pub-3: architects' competition, PRESTATION_RESERVEE_OUI + MARCHE_RESERVE_NON.
    signals = normalise_boamp_xml(xml("boamp-xml-v230/test-pub-3.xml")).signals
    assert signals.reserved is False
    assert signals.codes["prestation_reservee"] == ["oui"]


def test_reserved_profession_alone_says_nothing_on_reservation() -> None:
    body = xml("boamp-xml-v230/test-pub-3.xml").replace(b"<MARCHE_RESERVE_NON/>", b"")
    assert normalise_boamp_xml(body).signals.reserved is None


# --------------------------------------------------------------------------- EFORMS, 26-87466


@pytest.fixture(scope="module")
def eforms_notice() -> Any:
    return normalise_boamp_xml(xml("boamp-xml-v3/26-87466.xml"))


def test_eforms_identity_is_boamp(eforms_notice: Any) -> None:
    assert (eforms_notice.id, eforms_notice.source_id) == ("boamp:26-87466", "26-87466")
    assert eforms_notice.form == "boamp/EFORMS/ContractNotice"


def test_eforms_two_lots(eforms_notice: Any) -> None:
    assert [lot.lot_id for lot in eforms_notice.lots] == ["1", "2"]


def test_eforms_performance_conditions(eforms_notice: Any) -> None:
    codes = [eforms_notice.signals.codes.get("conditions", [])]
    codes += [lot.signals.codes.get("conditions", []) for lot in eforms_notice.lots]
    assert all("performance" in c for c in codes[1:])
    assert "performance" in eforms_notice.signals.codes.get("conditions", [])


def test_eforms_notice_uuid(eforms_notice: Any) -> None:
    assert eforms_notice.notice_uuid == "8b58f7c9-a3ee-432a-a4cb-9f2a4930ae24"
    assert eforms_notice.procedure_uuid == "ba7aa3fd-0fb2-434f-9354-6a359b61cfc9"


def test_eforms_no_reservation(eforms_notice: Any) -> None:
    assert eforms_notice.signals.reserved is not True
    assert not eforms_notice.signals.reserved_codes
    assert not any(lot.signals.reserved_codes for lot in eforms_notice.lots)


def test_eforms_overlaid_with_boamp_facts(eforms_notice: Any) -> None:
    assert eforms_notice.published == "2026-09-11"  # BOAMP date, not the eForms IssueDate
    assert eforms_notice.url == "https://www.boamp.fr/pages/avis/?q=idweb:26-87466"
    assert eforms_notice.departements == ["45"]
    assert eforms_notice.nature == CALL_FOR_TENDERS


def test_eforms_social_flag_from_the_index(eforms_notice: Any) -> None:
    # CRITERES_SOCIAUX_ENV holds ENVIRONNEMENTAUX only.
    assert eforms_notice.signals.social_criteria_flag is False


def test_eforms_from_api_json_matches_xml(eforms_notice: Any) -> None:
    record = boamp_xml_to_record(xml("boamp-xml-v3/26-87466.xml"))
    from_json = normalise_boamp_record(record)
    assert [lot.lot_id for lot in from_json.lots] == ["1", "2"]
    assert from_json.notice_uuid == eforms_notice.notice_uuid
    assert from_json.text == eforms_notice.text


# --------------------------------------------------------------------------- DSP, 26-88471


def test_dsp_form_and_reservation() -> None:
    notice = normalise_boamp_xml(xml("boamp-xml-v3/26-88471.xml"))
    assert notice.form == "boamp/DSP"
    assert notice.signals.reserved is False


def test_dsp_social_flag() -> None:
    signals = normalise_boamp_xml(xml("boamp-xml-v3/26-88471.xml")).signals
    assert signals.social_criteria_flag is True


def test_dsp_title_cpv_and_buyer() -> None:
    notice = normalise_boamp_xml(xml("boamp-xml-v3/26-88471.xml"))
    assert notice.title.startswith("Délégation de service public relative à la gestion")
    assert notice.cpv == ["85312110"]
    assert notice.buyer_name == "Communauté de Communes du Val Briard"
    assert notice.deadline == "2026-10-16T18:00:00"


def test_dsp_lot_text_kept() -> None:
    text = normalise_boamp_xml(xml("boamp-xml-v3/26-88471.xml")).text
    assert "Lot 1 – Description :\nLe DÉLÉGATAIRE devra notamment" in text
    assert "Reprise du personnel." in text


# --------------------------------------------------------------------------- legacy Boamp_v230


def test_legacy_form() -> None:
    assert normalise_boamp_xml(xml("boamp-xml-v230/test-pub.xml")).form == "boamp/legacy-v230"


def test_legacy_form_without_schema_declaration() -> None:
    # test-pub-9.xml declares no schema; published in 2016, i.e. in the V230 period.
    assert normalise_boamp_xml(xml("boamp-xml-v230/test-pub-9.xml")).form == "boamp/legacy-v230"


def test_legacy_lots_with_ids_and_titles() -> None:
    lots = normalise_boamp_xml(xml("boamp-xml-v230/test-pub-5.xml")).lots
    assert [(lot.lot_id, lot.title) for lot in lots] == [
        (
            "1",
            "Conception, organisation et réalisation de manifestations organisées dans les "
            "locaux des ministères sociaux",
        ),
        (
            "2",
            "Conception, organisation et réalisation de manifestations organisées dans des "
            "salles extérieures au ministère",
        ),
    ]
    assert lots[0].cpv == ["79952000", "79951000"]
    assert lots[1].estimated_value == 6333333.0


def test_legacy_lot_rules() -> None:
    rules = normalise_boamp_xml(xml("boamp-xml-v230/test-pub-5.xml")).lot_rules
    assert (rules.max_lots_submitted, rules.max_lots_awarded) == (2, 1)


def test_legacy_lot_award_criteria() -> None:
    lot = normalise_boamp_xml(xml("boamp-xml-v230/test-pub-5.xml")).lots[0]
    assert [(c.type, c.name, c.weight) for c in lot.signals.award_criteria] == [
        ("quality", "Valeur technique de la proposition", 60.0),
        ("price", "Prix", 40.0),
    ]


def test_legacy_weighted_criteria() -> None:
    signals = normalise_boamp_xml(xml("boamp-xml-v230/test-attribution-10.xml")).signals
    assert [(c.name, c.weight) for c in signals.award_criteria] == [
        ("Valeur technique", 60.0),
        ("Prix des travaux", 40.0),
    ]


def test_legacy_execution_conditions() -> None:
    signals = normalise_boamp_xml(xml("boamp-xml-v230/test-pub.xml")).signals
    assert signals.execution_conditions == [
        "Les marchés comportent des dispositions à caractère environnementale décrites à "
        "l'article 1.5.2 du CCAP."
    ]


def test_legacy_execution_conditions_in_the_text() -> None:
    text = normalise_boamp_xml(xml("boamp-xml-v230/test-pub.xml")).text
    assert "Conditions particulières d'exécution :\nLes marchés comportent" in text


def test_legacy_index_without_social_flag() -> None:
    # test-pub.xml: CRITERES_SOCIAUX_ENV/ENVIRONNEMENTAUX only (hard negative).
    signals = normalise_boamp_xml(xml("boamp-xml-v230/test-pub.xml")).signals
    assert signals.social_criteria_flag is False


def test_legacy_award_results_per_lot() -> None:
    notice = normalise_boamp_xml(xml("boamp-xml-v230/test-attribution-12.xml"))
    assert notice.nature == AWARD
    assert len(notice.lots) == 21
    first = notice.lots[0]
    assert (first.lot_id, first.result, first.winners) == ("1", "awarded", ["Brake France Service"])
    assert "Société de Distribution Avicole Sda" in notice.winners


def test_legacy_single_decision_makes_no_lot() -> None:
    # NUM_LOT "2016-52" of a single DECISION is a contract number, not a lot.
    notice = normalise_boamp_xml(xml("boamp-xml-v230/test-attribution-10.xml"))
    assert notice.lots == []
    assert notice.winners[0] == "CONCRETE WAVES SKATE PARKS(Mandataire)"


def test_legacy_award_links_to_the_call() -> None:
    notice = normalise_boamp_xml(xml("boamp-xml-v230/test-attribution-12.xml"))
    assert notice.links == [NoticeLink(kind="corrects", target="boamp:16-107438")]


def test_legacy_buyer_and_siret() -> None:
    notice = normalise_boamp_xml(xml("boamp-xml-v230/test-attribution-12.xml"))
    assert (notice.buyer_name, notice.buyer_siret) == ("C.C.A.S. de Toulon", "26830066200015")


# --------------------------------------------------------------------------- links


def test_annonce_lie_on_a_call_for_tenders_follows() -> None:
    record = api_record("26-7298")
    record["annonce_lie"] = ["25-104567"]
    links = normalise_boamp_record(record).links
    assert links == [NoticeLink(kind="follows", target="boamp:25-104567")]


def test_annonce_lie_on_a_corrigendum_corrects() -> None:
    record = api_record("26-7298")
    record["nature"] = "RECTIFICATIF"
    record["annonce_lie"] = "25-104567"
    notice = normalise_boamp_record(record)
    assert notice.nature == CORRIGENDUM
    assert notice.links == [NoticeLink(kind="corrects", target="boamp:25-104567")]


def test_links_from_separated_text() -> None:
    record = api_record("26-7298")
    record["annonce_lie"] = "25-104567, 25-9912 ; 26-7298"
    targets = [link.target for link in normalise_boamp_record(record).links]
    assert targets == ["boamp:25-104567", "boamp:25-9912"]  # its own number is not a link


def test_links_from_a_nested_block_ignore_dates() -> None:
    record = api_record("26-7298")
    record["annonces_anterieures"] = json.dumps(
        {"ANNONCE_ANTERIEUR": {"REFERENCE": {"IDWEB": "14-151460", "DATE_ENVOI": "2014-10-15"}}}
    )
    targets = [link.target for link in normalise_boamp_record(record).links]
    assert targets == ["boamp:14-151460"]


def test_links_from_the_form_initial_notice() -> None:
    def change(d: dict) -> None:
        d["FNSimple"]["rectificatif"] = {
            "avisInitial": {"idWeb": "26-72398"},
            "infosRectif": "La date limite est reportée.",
        }
        del d["FNSimple"]["initial"]

    record = with_donnees("26-7298", change)
    record["nature"] = "RECTIFICATIF"
    notice = normalise_boamp_record(record)
    assert notice.links == [NoticeLink(kind="corrects", target="boamp:26-72398")]
    assert "Informations rectificatives : La date limite est reportée." in notice.text


# --------------------------------------------------------------------------- XML → record


@pytest.mark.parametrize("path", XML_FILES, ids=lambda p: p.name)
def test_xml_to_record_round_trip(path: Path) -> None:
    body = path.read_bytes()
    record = json.loads(json.dumps(boamp_xml_to_record(body)))  # as a replay server serves it
    assert normalise_boamp_record(record) == normalise_boamp_xml(body)


def test_xml_to_record_flat_fields() -> None:
    record = boamp_xml_to_record(xml("boamp-xml-v3/26-88471.xml"))
    assert record["idweb"] == "26-88471"
    assert record["id"] == "26_88471"
    assert (record["famille"], record["nature"]) == ("DSP", "APPEL_OFFRE")
    assert record["code_departement"] == ["77"]
    assert record["criteres"] == ["sociaux", "environnementaux"]
    assert record["source_schema"] == "3.2.5"
    assert record["url_avis"] == "https://www.boamp.fr/pages/avis/?q=idweb:26-88471"
    assert list(json.loads(record["donnees"])) == ["DSP"]
    assert json.loads(record["gestion"])["REFERENCE"]["IDWEB"] == "26-88471"


def test_xml_to_record_legacy_schema_and_links() -> None:
    record = boamp_xml_to_record(xml("boamp-xml-v230/test-attribution-12.xml"))
    assert record["source_schema"] == "Boamp_v230.xsd"
    assert "16-107438" in record["annonces_anterieures"]
    assert json.loads(record["donnees"])["IDENTITE"]["DENOMINATION"] == "C.C.A.S. de Toulon"


def test_xml_to_dict_follows_the_api_conventions() -> None:
    el = etree.fromstring(
        b'<r xmlns:cbc="urn:x:cbc" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
        b'<a>one</a><a>two</a><flag/><c listName="cpv">45000000</c>'
        b'<non xsi:type="xs:string"/><cbc:Name languageID="FRA">Nom</cbc:Name></r>'
    )
    assert xml_to_dict(el) == {
        "a": ["one", "two"],
        "flag": "",
        "c": {"@listName": "cpv", "#text": "45000000"},
        "non": {"@xsi:type": "xs:string"},
        "cbc:Name": {"@languageID": "FRA", "#text": "Nom"},
    }


def test_xml_to_dict_matches_the_api_for_a_real_gestion_block() -> None:
    # The API's gestion of 26-7308 rebuilt as XML converts back to the very same dict.
    gestion = json.loads(api_record("26-7308")["gestion"])
    assert xml_to_dict(dict_to_xml("GESTION", gestion)) == gestion


def test_dict_to_xml_puts_prefixes_in_namespaces() -> None:
    el = dict_to_xml("ContractNotice", {"cbc:ID": {"@schemeName": "notice-id", "#text": "u1"}})
    child = el[0]
    assert etree.QName(child).localname == "ID"
    assert child.prefix == "cbc" and child.get("schemeName") == "notice-id"


def test_dict_to_xml_drops_keys_that_are_not_xml_names() -> None:
    el = dict_to_xml("x", {"a b": "bad", "@c d": "bad", "ok": "good"})
    assert [c.tag for c in el] == ["ok"] and not el.attrib


# --------------------------------------------------------------------------- hostile input


def test_malformed_donnees() -> None:
    record = api_record("26-7298")
    record["donnees"] = '{"FNSimple": {"organisme": '
    with pytest.raises(NormaliseError) as caught:
        normalise_boamp_record(record)
    assert caught.value.reason == "malformed_json"


def test_malformed_record_text() -> None:
    with pytest.raises(NormaliseError) as caught:
        normalise_boamp_record(b'{"idweb": "26-1",')
    assert caught.value.reason == "malformed_json"


def test_unknown_family() -> None:
    record = api_record("26-7298")
    record["donnees"] = json.dumps({"NOUVEAU_FORMAT": {"initial": {}}})
    with pytest.raises(NormaliseError) as caught:
        normalise_boamp_record(record)
    assert (caught.value.reason, caught.value.detail) == ("unknown_form_family", "NOUVEAU_FORMAT")


def test_missing_idweb() -> None:
    record = api_record("26-7298")
    del record["idweb"]
    with pytest.raises(NormaliseError) as caught:
        normalise_boamp_record(record)
    assert (caught.value.reason, caught.value.detail) == ("missing_field", "idweb")


def test_script_in_objet_is_plain_text() -> None:
    record = api_record("26-7298")
    record["objet"] = "Travaux <b>urgents</b><script>alert(1)</script> d&#039;été"
    assert normalise_boamp_record(record).title == "Travaux urgents d'été"


def test_encoded_markup_in_text_is_plain_text() -> None:
    def change(d: dict) -> None:
        d["FNSimple"]["initial"]["natureMarche"]["description"] = (
            "&lt;p&gt;Entretien&lt;/p&gt;&lt;script&gt;steal()&lt;/script&gt; des espaces"
        )

    text = normalise_boamp_record(with_donnees("26-7298", change)).text
    assert "Description : Entretien des espaces" in text
    assert "<" not in text and "steal" not in text


def test_double_encoded_entities_are_decoded() -> None:
    record = api_record("26-7298")
    record["nomacheteur"] = "COMMUNE D&amp;#039;ESCAUTPONT"
    assert normalise_boamp_record(record).buyer_name == "COMMUNE D'ESCAUTPONT"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("code_departement", None),
        ("code_departement", "59"),
        ("code_departement", [None, "", 59]),
        ("objet", None),
        ("objet", {"unexpected": "dict"}),
        ("nomacheteur", ["a", "list"]),
        ("dateparution", ""),
        ("criteres", "sociaux, environnementaux"),
        ("annonce_lie", {"IDWEB": None}),
        ("gestion", None),
        ("gestion", ""),
    ],
)
def test_odd_flat_fields_never_crash(field: str, value: Any) -> None:
    record = api_record("26-7308")
    record[field] = value
    notice = normalise_boamp_record(record)
    assert notice.id == "boamp:26-7308"


@pytest.mark.parametrize(
    "change",
    [
        lambda d: d["FNSimple"].update(organisme=[{"nomOfficiel": "A"}, {"nomOfficiel": "B"}]),
        lambda d: d["FNSimple"].update(organisme=""),
        lambda d: d["FNSimple"]["initial"].update(natureMarche=""),
        lambda d: d["FNSimple"]["initial"].update(lots=""),
        lambda d: d["FNSimple"]["initial"].update(lots={"lot": ["text lot", None, {}]}),
        lambda d: d["FNSimple"]["initial"]["natureMarche"].update(codeCPV=[None, {"x": 1}]),
        lambda d: d["FNSimple"]["initial"]["natureMarche"].update(valeurEstimee="n/a"),
        lambda d: d["FNSimple"]["initial"]["natureMarche"].update(reservationMarche=None),
        lambda d: d.update(FNSimple=None),
    ],
)
def test_odd_donnees_shapes_never_crash(change: Any) -> None:
    notice = normalise_boamp_record(with_donnees("26-7308", change))
    assert notice.id == "boamp:26-7308"


def test_hostile_nesting_in_json_text() -> None:
    record = api_record("26-7298")
    record["donnees"] = '{"FNSimple": ' + '{"a": ' * 100_000 + "1" + "}" * 100_001
    with pytest.raises(NormaliseError) as caught:
        normalise_boamp_record(record)
    assert caught.value.reason == "malformed_json"


def test_hostile_nesting_in_a_dict() -> None:
    deep: dict[str, Any] = {"description": "fond"}
    for _ in range(5000):
        deep = {"bloc": deep}
    record = api_record("26-7298")
    record["donnees"] = {"FNSimple": {"initial": deep}}
    with pytest.raises(NormaliseError) as caught:
        normalise_boamp_record(record)
    assert caught.value.reason == "too_deep"


def test_xml_with_entity_declarations_refused() -> None:
    body = (
        b'<?xml version="1.0"?><!DOCTYPE a [<!ENTITY x "boom">]>'
        b"<ANNONCE><GESTION><REFERENCE><IDWEB>16-1</IDWEB></REFERENCE></GESTION>"
        b"<DONNEES><OBJET><TITRE_MARCHE>&x;</TITRE_MARCHE></OBJET></DONNEES></ANNONCE>"
    )
    with pytest.raises(NormaliseError) as caught:
        normalise_boamp_xml(body)
    assert caught.value.reason == "xml_entities"


def test_xml_without_donnees() -> None:
    body = b"<ANNONCE><GESTION><REFERENCE><IDWEB>16-1</IDWEB></REFERENCE></GESTION></ANNONCE>"
    with pytest.raises(NormaliseError) as caught:
        normalise_boamp_xml(body)
    assert (caught.value.reason, caught.value.detail) == ("missing_field", "DONNEES")


def test_malformed_xml() -> None:
    with pytest.raises(NormaliseError) as caught:
        normalise_boamp_xml(b"<ANNONCE><GESTION>")
    assert caught.value.reason == "malformed_xml"


def test_legacy_lot_division_answer_is_kept_in_text_and_codes() -> None:
    # test-pub-8 answers DIV_EN_LOTS/NON although its LOTS block repeats the same lot twice.
    notice = normalise_boamp_xml(xml("boamp-xml-v230/test-pub-8.xml"))
    assert notice.signals.codes["lot_division"] == ["non"]
    assert "Division en lots : non" in notice.text
    divided = normalise_boamp_xml(xml("boamp-xml-v230/test-pub.xml"))
    assert divided.signals.codes["lot_division"] == ["oui"]


def test_legacy_decisions_give_each_lot_its_award_date_value_and_siret() -> None:
    """Issue #12: the award linking records per lot the winner, its SIRET when given, the
    award date and the value — legacy DECISION/RENSEIGNEMENT holds them (real 17-2599)."""
    record = boamp_xml_to_record((V230 / "test-attribution-12.xml").read_bytes())
    notice = normalise_boamp_record(record)
    lots = {lot.lot_id: lot for lot in notice.lots}
    assert (lots["2"].winners, lots["2"].award_date, lots["2"].awarded_value) == (
        ["Brake France Service"],
        "2016-10-20",
        60000.0,
    )
    assert lots["4"].winners == ["Société de Distribution Avicole Sda"]
    assert lots["2"].winner_ids == []  # the notice gives no holder's SIRET
    # The same notice with a SIRET written for lot 1's holder (spaces as buyers type it).
    donnees = json.loads(record["donnees"])
    donnees["ATTRIBUTION"]["DECISION"][0]["TITULAIRE"]["CODE_IDENT_NATIONAL"] = "431 013 325 00056"
    with_siret = normalise_boamp_record({**record, "donnees": json.dumps(donnees)})
    assert with_siret.lots[0].winner_ids == ["43101332500056"]


def test_framework_bounds_are_not_an_awarded_value() -> None:
    """MONTANT_MINI/MAXI (a framework's bounds, as real 17-29167 writes them) bound the
    orders; they are not what was awarded. Lot 2 of 17-2599 given such bounds instead."""
    record = boamp_xml_to_record((V230 / "test-attribution-12.xml").read_bytes())
    donnees = json.loads(record["donnees"])
    facts = donnees["ATTRIBUTION"]["DECISION"][1]["RENSEIGNEMENT"]
    del facts["MONTANT"]
    facts["MONTANT_MINI"] = {"@DEVISE": "EUR", "#text": "5000"}
    facts["MONTANT_MAXI"] = {"@DEVISE": "EUR", "#text": "60000"}
    notice = normalise_boamp_record({**record, "donnees": json.dumps(donnees)})
    lots = {lot.lot_id: lot for lot in notice.lots}
    assert (lots["2"].award_date, lots["2"].awarded_value) == ("2016-10-20", None)
    assert lots["1"].awarded_value == 130000.0
