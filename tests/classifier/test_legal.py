"""Reference §4.8: every typographic variant of an article reference → norm and generation."""

from __future__ import annotations

import pytest

from tenderwatch.classifier.legal import (
    describe,
    find_references,
    generation_from_date,
    legal_basis,
)
from tenderwatch.classifier.normalise import fold


def norms(text: str) -> list[str]:
    return [n for ref in find_references(fold(text)) for n in ref.norms]


@pytest.mark.parametrize(
    ("text", "norm", "generation"),
    [
        ("L. 2113-13", "CCP:L2113-13", "CCP"),
        ("L.2113-13", "CCP:L2113-13", "CCP"),
        ("L 2113-13", "CCP:L2113-13", "CCP"),
        ("L2113-13", "CCP:L2113-13", "CCP"),
        ("art. L. 2113-13", "CCP:L2113-13", "CCP"),
        ("article L2113-13 du CCP", "CCP:L2113-13", "CCP"),
        ("L. 2113\u201113", "CCP:L2113-13", "CCP"),  # non-breaking hyphen
        ("L. 2113\u201313", "CCP:L2113-13", "CCP"),  # en dash
        ("L2113-13-1", "CCP:L2113-13-1", "CCP"),
        ("R. 2123-1, 3°", "CCP:R2123-1", "CCP"),
        ("R2123-1 3°", "CCP:R2123-1", "CCP"),
        ("R. 2152-7 2° a)", "CCP:R2152-7", "CCP"),
        ("art. 14 du CMP", "CMP:14", "CMP"),
        ("article 14 du code des marchés publics", "CMP:14", "CMP"),
        ("art. 53-I du CMP", "CMP:53-I", "CMP"),
        ("art. 53 I du CMP", "CMP:53-I", "CMP"),
        ("art.30 du CMP", "CMP:30", "CMP"),
        ("art. 36-II de l'ordonnance", "ORD2015:36-II", "ORD2015"),
        ("article 36 II de l'ordonnance n° 2015-899", "ORD2015:36-II", "ORD2015"),
        ("article 36-1 de l'ordonnance n° 2015-899", "ORD2015:36-I", "ORD2015"),
        ("article 38 de l'ordonnance du 23 juillet 2015", "ORD2015:38", "ORD2015"),
        ("art 62 du décret 2016-360", "DEC2016:62", "DEC2016"),
        ("article 28 du décret n°2016-360", "DEC2016:28", "DEC2016"),
        ("article L. 5132-4 du code du travail", "CT:L5132-4", None),
        ("article L. 344-2 du code de l'action sociale et des familles", "CASF:L344-2", None),
    ],
)
def test_variants(text, norm, generation):
    refs = find_references(fold(text))
    assert refs, text
    assert refs[0].norm == norm
    assert refs[0].generation == generation


def test_ranges_and_lists_cover_every_article():
    assert norms("articles L.2113-12 à L.2113-16") == [f"CCP:L2113-{i}" for i in range(12, 17)]
    assert norms("articles L. 2113-12 et L. 2113-13") == ["CCP:L2113-12", "CCP:L2113-13"]
    assert norms("articles 36 et 37 de l'ordonnance") == ["ORD2015:36", "ORD2015:37"]


@pytest.mark.parametrize(
    "text",
    [
        "Article 14 - Pénalités de retard",
        "article 14 du CCAP",
        "Article 36 : paiement",
        "article 3 de l'ordonnance n° 2018-1074",  # another ordonnance
        "article 2 du décret n° 2022-767",  # another décret
        "article 1er de la loi n° 2014-856",
    ],
)
def test_a_bare_article_number_is_not_an_old_text(text):
    assert [
        r for r in find_references(fold(text)) if r.generation in ("CMP", "ORD2015", "DEC2016")
    ] == []


@pytest.mark.parametrize(
    ("published", "generation"),
    [
        ("2010-02-09", "CMP"),
        ("2016-03-31", "CMP"),
        ("2016-04-01", "ORD2015"),
        ("2019-03-31", "ORD2015"),
        ("2019-04-01", "CCP"),
        ("2026-05-12", "CCP"),
        (None, None),
        ("pas une date", None),
    ],
)
def test_generation_from_the_publication_date(published, generation):
    assert generation_from_date(published) == generation


def test_the_article_decides_the_generation_before_the_date():
    ref = find_references(fold("article 14 du code des marchés publics"))[0]
    assert legal_basis(ref, "article 14", "2024-01-01")["generation"] == "CMP"
    labour = find_references(fold("article L. 5132-4 du code du travail"))[0]
    assert legal_basis(labour, "L. 5132-4", "2017-06-01")["generation"] == "ORD2015"


def test_articles_in_words():
    assert describe("CCP:L2113-13") == "article L. 2113-13 du code de la commande publique"
    assert describe("CMP:14") == "article 14 du code des marchés publics"
    assert (
        describe("ORD2015:36-II") == "article 36-II de l'ordonnance n° 2015-899 du 23 juillet 2015"
    )


def test_legal_basis_in_results(classify):
    result = classify(
        "Le marché est réservé aux structures d'insertion par l'activité économique "
        "(art. L.2113-13 du code de la commande publique).",
        published="2022-01-10",
    )
    basis = result["evidence"][0]["legal_basis"]
    assert basis == {"raw": "L.2113-13", "norm": "CCP:L2113-13", "generation": "CCP"}
