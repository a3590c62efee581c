"""eForms normaliser: every saved eForms notice, then one field per test on chosen notices."""

from __future__ import annotations

import csv
import io
import re
from functools import cache
from pathlib import Path

import pytest
from lxml import etree

from tenderwatch.core.records import (
    AWARD,
    CALL_FOR_TENDERS,
    CANCELLATION,
    CORRIGENDUM,
    NATURES,
    OTHER,
    AwardCriterion,
    Notice,
    NoticeLink,
)
from tenderwatch.crawler.normalise.common import NormaliseError, parse_xml
from tenderwatch.crawler.normalise.eforms import (
    departement_from_nuts,
    normalise_eforms,
    normalise_eforms_bytes,
    normalise_publication_number,
)

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
SDK = FIXTURES / "eforms-sdk" / "notices"
MAPPING = FIXTURES / "ted-eforms" / "ted-rdf-mapping-eforms"
PIPELINE = FIXTURES / "ted-eforms" / "ted-rdf-conversion-pipeline"
CONVERTED = FIXTURES / "ted-r209-converted-eforms"
ALL_FILES = sorted(p for d in (SDK, MAPPING, PIPELINE, CONVERTED) for p in d.glob("*.xml"))


@cache
def load(path: Path) -> Notice:
    return normalise_eforms_bytes(path.read_bytes())


def has_procedure_title(body: bytes) -> bool:
    """Whether the file carries BT-21-Procedure (checked with XPath, not with the parser)."""
    root = etree.fromstring(body)
    return bool(
        root.xpath("normalize-space(./*[local-name()='ProcurementProject']/*[local-name()='Name'])")
    )


# --- every fixture --------------------------------------------------------------------------


def test_fixture_set_is_complete() -> None:
    assert len(ALL_FILES) == 81 + 24 + 65 + 2


