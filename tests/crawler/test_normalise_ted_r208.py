"""TED R2.0.8 defence forms (16, 17, 18): real French notices, one field per test.

Before this reader existed these notices went through the R2.0.9 reader and were stored with no
title, no text and nature « other »: every test below failed on that output.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pytest

from tenderwatch.core.records import (
    AWARD,
    CALL_FOR_TENDERS,
    OTHER,
    AwardCriterion,
    Notice,
    RawNotice,
)
from tenderwatch.crawler.normalise import normalise
from tenderwatch.crawler.normalise.common import parse_xml
from tenderwatch.crawler.normalise.ted_r208 import is_r208

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
DEFENCE = FIXTURES / "ted-r208-defence"
CONTRACT = DEFENCE / "029213-2021.xml"  # F17, Ministère de la défense, 6 lots
AWARD_F18 = DEFENCE / "020844-2021.xml"  # F18, DGA Bourges, one contract
PRIOR = DEFENCE / "177092-2021.xml"  # F16, CEA Valduc
ALL_FILES = sorted(DEFENCE.glob("*.xml"))


@cache
def load(path: Path) -> Notice:
    """Through :func:`normalise`, as the crawl pipeline does: dispatch is part of the test."""
    raw = RawNotice(
        source="ted", source_id="", url="http://127.0.0.1/", content_type="", body=path.read_bytes()
    )
    return normalise(raw)


def test_fixture_set_is_complete() -> None:
    assert len(ALL_FILES) == 3


@pytest.mark.parametrize("path", ALL_FILES, ids=lambda p: p.name)
def test_every_defence_form_is_told_apart_from_r209(path: Path) -> None:
    assert is_r208(parse_xml(path.read_bytes()))


@pytest.mark.parametrize("path", ALL_FILES, ids=lambda p: p.name)
def test_every_defence_notice_has_a_title(path: Path) -> None:
    assert load(path).title


@pytest.mark.parametrize("path", ALL_FILES, ids=lambda p: p.name)
def test_every_defence_notice_has_text(path: Path) -> None:
    assert len(load(path).text) > 500


def test_r209_notices_are_not_taken_for_r208() -> None:
    r209 = FIXTURES / "ted-r209" / "19-090974-001-EXP.xml"
    assert not is_r208(parse_xml(r209.read_bytes()))


# --- 029213-2021: F17 contract notice ---------------------------------------------------------


def test_contract_id() -> None:
    assert load(CONTRACT).id == "ted:29213-2021"


def test_contract_form() -> None:
    assert load(CONTRACT).form == "ted-r208/F17"


def test_contract_nature_is_a_call_for_tenders() -> None:
    assert load(CONTRACT).nature == CALL_FOR_TENDERS


def test_contract_title() -> None:
    assert load(CONTRACT).title == "Réfection des installations des systèmes de sécurité incendie"


def test_contract_buyer() -> None:
    assert load(CONTRACT).buyer_name == "Ministère de la défense — BCAC-CG195/M"


def test_contract_published() -> None:
    assert load(CONTRACT).published == "2021-01-20"


def test_contract_deadline_from_receipt_limit_date() -> None:
    assert load(CONTRACT).deadline == "2021-02-26T16:00:00"


def test_contract_cpv() -> None:
    assert load(CONTRACT).cpv == ["45343000", "45343200", "45312100", "45300000"]


def test_contract_departements_from_the_form_nuts() -> None:
    # FR10 is a region (no département); FRI11 Dordogne, FRY5 Mayotte, FRY3 Guyane.
    assert load(CONTRACT).departements == ["24", "976", "973"]


def test_contract_estimated_value() -> None:
    assert (load(CONTRACT).estimated_value, load(CONTRACT).currency) == (10_000_000.0, "EUR")


def test_contract_procedure() -> None:
    assert load(CONTRACT).procedure == "restricted"


def test_contract_language() -> None:
    assert load(CONTRACT).language == "fr"


def test_contract_url() -> None:
    assert load(CONTRACT).url == "https://ted.europa.eu/fr/notice/-/detail/29213-2021"


def test_contract_lot_ids() -> None:
    assert [lot.lot_id for lot in load(CONTRACT).lots] == ["1", "2", "3", "4", "5", "6"]


def test_contract_lot_titles() -> None:
    assert [lot.title for lot in load(CONTRACT).lots] == [
        "Île-de-France",
        "Dordogne",
        "Vaucluse",
        "Nouvelle-Calédonie",
        "Mayotte",
        "Guyane",
    ]


def test_contract_lot_value() -> None:
    assert [lot.estimated_value for lot in load(CONTRACT).lots][:2] == [8_000_000.0, 400_000.0]


def test_contract_lot_description() -> None:
    assert (
        load(CONTRACT)
        .lots[1]
        .description.startswith(
            "Réfection des installations des systèmes de sécurité incendie dans le département de la"
            " Dordogne"
        )
    )


def test_contract_lot_deadline_is_the_procedure_one() -> None:
    assert load(CONTRACT).lots[0].deadline == "2021-02-26T16:00:00"


def test_contract_execution_conditions_from_particular_conditions() -> None:
    conditions = load(CONTRACT).signals.execution_conditions
    assert conditions == [
        "Le marché est soumis aux dispositions de l'instruction générale interministérielle"
        " nº 1300 sur la protection du secret de la défense nationale (IGI 1300). Cf. Dossier de"
        " consultation."
    ]


def test_contract_execution_conditions_copied_on_every_lot() -> None:
    assert all(lot.signals.execution_conditions for lot in load(CONTRACT).lots)


def test_contract_text_has_the_lot_sections() -> None:
    assert "Lot 2 :\nDordogne\nRéfection des installations" in load(CONTRACT).text


def test_contract_text_has_the_participation_conditions() -> None:
    assert "Conditions de participation :\nPour candidater" in load(CONTRACT).text


def test_contract_text_has_the_complementary_information() -> None:
    assert "R. 2344-5 du code de la commande publique" in load(CONTRACT).text


def test_contract_text_says_the_scope_once() -> None:
    # SHORT_CONTRACT_DESCRIPTION and TOTAL_QUANTITY_OR_SCOPE hold the same sentence.
    sentence = "Réfection des installations des systèmes de sécurité incendie."
    assert load(CONTRACT).text.count(f": {sentence}") == 1


def test_contract_has_no_winner() -> None:
    assert load(CONTRACT).winners == []


# --- 020844-2021: F18 contract award notice ---------------------------------------------------


def test_award_form() -> None:
    assert load(AWARD_F18).form == "ted-r208/F18"


def test_award_nature() -> None:
    assert load(AWARD_F18).nature == AWARD


def test_award_title() -> None:
    assert load(AWARD_F18).title.startswith("Acquisition de corps noirs différentiels")


def test_award_buyer() -> None:
    assert load(AWARD_F18).buyer_name == "Minarm/DGA/DO/S2A"


def test_award_buyer_siret() -> None:
    assert load(AWARD_F18).buyer_siret == "15200039400014"


def test_award_published() -> None:
    assert load(AWARD_F18).published == "2021-01-15"


def test_award_cpv() -> None:
    assert load(AWARD_F18).cpv == ["38424000"]


def test_award_departement() -> None:
    assert load(AWARD_F18).departements == ["18"]  # FRB01 Cher


def test_award_procedure() -> None:
    assert load(AWARD_F18).procedure == "neg-w-call"


def test_award_winner() -> None:
    assert load(AWARD_F18).winners == ["Société HGH Systèmes Infrarouges"]


def test_award_criteria() -> None:
    assert load(AWARD_F18).signals.award_criteria == [
        AwardCriterion(name="prix", weight=90.0),
        AwardCriterion(name="délai", weight=10.0),
    ]


def test_award_final_value_is_text_not_an_estimate() -> None:
    notice = load(AWARD_F18)
    assert notice.estimated_value is None
    assert "Valeur totale finale : 676\u202f700 EUR" in notice.text


def test_award_text_names_the_winner() -> None:
    assert "Titulaire : Société HGH Systèmes Infrarouges" in load(AWARD_F18).text


def test_award_text_keeps_superscripts_in_words() -> None:
    assert "leur soutien la 1re année" in load(AWARD_F18).text


def test_award_single_contract_has_no_lot() -> None:
    assert load(AWARD_F18).lots == []


# --- 177092-2021: F16 prior information notice ------------------------------------------------


def test_prior_form() -> None:
    assert load(PRIOR).form == "ted-r208/F16"


def test_prior_information_is_other() -> None:
    assert load(PRIOR).nature == OTHER


def test_prior_title() -> None:
    assert load(PRIOR).title == (
        "Travaux pour la construction d'un bâtiment d'intervention et de gestion de crise sur le"
        " centre de Valduc"
    )


def test_prior_buyer() -> None:
    assert load(PRIOR).buyer_name == (
        "Commissariat à l'énergie atomique et aux énergies alternatives"
    )


def test_prior_published() -> None:
    assert load(PRIOR).published == "2021-04-09"


def test_prior_has_no_deadline() -> None:
    assert load(PRIOR).deadline is None


def test_prior_cpv() -> None:
    assert load(PRIOR).cpv == ["45000000"]


def test_prior_departement_from_nuts_2021() -> None:
    assert load(PRIOR).departements == ["21"]  # n2021:NUTS FRC11 Côte-d'Or


def test_prior_text_has_the_place() -> None:
    assert "Lieu d'exécution : CEA DAM de Valduc (21)." in load(PRIOR).text


def test_prior_text_has_the_scope() -> None:
    assert "Quantité ou étendue globale :\nConstruction pour le compte" in load(PRIOR).text


def test_prior_text_has_the_planning() -> None:
    assert "La durée globale des travaux est estimée à 24 mois." in load(PRIOR).text
