"""evaluate(): ``null`` gold labels are not scored; false social alerts are counted « N / M »;
the report lists the mistakes (issue 9)."""

from __future__ import annotations

from tenderwatch.classifier import LABELS
from tenderwatch.classifier.evaluation import evaluate, format_report


def record(notice_id: str, positive: set[str], allotted: bool | None = False) -> dict:
    labels = {label: label in positive for label in LABELS}
    labels["allotted"] = allotted
    return {"id": notice_id, "labels": labels, "lots": [], "insertion_hours": None}


def test_null_labels_are_not_scored_and_false_alerts_are_counted():
    gold = [
        record("a", set(), allotted=None),
        record("b", set(), allotted=None),
        record("c", {"insertion_clause"}, allotted=None),
        record("d", set()),
    ]
    preds = [
        record("a", {"insertion_contract", "allotted"}, allotted=True),  # a false alert
        record("b", {"allotted"}, allotted=True),  # allotment not annotated: not an error
        record("c", {"insertion_clause"}),
        record("d", set()),
    ]
    report = evaluate(gold, preds)
    allotted = report["labels"]["allotted"]
    assert (allotted["tp"], allotted["fp"], allotted["fn"], allotted["tn"]) == (0, 0, 0, 1)
    assert report["false_alerts"]["count"] == 1
    assert report["false_alerts"]["ordinary"] == 3
    assert report["false_alerts"]["notices"] == [{"id": "a", "labels": ["insertion_contract"]}]
    social = report["social"]
    assert (social["tp"], social["fp"], social["fn"]) == (1, 1, 0)
    text = format_report(report)
    assert "Fausses alertes sociales : 1 / 3" in text
    assert "étiquettes sociales" in text
    assert "a  insertion_contract  FP" in text
    assert "Erreurs" not in format_report(report, mistakes=False)