@pytest.mark.parametrize("path", ALL_FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_fixture_normalises(path: Path) -> None:
    body = path.read_bytes()
    notice = normalise_eforms_bytes(body)
    assert notice.id and notice.source == "ted"
    assert notice.id == f"{notice.source}:{notice.source_id}"
    assert notice.nature in NATURES
    assert notice.form.startswith("eforms/")
    if has_procedure_title(body):
        assert notice.title


# --- cn_24_FRA_comments.xml (SDK, French, 2 lots, not reserved) -------------------------------

CN_FRA = SDK / "cn_24_FRA_comments.xml"


def test_cn_fra_id_falls_back_on_uuid_and_version() -> None:
    assert load(CN_FRA).id == "ted:da4d46e9-490b-41ff-a2ae-8166d356a619-01"


def test_cn_fra_form_is_subtype() -> None:
    assert load(CN_FRA).form == "eforms/16"


def test_cn_fra_nature() -> None:
    assert load(CN_FRA).nature == CALL_FOR_TENDERS


def test_cn_fra_title() -> None:
    expected = "Service d'entretien de remise en état et de nettoyage des espaces verts"
    assert load(CN_FRA).title == expected


def test_cn_fra_language() -> None:
    assert load(CN_FRA).language == "fr"


def test_cn_fra_published_is_issue_date_without_publication() -> None:
    assert load(CN_FRA).published == "2019-05-10"


def test_cn_fra_deadline() -> None:
    assert load(CN_FRA).deadline == "2019-06-24T16:00:00+00:00"


def test_cn_fra_buyer_resolved_through_organisation_reference() -> None:
    assert load(CN_FRA).buyer_name == "Rouen Habitat"


def test_cn_fra_nine_digit_company_id_is_not_a_siret() -> None:
    assert load(CN_FRA).buyer_siret is None


def test_cn_fra_departements_from_nuts() -> None:
    assert load(CN_FRA).departements == ["76"]


def test_cn_fra_cpv() -> None:
    assert load(CN_FRA).cpv == ["77310000"]


def test_cn_fra_procedure() -> None:
    assert load(CN_FRA).procedure == "open"


def test_cn_fra_identifiers() -> None:
    notice = load(CN_FRA)
    assert notice.notice_uuid == "da4d46e9-490b-41ff-a2ae-8166d356a619"
    assert notice.procedure_uuid == "e3cdabf1-e057-47a5-9210-b1f6fc757228"
    assert notice.ted_publication_number is None


def test_cn_fra_lots() -> None:
    lots = load(CN_FRA).lots
    assert [(lot.lot_id, lot.title) for lot in lots] == [
        ("1", "Agence centre"),
        ("2", "Agence Hauts de Rouen"),
    ]


def test_cn_fra_lot_deadline() -> None:
    assert load(CN_FRA).lots[1].deadline == "2019-06-24T16:00:00+00:00"


def test_cn_fra_lot_rules() -> None:
    rules = load(CN_FRA).lot_rules
    assert (rules.max_lots_submitted, rules.max_lots_awarded, rules.all_lots_required) == (
        2,
        1,
        None,
    )


def test_cn_fra_award_criteria_with_weights() -> None:
    assert load(CN_FRA).lots[0].signals.award_criteria == [
        AwardCriterion("price", "Prix", "Le prix contribue for 60 % …", 60.0),
        AwardCriterion("quality", "Qualité", "La valeur technique participle pour 40 % …", 40.0),
    ]


def test_cn_fra_not_reserved_is_said_no() -> None:
    signals = load(CN_FRA).signals
    assert signals.reserved_codes == []
    assert signals.reserved is False
    assert signals.reserved_execution == "no"


def test_cn_fra_text_has_lot_and_note_sections() -> None:
    text = load(CN_FRA).text
    assert "Lot 1 : Agence centre" in text
    assert "Lot 1 – Critères d'attribution :\nPrix (price, 60 %)" in text
    assert "limitation du nombre de lots attribués à 1" in text


def test_cn_fra_has_no_links() -> None:
    assert load(CN_FRA).links == []


# --- INVALID_change-cn_24_FRA_comments.xml (change notice, LOT-0002 reserved) -----------------

CHANGE_FRA = SDK / "INVALID_change-cn_24_FRA_comments.xml"


def test_change_nature_is_corrigendum() -> None:
    assert load(CHANGE_FRA).nature == CORRIGENDUM


def test_change_corrects_link_points_to_changed_notice_uuid() -> None:
    assert load(CHANGE_FRA).links == [
        NoticeLink(kind="corrects", target_uuid="da4d46e9-490b-41ff-a2ae-8166d356a619")
    ]
    # The version suffix (-01) is dropped so that the link meets the earlier notice's BT-701.
    assert load(CHANGE_FRA).links[0].target_uuid == load(CN_FRA).notice_uuid


def test_change_lot_2_reserved_res_ws() -> None:
    lots = {lot.lot_id: lot for lot in load(CHANGE_FRA).lots}
    assert lots["2"].signals.reserved_codes == ["res-ws"]
    assert lots["2"].signals.reserved_execution == "yes"
    assert lots["1"].signals.reserved_codes == []


def test_change_notice_signals_are_union_of_lots() -> None:
    signals = load(CHANGE_FRA).signals
    assert signals.reserved_codes == ["res-ws"]
    assert signals.reserved is True
    assert signals.reserved_execution == "yes"  # yes on one lot wins over no on the other


def test_change_reason_in_text() -> None:
    assert "Modifications : Various changes that are invalid." in load(CHANGE_FRA).text


def test_change_lots_all_required() -> None:
    assert load(CHANGE_FRA).lot_rules.all_lots_required is True


def test_change_with_cancel_reason_is_cancellation() -> None:
    assert load(SDK / "change-cn_24_void.xml").nature == CANCELLATION


def test_change_identified_by_publication_number_links_to_ted_id() -> None:
    links = load(PIPELINE / "775348-2023.xml").links
    assert NoticeLink(kind="corrects", target="ted:422781-2023") in links


# --- 2024-OJS017-00047522.xml (real French CN, 2 lots, no reservation) -----------------------

FR_REAL = MAPPING / "2024-OJS017-00047522.xml"


def test_real_fr_id_is_publication_number_without_leading_zeros() -> None:
    notice = load(FR_REAL)
    assert notice.id == "ted:47522-2024"
    assert notice.ted_publication_number == "47522-2024"


def test_real_fr_url() -> None:
    assert load(FR_REAL).url == "https://ted.europa.eu/fr/notice/-/detail/47522-2024"


def test_real_fr_published_is_ojs_date() -> None:
    assert load(FR_REAL).published == "2024-01-24"


def test_real_fr_title() -> None:
    assert load(FR_REAL).title.startswith("Prestations de collecte des colonnes de verre")


def test_real_fr_two_lots() -> None:
    assert [lot.lot_id for lot in load(FR_REAL).lots] == ["1", "2"]


def test_real_fr_no_reservation() -> None:
    notice = load(FR_REAL)
    assert notice.signals.reserved_codes == []
    assert notice.signals.reserved is False
    assert all(lot.signals.reserved_codes == [] for lot in notice.lots)


def test_real_fr_performance_condition_code_without_text() -> None:
    notice = load(FR_REAL)
    assert notice.lots[0].signals.codes == {"conditions": ["performance"]}
    assert notice.lots[1].signals.codes == {}
    assert notice.signals.codes == {"conditions": ["performance"]}
    assert notice.signals.execution_conditions == []


def test_real_fr_departements() -> None:
    assert load(FR_REAL).departements == ["30"]  # FRJ12 Gard


def test_real_fr_siret() -> None:
    assert load(FR_REAL).buyer_siret == "20003441100013"


def test_real_fr_deadline_keeps_offset() -> None:
    assert load(FR_REAL).deadline == "2024-02-28T12:00:00+02:00"


def test_real_fr_cpv_main_and_additional() -> None:
    assert load(FR_REAL).cpv == ["90511100", "90511400"]


def test_real_fr_text_keeps_selection_criteria() -> None:
    # Hard negative for the classifier: "travailleurs handicapés" in the DC1 boilerplate.
    assert "emploi des travailleurs handicapés" in load(FR_REAL).text


def test_repeated_lot_lines_written_once() -> None:
    text = load(FR_REAL).text
    assert text.count("Déclaration appropriée de banques") == 1


# --- real notices with social codes -----------------------------------------------------------


def test_583624_social_objectives_on_every_lot() -> None:
    notice = load(PIPELINE / "583624-2023.xml")
    assert len(notice.lots) == 4
    assert all(lot.signals.social_objectives == ["opp", "work-cond"] for lot in notice.lots)
    assert notice.signals.social_objectives == ["opp", "work-cond"]


def test_583624_language_is_notice_language_without_french() -> None:
    assert load(PIPELINE / "583624-2023.xml").language == "fi"


def test_262891_reserved_lots() -> None:
    # docs/sources.md says "one of 4 lots"; the file reserves lots 3 and 4 (res-ws).
    lots = load(PIPELINE / "262891-2023.xml").lots
    reserved = [lot.lot_id for lot in lots if lot.signals.reserved_codes == ["res-ws"]]
    assert len(lots) == 4
    assert reserved == ["3", "4"]


def test_262891_pin_cfc_is_a_call() -> None:
    assert load(PIPELINE / "262891-2023.xml").nature == CALL_FOR_TENDERS


def test_converted_r209_reserved_signals() -> None:
    notice = load(CONVERTED / "19-090974-001-EXP.xml")
    assert sorted(notice.signals.reserved_codes) == ["res-pub-ser", "res-ws"]
    assert notice.signals.reserved_execution == "yes"
    assert any("36" in t for t in notice.signals.execution_conditions)
    assert notice.id == "ted:91489-2019"
    assert notice.departements == ["92"]


# --- cn_24_maximal_100_lots.xml ---------------------------------------------------------------

MAX_100 = SDK / "cn_24_maximal_100_lots.xml"


def test_100_lots() -> None:
    lots = load(MAX_100).lots
    assert len(lots) == 100
    assert [lot.lot_id for lot in lots] == [str(n) for n in range(1, 101)]


def test_100_lots_rules() -> None:
    rules = load(MAX_100).lot_rules
    assert (rules.max_lots_submitted, rules.max_lots_awarded, rules.all_lots_required) == (
        2,
        2,
        True,
    )


def test_100_lots_strategic_codes_drop_none() -> None:
    signals = load(MAX_100).signals
    assert signals.strategic_procurement == ["env-imp"]
    assert signals.strategic_descriptions == ["Strategic procurement description ---"]
    assert signals.codes["accessibility"] == ["n-inc-just"]


def test_100_lots_same_conditions_written_once_in_text() -> None:
    notice = load(MAX_100)
    assert all(lot.signals.execution_conditions == ["Terms Performance ---"] for lot in notice.lots)
    assert notice.text.count("Terms Performance ---") == 1


# --- award notices ----------------------------------------------------------------------------

CAN_FRA = SDK / "can_24_FRA_comments.xml"


def test_can_nature() -> None:
    assert load(CAN_FRA).nature == AWARD


def test_can_lot_results() -> None:
    assert [lot.result for lot in load(CAN_FRA).lots] == ["awarded", "awarded"]


def test_can_lot_winners_resolved_to_organisation_names() -> None:
    lots = load(CAN_FRA).lots
    assert [lot.winners for lot in lots] == [["Espaces Verts Lemire"], ["ID Verde SASU"]]


def test_can_notice_winners_union() -> None:
    assert load(CAN_FRA).winners == ["Espaces Verts Lemire", "ID Verde SASU"]


def test_can_statuses_open_and_not_awarded() -> None:
    lots = load(SDK / "can-desg_24.xml").lots
    assert [lot.result for lot in lots] == ["awarded", "open", "not_awarded", "open"]


def test_can_losing_ranked_tenders_are_not_winners() -> None:
    # 10 tenders listed in the lot results, 5 settled contracts: only those won.
    lots = load(MAPPING / "2024-OJS065-00191534.xml").lots
    assert [lot.winners for lot in lots] == [
        ["Belgo Facility Services"],
        ["M&G CLEANING"],
        ["Belgo Facility Services"],
        ["Belgo Facility Services"],
        ["Belgo Facility Services"],
    ]


def test_previous_planning_notice_is_follows_link() -> None:
    links = load(SDK / "can_24_maximal.xml").links
    assert links == [NoticeLink(kind="follows", target_uuid="9c0fd704-64d3-4294-a3b6-6df45911ab9f")]


@pytest.mark.parametrize(
    ("name", "nature"),
    [
        ("veat_24.xml", OTHER),
        ("can-modif_24_value.xml", OTHER),
        ("pin-only_24.xml", OTHER),
        ("pin-rtl_81.xml", CALL_FOR_TENDERS),
        ("CEI.xml", CALL_FOR_TENDERS),
        ("E4_minimal.xml", AWARD),
        ("X01_EEIG.xml", OTHER),
    ],
)
def test_nature_by_subtype(name: str, nature: str) -> None:
    assert load(SDK / name).nature == nature


def test_multilingual_notice_prefers_french() -> None:
    notice = load(SDK / "cn_24_multilingual.xml")
    assert notice.language == "fr"
    assert notice.title.startswith("Fourniture de services informatiques")


# --- NUTS-3 → département ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "departement"),
    [
        ("FR101", "75"),
        ("FRJ12", "30"),
        ("FRM01", "2A"),
        ("FRM02", "2B"),
        ("FRY50", "976"),
        ("frd22", "76"),
        ("FR823", "06"),  # NUTS 2013 Alpes-Maritimes
        ("FRY4", "974"),  # a region of a single département
        ("FRJ1", None),  # a region of several départements
        ("BE100", None),
        ("", None),
    ],
)
def test_departement_from_nuts(code: str, departement: str | None) -> None:
    assert departement_from_nuts(code) == departement


