"""Issue 9: social labels in « conditions relatives au marché » sections as BOAMP buyers write
them (our phrasings, in the style of ``tests/fixtures/real/boamp-2021q1-dev.jsonl``): recall
beyond the development set, and the label each one must get — nothing more."""

from __future__ import annotations

import pytest

from tests.classifier.helpers import labels_of

CLAUSE = "insertion_clause"
SIAE = "reserved_siae"
HANDI = "reserved_disability"

CASES: list[tuple[str, set[str], int | None]] = [
    (
        "Le titulaire devra mettre en oeuvre un dispositif d'insertion professionnelle dans le "
        "cadre de l'exécution du marché.",
        {CLAUSE},
        None,
    ),
    (
        "En application de l'article L.2112-2 du CCP, le marché comporte des dispositions "
        "visant à promouvoir l'emploi de personnes rencontrant des difficultés sociales et "
        "professionnelles.",
        {CLAUSE},
        None,
    ),
    ("Clause sociale : oui", {CLAUSE}, None),
    ("Clause d'insertion : 350 heures", {CLAUSE}, 350),
    ("Heures d'insertion : 1 500 h", {CLAUSE}, 1500),
    (
        "Le marché est soumis à une clause d'insertion sociale (article L2112-2 du code de la "
        "commande publique).",
        {CLAUSE},
        None,
    ),
    (
        "Il est prévu une clause sociale d'insertion et de promotion de l'emploi. Volume : 420 "
        "heures.",
        {CLAUSE},
        420,
    ),
    (
        "Une clause d'insertion par l'activité économique est prévue pour ce marché : 800 heures "
        "de travail minimum.",
        {CLAUSE},
        800,
    ),
    (
        "Les entreprises attributaires devront réserver une partie des heures de travail "
        "générées par le marché à des personnes en insertion.",
        {CLAUSE},
        None,
    ),
    ("Objectif d'insertion : 175 heures pour le lot 1 et 210 heures pour le lot 2.", {CLAUSE}, 385),
    (
        "Les titulaires s'engagent à réaliser une action d'insertion (nombre d'heures : lot 1 : "
        "500 h, lot 2 : 300 h).",
        {CLAUSE},
        800,
    ),
    (
        "La Ville fixe dans ce marché une clause obligatoire d'insertion (ou clause sociale) : "
        "présent lot : 100 heuresLes modalités de mise en oeuvre sont définies dans le CCAP",
        {CLAUSE},
        100,
    ),
    (
        "Le marché comporte une clause d'exécution relative à l'insertion des publics éloignés "
        "de l'emploi, avec l'appui du facilitateur du PLIE.",
        {CLAUSE},
        None,
    ),
    ("Marché réservé aux SIAE (article L. 2113-13 du CCP).", {SIAE}, None),
    ("Lot 2 réservé aux entreprises adaptées et aux ESAT (article L.2113-12).", {HANDI}, None),
    (
        "Marché réservé aux structures mentionnées à l'article L. 2113-13 du code de la commande "
        "publique.",
        {SIAE},
        None,
    ),
    (
        "Marché réservé en application des articles L2113-12 et L2113-13 du code de la commande "
        "publique.",
        {SIAE, HANDI},
        None,
    ),
    ("La participation est réservée aux ESAT et EA.", {HANDI}, None),
    (
        "Prestations réservées aux structures d'insertion par l'activité économique et aux "
        "structures équivalentes.",
        {SIAE},
        None,
    ),
    (
        "Il a été décidé de faire application de l'article L2113-13 du code de la commande "
        "publique et de réserver le lot 2 aux opérateurs économiques qui emploient des "
        "travailleurs défavorisés.",
        {SIAE},
        None,
    ),
    ("Marché réservé à une structure employant des personnes handicapées", {HANDI}, None),
    ("Lot 3 : réservé SIAE (article L2113-13 du CCP).", {SIAE}, None),
    ("Lot n°2 - réservé aux ESAT et EA.", {HANDI}, None),
    (
        "Réservé aux structures d'insertion par l'activité économique (SIAE) conformément à "
        "l'article L.2113-13 du code de la commande publique.",
        {SIAE},
        None,
    ),
    (
        "Le lot 4 est réservé aux entreprises employant au moins 50 % de travailleurs handicapés.",
        {HANDI},
        None,
    ),
    (
        "L'insertion sociale et professionnelle des publics éloignés de l'emploi est une "
        "condition d'exécution du marché.",
        {CLAUSE},
        None,
    ),
    # the TED form's res-ws wording (« objet » or « objectif ») decides neither SIAE nor EA/ESAT
    (
        "III.1.5) Informations sur les marchés réservés : Le marché est réservé à des ateliers "
        "protégés et à des opérateurs économiques dont l'objectif est l'intégration sociale et "
        "professionnelle de personnes handicapées ou défavorisées",
        set(),
        None,
    ),
    # how a clause is carried out is not the object of an insertion contract
    (
        "Le titulaire assure l'encadrement technique des salariés en insertion recrutés au titre "
        "de la clause sociale.",
        {CLAUSE},
        None,
    ),
    (
        "Clause d'insertion : 300 heures. Le titulaire assurera la mise en situation de travail "
        "des personnes en insertion.",
        {CLAUSE},
        300,
    ),
]


@pytest.mark.parametrize(("body", "labels", "hours"), CASES, ids=range(len(CASES)))
def test_clause_section_phrasing(classify, body, labels, hours):
    text = f"Acheteur : Ville de Tours\nAutres conditions particulières : {body}\n"
    result = classify(text, published="2021-02-15")
    assert labels_of(result) - {"allotted"} == labels, body
    assert result["insertion_hours"] == hours
