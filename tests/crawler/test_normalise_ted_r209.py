"""TED R2.0.9 normaliser: every saved TED_EXPORT notice, then one field per test."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pytest

from tenderwatch.core.records import (
    AWARD,
    CALL_FOR_TENDERS,
    CORRIGENDUM,
    NATURES,
    OTHER,
    AwardCriterion,
    Notice,
    NoticeLink,
)
from tenderwatch.crawler.normalise.common import NormaliseError
from tenderwatch.crawler.normalise.eforms import normalise_eforms_bytes
from tenderwatch.crawler.normalise.ted_r209 import normalise_ted_r209_bytes, publication_number

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
R209 = FIXTURES / "ted-r209"
CONVERTED = FIXTURES / "ted-r209-converted-eforms"
ALL_FILES = sorted(R209.glob("*.xml"))

RESERVED = R209 / "19-090974-001-EXP.xml"  # EPS Paul Guiraud, F21, reserved EA/ESAT
AWARD_5_LOTS = R209 / "18-412273-001-EXP.xml"  # F06, 5 lots, award
MULTI_LOT = R209 / "20-259392-001-EXP.xml"  # F02, 4 lots, LOT_MAX_NUMBER 2


@cache
def load(path: Path) -> Notice:
    return normalise_ted_r209_bytes(path.read_bytes())


def test_fixture_set_is_complete() -> None:
    assert len(ALL_FILES) == 17


@pytest.mark.parametrize("path", ALL_FILES, ids=lambda p: p.name)
def test_every_fixture_normalises(path: Path) -> None:
    notice = normalise_ted_r209_bytes(path.read_bytes())
    assert notice.id == f"ted:{notice.source_id}"
    assert notice.source == "ted"
    assert notice.title  # every R2.0.9 form has OBJECT_CONTRACT/TITLE
    assert notice.form.startswith("ted-r209/F")
    assert notice.nature in NATURES


# --- 19-090974-001-EXP.xml (French reserved EA/ESAT) ------------------------------------------


def test_reserved_id_from_no_doc_ojs() -> None:
    notice = load(RESERVED)
    assert (notice.id, notice.source_id) == ("ted:91489-2019", "91489-2019")
    assert notice.ted_publication_number == "91489-2019"


def test_reserved_form() -> None:
    assert load(RESERVED).form == "ted-r209/F21"


def test_reserved_contract_notice_type_is_a_call() -> None:
    assert load(RESERVED).nature == CALL_FOR_TENDERS


def test_reserved_published() -> None:
    assert load(RESERVED).published == "2019-02-26"


def test_reserved_deadline_date_and_time() -> None:
    assert load(RESERVED).deadline == "2019-03-22T15:00:00"


def test_reserved_title() -> None:
    assert load(RESERVED).title.startswith("Marché de service pour l'élaboration")


def test_reserved_buyer() -> None:
    assert load(RESERVED).buyer_name == "EPS Paul Guiraud"


def test_reserved_departement_from_lot_nuts() -> None:
    assert load(RESERVED).departements == ["92"]  # FR105, place of performance


def test_reserved_codes() -> None:
    assert load(RESERVED).signals.reserved_codes == ["res-ws", "res-pub-ser"]
    assert load(RESERVED).signals.reserved is True


def test_reserved_execution_from_sheltered_program() -> None:
    assert load(RESERVED).signals.reserved_execution == "yes"


def test_reserved_performance_conditions_text() -> None:
    conditions = load(RESERVED).signals.execution_conditions
    assert len(conditions) == 1
    assert "36" in conditions[0]
    assert load(RESERVED).signals.codes == {"conditions": ["performance"]}


def test_reserved_signals_copied_on_the_lot() -> None:
    lot = load(RESERVED).lots[0]
    assert lot.signals.reserved_codes == ["res-ws", "res-pub-ser"]
    assert lot.signals.reserved_execution == "yes"


def test_reserved_text_has_conditions_section() -> None:
    assert "Conditions d'exécution :\nConformément à l'article 36-i" in load(RESERVED).text


def test_reserved_same_signals_as_its_eforms_conversion() -> None:
    r209 = load(RESERVED)
    eforms = normalise_eforms_bytes((CONVERTED / RESERVED.name).read_bytes())
    assert r209.id == eforms.id
    assert sorted(r209.signals.reserved_codes) == sorted(eforms.signals.reserved_codes)
    assert r209.signals.reserved_execution == eforms.signals.reserved_execution
    assert r209.signals.execution_conditions == eforms.signals.execution_conditions
    assert r209.signals.codes == eforms.signals.codes


def test_reserved_url_and_language() -> None:
    notice = load(RESERVED)
    assert notice.url == "https://ted.europa.eu/fr/notice/-/detail/91489-2019"
    assert notice.language == "fr"


def test_reserved_procedure_mapped_to_eforms_code() -> None:
    assert load(RESERVED).procedure == "open"


# --- multi-lot notices ------------------------------------------------------------------------


def test_multi_lot_lots() -> None:
    lots = load(MULTI_LOT).lots
    assert [lot.lot_id for lot in lots] == ["1", "2", "3", "4"]
    assert lots[1].title == "Quantity Surveying Consultancy Services"


def test_multi_lot_value_per_lot() -> None:
    lot = load(MULTI_LOT).lots[0]
    assert lot.estimated_value == 300000.0


def test_multi_lot_rules() -> None:
    rules = load(MULTI_LOT).lot_rules
    assert (rules.max_lots_submitted, rules.all_lots_required) == (2, False)


def test_multi_lot_additional_cpv() -> None:
    assert "71311000" in load(MULTI_LOT).lots[0].cpv


def test_lot_all_required() -> None:
    assert load(R209 / "20-156983-001-EXP.xml").lot_rules.all_lots_required is True


def test_lot_one_only_and_max_one_tenderer() -> None:
    rules = load(R209 / "21-119240-001-EXP.xml").lot_rules
    assert (rules.max_lots_submitted, rules.max_lots_awarded) == (1, 1)


def test_award_five_lots_criteria() -> None:
    lot = load(AWARD_5_LOTS).lots[0]
    assert lot.signals.award_criteria == [
        AwardCriterion(type="quality", name="Valeur technique", weight=55.0),
        AwardCriterion(type="price", weight=45.0),
    ]


def test_award_nature() -> None:
    assert load(AWARD_5_LOTS).nature == AWARD


def test_award_winners_per_lot() -> None:
    lots = load(AWARD_5_LOTS).lots
    assert lots[0].result == "awarded"
    assert lots[0].winners == [
        "Eiffage route mediterranée (mandataire)",
        "Gagneraud Construction (cotraitant)",
    ]


def test_award_follows_the_contract_notice() -> None:
    assert load(AWARD_5_LOTS).links == [NoticeLink(kind="follows", target="ted:92667-2018")]


def test_award_departement() -> None:
    assert load(AWARD_5_LOTS).departements == ["06"]


def test_superscript_inside_paragraph_kept() -> None:
    assert "33 000 m2 d'aménagement" in load(AWARD_5_LOTS).text


def test_design_contest_evaluation_criteria_in_text() -> None:
    # Hard negative: "insertion dans le site" is architecture, not social insertion.
    assert "Critères d'évaluation :" in load(R209 / "20-179994-001-EXP.xml").text


def test_several_original_forms_prefer_french() -> None:
    notice = load(R209 / "20-162034-001-EXP.xml")  # Swiss notice, FR and DE originals
    assert notice.language == "fr"
    assert notice.title == "Testeur de radiocommunication LTE pour 3.9G et 4.xG"


def test_notice_uuid() -> None:
    assert (
        load(R209 / "21-119240-001-EXP.xml").notice_uuid == "4b45bec7-54b6-41f0-8221-8174404c9af0"
    )


# --- nature of F21/F22/F23 --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("notice_type", "nature"),
    [
        ("PRI_ONLY", OTHER),
        ("PRI_CALL_COMPETITION", CALL_FOR_TENDERS),
        ("AWARD_CONTRACT", AWARD),
        ("CONTRACT", CALL_FOR_TENDERS),
    ],
)
def test_f21_nature_from_notice_type(notice_type: str, nature: str) -> None:
    body = RESERVED.read_bytes().replace(
        b'<NOTICE TYPE="CONTRACT"/>', f'<NOTICE TYPE="{notice_type}"/>'.encode()
    )
    assert normalise_ted_r209_bytes(body).nature == nature


# --- F14 corrigendum (constructed: no F14 among the saved samples) ----------------------------

F14 = """<?xml version="1.0" encoding="UTF-8"?>
<TED_EXPORT xmlns="http://publications.europa.eu/resource/schema/ted/R2.0.9/publication"
  xmlns:n2016="http://publications.europa.eu/resource/schema/ted/2016/nuts" DOC_ID="123456-2020">
 <CODED_DATA_SECTION>
  <REF_OJS><COLL_OJ>S</COLL_OJ><NO_OJ>100</NO_OJ><DATE_PUB>20200525</DATE_PUB></REF_OJS>
  <NOTICE_DATA>
   <NO_DOC_OJS>2020/S 100-123456</NO_DOC_OJS>
   <REF_NOTICE><NO_DOC_OJS>2020/S 080-012345</NO_DOC_OJS></REF_NOTICE>
  </NOTICE_DATA>
 </CODED_DATA_SECTION>
 <FORM_SECTION>
  <F14_2014 CATEGORY="ORIGINAL" FORM="F14" LG="FR">
   <CONTRACTING_BODY><ADDRESS_CONTRACTING_BODY>
    <OFFICIALNAME>Ville de Lyon</OFFICIALNAME><NATIONALID>216 901 231 00011</NATIONALID>
    <TOWN>Lyon</TOWN><POSTAL_CODE>69002</POSTAL_CODE><COUNTRY VALUE="FR"/>
   </ADDRESS_CONTRACTING_BODY></CONTRACTING_BODY>
   <OBJECT_CONTRACT>
    <TITLE><P>Nettoyage des locaux</P></TITLE><CPV_MAIN><CPV_CODE CODE="90910000"/></CPV_MAIN>
    <SHORT_DESCR><P>Nettoyage des écoles.</P></SHORT_DESCR>
   </OBJECT_CONTRACT>
   <COMPLEMENTARY_INFO><NOTICE_NUMBER_OJ>2020/S 080-012345</NOTICE_NUMBER_OJ></COMPLEMENTARY_INFO>
   <CHANGES>
    <CHANGE>
     <WHERE><SECTION>IV.2.2</SECTION><LABEL>Date limite</LABEL></WHERE>
     <OLD_VALUE><DATE>2020-06-01</DATE><TIME>12:00</TIME></OLD_VALUE>
     <NEW_VALUE><DATE>2020-06-15</DATE><TIME>12:00</TIME></NEW_VALUE>
    </CHANGE>
    <INFO_ADD><P>Une clause d'insertion est ajoutée.</P></INFO_ADD>
   </CHANGES>
  </F14_2014>
 </FORM_SECTION>
