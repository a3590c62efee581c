"""The marks change what is sent: reminders to the engaged members by personal e-mail (or to
the group's channel when nobody marked the notice, or to nobody when the members only said
« vu » / « pas pour nous »); a claim and a partner search announced once to the channel.
Real SMTP and webhook servers on 127.0.0.1, the real Deliverer."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from tenderwatch.core.board import Board, WebSettings
from tenderwatch.core.store import Store
from tenderwatch.localservers import Mailbox
from tenderwatch.notifier.delivery import Deliverer, queue_reminders

from ..notifier.test_delivery import (
    Clock,
    alert,
    classify,
    group,
    save_notice,
    sender,
    write_apprise,
)
from .conftest import SECRET, csrf, sign_in


def _setup(tmp_path: Path, store: Store, mailbox: Mailbox):
    config = write_apprise(
        tmp_path,
        [
            (mailbox.url("canal-aci@example.org"), "aci"),
            (mailbox.url("ne-pas-utiliser@example.org"), "connexion"),
        ],
    )
    notice_id = save_notice(store, "26-500")  # deadline: see tests.notifier DEADLINE
    clock = Clock(datetime(2026, 2, 1, 9, 0, tzinfo=UTC))
    deliverer = Deliverer(store, sender(config), [group("aci", reminder_days=[7])], clock=clock)
    alert(deliverer, "aci", notice_id)
    deliverer.send_due()
    board = Board(store)
    alice = board.upsert_member(email="alice@aci.example", name="Alice", group_id="aci")
    bruno = board.upsert_member(email="bruno@aci.example", name="Bruno", group_id="aci")
    carla = board.upsert_member(email="carla@aci.example", name="Carla", group_id="aci")
    mailbox.envelopes.clear()
    return deliverer, clock, notice_id, board, (alice, bruno, carla)


def _remind(store: Store, deliverer: Deliverer, clock: Clock) -> int:
    clock.now = datetime(2026, 2, 9, 9, 0, tzinfo=UTC)  # 7 days before the deadline
    queued = queue_reminders(store, deliverer)
    report = deliverer.send_due()
    assert not report.failed, report.summary()
    return queued


def _recipients(mailbox: Mailbox) -> list[str]:
    return sorted(rcpt for env in mailbox.envelopes for rcpt in env.rcpt_tos)


def test_reminder_goes_to_the_group_channel_when_nobody_marked(tmp_path, store, mailbox):
    deliverer, clock, _notice, _board, _members = _setup(tmp_path, store, mailbox)
    assert _remind(store, deliverer, clock) == 1
    assert _recipients(mailbox) == ["canal-aci@example.org"]


def test_reminder_goes_only_to_engaged_members_by_personal_email(tmp_path, store, mailbox):
    deliverer, clock, notice, board, (alice, bruno, carla) = _setup(tmp_path, store, mailbox)
    board.set_mark("aci", notice, "2", alice.id, "on_repond")
    board.set_mark("aci", notice, "", bruno.id, "interesse")
    board.set_mark("aci", notice, "", carla.id, "pas_pour_nous", reason="secteur")
    assert _remind(store, deliverer, clock) == 1
    assert _recipients(mailbox) == ["alice@aci.example", "bruno@aci.example"]
    assert all(m["Subject"].startswith("Rappel") for m in mailbox.messages)
    # Once: the next run sends nothing more.
    mailbox.envelopes.clear()
    assert queue_reminders(store, deliverer) == 0
    deliverer.send_due()
    assert mailbox.envelopes == []


def test_no_reminder_when_the_members_said_pas_pour_nous(tmp_path, store, mailbox):
    deliverer, clock, notice, board, (alice, _bruno, _carla) = _setup(tmp_path, store, mailbox)
    board.set_mark("aci", notice, "", alice.id, "pas_pour_nous", reason="montant")
    assert _remind(store, deliverer, clock) == 0
    assert mailbox.envelopes == []


def test_claim_and_partner_search_are_announced_once_to_the_channel(
    tmp_path, store, mailbox, webhook
):
    config = write_apprise(tmp_path, [(webhook.url("aci"), "aci")])
    notice_id = save_notice(store, "26-600", title="Nettoyage <script>alert(1)</script>")
    classify(store, notice_id)
    clock = Clock(datetime(2026, 2, 1, 9, 0, tzinfo=UTC))
    groups = [group("aci")]
    deliverer = Deliverer(store, sender(config), groups, clock=clock)
    alert(deliverer, "aci", notice_id)
    deliverer.send_due()
    store.close()

    from tenderwatch.web import create_app

    from .conftest import ConsoleMailer

    app = create_app(
        store.path,
        WebSettings(base_url="http://tableau.example"),
        secret_key=SECRET,
        groups=groups,
        mailer=ConsoleMailer(),
    )
    board = Board(Store(store.path))
    board.upsert_member(
        email="alice@aci.example", name="Alice <b>", group_id="aci", structure_name="ACI Drôme"
    )
    board.upsert_member(email="bruno@aci.example", name="Bruno", group_id="aci")
    alice, bruno = sign_in(app, "alice@aci.example"), sign_in(app, "bruno@aci.example")
    page = f"/g/aci/avis/{notice_id}"
    for client, status, extra in [
        (alice, "on_repond", {}),
        (bruno, "on_repond", {}),  # a second claim: already announced
        (alice, "cherche_partenaire", {"role": "cotraitance"}),
        (bruno, "cherche_partenaire", {"role": "sous_traitance"}),
    ]:
        data = {"csrf_token": csrf(client, page), "lot": "2", "statut": status, **extra}
        assert client.post(page + "/marque", data=data).status_code == 302

    fresh = Store(store.path)
    deliverer = Deliverer(fresh, sender(config), groups, clock=clock)
    report = deliverer.send_due()
    assert not report.failed, report.summary()
    bodies = webhook.bodies("aci")
    announcements = [b for b in bodies if "Tableau de veille" in b.get("title", "")]
    assert len(announcements) == 2
    claim, partner = announcements
    assert "répond au lot 2" in claim["title"] and "Alice" in claim["title"]
    assert "cherche un partenaire en co-traitance" in partner["title"]
    assert "http://tableau.example/avis/boamp:26-600" in claim["message"]
    assert "<script>" not in claim["message"] and "<b>" not in claim["message"]
    # A later run sends nothing again.
    deliverer.send_due()
    assert len([b for b in webhook.bodies("aci") if "Tableau de veille" in b.get("title", "")]) == 2
    fresh.close()


def test_a_personal_reminder_links_the_notice_with_the_member_s_address(tmp_path, store, mailbox):
    deliverer, clock, notice, board, (alice, _bruno, _carla) = _setup(tmp_path, store, mailbox)
    deliverer.board_base_url = "https://veille.example"
    board.set_mark("aci", notice, "2", alice.id, "on_repond")
    assert _remind(store, deliverer, clock) == 1
    [message] = mailbox.messages
    text = message.get_body(preferencelist=("plain",)).get_content()
    assert (
        f"Sur le tableau de veille : https://veille.example/avis/{notice}"
        "?courriel=alice%40aci.example" in text
    )
