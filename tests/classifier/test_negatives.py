"""Explicit negatives (reference §4.9) and optional insertion (golden README): no label,
and the negative statement is kept as negated evidence where it names a label."""

from __future__ import annotations

import pytest

from tests.classifier.helpers import evidence_of, labels_of


@pytest.mark.parametrize(
    "text",
    [
        "Aucune clause sociale n'est prévue pour cette consultation.",
        "Le marché ne comporte pas de clause d'insertion.",
        "Clause sociale : non.",
        "Clause sociale : sans objet.",
        "Marché passé sans clause sociale.",
        "Pas de considération sociale.",
        "Aucune condition d'exécution à caractère social n'est imposée.",
    ],
)
def test_no_clause(classify, text):
    result = classify(text)
    assert labels_of(result) == set()
    assert evidence_of(result, "insertion_clause", negated=True)


@pytest.mark.parametrize(
    "text",
    [
        "Marché réservé : non.",
        "Marchés réservés : non",
        "La participation n'est pas réservée.",
        "Le marché n'est pas réservé au titre des articles L. 2113-12 à L. 2113-16 du code de la commande publique.",
        "Le contrat doit être exécuté dans le cadre de programmes d'emplois protégés : non",
        "La consultation prévoit une réservation de tout ou partie du marché : Non",
    ],
)
def test_no_reservation(classify, text):
    result = classify(text)
    assert labels_of(result) == set()
    assert result["conflicts"] == []


def test_the_form_layout_with_the_answer_on_the_next_line(classify):
    text = "Marché réservé :\nnon\n\nMarché alloti :\nnon\n\nClause sociale :\nnon"
    result = classify(text)
    assert labels_of(result) == set()
    assert evidence_of(result, "allotted", negated=True)


@pytest.mark.parametrize(
    "text",
    [
        "Le candidat peut, s'il le souhaite, proposer des actions en faveur de l'insertion professionnelle.",
        "L'acheteur encourage les candidats à recourir à des structures d'insertion par l'activité économique.",
        "Le titulaire favorisera, dans la mesure du possible, l'embauche de personnes en insertion.",
        "Les candidats peuvent sous-traiter une partie des prestations à une structure d'insertion.",
    ],
)
def test_optional_insertion_is_not_a_clause(classify, text):
    assert labels_of(classify(text)) == set()


def test_a_negation_only_cancels_its_own_clause(classify):
    text = "Variantes : non ; le titulaire réserve 500 heures de travail à des personnes éloignées de l'emploi."
    result = classify(text)
    assert labels_of(result) == {"insertion_clause"}
    assert result["insertion_hours"] == 500


def test_lots_excluded_by_a_negative_statement(classify):
    text = (
        "Division en lots : oui.\nLot n° 1 : Gros œuvre.\nLot n° 2 : Peinture.\nLot n° 3 : Électricité.\n"
        "Conditions d'exécution : chaque titulaire réserve 5 % des heures travaillées à des personnes "
        "éloignées de l'emploi. Le lot 3 n'est pas concerné."
    )
    lots = {lot["id"]: lot["labels"] for lot in classify(text)["lots"]}
    assert lots == {"1": ["insertion_clause"], "2": ["insertion_clause"], "3": []}


def test_a_criterion_weight_moved_elsewhere_is_not_a_criterion(classify):
    text = (
        "Le marché est divisé en 3 lots.\nLot n° 1 : Voirie.\nLot n° 2 : Réseaux.\nLot n° 3 : Signalisation.\n"
        "Critères d'attribution : prix 50 % ; valeur technique 40 % ; performances en matière d'insertion "
        "professionnelle pour les lots 1 et 2 : 10 %.\n"
        "Pour le lot 3, la pondération du critère insertion est reportée sur la valeur technique."
    )
    lots = {lot["id"]: lot["labels"] for lot in classify(text)["lots"]}
    assert lots == {"1": ["insertion_criterion"], "2": ["insertion_criterion"], "3": []}
