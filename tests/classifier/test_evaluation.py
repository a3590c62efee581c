"""evaluate() and format_report() on a tiny hand-made golden set."""

from __future__ import annotations

from tenderwatch.classifier import LABELS
from tenderwatch.classifier.evaluation import evaluate, format_report


def gold(notice_id: str, positive: set[str], lots=None, hours=None) -> dict:
    return {
        "id": notice_id,
        "labels": {label: label in positive for label in LABELS},
        "lots": lots or [],
        "insertion_hours": hours,
    }


def pred(notice_id: str, positive: set[str], lots=None, hours=None) -> dict:
    return {
        "id": notice_id,
        "labels": {label: label in positive for label in LABELS},
        "lots": lots or [],
        "insertion_hours": hours,
    }


def test_counts_lots_and_hours():
    golds = [
        gold(
            "a",
            {"insertion_clause", "allotted"},
            [{"id": "1", "labels": ["insertion_clause"]}, {"id": "2", "labels": []}],
            500,
        ),
        gold("b", set()),
        gold("c", {"reserved_siae"}),
    ]
    preds = [
        pred(
            "a",
            {"insertion_clause", "allotted"},
            [
                {"id": "01", "labels": ["insertion_clause"]},
                {"id": "2", "labels": ["insertion_clause"]},
            ],
            500,
        ),
        pred("b", {"insertion_clause"}),
        # "c" missing: counted as all-negative
    ]
    report = evaluate(golds, preds)
    clause = report["labels"]["insertion_clause"]
    assert (clause["tp"], clause["fp"], clause["fn"]) == (1, 1, 0)
    assert report["labels"]["reserved_siae"]["fn"] == 1
    assert report["missing_predictions"] == 1
    assert report["lots"]["total"] == 2 and report["lots"]["correct"] == 1  # "01" matches "1"
    assert report["lots"]["social_accuracy"] == 1.0
    assert report["hours"]["accuracy"] == 1.0
    text = format_report(report)
    for word in (
        "Étiquette",
        "Précision",
        "Rappel",
        "F1",
        "VP",
        "FP",
        "FN",
        "micro",
        "macro",
        "Attribution aux lots",
        "Heures d'insertion",
    ):
        assert word in text
    assert "insertion_clause" in text and "50,0 %" in text
