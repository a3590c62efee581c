"""Faulty inputs: a result for each, never an exception, order kept."""

from __future__ import annotations

from tenderwatch.classifier import LABELS, NoticeInput
from tenderwatch.classifier.classifier import MAX_CHARS
from tests.classifier.helpers import labels_of

CLAUSE = (
    "Le titulaire réserve au moins 1 200 heures de travail à des personnes éloignées de l'emploi."
)


def test_bad_inputs_each_get_a_result_in_order(clf):
    huge = (
        "Lorem ipsum dolor sit amet, consectetur adipiscing elit. " * 20 + "\n"
    ) * 4600  # ≈ 5 MB
    assert len(huge) > 5_000_000
    items = [
        NoticeInput(id="empty", text=""),
        NoticeInput(id="blank", text="   \n\t "),
        NoticeInput(id="huge", text=CLAUSE + "\n" + huge),
        NoticeInput(
            id="english",
            text="The contractor shall reserve 10% of working hours for long-term unemployed people. "
            * 5,
        ),
        NoticeInput(
            id="html",
            text="<html><body><h1>Avis</h1><p>Le titulaire r&eacute;serve au moins 1&nbsp;200 heures de <b>travail</b> à des personnes éloignées de l&#39;emploi.</p></body></html>",
        ),
        NoticeInput(
            id="control",
            text="Le titulaire\x00 réserve\x07 au moins 1 200 heures\x1b de travail à des personnes\x0c éloignées de l'emploi.",
        ),
        NoticeInput(id="none", text=None),  # type: ignore[arg-type]
        "not a notice",  # type: ignore[list-item]
        NoticeInput(id="ok", text=CLAUSE),
    ]
    results = list(clf.classify_many(items, batch_size=4))
    assert [r["id"] for r in results] == [
        "empty",
        "blank",
        "huge",
        "english",
        "html",
        "control",
        "none",
        "",
        "ok",
    ]
    by_id = {r["id"]: r for r in results}
    for result in results:
        assert set(result["labels"]) == set(LABELS)
    assert by_id["empty"]["error"] and labels_of(by_id["empty"]) == set()
    assert by_id["huge"]["error"] is None and any("tronqué" in w for w in by_id["huge"]["warnings"])
    assert labels_of(by_id["huge"]) == {"insertion_clause"}
    assert labels_of(by_id["english"]) == set() and by_id["english"]["warnings"]
    assert (
        labels_of(by_id["html"]) == {"insertion_clause"}
        and by_id["html"]["insertion_hours"] == 1200
    )
    assert labels_of(by_id["control"]) == {"insertion_clause"}
    assert by_id["none"]["error"] and by_id[""]["error"]
    assert labels_of(by_id["ok"]) == {"insertion_clause"}


def test_quotes_stay_exact_on_html_and_unusual_characters(clf):
    text = (
        "<p>Clause d&rsquo;insertion&nbsp;: le titulaire r&eacute;serve 1\u202f500 heures à des "
        "personnes éloignées de l\u2019emploi (art.\u00a0L.\u00a02112\u20112 du CCP).</p>"
        "\u0152uvres, rÃ©servÃ©, e\u0301te\u0301."
    )
    result = clf.classify(NoticeInput(id="x", text=text, published="2023-01-01"))
    assert result["evidence"]
    for ev in result["evidence"]:
        assert text[ev["start"] : ev["end"]] == ev["quote"]
    assert result["insertion_hours"] == 1500
    assert result["evidence"][0]["legal_basis"]["norm"] == "CCP:L2112-2"


def test_truncation_limit_is_documented():
    assert MAX_CHARS >= 200_000


def test_classify_is_classify_many_of_one(clf):
    item = NoticeInput(id="one", text=CLAUSE)
    assert clf.classify(item) == next(iter(clf.classify_many([item])))


def test_one_failing_notice_does_not_sink_the_batch(clf, monkeypatch):
    original = clf._result

    def broken(prepared, doc):
        if prepared.notice_id == "bad":
            raise RuntimeError("boom")
        return original(prepared, doc)

    monkeypatch.setattr(clf, "_result", broken)
    results = list(
        clf.classify_many(
            [
                NoticeInput(id="a", text=CLAUSE),
                NoticeInput(id="bad", text=CLAUSE),
                NoticeInput(id="c", text=CLAUSE),
            ]
        )
    )
    assert [r["id"] for r in results] == ["a", "bad", "c"]
    assert (
        "boom" in results[1]["error"]
        and results[0]["error"] is None
        and results[2]["error"] is None
    )
