"""explain(): plain French, one sentence per positive label, with quote, article, hours, lots."""

from __future__ import annotations

from tenderwatch.classifier import explain
from tenderwatch.classifier.explain import lots_in_words

TEXT = (
    "Le marché est divisé en 4 lots.\nLot n° 1 : Gros œuvre.\nLot n° 2 : Charpente.\n"
    "Lot n° 3 : Nettoyage de chantier.\nLot n° 4 : Peinture.\n"
    "Conditions d'exécution : en application de l'article L. 2112-2 du code de la commande publique, "
    "le titulaire du lot 1 réserve 800 heures et celui du lot 4 réserve 400 heures de travail à des "
    "personnes éloignées de l'emploi.\n"
    "Le lot 3 est réservé aux structures d'insertion par l'activité économique (article L. 2113-13 du "
    "code de la commande publique)."
)


def test_sentences_in_french_with_quote_article_hours_and_lots(classify):
    sentences = explain(classify(TEXT, published="2024-02-01"))
    assert sentences[0].startswith(
        "Lot 3 réservé aux structures d'insertion par l'activité économique (SIAE) "
        "(article L. 2113-13 du code de la commande publique) : « Le lot 3 est réservé"
    )
    clause = sentences[1]
    assert clause.startswith(
        "Clause sociale d'insertion pour les lots 1 et 4 (article L. 2112-2 du code de la commande publique) : « "
    )
    assert "1\u00a0200 heures d'insertion (lot 1 : 800 h, lot 4 : 400 h) au total" in clause
    assert sentences[2].startswith(
        "Marché alloti en 4 lots : lot 1 « Gros œuvre », lot 2 « Charpente »"
    )
    assert len(sentences) == 3


def test_nothing_to_say_for_a_negative_notice(classify):
    assert explain(classify("Fourniture de papier. Marché réservé : non.")) == []


def test_uncertain_reservations_are_spelt_out(classify):
    text = "Le marché est réservé à des ateliers protégés et à des opérateurs économiques dont l'objet est l'intégration sociale et professionnelle de personnes handicapées ou défavorisées."
    (sentence,) = explain(classify(text, published="2022-01-01"))
    assert sentence.startswith("À vérifier : participation réservée")


def test_percentages_and_uncalibrated_clauses(classify):
    (pct,) = explain(
        classify(
            "Le titulaire réserve 7 % des heures travaillées à des personnes éloignées de l'emploi."
        )
    )
    assert pct.endswith("— 7 % des heures travaillées.")
    (bare,) = explain(classify("Le marché comporte une clause d'insertion."))
    assert "non chiffré" in bare


def test_lots_in_words():
    assert lots_in_words(["3"]) == "le lot 3"
    assert lots_in_words(["4", "1"]) == "les lots 1 et 4"
    assert lots_in_words(["1", "2", "3"]) == "les lots 1 à 3"
    assert lots_in_words(["1", "2"], ["1", "2"]) == "tous les lots"
    assert lots_in_words(["1", "2", "5"]) == "les lots 1, 2 et 5"
