"""The golden development set: thresholds, evidence offsets, lot-label consistency."""

from __future__ import annotations

from tenderwatch.classifier import LABELS, MODEL_VERSION
from tenderwatch.classifier.evaluation import evaluate

SOCIAL = [label for label in LABELS if label != "allotted"]
F1_MIN = 0.95
PRECISION_MIN = {"insertion_clause": 0.97, "reserved_siae": 0.97, "reserved_disability": 0.97}


def test_every_label_reaches_the_targets(golden, golden_predictions):
    report = evaluate(golden, golden_predictions)
    for label in LABELS:
        figures = report["labels"][label]
        assert figures["f1"] >= F1_MIN, (
            label,
            figures,
            [m for m in report["mistakes"] if m["label"] == label],
        )
    for label, minimum in PRECISION_MIN.items():
        assert report["labels"][label]["precision"] >= minimum, (label, report["labels"][label])


def test_lot_attribution_and_hours_stay_high(golden, golden_predictions):
    report = evaluate(golden, golden_predictions)
    assert report["lots"]["accuracy"] >= 0.9, [m for m in report["mistakes"] if m["label"] == "lot"]
    assert report["hours"]["accuracy"] >= 0.9, [
        m for m in report["mistakes"] if m["label"] == "hours"
    ]


def test_one_result_per_notice_in_order_with_the_contract_keys(golden, golden_predictions):
    assert [r["id"] for r in golden_predictions] == [g["id"] for g in golden]
    for result in golden_predictions:
        assert result["model_version"] == MODEL_VERSION
        assert list(result["labels"]) == list(LABELS)
        assert result["error"] is None
        for key in ("lots", "insertion_hours", "evidence", "max_lots_per_bidder", "conflicts"):
            assert key in result


def test_every_quote_is_the_input_text_at_its_offsets(golden, golden_predictions):
    texts = {g["id"]: g["text"] for g in golden}
    count = 0
    for result in golden_predictions:
        text = texts[result["id"]]
        for ev in result["evidence"]:
            assert text[ev["start"] : ev["end"]] == ev["quote"], (result["id"], ev)
            if ev["legal_basis"]:
                assert ev["legal_basis"]["raw"] in text
            count += 1
    assert count > 250


def test_every_positive_label_has_evidence(golden_predictions):
    for result in golden_predictions:
        for label, value in result["labels"].items():
            if value:
                assert any(e["label"] == label and not e["negated"] for e in result["evidence"]), (
                    result["id"],
                    label,
                )


def test_allotted_results_share_their_labels_out_to_the_lots(golden_predictions):
    allotted = [r for r in golden_predictions if r["labels"]["allotted"]]
    assert allotted
    for result in allotted:
        assert result["lots"], result["id"]
        union = set().union(*(set(lot["labels"]) for lot in result["lots"]))
        social = {label for label in SOCIAL if result["labels"][label]}
        assert union == social, result["id"]
    for result in golden_predictions:
        if not result["labels"]["allotted"]:
            assert result["lots"] == []


def test_hours_are_only_given_with_an_insertion_clause(golden_predictions):
    for result in golden_predictions:
        if result["insertion_hours"] is not None:
            assert result["labels"]["insertion_clause"], result["id"]