def test_nuts_table_covers_the_101_departements() -> None:
    from importlib import resources

    raw = resources.files("tenderwatch.data").joinpath("nuts3_departements.csv").read_text("utf-8")
    rows = list(csv.DictReader(io.StringIO(raw)))
    nuts2021 = [r for r in rows if re.match(r"FR(1|[B-M]|Y)", r["nuts3"])]
    assert len(nuts2021) == 101
    assert len({r["departement"] for r in nuts2021}) == 101


def test_buyer_postcode_fallback_when_no_place_of_performance() -> None:
    # Every NUTS code of cn_24_FRA_comments made Belgian: the buyer's postcode 76001 answers.
    body = CN_FRA.read_bytes().replace(b">FRD22<", b">BE100<")
    assert normalise_eforms_bytes(body).departements == ["76"]


@pytest.mark.parametrize(
    ("value", "expected"),
    [("00047522-2024", "47522-2024"), ("619320-2026", "619320-2026"), ("abc", None)],
)
def test_publication_number(value: str, expected: str | None) -> None:
    assert normalise_publication_number(value) == expected


# --- namespaces and trees built by others -----------------------------------------------------


def test_boamp_rebased_namespaces_give_the_same_notice() -> None:
    body = CN_FRA.read_bytes().replace(
        b"urn:oasis:names:specification:ubl:schema:xsd:",
        b"urn:boamp:names:specification:ubl:schema:xsd:",
    )
    boamp = normalise_eforms(parse_xml(body), source="ted")
    assert boamp == load(CN_FRA)


