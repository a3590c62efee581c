"""The clause facilitator (issue #12) from the classifier to the store, the notice view and
the alert: « Contact clause : Mme X, PLIE de …, 04 … »; nothing when the notice names none."""

from __future__ import annotations

import sqlite3
from datetime import date
from pathlib import Path

from tenderwatch.classifier import Classifier, NoticeInput
from tenderwatch.core.records import CALL_FOR_TENDERS, Notice, RawNotice
from tenderwatch.core.store import Store
from tenderwatch.notifier.models import Group, Match
from tenderwatch.notifier.render import facilitator_line, render_alert, render_digest
from tenderwatch.notifier.views import load_notice_view

TEXT = (
    "Avis de marché\nNom du contact : Service de la commande publique\n"
    "Numéro de téléphone du contact : +33 4 75 79 20 00\n"
    "Objet : réhabilitation du gymnase Jean-Moulin\n"
    "Conditions particulières d'exécution : le titulaire réalisera une action d'insertion de "
    "420 heures au profit de personnes éloignées de l'emploi. Pour la mise en œuvre de la "
    "clause d'insertion, les candidats peuvent contacter Mme Sophie Bernard, facilitatrice du "
    "PLIE de l'agglomération de Valence, au 04 75 12 34 56 ou par courriel : "
    "s.bernard@plie-valence.fr.\n"
)
LINE = (
    "Mme Sophie Bernard, PLIE de l'agglomération de Valence, 04 75 12 34 56, "
    "s.bernard@plie-valence.fr"
)


def _store_notice(store: Store, notice_id: str, text: str) -> None:
    source, source_id = notice_id.split(":")
    store.save(
        RawNotice(source, source_id, "u", "text/plain", text.encode()),
        Notice(
            id=notice_id,
            source=source,
            source_id=source_id,
            form="test",
            title="Réhabilitation du gymnase",
            nature=CALL_FOR_TENDERS,
            published="2026-11-30",
            text=text,
        ),
    )


def test_facilitator_goes_from_the_classifier_to_the_alert(tmp_path: Path) -> None:
    store = Store(tmp_path / "t.db")
    _store_notice(store, "boamp:26-7", TEXT)
    _store_notice(store, "boamp:26-8", "Fourniture de papier. Clause d'insertion : 100 heures.")
    clf = Classifier()
    results = list(
        clf.classify_many(
            [NoticeInput(id="boamp:26-7", text=TEXT), NoticeInput(id="boamp:26-8", text="x")]
        )
    )
    store.save_classifications(results)
    # the row keeps it as JSON (migration 0800), and classification() decodes it
    raw = sqlite3.connect(tmp_path / "t.db").execute(
        "SELECT facilitator FROM classifications WHERE notice_id = 'boamp:26-7'"
    )
    assert "PLIE de l'agglomération de Valence" in raw.fetchone()[0]
    stored = store.classification("boamp:26-7")
    assert stored["facilitator"]["phone"] == "04 75 12 34 56"
    assert store.classification("boamp:26-8")["facilitator"] is None

    view = load_notice_view(store, "boamp:26-7")
    assert view.facilitator["organisation"] == "PLIE de l'agglomération de Valence"
    match = Match(group_id="g", notice_id=view.id, labels=["insertion_clause"])
    alert = render_alert(view, match, today=date(2026, 12, 1))
    assert f"Contact clause : {LINE}" in alert.text
    assert "Contact clause :</strong> Mme Sophie Bernard, PLIE de l&#39;agglomération" in (
        alert.html
    )
    assert "**Contact clause :**" in alert.markdown
    # the buyer's general contact is never shown as the clause contact
    assert "+33 4 75 79 20 00" not in alert.text.split("Contact clause :")[1].splitlines()[0]
    digest = render_digest(
        Group(id="g", name="ACI", kind="siae"), [(view, match)], today=date(2026, 12, 1)
    )
    assert "Contact clause" in digest.text

    none = load_notice_view(store, "boamp:26-8")
    assert none.facilitator is None
    plain = render_alert(
        none, Match(group_id="g", notice_id=none.id, labels=[]), today=date(2026, 12, 1)
    )
    assert "Contact clause" not in plain.text
    store.close()


def test_facilitator_line_only_says_what_the_notice_gives() -> None:
    assert facilitator_line(None) == ""
    assert facilitator_line({"organisation": "PLIE du Pays de Vitré", "kind": "plie"}) == (
        "PLIE du Pays de Vitré"
    )
    assert facilitator_line({"organisation": None, "name": None}) == (
        "un facilitateur est mentionné dans l'avis, sans coordonnées"
    )
