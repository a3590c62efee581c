"""Confidence in matching and alerts (issue #9): a group's ``min_confidence``, the matcher
skipping labels below it (pure function and index alike), the level beside each label in
the alert, « texte tronqué » in the alert and in ``notices show``.

Results carry the classifier's ``"confidence": {"<label>": {"score", "level"}}``.
"""

from __future__ import annotations

import html
import random
from datetime import date
from pathlib import Path

from click.testing import CliRunner

from benchmarks.match import brute_force, make_groups, make_notices
from tenderwatch.classifier.labels import confidence_level
from tenderwatch.cli import main
from tenderwatch.core.records import CALL_FOR_TENDERS, Notice, RawNotice
from tenderwatch.core.store import Store
from tenderwatch.notifier.groups import check_groups, load_groups
from tenderwatch.notifier.matching import GroupIndex, explain_no_match, match
from tenderwatch.notifier.models import SOCIAL_LABELS, Group, LotView, NoticeView
from tenderwatch.notifier.render import render_alert
from tenderwatch.notifier.views import load_notice_view

SURE = {"score": 0.95, "level": "sûr"}
MAYBE = {"score": 0.6, "level": "probable"}


def group(**kw) -> Group:
    kw.setdefault("id", "g")
    kw.setdefault("name", kw["id"])
    kw.setdefault("kind", "siae")
    kw.setdefault("structure_kinds", ["ACI"])
    return Group(**kw)


def notice(confidence: dict, lots=None, **kw) -> NoticeView:
    labels = {label: label in confidence for label in SOCIAL_LABELS}
    labels["allotted"] = bool(lots)
    kw.setdefault("departements", ["26"])
    return NoticeView(
        id="n1",
        title="Entretien des espaces verts",
        nature="call_for_tenders",
        labels=labels,
        lots=lots or [],
        confidence=confidence,
        **kw,
    )


def test_a_sure_only_group_skips_a_probable_label() -> None:
    probable = notice({"insertion_clause": MAYBE})
    sure = notice({"insertion_clause": SURE})
    assert match(group(), probable) is not None  # default: « probable », everything
    assert match(group(min_confidence="probable"), probable) is not None
    assert match(group(min_confidence="sûr"), probable) is None
    m = match(group(min_confidence="sûr"), sure)
    assert m is not None and m.labels == ["insertion_clause"]


def test_only_the_sure_labels_and_their_lots_remain() -> None:
    n = notice(
        {"insertion_clause": MAYBE, "reserved_siae": SURE},
        lots=[
            LotView(id="1", labels=["insertion_clause"]),
            LotView(id="2", labels=["reserved_siae"]),
        ],
    )
    everything = match(group(), n)
    assert everything is not None and everything.lots == ["1", "2"]
    sure = match(group(min_confidence="sûr"), n)
    assert sure is not None
    assert sure.labels == ["reserved_siae"] and sure.lots == ["2"]
    assert not any("insertion" in r.lower() and "clause" in r.lower() for r in sure.reasons)


def test_a_label_without_confidence_counts_as_probable() -> None:
    old = notice({})  # a classification made before confidences existed
    old.labels["insertion_clause"] = True
    assert match(group(), old) is not None
    assert match(group(min_confidence="sûr"), old) is None


def test_explain_says_the_label_was_not_sure_enough() -> None:
    lines = explain_no_match(group(min_confidence="sûr"), notice({"insertion_clause": MAYBE}))
    assert any("« probable »" in line and "min_confidence" in line for line in lines), lines


def test_the_index_gives_what_the_pure_function_gives() -> None:
    rng = random.Random(5)
    groups = make_groups(150)
    for g in groups:
        g.min_confidence = rng.choice(("sûr", "probable"))
    notices = make_notices(800)
    for n in notices:
        for label in n.social_labels:
            score = rng.choice((0.5, 0.7, 0.9, 0.99))
            n.confidence[label] = {"score": score, "level": confidence_level(score)}
    expected = brute_force(groups, notices)
    assert list(GroupIndex(groups).match_all(notices)) == expected
    # the option really removes matches here, and not all of them
    sure_groups = [g for g in groups if g.min_confidence == "sûr"]
    loose = [
        m
        for n in notices
        for g in sure_groups
        if (m := match(Group(**{**g.__dict__, "min_confidence": "probable"}), n))
    ]
    kept = [m for m in expected if m.group_id in {g.id for g in sure_groups}]
    assert 0 < len(kept) < len(loose)


def test_groups_check_validates_min_confidence(tmp_path: Path) -> None:
    path = tmp_path / "tenderwatch.toml"
    path.write_text(
        '[[groups]]\nid = "aci"\nkind = "siae"\nstructure_kinds = ["ACI"]\n'
        'min_confidence = "certain"\n',
        encoding="utf-8",
    )
    (error,) = check_groups(path)
    assert str(path) in error and "« aci »" in error and "« min_confidence »" in error
    assert "sûr" in error and "probable" in error
    path.write_text(
        '[[groups]]\nid = "aci"\nkind = "siae"\nstructure_kinds = ["ACI"]\n'
        'min_confidence = "sûr"\n',
        encoding="utf-8",
    )
    assert check_groups(path) == []
    assert load_groups(path)[0].min_confidence == "sûr"


def test_the_alert_shows_the_level_beside_each_label_and_says_truncated() -> None:
    n = notice(
        {"insertion_clause": SURE, "insertion_criterion": MAYBE},
        truncated=True,
    )
    m = match(group(), n)
    assert m is not None
    message = render_alert(n, m, today=date(2026, 2, 4))
    # (HTML escapes the apostrophe, Markdown the parentheses)
    unescaped = (message.text, html.unescape(message.html), message.markdown.replace("\\", ""))
    for body in unescaped:
        assert "Clause d'insertion (sûr)" in body
        assert "(probable)" in body
        assert "Texte tronqué" in body
    plain = render_alert(notice({"insertion_clause": SURE}), m, today=date(2026, 2, 4))
    assert "tronqué" not in plain.text


def test_the_store_keeps_confidence_and_truncation_for_views_and_notices_show(
    tmp_path: Path,
) -> None:
    db = tmp_path / "t.db"
    store = Store(db)
    text = "Nettoyage. Le titulaire réservera 500 heures à l'insertion."
    store.save(
        RawNotice("boamp", "26-1", "u", "text/plain", text.encode()),
        Notice(
            id="boamp:26-1",
            source="boamp",
            source_id="26-1",
            form="test",
            title="Nettoyage",
            nature=CALL_FOR_TENDERS,
            published="2026-02-02",
            text=text,
        ),
    )
    labels = {label: label == "insertion_clause" for label in (*SOCIAL_LABELS, "allotted")}
    store.save_classifications(
        [
            {
                "id": "boamp:26-1",
                "model_version": "test-1",
                "labels": labels,
                "confidence": {"insertion_clause": SURE},
                "truncated": True,
                "warnings": ["texte tronqué : seuls les 5 000 000 premiers caractères …"],
            }
        ]
    )
    view = load_notice_view(store, "boamp:26-1")
    assert view.confidence == {"insertion_clause": SURE}
    assert view.truncated is True
    assert match(group(min_confidence="sûr"), view) is not None
    store.close()
    shown = CliRunner().invoke(main, ["notices", "show", "boamp:26-1", "--db", str(db)])
    assert shown.exit_code == 0, shown.output
    assert "texte tronqué" in shown.output