def test_boamp_wrapper_is_searched_for_the_notice() -> None:
    inner = CN_FRA.read_bytes().split(b"?>", 1)[1]
    body = (
        b'<jo:ann xmlns:jo="http://boamp.journal-officiel.gouv.fr/XML/3.2.5"><DONNEES><EFORMS>'
        + inner
        + b"</EFORMS></DONNEES></jo:ann>"
    )
    notice = normalise_eforms(parse_xml(body), source="boamp", source_id="26-1", url="https://x")
    assert (notice.id, notice.url, notice.title) == ("boamp:26-1", "https://x", load(CN_FRA).title)


def test_tree_rebuilt_from_json_gives_the_same_notice() -> None:
    xmldict = pytest.importorskip("tenderwatch.crawler.normalise.xmldict")
    root = parse_xml(FR_REAL.read_bytes())
    rebuilt = xmldict.dict_to_xml("ContractNotice", xmldict.xml_to_dict(root))
    assert normalise_eforms(rebuilt, source="ted") == load(FR_REAL)


def test_local_names_ignore_namespace_and_prefix() -> None:
    # lxml refuses ":" in a tag, but a tree built by hand may carry names without namespace.
    from tenderwatch.crawler.normalise.eforms import _ln

    assert _ln("cbc:Name") == _ln("{urn:boamp:x}Name") == _ln("Name") == "Name"
    root = etree.Element("ContractNotice")
    etree.SubElement(root, "ID").text = "11111111-2222-3333-4444-555555555555"
    etree.SubElement(etree.SubElement(root, "ProcurementProject"), "Name").text = "Titre"
    assert normalise_eforms(root, source="boamp").title == "Titre"


