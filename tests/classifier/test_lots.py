"""Lots: id normalisation, layouts, scope of statements that name lots, lots per bidder."""

from __future__ import annotations

import pytest

from tenderwatch.classifier.lots import (
    find_headers,
    find_mentions,
    max_lots_per_bidder,
    normalise_lot_id,
)
from tenderwatch.classifier.normalise import fold
from tests.classifier.helpers import lots_of


@pytest.mark.parametrize(
    ("raw", "lot_id"),
    [
        ("Lot n° 03", "3"),
        ("LOT 3", "3"),
        ("lot trois", "3"),
        ("LOT-0003", "3"),
        ("3", "3"),
        ("2a", "2A"),
        ("Lot 2A", "2A"),
        ("lot n°12", "12"),
        ("LOT-0000", None),
        ("0", None),
        ("", None),
        (None, None),
    ],
)
def test_lot_id_normalisation(raw, lot_id):
    assert normalise_lot_id(raw) == lot_id


@pytest.mark.parametrize(
    ("text", "ids"),
    [
        ("Pour les lots 1 à 3, le titulaire", ["1", "2", "3"]),
        ("le lot 4 est réservé", ["4"]),
        ("lots 2 et 5", ["2", "5"]),
        ("les lots 1, 2, 4 et 9 uniquement", ["1", "2", "4", "9"]),
        ("les titulaires des lots 1 (gros œuvre) et 2 (charpente) s'engagent", ["1", "2"]),
        ("lot n° 3 et lot n° 5", ["3", "5"]),
        ("LOT-0002", ["2"]),
    ],
)
def test_mentions(text, ids):
    mentions = find_mentions(fold(text))
    assert [lot for m in mentions for lot in m.ids] == ids


def test_quantities_after_a_lot_are_not_lots():
    mentions = find_mentions(fold("lot 1, 1 200 heures ; lots 4 et 5, 500 heures chacun"))
    assert [m.ids for m in mentions] == [["1"], ["4", "5"]]


def test_exclusions():
    mentions = find_mentions(fold("Les lots 7 et 8 ne sont pas concernés ; sauf le lot 3."))
    assert [(m.ids, m.excluded) for m in mentions] == [(["7", "8"], True), (["3"], True)]


@pytest.mark.parametrize(
    ("text", "ids", "first_title"),
    [
        ("Lot n° 1 : Gros œuvre.\nLot n° 2 : Peinture.", ["1", "2"], "Gros oeuvre"),
        ("Lot(s) 1. - VRD.\nLot(s) 2. - Gros œuvre.", ["1", "2"], "VRD"),
        ("- Lot 1 : Grande-Terre\n- Lot 2 : Basse-Terre", ["1", "2"], "Grande-Terre"),
        ("Lot no : 1 Intitulé : Collèges\nLot no : 2 Intitulé : Lycées", ["1", "2"], "Colleges"),
        (
            "II.2.1) Intitulé : Hôtel de ville Lot nº : 1\nII.2.1) Intitulé : Écoles Lot nº : 2",
            ["1", "2"],
            "Hotel de ville",
        ),
        (
            "II.2.1)Intitulé:\nNautilis\nLot nº: 1\nII.2.1)Intitulé:\nCarat\nLot nº: 2",
            ["1", "2"],
            "Nautilis",
        ),
        (
            "5.1 Lot : LOT-0001\nTitre : Voirie\n5.1 Lot : LOT-0002\nTitre : Réseaux",
            ["1", "2"],
            "Voirie",
        ),
        (
            "Lot n° 1\nDescription du lot : Dommages\nLot n° 2\nDescription du lot : Flotte",
            ["1", "2"],
            "Dommages",
        ),
        ("Lot 1 :\nAgence centre\n\nLot 2 :\nAgence nord", ["1", "2"], "Agence centre"),
        ("LOT 01 - Maçonnerie\nLOT 02 - Charpente", ["1", "2"], "Maconnerie"),
    ],
)
def test_layouts(text, ids, first_title):
    norm = fold(text)
    layout = find_headers(norm)
    assert list(dict.fromkeys(h.lot_id for h in layout.headers)) == ids
    start, end = layout.headers[0].title
    assert norm[start:end] == first_title


