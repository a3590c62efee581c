"""Issue 9: the confusers met in real notices must not raise a social label.

One test per confuser family, each with our own phrasings and quotes of real notices
(``tests/fixtures/real``, see its PROVENANCE.md; BOAMP: Licence Ouverte, DILA). Every text is
wrapped in an ordinary notice so the rules see the same layout as in the real sets.
"""

from __future__ import annotations

import pytest

from tests.classifier.helpers import labels_of

SOCIAL = {
    "insertion_clause",
    "insertion_criterion",
    "reserved_siae",
    "reserved_disability",
    "insertion_contract",
    "reserved_other",
}


def notice(body: str, buyer: str = "Commune de Saint-Martin") -> str:
    return (
        f"Acheteur : {buyer}\n"
        "Objet : Travaux de réfection de la voirie communale\n"
        "Modalités essentielles de financement et de paiement : Ressources propres.\n"
        f"Autres conditions particulières : {body}\n"
    )


def social_labels(classify, text: str, published: str = "2021-03-01") -> set[str]:
    return labels_of(classify(text, published=published)) & SOCIAL


FAMILIES: dict[str, list[str]] = {
    "profession": [
        # real (TED 2020, III.1.10 / III.2.1 of the standard form)
        "La prestation est réservée à une profession particulière : oui. Citation des "
        "dispositions législatives, réglementaires ou administratives applicables : Code des "
        "assurances.",
        "la participation est réservée à la profession d'architecte (loi n° 77-2 du 3 janvier "
        "1977 sur l'architecture).",
        "La prestation est réservée aux avocats inscrits à un barreau français.",
        "La mission est réservée aux géomètres-experts inscrits à l'Ordre.",
        "Le marché est réservé aux entreprises titulaires de la licence de transport intérieur "
        "de voyageurs.",
        "La réservation de berceaux est réservée aux crèches agréées par la CAF.",
    ],
    "european_operators": [
        # real (boamp-21-1574)
        "Conformément aux articles R. 2342-7 et R. 2342-8 du Décret 2018-1075 du 03.12.2018, il "
        "est précisé que la présente procédure est réservée aux opérateurs économiques "
        "européens.",
        "Le marché est réservé aux opérateurs économiques établis dans l'Union européenne.",
    ],
    "sme_share": [
        # real (boamp-21-1924)
        "Une part de 10% doit être réservée aux petites et moyennes entreprises ou à des "
        "artisans pour l'exécution de ce marché comme le précise l'article 2 de l'ordonnance "
        "no2020-738 du 17 juin 2020.",
        "Le titulaire réservera au moins 10 % du montant du marché à des PME.",
    ],
    "negated_reservation": [
        "Marché réservé : non.",
        "Marché réservé : Non",
        "La participation n'est pas réservée à des ateliers protégés ou à des structures "
        "d'insertion par l'activité économique.",
        "Le présent marché n'est pas réservé au titre des articles L. 2113-12 à L. 2113-16 du "
        "code de la commande publique.",
        "Réservation de tout ou partie du marché : Non.",
    ],
    "negated_clause": [
        "Conditions d'exécution à caractère social : Non",
        "Éléments à caractère social : néant",
        "Clause sociale : sans objet",
        "Le marché ne comporte pas de conditions d'exécution à caractère social.",
        "Les conditions d'exécution peuvent comporter des éléments à caractère social ou "
        "environnemental.",
        "Marché réservé : Non. Clause sociale : Non. Clause environnementale : Oui.",
    ],
    "empty_reserved_heading": [
        "III.1.5) Informations sur les marchés réservés\nIII.2) Conditions liées au marché",
        "III.1.5)Informations sur les marchés réservés :\nIII.1.6)Cautionnement et garanties",
    ],
    "l5212_declaration": [
        # real (boamp-20-100334, boamp-20-100843)
        "extrait KbisRenseignements sur l'obligation d'emploi mentionnée aux articles L5212-1 à "
        "L5212-11 du Code du travail",
        "Déclaration sur l'honneur du candidat attestant qu'il est en règle, au cours de l'année "
        "précédant celle au cours de laquelle a lieu le lancement de la consultation, au regard "
        "des articles L. 5212-1, L. 5212-2, L. 5212 5 et L. 5212-9 du code du travail, concernant "
        "l'emploi des travailleurs handicapés- Formulaire Dc1, Lettre de candidature",
        "Déclaration sur l'honneur du candidat justifiant qu'il a satisfait aux obligations "
        "relatives à l'emploi des travailleurs handicapés prévues aux articles L. 5212-1 à "
        "L. 5212-11 du code du travail.",
        "Le candidat fournit la déclaration relative à l'obligation d'emploi des travailleurs "
        "handicapés (art. L5212-2 du code du travail).",
    ],
    "services_sociaux_form": [
        # real (ted-384078-2020)
        "Marché de douze mois reconductible trois fois douze mois procédure adaptée (article "
        "R. 2123-1 3o et du code de la commande publique): ce marché ayant pour objet des "
        "services postaux, il est passé conformément aux règles applicables.",
        "Avis de marché - services sociaux et autres services spécifiques. Procédure adaptée "
        "en application de l'article R. 2123-1 3° du code de la commande publique.",
        "Procédure adaptée (article R2123-1 du code de la commande publique).",
        "Le marché a pour objet des prestations de services sociaux et autres services "
        "spécifiques : accueil de jour des personnes âgées.",
    ],
    "buyer_names": [
        notice("Retenue de garantie de 5 %.", buyer="CCAS de la Ville de Nantes"),
        notice(
            "Retenue de garantie de 5 %.",
            buyer="Caisse primaire d'assurance maladie - sécurité sociale",
        ),
        notice("Retenue de garantie de 5 %.", buyer="Entreprise sociale pour l'habitat Logéal"),
        notice("Retenue de garantie de 5 %.", buyer="Comité des oeuvres sociales du personnel"),
        notice("Retenue de garantie de 5 %.", buyer="Centre municipal d'action sociale"),
        notice("Paiement à 30 jours.", buyer="Immobilière insertion défense emploi"),
    ],
    "siae_lookalikes": [
        notice("Virement bancaire.", buyer="MINDEF/AIR/SIAé/AIA CF"),
        notice("Virement bancaire.", buyer="MINDEF/AIR/SIAé/AIA de Cuers Pierrefeu"),
        notice("Paiement par mandat administratif.", buyer="SIAEP de la région de Vic"),
        notice(
            "Paiement par mandat administratif.",
            buyer="Syndicat intercommunal d'adduction d'eau potable (SIAEP) du Val",
        ),
    ],
    "technical_insertion": [
        "Les travaux comprennent l'insertion paysagère des ouvrages et l'insertion urbaine du "
        "tramway.",
        "Insertion des annonces légales dans un journal habilité.",
        "Prestations de qualification des stérilisateurs à chaleur humide et basse température.",
        "Le présent marché a pour objet l'achat de fournitures de bureau et de papier.",
        "Fourniture de prestations de maintenance et prestations de qualification pour les "
        "stérilisateurs installés dans l'ensemble des établissements.",
        "Le marché a pour objet la qualification des équipements de laboratoire.",
    ],
    "support_wording": [
        "Le support technique et la maintenance sont assurés par le titulaire ; les personnes "
        "en insertion sont accompagnées par le PLIE.",
    ],
    "staff_takeover": [
        # real (boamp-20-100283)
        "Une clause de reprise du personnel s'applique sur le marché, au regard de la convention "
        "collective de ce secteur d'activité.",
        "Clause sociale de reprise du personnel : le titulaire reprendra les salariés affectés "
        "au marché.",
        "Clauses sociales : le titulaire respecte la convention collective nationale des "
        "entreprises de propreté et l'avenant n°7.",
        "Clause de reprise du personnel : le titulaire reprendra les salariés affectés au "
        "marché conformément à l'accord collectif de la propreté.",
        "Le titulaire est tenu de reprendre le personnel du prestataire sortant (article 7 de "
        "la convention collective).",
    ],
    "environmental_only": [
        "Le présent marché prévoit des conditions d'exécution des prestations comportant des "
        "éléments à caractère environnemental (article 1.5.2 du CCAP).",
        "Conformément à l'article L2112-2 du code de la commande publique, les conditions "
        "d'exécution comportent des éléments à caractère environnemental : tri des déchets.",
        "Clause d'exécution environnementale : nettoyage et tri des déchets.",
    ],
    "optional_insertion": [
        "Il est recommandé au titulaire de recourir à des personnes éloignées de l'emploi.",
        "Le titulaire a la possibilité de réaliser des heures d'insertion.",
        # real (boamp-21-35762)
        "Clause incitative pour l'insertion de bénéficiaires du RSA (lots 6 et 7)",
        "Le titulaire est encouragé à recourir à des personnes éloignées de l'emploi.",
        "Le candidat pourra proposer, à titre facultatif, une action d'insertion.",
    ],
    "social_not_insertion": [
        "Conditions d'exécution à caractère social : respect de l'égalité entre les femmes et "
        "les hommes.",
        "Les considérations sociales et environnementales sont prises en compte dans le choix "
        "des produits.",
        "Critère n°3 : performance sociale et environnementale (10 %).",
    ],
    "buyer_policy": [
        # real (III.2.2 of a 2020 notice)
        "La collectivité s'engage dans une politique d'achat responsable visant à avoir des "
        "impacts sociaux positifs, notamment la création d'emplois.",
        "Le maître d'ouvrage s'est engagé dans une politique volontariste en faveur de l'emploi.",
    ],
    "service_users": [
        # jobseekers as the users of the service bought (training, accompaniment), not people
        # the contractor must employ
        "Objet : Formation qualifiante des demandeurs d'emploi. Le titulaire devra assurer la "
        "formation de 12 demandeurs d'emploi par session de 400 heures.",
        "Prestations d'accompagnement vers l'emploi des bénéficiaires du RSA. Le prestataire "
        "devra accompagner 150 bénéficiaires du RSA.",
        "Le prestataire devra employer du personnel qualifié et former les salariés en "
        "situation de handicap.",
        "Le titulaire doit respecter la clause de confidentialité ; accueil des jeunes en "
        "insertion professionnelle par la mission locale.",
    ],
    "generic_criterion": [
        "Le marché comprend des critères d'attribution à caractère social.Le marché comprend "
        "des critères d'attribution à caractère environnemental.",
        "Critères d'attribution : prix 60 % ; valeur technique 30 % ; critère environnemental "
        "et social 10 %.",
        "Critères : prix (50 %), critères sociaux et environnementaux (10 %), délai (40 %).",
    ],
}