# --- faults -----------------------------------------------------------------------------------


def test_entity_declaration_refused() -> None:
    body = (
        b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
        b'<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;">]><ContractNotice>&lol2;</ContractNotice>'
    )
    with pytest.raises(NormaliseError) as exc:
        normalise_eforms_bytes(body)
    assert exc.value.reason == "xml_entities"


def test_malformed_xml() -> None:
    with pytest.raises(NormaliseError) as exc:
        normalise_eforms_bytes(b"<ContractNotice><cbc:ID>")
    assert exc.value.reason == "malformed_xml"


@pytest.mark.parametrize("body", [b"", b"  \n "])
def test_empty_payload(body: bytes) -> None:
    with pytest.raises(NormaliseError) as exc:
        normalise_eforms_bytes(body)
    assert exc.value.reason == "empty_payload"


def test_unknown_root() -> None:
    with pytest.raises(NormaliseError) as exc:
        normalise_eforms_bytes(b"<html><body>Not a notice</body></html>")
    assert exc.value.reason == "unknown_root"


def test_notice_without_any_identifier() -> None:
    with pytest.raises(NormaliseError) as exc:
        normalise_eforms_bytes(
            b"<ContractNotice><NoticeTypeCode>cn-standard</NoticeTypeCode></ContractNotice>"
        )
    assert exc.value.reason == "missing_identifier"


