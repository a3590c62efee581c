"""Fixtures of the classifier tests: one classifier per session (building the spaCy pipeline
takes a few seconds), the golden development set and the real notices."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tenderwatch.classifier import Classifier, NoticeInput

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures"
#: The golden set, copied into the fixtures (see its PROVENANCE.md); override
#: with TENDERWATCH_GOLDEN.
GOLDEN = Path(
    os.environ.get("TENDERWATCH_GOLDEN", ROOT / "tests" / "fixtures" / "golden" / "dev.jsonl")
)
REAL = FIXTURES / "notices-text" / "real-2016-2020.jsonl"


@pytest.fixture(scope="session")
def clf() -> Classifier:
    return Classifier()


@pytest.fixture(scope="session")
def golden() -> list[dict]:
    # The set ships with the repository: its absence is a failure, never a silent skip.
    assert GOLDEN.exists(), f"golden set not found: {GOLDEN}"
    with GOLDEN.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


@pytest.fixture(scope="session")
def golden_predictions(clf: Classifier, golden: list[dict]) -> list[dict]:
    """The whole golden set classified once for every test that needs it."""
    inputs = [
        NoticeInput(id=g["id"], text=g["text"], title=g.get("title"), published=g.get("published"))
        for g in golden
    ]
    return list(clf.classify_many(inputs))


@pytest.fixture(scope="session")
def real_notices() -> dict[str, dict]:
    with REAL.open(encoding="utf-8") as fh:
        rows = [json.loads(line) for line in fh if line.strip()]
    return {row["id"]: row for row in rows}


@pytest.fixture
def classify(clf: Classifier):
    """``classify(text, published=…, **kw)`` → result dict."""

    def run(text: str, published: str | None = "2024-05-02", **kw) -> dict:
        return clf.classify(NoticeInput(id=kw.pop("id", "t"), text=text, published=published, **kw))

    return run
