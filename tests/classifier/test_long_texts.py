"""Whole texts (issue #8): a clause after 400 000 characters is found, with exact offsets.

Long texts are built from the real notices of ``tests/fixtures/notices-text`` (see its
README): real notices without any social label, end to end, as padding.
"""

from __future__ import annotations

import itertools
import json

import pytest

from tenderwatch.classifier import Classifier, NoticeInput, chunks
from tenderwatch.classifier import classifier as classifier_module

from .conftest import REAL

#: Real notices with no social label and no lot (checked by ``padding`` below), and none
#: whose "II.2.x)" headings a lot-header rule could read as a lot "II".
PADDING_IDS = [
    "boamp-20-102039",
    "boamp-20-85052",
    "boamp-20-100420",
    "boamp-20-102070",
    "boamp-20-101173",
    "boamp-20-102404",
    "boamp-20-101533",
]


@pytest.fixture(scope="module")
def real() -> dict[str, dict]:
    with REAL.open(encoding="utf-8") as fh:
        rows = [json.loads(line) for line in fh if line.strip()]
    return {r["id"]: r for r in rows}


def positive(result: dict) -> set[str]:
    return {label for label, value in result["labels"].items() if value}


@pytest.fixture(scope="module")
def padding(clf: Classifier, real: dict[str, dict]) -> str:
    """More than 420 000 characters of real notices that carry no label at all."""
    texts = [real[i]["text"] for i in PADDING_IDS]
    for result in clf.classify_many(NoticeInput(id=i, text=t) for i, t in zip(PADDING_IDS, texts)):
        assert positive(result) == set(), result["id"]
    one = "\n\n".join(texts) + "\n\n"
    return one * (420_000 // len(one) + 1)


def assert_exact_quotes(text: str, result: dict) -> None:
    assert result["error"] is None
    for ev in result["evidence"]:
        if ev["source"] == "text":
            assert text[ev["start"] : ev["end"]] == ev["quote"], ev


def test_clause_after_400k_characters_is_found_with_exact_offsets(clf, real, padding):
    notice = real["boamp-20-101058"]  # insertion clause, 7 913 hours, two lots
    alone = clf.classify(NoticeInput(id="a", text=notice["text"], published=notice["published"]))
    assert {"insertion_clause", "insertion_contract"} <= positive(alone)
    text = padding + notice["text"]
    assert len(padding) > 400_000
    result = clf.classify(NoticeInput(id="a", text=text, published=notice["published"]))
    assert_exact_quotes(text, result)
    assert positive(result) == positive(alone)
    assert result["insertion_hours"] == alone["insertion_hours"] == 7913
    assert result["lots"] == alone["lots"]
    assert result["truncated"] is False
    assert not [w for w in result["warnings"] if "tronqué" in w]
    # the very same evidence, moved by the padding's length
    shifted = [
        {**ev, "start": ev["start"] + len(padding), "end": ev["end"] + len(padding)}
        for ev in alone["evidence"]
        if ev["source"] == "text"
    ]
    found = [
        ev for ev in result["evidence"] if ev["source"] == "text" and ev["start"] >= len(padding)
    ]
    assert found == shifted
    assert [ev for ev in found if ev["label"] == "insertion_clause" and not ev["negated"]]
    # what the padding gives is only negative (« Marché réservé : non »)
    assert all(ev["negated"] for ev in result["evidence"] if ev["start"] < len(padding))


def test_a_lot_section_cut_by_a_chunk_keeps_its_lot(clf, real):
    """Lot 5's section is made 420 000 characters long (its own CPV and place lines repeated,
    as in a lot listing hundreds of sites): its clause comes in a later chunk than its
    « Lot nº : 5 » header; that chunk is preceded by the header, so the clause stays lot 5's."""
    notice = real["boamp-20-100479"]
    source = notice["text"]
    header = source.index("Lot nº : 5")
    cut = source.index("\n", header) + 1  # right after the header line
    lot_lines = source[cut : source.index("II.2.4)", cut)]
    padding = lot_lines * (420_000 // len(lot_lines) + 1)
    text = source[:cut] + padding + source[cut:]
    alone = clf.classify(NoticeInput(id="b", text=source, published=notice["published"]))
    result = clf.classify(NoticeInput(id="b", text=text, published=notice["published"]))
    assert_exact_quotes(text, result)
    lot5 = [ev for ev in result["evidence"] if ev["label"] == "insertion_clause" and ev["lot"]]
    assert {ev["lot"] for ev in lot5} == {"1", "2", "4", "5", "6"}
    (clause5,) = [ev for ev in lot5 if ev["lot"] == "5"]
    assert clause5["start"] > cut + len(padding)
    assert result["lots"] == alone["lots"]
    assert positive(result) == positive(alone)


def test_beyond_the_hard_limit_the_result_says_truncated(clf, real, padding, monkeypatch):
    notice = real["boamp-20-101058"]
    text = padding + notice["text"]
    # The real limit (5 M characters) takes seconds to reach; lower it just above the padding.
    monkeypatch.setattr(classifier_module, "MAX_CHARS", len(padding) + 100)
    result = clf.classify(NoticeInput(id="c", text=text, published=notice["published"]))
    assert result["truncated"] is True
    assert any(w.startswith("texte tronqué") for w in result["warnings"])
    assert "insertion_clause" not in positive(result)


def test_chunks_cut_at_boundaries_overlap_and_own_every_character_once(real, padding):
    text = padding + real["boamp-20-101058"]["text"]
    pieces = chunks.split(text)
    assert len(pieces) >= 3
    assert pieces[0].start == 0 and pieces[-1].end == len(text)
    for before, after in itertools.pairwise(pieces):
        assert after.start < before.end  # they overlap
        assert before.end - after.start <= chunks.OVERLAP_CHARS + 1000
        assert text[before.end - 1] == "\n"  # cut after a paragraph or a line
        assert before.owns[1] == after.owns[0]  # ownership is a partition
        assert after.start <= after.owns[0] < before.end
    assert pieces[0].owns[0] == 0 and pieces[-1].owns[1] == len(text)
    assert max(p.end - p.start for p in pieces) <= chunks.CHUNK_CHARS


def test_small_chunks_give_the_same_labels_as_whole_texts(clf, real, monkeypatch):
    """The merge, exercised on every real notice cut into 20 000-character chunks."""
    inputs = [
        NoticeInput(id=r["id"], text=r["text"], published=r["published"]) for r in real.values()
    ]
    whole = list(clf.classify_many(inputs))
    monkeypatch.setattr(chunks, "SINGLE_DOC_CHARS", 12_000)
    monkeypatch.setattr(chunks, "CHUNK_CHARS", 8_000)
    monkeypatch.setattr(chunks, "OVERLAP_CHARS", 2_000)
    cut = list(clf.classify_many(inputs))
    chunked = [i for i in inputs if len(i.text) > 12_000]
    assert len(chunked) >= 20
    for item, a, b in zip(inputs, whole, cut, strict=True):
        assert_exact_quotes(item.text, b)
        assert b["labels"] == a["labels"], item.id
        assert b["insertion_hours"] == a["insertion_hours"], item.id
        assert [lot["id"] for lot in b["lots"]] == [lot["id"] for lot in a["lots"]], item.id


def test_the_classify_report_counts_and_the_store_keeps_truncated_texts(
    clf, real, monkeypatch, tmp_path
):
    from tenderwatch.core.records import CALL_FOR_TENDERS, Notice, RawNotice
    from tenderwatch.core.store import Store
    from tenderwatch.cycle import classify_store

    store = Store(tmp_path / "t.db")
    for notice_id in ("boamp-20-101058", "boamp-20-102039"):
        row = real[notice_id]
        store.save(
            RawNotice("boamp", notice_id, "u", "text/plain", row["text"].encode()),
            Notice(
                id=f"boamp:{notice_id}",
                source="boamp",
                source_id=notice_id,
                form="test",
                title=row["title"],
                nature=CALL_FOR_TENDERS,
                published=row["published"],
                text=row["text"],
            ),
        )
    # Only the first notice is longer than the (lowered) hard limit.
    limit = len(real["boamp-20-102039"]["text"]) + 10
    assert len(real["boamp-20-101058"]["text"]) > limit
    monkeypatch.setattr(classifier_module, "MAX_CHARS", limit)
    lines: list[str] = []
    counts = classify_store(store, clf, echo=lambda line, progress=False: lines.append(line))
    assert counts["truncated"] == 1 and counts["classified"] == 2
    assert any("1 texte(s) tronqué(s)" in line for line in lines)
    kept = store.classification("boamp:boamp-20-101058")
    assert kept["truncated"] == 1
    assert any(w.startswith("texte tronqué") for w in kept["warnings"])
    assert store.classification("boamp:boamp-20-102039")["truncated"] == 0
