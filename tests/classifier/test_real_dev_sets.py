"""Issue 9 thresholds on the real development sets (``tests/fixtures/real``, PROVENANCE.md).

Figures reached when the issue was closed (``tenderwatch evaluate --gold …``):

* dev-2020-08 (192 real notices, 191 without any social label): 0 false social alert;
* boamp-2021q1-dev (350 real clause sections): social labels precision 1.0, recall 1.0
  (131/131), 0 false alert out of 220 ordinary notices, hours exact on 15 of 16;
* golden dev set: social recall 1.0 (as before the issue).

The asserts keep a small margin under those figures; the false-alert target of the issue is
at most 1 in 500, so over the 411 ordinary real notices none is allowed.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tenderwatch.classifier import Classifier, NoticeInput
from tenderwatch.classifier.evaluation import evaluate

REAL = Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "real"


def _load(name: str) -> list[dict]:
    path = REAL / name
    assert path.exists(), f"real development set not found: {path}"
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def _classify(clf: Classifier, rows: list[dict]) -> list[dict]:
    return list(
        clf.classify_many(
            NoticeInput(
                id=r["id"], text=r["text"], title=r.get("title"), published=r.get("published")
            )
            for r in rows
        )
    )


@pytest.fixture(scope="module")
def august_2020(clf: Classifier) -> dict:
    rows = _load("dev-2020-08.jsonl")
    return evaluate(rows, _classify(clf, rows))


@pytest.fixture(scope="module")
def boamp_2021(clf: Classifier) -> dict:
    rows = _load("boamp-2021q1-dev.jsonl")
    return evaluate(rows, _classify(clf, rows))


def test_no_false_social_alert_on_ordinary_real_notices(august_2020, boamp_2021):
    alerts = august_2020["false_alerts"]["notices"] + boamp_2021["false_alerts"]["notices"]
    ordinary = august_2020["false_alerts"]["ordinary"] + boamp_2021["false_alerts"]["ordinary"]
    assert ordinary == 191 + 220
    # at most 1 in 500 (issue 9): none over these 411 notices
    assert alerts == [], alerts


def test_social_labels_on_real_clause_sections(boamp_2021):
    social = boamp_2021["social"]
    assert social["recall"] >= 0.97, [m for m in boamp_2021["mistakes"] if m["error"] == "FN"]
    assert social["precision"] >= 0.98, [m for m in boamp_2021["mistakes"] if m["error"] == "FP"]
    for label in ("insertion_clause", "reserved_siae", "reserved_disability"):
        figures = boamp_2021["labels"][label]
        assert figures["recall"] >= 0.97 and figures["precision"] >= 0.98, (label, figures)


def test_allotment_is_not_scored_where_the_gold_says_null(boamp_2021):
    figures = boamp_2021["labels"]["allotted"]
    assert figures["tp"] + figures["fp"] + figures["fn"] + figures["tn"] == 0
    assert boamp_2021["lots"]["total"] == 0


def test_insertion_hours_on_real_clauses(boamp_2021):
    hours = boamp_2021["hours"]
    assert hours["gold_total"] == 16
    assert hours["gold_accuracy"] >= 0.9, [
        m for m in boamp_2021["mistakes"] if m["label"] == "hours"
    ]


def test_golden_recall_is_not_lower(golden, golden_predictions):
    report = evaluate(golden, golden_predictions)
    assert report["social"]["recall"] >= 0.99
    assert report["false_alerts"]["count"] == 0