@pytest.mark.parametrize(
    ("family", "text"),
    [(family, text) for family, texts in FAMILIES.items() for text in texts],
    ids=[f"{family}-{i}" for family, texts in FAMILIES.items() for i in range(len(texts))],
)
def test_confuser_raises_no_social_label(classify, family, text):
    body = text if text.startswith("Acheteur") else notice(text)
    assert social_labels(classify, body) == set(), (family, text)


def test_l2113_13_as_the_basis_of_an_execution_clause_is_a_clause_not_a_reservation(classify):
    # real (boamp-21-16791): the reservation article cited for an insertion clause
    text = notice(
        "Nîmes Métropole, dans un souci de promotion de l'emploi et de lutte contre "
        "l'exclusion, a décidé de faire application des dispositions de l'article L.2113-15 du "
        "Code de la commande publique, en incluant dans le cahier des charges de ce marché "
        "public une clause obligatoire d'exécution en faveur de l'insertion professionnelle."
    )
    assert social_labels(classify, text) == {"insertion_clause"}
    text = notice(
        "En application de l'article L. 2113-13 du code de la commande publique, le titulaire "
        "réservera 300 heures de travail à des personnes éloignées de l'emploi."
    )
    assert social_labels(classify, text) == {"insertion_clause"}


@pytest.mark.parametrize(
    "body",
    [
        "Un volume de 500 heures est réservé aux personnes en insertion, notamment via les SIAE "
        "(article L2113-13 du CCP).",
        "En application de l'article L2113-13, une partie des heures de travail est réservée à "
        "des personnes éloignées de l'emploi.",
        "Les heures d'insertion sont réservées aux publics éloignés de l'emploi (L. 2113-13).",
        "En application de l'article L2113-15 du CCP, le titulaire devra réaliser une action "
        "d'insertion de 300 heures.",
        "Marché réservé : non. Clause d'insertion : 150 heures.",
    ],
)
def test_reserved_hours_under_a_reservation_article_are_a_clause(classify, body):
    assert social_labels(classify, notice(body)) == {"insertion_clause"}


def test_hiring_jobseekers_is_still_a_clause(classify):
    text = notice(
        "Le titulaire s'engage à recruter 2 demandeurs d'emploi de longue durée pendant "
        "l'exécution du marché."
    )
    assert social_labels(classify, text) == {"insertion_clause"}


def test_genuine_reservations_next_to_the_confusers_still_count(classify):
    """The confuser rules must not eat real reservations (the other side of the coin)."""
    text = notice(
        "Marché réservé aux structures d'insertion par l'activité économique conformément aux "
        "dispositions de l'article L 2113-13 du Code de la commande publique",
        buyer="MINDEF/AIR/SIAé",
    )
    assert social_labels(classify, text) == {"reserved_siae"}
    text = notice("Marché réservé à une structure employant des personnes handicapées")
    assert social_labels(classify, text) == {"reserved_disability"}