def test_eforms_single_lot_is_not_allotment(classify):
    result = classify(
        "5.1 Lot : LOT-0000\nTitre : Collecte des déchets\nLe marché n'est pas alloti."
    )
    assert not result["labels"]["allotted"]
    assert result["lots"] == []


def test_titles_are_quoted_from_the_input(classify):
    text = "Division en lots : oui\nLot n° 1 : Désamiantage – curage.\nLot n° 2 : Œuvres d’art."
    result = classify(text)
    assert [(lot["id"], lot["title"]) for lot in result["lots"]] == [
        ("1", "Désamiantage – curage"),
        ("2", "Œuvres d’art"),
    ]


BASE = (
    "Le marché est divisé en 5 lots.\nLot n° 1 : Voirie.\nLot n° 2 : Réseaux.\nLot n° 3 : Espaces verts.\n"
    "Lot n° 4 : Nettoyage.\nLot n° 5 : Signalisation.\n"
)


def test_a_statement_naming_a_range_applies_to_those_lots(classify):
    result = classify(
        BASE
        + "Pour les lots 1 à 3, le titulaire réserve 5 % des heures à des personnes éloignées de l'emploi."
    )
    assert lots_of(result) == {
        "1": {"insertion_clause"},
        "2": {"insertion_clause"},
        "3": {"insertion_clause"},
        "4": set(),
        "5": set(),
    }


def test_a_statement_naming_one_lot_applies_to_it_only(classify):
    result = classify(
        BASE
        + "Le lot 4 est réservé aux structures d'insertion par l'activité économique (L. 2113-13)."
    )
    assert lots_of(result) == {
        "1": set(),
        "2": set(),
        "3": set(),
        "4": {"reserved_siae"},
        "5": set(),
    }
    assert [e["lot"] for e in result["evidence"] if e["label"] == "reserved_siae"] == ["4"]


def test_a_statement_naming_a_list_gets_one_evidence_record_per_lot(classify):
    result = classify(BASE + "Les lots 2 et 5 comportent une clause d'insertion.")
    assert {k for k, v in lots_of(result).items() if v} == {"2", "5"}
    assert sorted(e["lot"] for e in result["evidence"] if e["label"] == "insertion_clause") == [
        "2",
        "5",
    ]


def test_a_whole_notice_statement_goes_to_every_lot(classify):
    result = classify(
        BASE + "Chaque titulaire réserve 5 % des heures à des personnes éloignées de l'emploi."
    )
    assert all(labels == {"insertion_clause"} for labels in lots_of(result).values())


def test_a_statement_inside_a_lot_section_stays_in_that_lot(classify):
    text = (
        "Nombre maximal de lots pour lesquels un soumissionnaire peut présenter une offre : 2\n"
        "5.1 Lot : LOT-0001\nTitre : Linge plat\nParticipation réservée : La participation n'est pas réservée.\n"
        "5.1 Lot : LOT-0002\nTitre : Linge des résidents\n"
        "Lot réservé aux entreprises adaptées et aux établissements et services d'aide par le travail.\n"
        "8. Organisations\n"
    )
    assert lots_of(classify(text)) == {"1": set(), "2": {"reserved_disability"}}


def test_lots_per_bidder():
    assert (
        max_lots_per_bidder(
            fold("Nombre maximal de lots pouvant être attribués à un soumissionnaire : 4")
        )
        == 4
    )
    assert (
        max_lots_per_bidder(fold("un même candidat ne pourra se voir attribuer plus de deux lots"))
        == 2
    )
    assert (
        max_lots_per_bidder(
            fold("Il est possible de soumettre des offres pour un nombre maximal de lots : 1")
        )
        == 1
    )
    assert max_lots_per_bidder(fold("Lots techniques")) is None