</TED_EXPORT>
""".encode()


def test_f14_is_corrigendum() -> None:
    assert normalise_ted_r209_bytes(F14).nature == CORRIGENDUM


def test_f14_corrects_the_referenced_notice() -> None:
    assert normalise_ted_r209_bytes(F14).links == [
        NoticeLink(kind="corrects", target="ted:12345-2020")
    ]


def test_f14_changes_in_text() -> None:
    text = normalise_ted_r209_bytes(F14).text
    assert "Section IV.2.2 Date limite" in text
    assert "Nouvelle valeur : 2020-06-15 12:00" in text
    assert "Une clause d'insertion est ajoutée." in text


def test_f14_siret_with_spaces_and_postcode_departement() -> None:
    notice = normalise_ted_r209_bytes(F14)
    assert notice.buyer_siret == "21690123100011"
    assert notice.departements == ["69"]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2019/S 055-130148", "130148-2019"),
        ("2019/S 040-091489", "91489-2019"),
        ("", None),
    ],
)
def test_publication_number(value: str, expected: str | None) -> None:
    assert publication_number(value) == expected


def test_source_id_given_wins() -> None:
    notice = normalise_ted_r209_bytes(RESERVED.read_bytes(), source_id="91489-2019x")
    assert notice.id == "ted:91489-2019x"


# --- faults -----------------------------------------------------------------------------------


def test_entity_declaration_refused() -> None:
    body = (
        b'<?xml version="1.0"?><!DOCTYPE TED_EXPORT [<!ENTITY a "aaaaaaaaaa">'
        b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]><TED_EXPORT>&b;</TED_EXPORT>'
    )
    with pytest.raises(NormaliseError) as exc:
        normalise_ted_r209_bytes(body)
    assert exc.value.reason == "xml_entities"


def test_malformed_xml() -> None:
    with pytest.raises(NormaliseError) as exc:
        normalise_ted_r209_bytes(RESERVED.read_bytes()[:5000])
    assert exc.value.reason == "malformed_xml"


def test_empty_payload() -> None:
    with pytest.raises(NormaliseError) as exc:
        normalise_ted_r209_bytes(b"")
    assert exc.value.reason == "empty_payload"


def test_eforms_root_is_not_r209() -> None:
    with pytest.raises(NormaliseError) as exc:
        normalise_ted_r209_bytes(b"<ContractNotice/>")
    assert exc.value.reason == "unknown_root"


def test_export_without_form() -> None:
    with pytest.raises(NormaliseError) as exc:
        normalise_ted_r209_bytes(
            b"<TED_EXPORT><CODED_DATA_SECTION><NOTICE_DATA><NO_DOC_OJS>2020/S 1-1"
            b"</NO_DOC_OJS></NOTICE_DATA></CODED_DATA_SECTION></TED_EXPORT>"
        )
    assert exc.value.reason == "no_form"


def test_script_in_title_becomes_plain_text() -> None:
    body = RESERVED.read_bytes().replace(
        b"<TITLE>\n               <P>March\xc3\xa9 de service",
        b"<TITLE><P>&lt;script&gt;alert(1)&lt;/script&gt;<B>Repas</B> &lt;i&gt;EPS&lt;/i&gt;</P>"
        b"<P>March\xc3\xa9 de service",
        1,
    )
    notice = normalise_ted_r209_bytes(body)
    assert notice.title.startswith("Repas EPS Marché de service")
    assert "alert" not in notice.text and "<" not in notice.text


def test_minimal_form_without_optional_blocks() -> None:
    body = (
        b"<TED_EXPORT><CODED_DATA_SECTION><NOTICE_DATA><NO_DOC_OJS>2020/S 001-000042"
        b"</NO_DOC_OJS></NOTICE_DATA></CODED_DATA_SECTION><FORM_SECTION>"
        b'<F02_2014 CATEGORY="ORIGINAL" FORM="F02" LG="EN"><OBJECT_CONTRACT><OBJECT_DESCR/>'
        b"<LOT_DIVISION/></OBJECT_CONTRACT><LEFTI/><PROCEDURE/></F02_2014></FORM_SECTION>"
        b"</TED_EXPORT>"
    )
    notice = normalise_ted_r209_bytes(body)
    assert notice.id == "ted:42-2020"
    assert [lot.lot_id for lot in notice.lots] == ["1"]
    assert notice.title == ""


# --- F20 modification during the term of a contract (tests/fixtures/ted-r209-f20) -------------
# A real Spanish F20 (PROVENANCE.md there): section VII was dropped before, so the modification,
# its reasons and the values before/after were nowhere in the notice.

F20 = FIXTURES / "ted-r209-f20" / "334654-2021.xml"


def test_f20_form() -> None:
    assert load(F20).form == "ted-r209/F20"


def test_f20_keeps_its_title() -> None:
    assert load(F20).title == (
        "Servicio de gestión de residuos (RCD, residuos vegetales y arribazones) para el"
        " Ayuntamiento de Roquetas de Mar"
    )


def test_f20_nature_stays_other() -> None:
    assert load(F20).nature == OTHER


def test_f20_text_has_the_description_of_the_modification() -> None:
    assert (
        "Description de la modification :\nSe aprueba en JGL de 22.6.2021 modificación"
        " contractual no prevista"
    ) in load(F20).text


def test_f20_text_has_the_reason_of_the_modification() -> None:
    assert (
        "Raisons de la modification :\nCirconstances imprévisibles : El presupuesto para el lote 2"
    ) in load(F20).text


def test_f20_text_has_the_values_before_and_after() -> None:
    assert (
        "Valeur avant la modification : 136\u202f363,64 EUR\n"
        "Valeur après la modification : 150\u202f000 EUR"
    ) in load(F20).text


def test_f20_text_has_the_contractors_after_the_modification() -> None:
    line = "Titulaire(s) après modification : Áridos y Construcciones La Redonda, S. L."
    assert line in load(F20).text


def test_f20_winners() -> None:
    assert load(F20).winners == ["Áridos y Construcciones La Redonda, S. L."]


def test_f20_lot_title_without_its_lot_prefix() -> None:
    assert [(lot.lot_id, lot.title) for lot in load(F20).lots] == [("2", "residuos vegetales")]


def test_f20_does_not_repeat_the_unchanged_description() -> None:
    assert load(F20).text.count("Lote 2: residuos vegetales.") == 1


def test_f20_contractors_after_modification_are_winners_too() -> None:
    # The award section left out: the winner is still known from section VII.1.6.
    body = F20.read_bytes()
    start, end = body.index(b"<AWARD_CONTRACT>"), body.index(b"</AWARD_CONTRACT>")
    notice = normalise_ted_r209_bytes(body[:start] + body[end + len(b"</AWARD_CONTRACT>") :])
    assert notice.winners == ["Áridos y Construcciones La Redonda, S. L."]


def test_award_contracts_give_each_lot_its_date_value_and_sirets() -> None:
    """Issue #12: per lot the winners with their SIRET (NATIONALID), the conclusion date and
    the value — real F03 18-412273 (a co-contracting group on lot 1)."""
    notice = normalise_ted_r209_bytes((R209 / "18-412273-001-EXP.xml").read_bytes())
    lots = {lot.lot_id: lot for lot in notice.lots}
    assert lots["1"].winners == [
        "Eiffage route mediterranée (mandataire)",
        "Gagneraud Construction (cotraitant)",
    ]
    assert lots["1"].winner_ids == ["39876221100298", "40268299100102"]
    assert (lots["1"].award_date, lots["1"].awarded_value) == ("2018-08-23", 4625137.4)
    assert (lots["2"].winner_ids, lots["2"].award_date) == (["48746933000012"], "2018-08-24")
