"""French number formats for hours, percentages and FTEs, in the parser and in results."""

from __future__ import annotations

import pytest

from tenderwatch.classifier.lots import find_mentions
from tenderwatch.classifier.normalise import fold
from tenderwatch.classifier.numerals import parse_number, parse_words
from tenderwatch.classifier.quantities import find_quantities


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("1 200", 1200),
        ("1\u00a0200", 1200),
        ("1\u202f200", 1200),
        ("1.200", 1200),
        ("30 000", 30000),
        ("5043", 5043),
        ("7,5", 7.5),
        ("deux mille", 2000),
        ("deux mille cinq cents", 2500),
        ("quatre-vingt-dix", 90),
        ("soixante-dix", 70),
        ("vingt et un", 21),
    ],
)
def test_numbers(text, value):
    assert parse_number(fold(text)) == value


def test_ordinary_words_are_not_numbers():
    assert parse_words("bonjour") is None
    assert parse_number("") is None


@pytest.mark.parametrize(
    ("text", "kind", "value"),
    [
        ("au moins 1 200 heures", "hours", 1200),
        ("1.200 h", "hours", 1200),
        ("1 200 heures de travail", "hours", 1200),
        ("deux mille heures d'insertion", "hours", 2000),
        ("10 % des heures travaillées", "percent", 10),
        ("7 pour cent des heures", "percent", 7),
        ("deux ETP", "fte", 2),
        ("3 équivalents temps plein", "fte", 3),
        (
            "Nombre d'heures de travail à réaliser au titre de l'engagement d'insertion : 5043",
            "hours",
            5043,
        ),
    ],
)
def test_quantities(text, kind, value):
    found = [q for q in find_quantities(fold(text)) if q.kind == kind]
    assert found and found[0].value == value


def test_a_percentage_of_hours_is_told_from_a_weight():
    (hours,) = find_quantities(fold("au moins 5 % des heures travaillées"))
    (weight,) = find_quantities(fold("Prix : 60 %"))
    assert hours.of_hours and not weight.of_hours


def test_lists_of_hours_are_summed():
    (q,) = [
        q
        for q in find_quantities(fold("respectivement 420, 280 et 105 heures"))
        if q.kind == "hours"
    ]
    assert q.values == (420, 280, 105) and q.value == 805


def test_lot_numbers_are_not_hours():
    text = fold("lot 1, 400 heures ; lot 2, 210 heures")
    blocked = [(m.start, m.end) for m in find_mentions(text)]
    assert len(blocked) == 2
    assert [q.value for q in find_quantities(text, blocked)] == [400, 210]


@pytest.mark.parametrize(
    ("text", "hours", "percent", "fte"),
    [
        (
            "Le titulaire réserve au moins 1 200 heures de travail à des personnes éloignées de l'emploi.",
            1200,
            None,
            None,
        ),
        (
            "Clause d'insertion : le titulaire consacre 1.500 h à des personnes en insertion.",
            1500,
            None,
            None,
        ),
        (
            "Clause d'insertion : deux mille heures réservées à des personnes éloignées de l'emploi.",
            2000,
            None,
            None,
        ),
        (
            "Le titulaire réserve 10 % des heures travaillées à des personnes éloignées de l'emploi.",
            None,
            10.0,
            None,
        ),
        (
            "Le titulaire s'engage à employer deux ETP en insertion, des personnes éloignées de l'emploi.",
            None,
            None,
            2.0,
        ),
    ],
)
def test_hours_percent_and_fte_in_results(classify, text, hours, percent, fte):
    result = classify(text)
    assert result["labels"]["insertion_clause"]
    assert result["insertion_hours"] == hours
    clause = next(e for e in result["evidence"] if e["label"] == "insertion_clause")
    assert clause["percent"] == percent
    assert clause.get("fte") == fte


def test_hours_per_lot_are_summed_and_totals_not_counted_twice(classify):
    per_lot = classify(
        "Clause d'insertion : 9 000 heures pour le lot 1 et 4 000 heures pour le lot 2."
    )
    assert per_lot["insertion_hours"] == 13000
    total = classify(
        "Une clause d'insertion est imposée pour un total de 3 200 heures (lot 1 : 1 200 h ; lot 2 : 2 000 h)."
    )
    assert total["insertion_hours"] == 3200
    each = classify(
        "Le marché est divisé en 3 lots.\nLot 1 : A.\nLot 2 : B.\nLot 3 : C.\n"
        "Chaque titulaire réalise 350 heures d'insertion sur la durée de son lot."
    )
    assert each["insertion_hours"] == 1050


def test_repeated_statements_count_once(classify):
    sentence = (
        "Conditions d'exécution : les titulaires réalisent ensemble 30 000 heures d'insertion.\n"
    )
    assert classify(sentence * 4)["insertion_hours"] == 30000


def test_activity_volume_of_an_insertion_contract_is_not_clause_hours(classify):
    text = (
        "Marché d'insertion et de qualification professionnelle ayant pour support l'entretien des berges. "
        "Chaque lot représente environ 6 000 heures de travail des salariés en insertion."
    )
    result = classify(text)
    assert result["labels"]["insertion_contract"]
    assert not result["labels"]["insertion_clause"]
    assert result["insertion_hours"] is None