def test_escaped_script_in_title_becomes_plain_text() -> None:
    title = b"Service d'entretien de remise en \xc3\xa9tat et de nettoyage des espaces verts<"
    body = CN_FRA.read_bytes().replace(
        title,
        b"&lt;script&gt;alert('x')&lt;/script&gt;Entretien &lt;b&gt;des espaces&lt;/b&gt; verts<",
        1,
    )
    assert load(CN_FRA).title != normalise_eforms_bytes(body).title
    assert normalise_eforms_bytes(body).title == "Entretien des espaces verts"


def test_script_element_in_title_is_dropped() -> None:
    title = b"Service d'entretien de remise en \xc3\xa9tat et de nettoyage des espaces verts<"
    body = CN_FRA.read_bytes().replace(
        title, b"<script>alert('x')</script>Entretien <b>des espaces</b> verts<", 1
    )
    notice = normalise_eforms_bytes(body)
    assert notice.title == "Entretien des espaces verts"
    assert "alert" not in notice.text


def test_missing_optional_elements_do_not_crash() -> None:
    body = (
        b'<ContractAwardNotice xmlns:cbc="urn:x:cbc" xmlns:cac="urn:x:cac">'
        b"<cbc:ID>11111111-2222-3333-4444-555555555555</cbc:ID>"
        b"<cac:ContractingParty><cac:Party/></cac:ContractingParty>"
        b"<cac:TenderingTerms><cac:LotDistribution/></cac:TenderingTerms>"
        b"<cac:ProcurementProjectLot><cbc:ID>LOT-0001</cbc:ID><cac:TenderingTerms>"
        b"<cac:AwardingTerms><cac:AwardingCriterion><cac:SubordinateAwardingCriterion/>"
        b"</cac:AwardingCriterion></cac:AwardingTerms><cac:ContractExecutionRequirement/>"
        b"</cac:TenderingTerms><cac:TenderingProcess><cac:TenderSubmissionDeadlinePeriod/>"
        b"</cac:TenderingProcess></cac:ProcurementProjectLot>"
        b"</ContractAwardNotice>"
    )
    notice = normalise_eforms_bytes(body)
    assert notice.id == "ted:11111111-2222-3333-4444-555555555555"
    assert notice.title == ""
    assert [lot.lot_id for lot in notice.lots] == ["1"]
    assert notice.lots[0].signals.award_criteria == [AwardCriterion()]
    assert notice.nature == OTHER


# --- which ProcurementProjectLot elements are lots --------------------------------------------


def test_lots_group_is_not_a_lot() -> None:
    assert [lot.lot_id for lot in load(SDK / "cn_24_maximal.xml").lots] == ["1", "2"]


def test_pin_only_parts_stand_for_lots() -> None:
    notice = load(SDK / "pin-only_24_maximal.xml")
    assert [lot.lot_id for lot in notice.lots] == ["0"]  # PAR-0000
    assert notice.signals.reserved_codes == ["res-pub-ser"]


def test_lot_identifiers_without_scheme_are_lots() -> None:
    body = CN_FRA.read_bytes().replace(b' schemeName="Lot"', b"")
    assert [lot.lot_id for lot in normalise_eforms_bytes(body).lots] == ["1", "2"]


def test_results_give_each_lot_its_award_date_value_and_siret() -> None:
    """Issue #12: the award linking records per lot the winner, its SIRET when given, the
    award date (BT-1451) and the winning tender's value (BT-720). Real CAN 191534-2024
    (Belgian buyer: its winners' company numbers are not SIRETs)."""
    body = (MAPPING / "2024-OJS065-00191534.xml").read_bytes()
    lots = {lot.lot_id: lot for lot in normalise_eforms_bytes(body, source="ted").lots}
    assert (lots["1"].winners, lots["1"].award_date, lots["1"].awarded_value) == (
        ["Belgo Facility Services"],
        "2024-03-04",
        8819.09,
    )
    assert lots["1"].winner_ids == []
    # The same notice with a French winner's SIRET as its company number.
    french = body.replace(
        b"<cbc:CompanyID>0832584553</cbc:CompanyID>",
        b"<cbc:CompanyID>431 013 325 00056</cbc:CompanyID>",
    )
    assert french != body
    lots = {lot.lot_id: lot for lot in normalise_eforms_bytes(french, source="ted").lots}
    assert lots["1"].winner_ids == ["43101332500056"]
