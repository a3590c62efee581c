"""Issue #8, part 3: a new version of a notice that no longer carries a social label the
previous version had is said to the groups that received the notice — as a question, since
the label may only be missing from the new text — once per (group, notice, kind).
Real SMTP server (with authentication), real SQLite store."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from tenderwatch.core.records import CORRIGENDUM
from tenderwatch.core.store import Store
from tenderwatch.notifier.delivery import CLAUSE_REMOVED, Deliverer, queue_updates
from tenderwatch.notifier.render import label_fr
from tests.notifier.test_delivery import (
    T0,
    Clock,
    Mailbox,
    alert,
    classify,
    group,
    rows,
    save_notice,
    sender,
    text_part,
    write_apprise,
)

QUESTION = "Clause retirée dans la nouvelle version ?"


def alerted(tmp_path: Path, store: Store, mailbox: Mailbox, groups: list) -> tuple[Deliverer, str]:
    """An original notice with an insertion clause and a reserved lot, alerted to every group
    given; returns the deliverer (its clock one day later) and the notice id."""
    entries = [(mailbox.url(f"{g.id}@example.org"), g.id) for g in groups]
    config = write_apprise(tmp_path, entries)
    original = save_notice(store, "26-90", procedure="p-90")
    classify(store, original, ("insertion_clause", "reserved_siae"))
    clock = Clock(T0)
    deliverer = Deliverer(store, sender(config), groups, clock=clock)
    for g in groups:
        alert(deliverer, g.id, original)
    assert deliverer.send_due().sent == len(groups)
    clock.now = T0 + timedelta(days=1)
    return deliverer, original


def test_a_republication_without_the_insertion_clause_is_said_once(
    tmp_path: Path, store: Store, mailbox: Mailbox
) -> None:
    groups = [
        group("aci"),
        group("siae-only", labels=["reserved_siae"]),  # follows only what is still there
        group("quiet", corrigenda=False),  # asked for no change messages
    ]
    deliverer, _ = alerted(tmp_path, store, mailbox, groups)
    republished = save_notice(store, "26-91", published="2026-02-05", procedure="p-90")
    classify(store, republished, ("reserved_siae",))

    assert queue_updates(store, deliverer) == 1
    assert queue_updates(store, deliverer) == 0  # once per (group, notice, kind)
    assert deliverer.send_due().sent == 1
    assert deliverer.send_due().sent == 0

    [message] = [m for m in mailbox.messages if m["To"] == "aci@example.org"][1:]
    assert message["Subject"] == "Clause retirée ? · Nettoyage des locaux de la mairie"
    text = text_part(message)
    assert QUESTION in text and label_fr("insertion_clause") in text
    assert label_fr("reserved_siae") not in text.split(QUESTION)[1]  # still there: not named
    [row] = [r for r in rows(store) if r["kind"] == CLAUSE_REMOVED]
    assert (row["group_id"], row["notice_id"], row["status"]) == ("aci", republished, "sent")
    # No second alert for the re-publication of a procedure already alerted.
    assert len(mailbox.messages) == 4


def test_a_boamp_corrigendum_without_the_clause_asks_instead_of_keeping_silent(
    tmp_path: Path, store: Store, mailbox: Mailbox
) -> None:
    deliverer, _ = alerted(tmp_path, store, mailbox, [group("aci")])
    fix = save_notice(store, "26-92", nature=CORRIGENDUM, published="2026-02-05", procedure="p-90")
    classify(store, fix, ("reserved_siae",))

    assert queue_updates(store, deliverer) == 1
    deliverer.send_due()
    update = mailbox.messages[-1]
    assert update["Subject"].startswith("Clause retirée ? · ")
    text = text_part(update)
    assert QUESTION in text and label_fr("insertion_clause") in text
    assert "aucun changement" not in text


def test_an_eforms_corrigendum_still_says_it_plainly(
    tmp_path: Path, store: Store, mailbox: Mailbox
) -> None:
    """eForms change notices restate the whole notice: a missing clause is said as a fact,
    as before, and no question is added."""
    deliverer, _ = alerted(tmp_path, store, mailbox, [group("aci")])
    fix = save_notice(
        store,
        "26-93",
        nature=CORRIGENDUM,
        published="2026-02-05",
        procedure="p-90",
        form="eforms/CN",
    )
    classify(store, fix, ("reserved_siae",))
    assert queue_updates(store, deliverer) == 1
    deliverer.send_due()
    text = text_part(mailbox.messages[-1])
    assert "Clauses sociales retirées" in text and QUESTION not in text
