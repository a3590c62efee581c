"""Reference §4.9: contexts that look social but are not. None of them may fire."""

from __future__ import annotations

import pytest

from tests.classifier.helpers import labels_of

SOCIAL_WORDS = [
    "Les candidats indiquent l'adresse de leur siège social et leur raison sociale.",
    "L'objet social de la société et son capital social figurent au Kbis.",
    "Attestations de régularité auprès des organismes de sécurité sociale (URSSAF).",
    "Les offres devront respecter les obligations sociales et fiscales du candidat.",
    "Cotisations et charges sociales à jour au 31 décembre.",
    "Diffusion des offres d'emploi sur les réseaux sociaux de la collectivité.",
    "Construction de 63 logements sociaux pour le compte d'un bailleur social.",
    "Nom de l'acheteur : Centre communal d'action sociale (CCAS) de la Ville.",
    "Les travailleurs sociaux du département utiliseront le logiciel.",
    "Le titulaire fournit le bilan social de l'entreprise et respecte le dialogue social.",
]
INSERTION_WORDS = [
    "Le projet soigne l'insertion paysagère des ouvrages et leur insertion urbaine.",
    "Le jury appréciera l'insertion architecturale et l'insertion dans le site.",
    "Insertion d'une annonce dans un journal d'annonces légales et insertions publicitaires.",
    "Tramway : travaux de plateforme et d'insertion urbaine.",
    "Le logiciel permet l'insertion de données, de vidéos et d'images.",
    "Insertion progressive de menus végétariens dans les cantines.",
    "Apprentissage du vélo : insertion dans la circulation en toute sécurité.",
]
RESERVED_WORDS = [
    "Le pouvoir adjudicateur se réserve le droit de ne pas donner suite.",
    "L'acheteur se réserve la possibilité de négocier.",
    "Aménagement de voies réservées et de couloirs réservés aux bus.",
    "Les véhicules comportent des places réservées aux accompagnateurs.",
    "Lavage sur l'aire réservée aux véhicules municipaux.",
    "La prestation est réservée à une profession déterminée (notaires).",
    "Le cadre réservé à l'administration ne doit pas être rempli.",
]
OTHER_CLAUSES = [
    "Le marché comporte une clause de revoyure des prix.",
    "Une clause de réexamen permet de modifier le contrat.",
    "Clause de sauvegarde, clause de variation des prix et clause Molière.",
    "Clause de confidentialité et clause de réversibilité des données.",
    "Clauses sociales : le titulaire respecte le code du travail relatif au travail dissimulé.",
    "Le marché comporte une clause environnementale sur les déchets.",
]
BOILERPLATE = [
    "Prise en compte des objectifs de développement durable dans leurs dimensions économique, sociale et environnementale.",
    "Déclaration sur l'honneur du candidat justifiant qu'il est en règle au regard des articles L. 5212-1 à L. 5212-11 du code du travail concernant l'emploi des travailleurs handicapés.",
    "Déclaration sur l'honneur attestant qu'il entre dans les cas prévus à l'article L 2113-12 du code de la commande publique pour pouvoir soumissionner aux marchés publics réservés.",
    "Mission de maîtrise d'oeuvre relative à la construction d'un ESAT et d'un service d'accueil de jour.",
    "Travaux de mise en accessibilité pour les personnes handicapées et à mobilité réduite.",
    "Le candidat précisera s'il relève de l'économie sociale et solidaire (données statistiques).",
    "Article 36 - Délais de paiement : trente jours.",
    "Article 14 - Pénalités de retard.",
]
LOT_WORDS = [
    "Fourniture d'un lot de six véhicules utilitaires.",
    "Le marché fait l'objet d'un lot unique.",
    "Le CCTP décompose les travaux en lots techniques (couverture, zinguerie) à titre descriptif.",
    "Division en lots : non.",
    "Création d'un lotissement de 12 parcelles.",
]


@pytest.mark.parametrize("text", SOCIAL_WORDS)
def test_social_in_another_sense(classify, text):
    assert labels_of(classify(text)) == set()


@pytest.mark.parametrize("text", INSERTION_WORDS)
def test_insertion_in_another_sense(classify, text):
    assert labels_of(classify(text)) == set()


@pytest.mark.parametrize("text", RESERVED_WORDS)
def test_reserved_in_another_sense(classify, text):
    result = classify(text)
    assert labels_of(result) == set()
    assert result["conflicts"] == []


@pytest.mark.parametrize("text", OTHER_CLAUSES)
def test_clauses_with_other_names(classify, text):
    assert labels_of(classify(text)) == set()


@pytest.mark.parametrize("text", BOILERPLATE)
def test_boilerplate_and_handicap_vocabulary(classify, text):
    assert labels_of(classify(text)) == set()


@pytest.mark.parametrize("text", LOT_WORDS)
def test_lot_words_that_are_not_allotment(classify, text):
    assert not classify(text)["labels"]["allotted"]


def test_a_service_named_after_the_clause_is_not_a_clause(classify):
    text = "Le suivi est assuré par la cellule clauses sociales de l'agglomération."
    assert labels_of(classify(text)) == set()
