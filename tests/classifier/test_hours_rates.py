"""Issue 9: insertion hours as real notices write them — per lot, per tranche (summed, firm
tranche noted), typos, glued fields, and rates kept as rates (``insertion_rate``)."""

from __future__ import annotations

import pytest

from tenderwatch.classifier.quantities import find_quantities
from tests.classifier.helpers import evidence_of, labels_of


def conditions(body: str) -> str:
    return f"Acheteur : Ville de Brest\nAutres conditions particulières : {body}\n"


def test_tranches_are_summed_and_the_firm_tranche_is_noted(classify):
    # real wording (boamp-21-27869): the tranches glued to a bullet "o"
    result = classify(
        conditions(
            "La mise en oeuvre de cette clause d'insertion consiste à réserver une part du temps "
            "de travail à une action d'insertion. Cette clause sociale s'élève :Lot no 01 - VRD"
            "oTranche 1 (tranche ferme) : 295 heuresoTranche 2 (tranche optionnelle no1) : 560 "
            "heuresoTranche 3 (tranche optionnelle no2) : 300 heures"
        )
    )
    assert "insertion_clause" in labels_of(result)
    assert result["insertion_hours"] == 295 + 560 + 300
    assert any(e.get("firm_hours") == 295 for e in evidence_of(result, "insertion_clause"))
    assert result["insertion_rate"] is None


def test_a_total_broken_down_by_tranche_is_not_added_twice(classify):
    result = classify(
        conditions(
            "Le présent marché fait l'objet d'une clause d'insertion par l'activité économique "
            "(250 heures, soit 120 heures en tranche ferme et 130 heures en tranche optionnelle)."
        )
    )
    assert result["insertion_hours"] == 250
    assert any(e.get("firm_hours") == 120 for e in evidence_of(result, "insertion_clause"))


def test_per_lot_hours_in_a_list_that_happens_to_sum_are_still_summed(classify):
    result = classify(
        conditions(
            "Action d'insertion obligatoire pour les lots 1, 3 et 8, avec un minimum de 450 "
            "heures (lot 1), 250 heures (lot 3) et 200 heures (lot 8) confiées à des personnes "
            "éloignées de l'emploi."
        )
    )
    assert result["insertion_hours"] == 900


@pytest.mark.parametrize(
    ("body", "hours"),
    [
        (
            "Le titulaire réalisera 2 100 heurs d'insertion au profit de personnes éloignées de "
            "l'emploi.",
            2100,
        ),
        # glued fields (real: boamp-21-37267)
        (
            "Nombre d'heures d'insertion minimales :Lot 1:1200 hLot 2: 250 hConsultation "
            "comportant des conditions d'exécution à caractère social détaillées dans le CCAP",
            1450,
        ),
        # the figures in the next sentence (real: boamp-21-18596)
        (
            "les entreprises s'engagent à réaliser une action d'insertion de personnes rencontrant "
            "des difficultés sociales ou professionnelles particulières. Cet engagement représente "
            "700 heures de travail sur la durée totale d'exécution du marché.",
            700,
        ),
    ],
)
def test_hours_as_real_notices_write_them(classify, body, hours):
    result = classify(conditions(body))
    assert "insertion_clause" in labels_of(result)
    assert result["insertion_hours"] == hours


@pytest.mark.parametrize(
    ("body", "rate"),
    [
        (
            "Le titulaire réalisera 5 h d'insertion par tranche de 10 000 € HT de travaux au profit "
            "de personnes éloignées de l'emploi.",
            {"hours": 5, "per": "10000 EUR"},
        ),
        (
            "une clause obligatoire d'insertion par l'activité économique.Le nombre d'heures "
            "d'insertion à réaliser dans l'exécution de la prestation est le suivant :70 heures / an.",
            {"hours": 70, "per": "an"},
        ),
        (
            "Clause sociale d'insertion : 35 heures par mois à réaliser par le titulaire.",
            {"hours": 35, "per": "mois"},
        ),
    ],
)
def test_a_rate_is_kept_as_a_rate_not_as_hours(classify, body, rate):
    result = classify(conditions(body))
    assert "insertion_clause" in labels_of(result)
    assert result["insertion_hours"] is None
    assert result["insertion_rate"] == rate


def test_quantity_parser_units_and_false_friends():
    assert [q.kind for q in find_quantities("7 heures pour 100 000 euros de travaux")] == ["rate"]
    assert find_quantities("7 heures pour 100 000 euros de travaux")[0].per == "100000 EUR"
    assert find_quantities("500 h pour 10 k€")[0].per == "10000 EUR"
    # a capital glued to the unit ends it; a lowercase word does not ("5 hommes", "3 hotels")
    assert find_quantities("5 hommes et 3 hotels") == []
    assert [q.value for q in find_quantities("100 heuresLes modalités")] == [100]


def test_explain_states_the_rate_not_a_total(classify):
    from tenderwatch.classifier import explain

    result = classify(
        conditions(
            "Le titulaire réalisera 5 h d'insertion par tranche de 10 000 € HT de travaux au "
            "profit de personnes éloignées de l'emploi."
        )
    )
    text = " ".join(explain(result))
    assert "5 heures d'insertion par tranche de 10\u00a0000 €" in text
    assert "au total" not in text
