"""Issue 9: a confidence per true label, and generic social execution conditions reported as
« clause sociale non détaillée » (``unspecified``)."""

from __future__ import annotations

import pytest

from tenderwatch.classifier import explain
from tenderwatch.classifier.labels import (
    CONFIDENCE_LEVELS,
    CONFIDENCE_THRESHOLD,
    SOCIAL_LABELS,
    confidence_level,
)
from tests.classifier.helpers import evidence_of, labels_of


def conditions(body: str) -> str:
    return f"Acheteur : Département de la Somme\nAutres conditions particulières : {body}\n"


def test_confidence_level_threshold():
    assert CONFIDENCE_LEVELS == ("sûr", "probable")
    assert confidence_level(CONFIDENCE_THRESHOLD) == "sûr"
    assert confidence_level(0.99) == "sûr"
    assert confidence_level(CONFIDENCE_THRESHOLD - 0.01) == "probable"
    assert confidence_level(0.0) == "probable"


@pytest.mark.parametrize(
    ("body", "label", "level"),
    [
        # a figure and the beneficiaries
        (
            "Le titulaire s'engage à réaliser 1 200 heures de travail au profit de personnes "
            "éloignées de l'emploi.",
            "insertion_clause",
            "sûr",
        ),
        # the article that supports the reservation
        (
            "Marché réservé aux structures d'insertion par l'activité économique conformément à "
            "l'article L 2113-13 du Code de la commande publique.",
            "reserved_siae",
            "sûr",
        ),
        # the form's generic wording only
        (
            "Consultation comportant des conditions d'exécution à caractère social détaillées dans "
            "le CCAP.",
            "insertion_clause",
            "probable",
        ),
        ("Le marché comporte une clause sociale.", "insertion_clause", "probable"),
    ],
)
def test_confidence_follows_the_evidence(classify, body, label, level):
    result = classify(conditions(body), published="2021-02-01")
    assert labels_of(result) & set(SOCIAL_LABELS) == {label}
    assert set(result["confidence"]) == {label}
    conf = result["confidence"][label]
    assert 0.0 <= conf["score"] <= 1.0
    assert conf["level"] == level == confidence_level(conf["score"])


def test_every_true_label_has_a_confidence_and_no_false_one_does(golden_predictions):
    for result in golden_predictions:
        true = {label for label, value in result["labels"].items() if value}
        assert set(result["confidence"]) == true, result["id"]
    levels = {c["level"] for r in golden_predictions for c in r["confidence"].values()}
    assert levels == {"sûr", "probable"}


@pytest.mark.parametrize(
    "body",
    [
        "Consultation comportant des conditions d'exécution à caractère social et "
        "environnemental détaillées dans le CCAP.",
        "Les marchés intègrent des conditions d'exécution avec des éléments à caractère social, "
        "en application de l'article L2112-2 du code de la commande publique, dont le détail est "
        "indiqué dans le cahier des charges.",
        "Mise en oeuvre d'éléments à caractère social dans les conditions d'exécution du marché.",
        "Cette consultation comporte des conditions d'exécution à caractère social dont le détail "
        "est indiqué dans le C.C.A.P. Le respect de ces dispositions est une condition de "
        "conformité de l'offre.",
    ],
)
def test_generic_social_condition_is_an_unspecified_clause(classify, body):
    result = classify(conditions(body), published="2021-02-01")
    assert labels_of(result) & set(SOCIAL_LABELS) == {"insertion_clause"}
    assert result["unspecified"] == ["insertion_clause"]
    assert all(e.get("unspecified") for e in evidence_of(result, "insertion_clause"))
    lines = explain(result)
    assert any(
        "clause sociale non détaillée dans l'avis : à vérifier dans le CCAP" in x for x in lines
    )


def test_a_detailed_clause_is_not_unspecified(classify):
    result = classify(
        conditions(
            "Consultation comportant des conditions d'exécution à caractère social détaillées "
            "dans le CCAP. Nombre d'heures d'insertion : 300 heures."
        ),
        published="2021-02-01",
    )
    assert result["unspecified"] == []
    assert result["insertion_hours"] == 300
    assert result["confidence"]["insertion_clause"]["level"] == "sûr"


def test_clause_stated_only_in_section_vi3_is_found(classify):
    text = (
        "AVIS DE MARCHÉ\nSection I : Pouvoir adjudicateur\nI.1) Nom et adresses : Ville de Lille\n"
        "Section II : Objet\nII.1.1) Intitulé : Entretien des espaces verts\n"
        "II.1.6) Information sur les lots : Ce marché est divisé en lots : non\n"
        "Section III : Renseignements d'ordre juridique, économique, financier et technique\n"
        "III.1.5) Informations sur les marchés réservés\n"
        "III.2.2) Conditions particulières d'exécution :\n"
        "Section IV : Procédure\nIV.1.1) Type de procédure : Procédure ouverte\n"
        "Section VI : Renseignements complémentaires\nVI.3) Informations complémentaires :\n"
        "Le marché comporte des éléments à caractère social dans les conditions d'exécution.\n"
        "VI.4) Procédures de recours\n"
    )
    result = classify(text, published="2020-08-10")
    assert labels_of(result) & set(SOCIAL_LABELS) == {"insertion_clause"}
    assert result["unspecified"] == ["insertion_clause"]


@pytest.mark.parametrize(
    "body",
    [
        # a described social condition that is not insertion (real-data rule)
        "Conditions d'exécution à caractère social : le titulaire veille à la lutte contre les "
        "discriminations et au respect des conditions de travail.",
        "Pas de conditions d'exécution à caractère social.",
        "Conditions d'exécution à caractère social : non.",
    ],
)
def test_generic_wording_that_is_not_an_insertion_clause(classify, body):
    result = classify(conditions(body), published="2021-02-01")
    assert "insertion_clause" not in labels_of(result)
    assert result["unspecified"] == [] and result["confidence"] == {}
