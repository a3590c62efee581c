"""Phrasings that are not in the golden set (written for these tests, after the reference's
§4 inventory and the real notices): the rules must read the language, not the dev set."""

from __future__ import annotations

import pytest

from tests.classifier.helpers import labels_of

CASES = [
    # insertion clause
    (
        "Le titulaire devra consacrer 5 % des heures travaillées à l'insertion de publics en difficulté.",
        {"insertion_clause"},
    ),
    (
        "Clause sociale : le titulaire s'engage à embaucher deux personnes en parcours d'insertion.",
        {"insertion_clause"},
    ),
    ("Une clause d'insertion de 1.500 heures s'applique au présent marché.", {"insertion_clause"}),
    ("Le titulaire réalisera un objectif d'insertion de deux mille heures.", {"insertion_clause"}),
    (
        "Dans le cadre de la charte d'insertion ANRU, 10 % des heures de main d'œuvre seront réservées aux habitants des quartiers prioritaires de la politique de la ville.",
        {"insertion_clause"},
    ),
    (
        "L'entreprise s'engage à réserver 3 ETP à des personnes éloignées de l'emploi.",
        {"insertion_clause"},
    ),
    (
        "Conditions particulières d'exécution : clause d'insertion professionnelle, voir article 8 du CCAP.",
        {"insertion_clause"},
    ),
    (
        "L'attributaire mettra en œuvre une démarche d'insertion de 400 heures.",
        {"insertion_clause"},
    ),
    (
        "Le titulaire embauchera au moins deux personnes bénéficiaires du RSA pendant l'exécution.",
        {"insertion_clause"},
    ),
    ("Le titulaire consacrera 5 % des heures travaillées à l'insertion.", {"insertion_clause"}),
    ("Clauses environnementales et sociales : voir le CCAP.", {"insertion_clause"}),
    (
        "Une partie des heures de travail est réservée aux entreprises d'insertion, soit 5 % des heures.",
        {"insertion_clause"},
    ),
    # criterion
    (
        "Critères d'attribution :\n1. Prix : 50 %\n2. Valeur technique : 40 %\n3. Insertion : 10 %",
        {"insertion_criterion"},
    ),
    (
        "Sous-critère 2.3 : qualité du dispositif d'accompagnement des salariés en insertion (5 points).",
        {"insertion_criterion"},
    ),
    (
        "Critère n° 3 : nombre d'heures d'insertion proposées au-delà du minimum (10 %).",
        {"insertion_criterion"},
    ),
    (
        "Critères d'attribution : Prix : 40 %, Valeur technique : 50 %, Clause sociale : 10 %",
        {"insertion_criterion"},
    ),
    # reservations
    (
        "Marché réservé aux entreprises adaptées (EA) et établissements ou services d'aide par le travail (ESAT).",
        {"reserved_disability"},
    ),
    (
        "Le marché est réservé à des opérateurs économiques employant au moins 50 % de personnes handicapées.",
        {"reserved_disability"},
    ),
    ("Marché réservé au secteur adapté et protégé.", {"reserved_disability"}),
    ("Marché réservé (art. L2113-12 CCP).", {"reserved_disability"}),
    ("Seules les SIAE peuvent candidater.", {"reserved_siae"}),
    ("Ce marché est réservé aux structures d'insertion conventionnées.", {"reserved_siae"}),
    (
        "Le marché est réservé aux structures inclusives (SIAE, EA, ESAT) conformément à l'article L2113-14 du Code de la commande publique.",
        {"reserved_siae", "reserved_disability"},
    ),
    (
        "Le marché est réservé aux entreprises solidaires d'utilité sociale agréées.",
        {"reserved_other"},
    ),
    # insertion contract
    (
        "Le marché porte sur un chantier d'insertion dont le support est l'entretien des berges.",
        {"insertion_contract"},
    ),
    (
        "Achat d'heures d'insertion auprès d'un atelier chantier d'insertion.",
        {"insertion_contract"},
    ),
    (
        "Objet : achat de prestations d'insertion par l'activité économique sur des chantiers d'entretien des espaces naturels (support).",
        {"insertion_contract"},
    ),
    # allotment
    (
        "Le présent marché comporte 4 lots : lot 1 voirie ; lot 2 réseaux ; lot 3 éclairage ; lot 4 espaces verts.",
        {"allotted"},
    ),
    ("La consultation fait l'objet d'un allotissement en 5 lots.", {"allotted"}),
    ("Nombre de lots : 3. Lot 1 : Viandes. Lot 2 : Poissons. Lot 3 : Légumes.", {"allotted"}),
    # negatives
    (
        "Le titulaire devra prendre contact avec le facilitateur de la Maison de l'emploi dès la notification.",
        set(),
    ),
    ("La clause d'insertion ne s'applique pas au présent marché.", set()),
    (
        "Les candidats devront justifier de leur qualité de structure d'insertion par l'activité économique.",
        set(),
    ),
    (
        "Le titulaire sera tenu de respecter les règles de santé au travail ; clause sociale : respect de l'égalité professionnelle.",
        set(),
    ),
    (
        "Il est rappelé que le candidat doit respecter l'obligation d'emploi des travailleurs handicapés.",
        set(),
    ),
    (
        "Formation professionnelle continue des demandeurs d'emploi (lot 1) ; accompagnement vers l'emploi (lot 2).",
        set(),
    ),
    (
        "Le titulaire assure le support technique et la maintenance du logiciel d'insertion de données.",
        set(),
    ),
    (
        "Critères d'attribution :\nPrix : 60 %\nQualité de l'insertion du bâtiment dans son environnement : 40 %",
        set(),
    ),
    ("Ce marché n'est pas divisé en lots, lot unique.", set()),
]


@pytest.mark.parametrize(("text", "expected"), CASES)
def test_phrasing(classify, text, expected):
    assert labels_of(classify(text, published="2022-01-10")) == expected
