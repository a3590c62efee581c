"""Real notices (tests/fixtures/notices-text, BOAMP and TED, 2016-2020): clear cases only."""

from __future__ import annotations

import pytest

from tenderwatch.classifier import NoticeInput
from tests.classifier.helpers import labels_of


@pytest.fixture(scope="module")
def results(clf, real_notices):
    items = [
        NoticeInput(id=r["id"], text=r["text"], title=r.get("title"), published=r.get("published"))
        for r in real_notices.values()
    ]
    return {r["id"]: r for r in clf.classify_many(items)}


@pytest.mark.parametrize(
    ("notice_id", "expected"),
    [
        (
            "boamp-20-96685",
            {"insertion_contract"},
        ),  # "Services d'insertion et de qualification professionnelles"
        (
            "boamp-20-81064",
            {"insertion_clause"},
        ),  # "clause sociale d'insertion par l'activité économique"
        ("ted-379549-2020", {"insertion_clause"}),  # "Le marché comporte une clause d'insertion."
        ("boamp-20-100578", {"insertion_clause"}),  # "clause obligatoire d'insertion" (L. 2112-2)
        (
            "boamp-20-99796",
            {"insertion_criterion"},
        ),  # "Pertinence des mesures … heures d'insertion / Pondération"
        ("ted-379488-2020", {"insertion_clause", "allotted"}),  # five cleaning lots with a clause
        ("boamp-20-102215", {"insertion_clause", "allotted"}),  # clause on lots 1 and 2
    ],
)
def test_clear_positives(results, notice_id, expected):
    assert labels_of(results[notice_id]) == expected


def test_a_clause_limited_to_named_lots(results):
    lots = {lot["id"]: lot["labels"] for lot in results["boamp-20-102215"]["lots"]}
    assert (
        lots["1"] == ["insertion_clause"] and lots["2"] == ["insertion_clause"] and lots["3"] == []
    )


@pytest.mark.parametrize(
    "notice_id",
    [
        "boamp-20-101033",  # L5212 disabled-workers declaration only
        "boamp-20-100015",  # L5212 declaration
        "boamp-20-102204",  # DC1 declaration citing L 2113-12 "pour soumissionner aux marchés publics réservés"
        "boamp-20-102070",  # "insertions dans le paysage"; profession reserved to architects
        "boamp-20-102055",  # reserved to notaries
        "boamp-20-102404",  # reserved to insurers
        "boamp-xml-16-186063",  # "logements sociaux"
        "boamp-20-101728",  # "insertion sur le support publicitaire"
    ],
)
def test_real_hard_negatives(results, notice_id):
    assert labels_of(results[notice_id]) - {"allotted"} == set()


def test_res_ws_wording_without_article_is_flagged_not_labelled(results):
    result = results["boamp-20-102039"]
    assert labels_of(result) == set()
    assert {c["label"] for c in result["conflicts"]} == {"reserved_siae", "reserved_disability"}


def test_reserved_lots_without_type_are_flagged_per_lot(results):
    result = results["ted-379449-2020"]  # "Marché réservé." on lots 5, 8, 11, 19 (CPV: réinsertion)
    assert {c["lot"] for c in result["conflicts"]} == {"5", "8", "11", "19"}


def test_real_lot_lists(results):
    assert len(results["ted-379449-2020"]["lots"]) == 19
    assert [lot["title"] for lot in results["ted-379488-2020"]["lots"]][:2] == [
        "Nautilis",
        "Espace Carat",
    ]
    assert results["boamp-20-99771"]["max_lots_per_bidder"] == 1


def test_every_quote_is_exact_on_real_text(results, real_notices):
    for notice_id, result in results.items():
        text = real_notices[notice_id]["text"]
        for ev in result["evidence"]:
            assert text[ev["start"] : ev["end"]] == ev["quote"]
