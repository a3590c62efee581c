"""Delivery through apprise to real local servers started here: an SMTP server (aiosmtpd, with
authentication so the URL carries a password) and an HTTP webhook receiver used through
``json://``. Every assertion is on what the servers received and on the deliveries table."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest

from tenderwatch.classifier.labels import LABELS as CLASSIFIER_LABELS
from tenderwatch.core.records import (
    CALL_FOR_TENDERS,
    CANCELLATION,
    CORRIGENDUM,
    Lot,
    Notice,
    RawNotice,
)
from tenderwatch.core.store import Store
from tenderwatch.localservers import Mailbox as _Mailbox
from tenderwatch.localservers import Webhook as _Webhook
from tenderwatch.localservers import free_port
from tenderwatch.notifier.delivery import (
    ChannelResult,
    Deliverer,
    Sender,
    list_deliveries,
    queue_reminders,
    queue_updates,
)
from tenderwatch.notifier.models import Group, Match
from tenderwatch.notifier.render import Message
from tenderwatch.notifier.views import load_notice_view

PASSWORD = "S3cret-Pw-4791"
HOOK_PASSWORD = "Hook-Pw-8312"
LABELS = CLASSIFIER_LABELS
# Wednesday 4 February 2026, 09:00 in Paris.
T0 = datetime(2026, 2, 4, 8, 0, tzinfo=UTC)
DEADLINE = "2026-02-16T12:00:00+01:00"
QUOTE = "le titulaire réservera au moins 1 200 heures de travail à l'insertion"
LOT_QUOTE = "Le lot n° 2 est réservé aux structures d'insertion par l'activité économique"


# -- local servers ----------------------------------------------------------------------------


class Mailbox(_Mailbox):
    """The local SMTP server, requiring a login and password like a real one."""

    def __init__(self) -> None:
        super().__init__(login="veille", password=PASSWORD)


class Webhook(_Webhook):
    def __init__(self) -> None:
        super().__init__()
        self.start()

    def url(self, path: str) -> str:  # type: ignore[override]
        return super().url(path, user="hook", password=HOOK_PASSWORD)


@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    box = Mailbox()
    box.start()
    yield box
    box.stop()


@pytest.fixture
def webhook() -> Iterator[Webhook]:
    hook = Webhook()
    yield hook
    hook.close()


def write_apprise(tmp_path: Path, entries: list[tuple[str, str]]) -> Path:
    """apprise's YAML with (url, tags) entries, written where a deployment would keep it."""
    lines = ["version: 1", "urls:"]
    for url, tags in entries:
        lines += [f'  - "{url}":', f"      - tag: {tags}"]
    path = tmp_path / "apprise.yml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


# -- store fixtures -----------------------------------------------------------------------------


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def save_notice(
    store: Store,
    sid: str,
    *,
    title: str = "Nettoyage des locaux de la mairie",
    nature: str = CALL_FOR_TENDERS,
    published: str = "2026-02-02",
    deadline: str | None = DEADLINE,
    lots: tuple[tuple[str, str], ...] = (("1", "Bureaux"), ("2", "Vitrerie")),
    procedure: str | None = None,
    form: str = "boamp/test",
    text: str = "",
) -> str:
    notice = Notice(
        id=f"boamp:{sid}",
        source="boamp",
        source_id=sid,
        form=form,
        title=title,
        nature=nature,
        published=published,
        deadline=deadline,
        buyer_name="Ville de Villeurbanne",
        departements=["69"],
        estimated_value=1_200_000.0,
        url=f"https://www.boamp.fr/pages/avis/?q=idweb:{sid}",
        text=text or f"{title}. {LOT_QUOTE}. Conditions d'exécution : {QUOTE}.",
        lots=[Lot(lot_id=lot_id, title=lot_title) for lot_id, lot_title in lots],
        procedure_uuid=procedure or f"uuid-{sid}",
    )
    raw = RawNotice(
        source="boamp",
        source_id=sid,
        url=notice.url,
        content_type="application/json",
        body=json.dumps([sid, title, nature, deadline, published]).encode(),
    )
    store.save(raw, notice)
    return notice.id


def classify(
    store: Store, notice_id: str, positive: tuple[str, ...] = ("insertion_clause", "reserved_siae")
) -> None:
    store.save_classifications(
        [
            {
                "id": notice_id,
                "model_version": "test-1",
                "labels": {label: label in positive for label in LABELS},
                "lots": [{"id": "2", "title": "Vitrerie", "labels": ["reserved_siae"]}]
                if "reserved_siae" in positive
                else [],
                "insertion_hours": 1200,
                "evidence": [
                    {
                        "label": "reserved_siae",
                        "lot": "2",
                        "quote": LOT_QUOTE,
                        "start": 0,
                        "end": 1,
                        "legal_basis": {"raw": "L.2113-13", "norm": "CCP:L2113-13"},
                    },
                    {
                        "label": "insertion_clause",
                        "lot": None,
                        "quote": QUOTE,
                        "start": 0,
                        "end": 1,
                        "legal_basis": {"raw": "L. 2112-2", "norm": "CCP:L2112-2"},
                    },
                ],
            }
        ]
    )


def sender(config: Path) -> Sender:
    """A sender without apprise's 5.5 s pause between two messages to one server: the local
    test servers need no politeness."""
    return Sender(config, min_interval=0)


def group(gid: str, **kw: Any) -> Group:
    return Group(id=gid, name=gid.upper(), kind="siae", structure_kinds=["ACI"], **kw)


def alert(
    deliverer: Deliverer,
    gid: str,
    notice_id: str,
    lots: tuple[str, ...] = (),
    labels: tuple[str, ...] = ("reserved_siae", "insertion_clause"),
) -> bool:
    reasons = ["Territoire : Rhône (69)"]
    return deliverer.queue_match(Match(gid, notice_id, list(labels), list(lots), reasons))


def rows(store: Store) -> list[dict[str, Any]]:
    return list(store.db.query("SELECT * FROM deliveries ORDER BY id"))


def html_part(message: EmailMessage) -> str:
    return message.get_body(("html",)).get_content()


def text_part(message: EmailMessage) -> str:
    return message.get_body(("plain",)).get_content()


# -- the tests --------------------------------------------------------------------------------


def test_alert_arrives_by_email_and_webhook_with_its_content(
    tmp_path: Path, store: Store, mailbox: Mailbox, webhook: Webhook
) -> None:
    config = write_apprise(
        tmp_path,
        [(mailbox.url("aci@example.org"), "aci-lyon"), (webhook.url("aci-lyon"), "aci-lyon")],
    )
    notice_id = save_notice(store, "26-1001")
    classify(store, notice_id)
    deliverer = Deliverer(store, sender(config), [group("aci-lyon")], clock=Clock(T0))
    assert alert(deliverer, "aci-lyon", notice_id, lots=("2",))

    report = deliverer.send_due()

    assert report.sent == 2 and report.ok
    [mail] = mailbox.messages
    assert mail.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in mail.iter_parts()] == ["text/plain", "text/html"]
    assert mail["Subject"] == "Réservé SIAE · Nettoyage des locaux de la mairie"
    html, text = html_part(mail), text_part(mail)
    for body in (html, text):
        assert "Ville de Villeurbanne" in body
        assert "lundi 16 février 2026 à 12:00" in body
        assert "dans 12 jours" in body
        assert "1 200 000 €" in body
        assert "Vitrerie" in body
        assert "article L. 2113-13 du code de la commande publique" in body
        assert "https://www.boamp.fr/pages/avis/?q=idweb:26-1001" in body
    assert LOT_QUOTE.replace("'", "&#39;") in html
    [hook] = webhook.bodies("aci-lyon")
    assert hook["title"] == r"Réservé SIAE · Nettoyage des locaux de la mairie"
    assert "**Date limite :** lundi 16 février 2026 à 12:00" in hook["message"]
    assert LOT_QUOTE in hook["message"]
    assert "Territoire : Rhône \\(69\\)" in hook["message"]
    assert {r["status"] for r in rows(store)} == {"sent"}


def test_hostile_notice_is_escaped_in_the_email_and_inert_in_the_chat_message(
    tmp_path: Path, store: Store, mailbox: Mailbox, webhook: Webhook
) -> None:
    config = write_apprise(tmp_path, [(mailbox.url("a@example.org"), "g"), (webhook.url("g"), "g")])
    evil = "<script>alert(1)</script>"
    notice_id = save_notice(
        store,
        "26-666",
        title=f"Nettoyage {evil} [gagner](https://evil.example)",
        text=f"Texte {evil}",
    )
    store.save_classifications(
        [
            {
                "id": notice_id,
                "model_version": "test-1",
                "labels": {"insertion_clause": True},
                "evidence": [{"label": "insertion_clause", "quote": f"heures {evil} *x*"}],
            }
        ]
    )
    deliverer = Deliverer(store, sender(config), [group("g")], clock=Clock(T0))
    deliverer.queue_match(Match("g", notice_id, ["insertion_clause"]))
    deliverer.send_due()

    html = html_part(mailbox.messages[0])
    assert "<script" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert 'href="https://evil.example"' not in html
    [hook] = webhook.bodies("g")
    for field in (hook["title"], hook["message"]):
        assert "<script>" not in field
        assert r"\<script\>alert\(1\)\</script\>" in field
    assert r"\[gagner\]\(https://evil.example\)" in hook["title"]
    assert r"\*x\*" in hook["message"]


def test_one_message_per_group_and_notice_across_two_runs(
    tmp_path: Path, store: Store, mailbox: Mailbox, webhook: Webhook
) -> None:
    config = write_apprise(
        tmp_path,
        [(mailbox.url("aci@example.org"), "aci"), (webhook.url("esat"), "esat, reseau")],
    )
    first, second = save_notice(store, "26-1"), save_notice(store, "26-2", title="Espaces verts")
    for notice_id in (first, second):
        classify(store, notice_id)
    groups = [group("aci"), group("esat"), group("reseau")]

    for _run in range(2):
        # Each run is a new process: a new sender, a new deliverer, the same database.
        deliverer = Deliverer(store, sender(config), groups, clock=Clock(T0))
        for gid in ("aci", "esat", "reseau"):
            for notice_id in (first, second):
                alert(deliverer, gid, notice_id)
        deliverer.send_due()

    subjects = sorted(m["Subject"] for m in mailbox.messages)
    assert subjects == [
        "Réservé SIAE · Espaces verts",
        "Réservé SIAE · Nettoyage des locaux de la mairie",
    ]
    # "esat" and "reseau" share the webhook: it receives each notice once, not once per group.
    assert len(webhook.bodies("esat")) == 2
    assert len(rows(store)) == 4
    assert not alert(Deliverer(store, sender(config), groups), "aci", first)


def test_corrigendum_notice_of_an_alerted_procedure_is_not_a_second_alert(
    tmp_path: Path, store: Store, mailbox: Mailbox
) -> None:
    config = write_apprise(tmp_path, [(mailbox.url("aci@example.org"), "aci")])
    original = save_notice(store, "26-10", procedure="p-10")
    fix = save_notice(store, "26-11", nature=CORRIGENDUM, published="2026-02-03", procedure="p-10")
    deliverer = Deliverer(store, sender(config), [group("aci")], clock=Clock(T0))
    assert alert(deliverer, "aci", original)
    assert not alert(deliverer, "aci", fix)


def test_smtp_down_during_a_run_every_alert_arrives_once_later(
    tmp_path: Path, store: Store, mailbox: Mailbox
) -> None:
    config = write_apprise(tmp_path, [(mailbox.url("aci@example.org"), "aci")])
    ids = [save_notice(store, f"26-2{i}", title=f"Avis numéro {i}") for i in range(3)]
    for notice_id in ids:
        classify(store, notice_id)
    clock = Clock(T0)
    deliverer = Deliverer(store, sender(config), [group("aci")], clock=clock)
    for notice_id in ids:
        alert(deliverer, "aci", notice_id)

    mailbox.stop()
    down = deliverer.send_due()
    assert down.failed == 3 and down.sent == 0 and not down.ok
    assert all(r["status"] == "failed" and r["attempts"] == 1 for r in rows(store))
    assert {r["next_attempt_at"] for r in rows(store)} == {"2026-02-04T08:05:00+00:00"}

    mailbox.start()
    clock.now = T0 + timedelta(minutes=2)
    assert deliverer.send_due().sent == 0  # not due yet: the back-off holds
    clock.now = T0 + timedelta(minutes=6)
    assert deliverer.send_due().sent == 3
    clock.now = T0 + timedelta(hours=1)
    assert deliverer.send_due().sent == 0

    assert sorted(m["Subject"] for m in mailbox.messages) == [
        f"Réservé SIAE · Avis numéro {i}" for i in range(3)
    ]
    assert all(r["status"] == "sent" and r["attempts"] == 2 for r in rows(store))


def test_retries_back_off_then_give_up_and_report(tmp_path: Path, store: Store) -> None:
    closed = free_port()
    url = f"mailto://veille:{PASSWORD}@127.0.0.1:{closed}?from=a@example.org&to=b@example.org&mode=insecure"
    config = write_apprise(tmp_path, [(url, "aci")])
    notice_id = save_notice(store, "26-30")
    clock = Clock(T0)
    deliverer = Deliverer(
        store, sender(config), [group("aci")], clock=clock, max_attempts=3, backoff_minutes=5
    )
    alert(deliverer, "aci", notice_id)
    waits = []
    for _ in range(3):
        report = deliverer.send_due()
        [row] = rows(store)
        if row["next_attempt_at"]:
            due = datetime.fromisoformat(row["next_attempt_at"])
            waits.append(due - clock.now)
            clock.now = due
    assert waits == [timedelta(minutes=5), timedelta(minutes=10)]
    assert report.given_up == [row["id"]] and not report.ok
    assert row["status"] == "failed" and row["attempts"] == 3
    clock.now += timedelta(days=1)
    assert deliverer.send_due().sent == 0 and rows(store)[0]["attempts"] == 3


def test_tag_without_channel_is_an_error_not_a_success(
    tmp_path: Path, store: Store, webhook: Webhook
) -> None:
    config = write_apprise(tmp_path, [(webhook.url("other"), "other")])
    apprise_sender = sender(config)
    message = Message(title="t", html="<p>x</p>", text="x", markdown="x")

    [result] = apprise_sender.send("nobody", message)

    assert isinstance(result, ChannelResult)
    assert not result.ok and "nobody" in result.error

    notice_id = save_notice(store, "26-40")
    deliverer = Deliverer(store, apprise_sender, [group("nobody")], clock=Clock(T0))
    assert alert(deliverer, "nobody", notice_id)
    report = deliverer.send_due()
    assert report.sent == 0 and report.failed == 1
    [row] = rows(store)
    assert row["status"] == "failed" and row["channel"] == "notag:nobody"
    assert webhook.received == []


def test_a_tag_given_a_channel_later_gets_the_waiting_alert(
    tmp_path: Path, store: Store, webhook: Webhook
) -> None:
    notice_id = save_notice(store, "26-41")
    clock = Clock(T0)
    before = write_apprise(tmp_path, [(webhook.url("other"), "other")])
    deliverer = Deliverer(store, sender(before), [group("late")], clock=clock)
    alert(deliverer, "late", notice_id)
    deliverer.send_due()

    after = write_apprise(tmp_path, [(webhook.url("late"), "late")])
    clock.now += timedelta(minutes=10)
    report = Deliverer(store, sender(after), [group("late")], clock=clock).send_due()

    assert report.sent == 1
    assert len(webhook.bodies("late")) == 1
    assert [r["channel"] for r in rows(store)] != ["notag:late"]


class CrashAfterSending:
    """The process dies right after apprise handed the message over, before the result is
    recorded (a kill, a power cut)."""

    def __init__(self, sender: Sender) -> None:
        self.sender = sender

    def channels(self, tag: str) -> Any:
        return self.sender.channels(tag)

    def send_channel(self, cid: str, message: Message, **kw: Any) -> ChannelResult:
        self.sender.send_channel(cid, message, **kw)
        raise KeyboardInterrupt


def test_an_intent_without_result_becomes_unknown_and_is_not_resent(
    tmp_path: Path, store: Store, mailbox: Mailbox
) -> None:
    config = write_apprise(tmp_path, [(mailbox.url("aci@example.org"), "aci")])
    notice_id = save_notice(store, "26-50")
    clock = Clock(T0)
    crashing = Deliverer(store, CrashAfterSending(sender(config)), [group("aci")], clock=clock)
    alert(crashing, "aci", notice_id)
    with pytest.raises(KeyboardInterrupt):
        crashing.send_due()
    [row] = rows(store)
    assert row["status"] == "sending" and row["attempts"] == 1

    clock.now += timedelta(minutes=15)
    deliverer = Deliverer(store, sender(config), [group("aci")], clock=clock)
    report = deliverer.send_due()
    assert report.unknown == [row["id"]] and report.sent == 0
    assert deliverer.send_due().sent == 0
    assert len(mailbox.messages) == 1
    assert rows(store)[0]["status"] == "unknown"

    # A person decides to resend it.
    assert deliverer.retry([row["id"]]) == 1
    assert deliverer.send_due().sent == 1
    assert len(mailbox.messages) == 2
    assert deliverer.retry([row["id"]]) == 0  # a sent delivery is never resent


def test_no_url_or_password_in_errors_or_logs(
    tmp_path: Path, store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    closed = free_port()
    mail = (
        f"mailto://veille:{PASSWORD}@127.0.0.1:{closed}"
        "?from=a@example.org&to=b@example.org&mode=insecure"
    )
    hook = f"json://hook:{HOOK_PASSWORD}@127.0.0.1:{free_port()}/secret-path"
    config = write_apprise(tmp_path, [(mail, "aci"), (hook, "aci")])
    notice_id = save_notice(store, "26-60")
    caplog.set_level(logging.DEBUG)

    deliverer = Deliverer(store, sender(config), [group("aci")], clock=Clock(T0))
    alert(deliverer, "aci", notice_id)
    report = deliverer.send_due()

    assert report.failed == 2
    stored = json.dumps(list_deliveries(store), ensure_ascii=False)
    ours = [r.getMessage() for r in caplog.records if r.name.startswith("tenderwatch.notifier")]
    assert ours  # the failures were logged
    for text in [stored, *report.errors, *ours]:
        assert PASSWORD not in text and HOOK_PASSWORD not in text
        assert "mailto:" not in text and "json:" not in text and "secret-path" not in text
        assert str(closed) not in text
    assert all("E-Mail [" in r["last_error"] or "JSON [" in r["last_error"] for r in rows(store))
    every = "\n".join(r.getMessage() for r in caplog.records)
    assert PASSWORD not in every and HOOK_PASSWORD not in every


def test_update_after_a_corrigendum_goes_only_to_groups_that_received_the_notice(
    tmp_path: Path, store: Store, mailbox: Mailbox, webhook: Webhook
) -> None:
    config = write_apprise(
        tmp_path,
        [
            (mailbox.url("aci@example.org"), "aci"),
            (webhook.url("esat"), "esat"),
            (webhook.url("never"), "never"),
        ],
    )
    original = save_notice(store, "26-70", procedure="p-70")
    classify(store, original, ("insertion_clause",))
    clock = Clock(T0)
    groups = [group("aci"), group("esat"), group("never"), group("quiet", corrigenda=False)]
    deliverer = Deliverer(store, sender(config), groups, clock=clock)
    alert(deliverer, "aci", original)
    alert(deliverer, "quiet", original)  # no channel: never received
    deliverer.send_due()
    alert(deliverer, "esat", original)  # queued, not yet sent when the corrigendum comes

    fix = save_notice(
        store,
        "26-71",
        nature=CORRIGENDUM,
        published="2026-02-05",
        deadline="2026-02-23T12:00:00+01:00",
        lots=(("1", "Bureaux"), ("2", "Vitrerie"), ("3", "Parkings")),
        procedure="p-70",
    )
    classify(store, fix, ("insertion_clause", "reserved_siae"))
    clock.now = T0 + timedelta(days=1)

    assert queue_updates(store, deliverer, notice_ids=[fix]) == 1
    assert queue_updates(store, deliverer) == 0  # once
    report = deliverer.send_due()

    updates = [m for m in mailbox.messages if m["Subject"].startswith("Date limite modifiée")]
    [update] = updates
    text = text_part(update)
    assert "lundi 16 février 2026 à 12:00 → lundi 23 février 2026 à 12:00" in text
    assert "Lot 3 – Parkings" in text
    assert "Marché réservé aux SIAE" in text  # clause added
    assert len(mailbox.messages) == 2
    kinds = {(r["group_id"], r["kind"]) for r in rows(store)}
    assert ("aci", "update") in kinds
    assert not {("esat", "update"), ("never", "update"), ("quiet", "update")} & kinds
    assert report.sent == 2  # the update to aci and esat's own (first) alert
    # The later alert to esat shows the moved deadline, from the procedure's state.
    [esat] = webhook.bodies("esat")
    assert "lundi 23 février 2026 à 12:00" in esat["message"]


def test_cancellation_goes_to_receivers(tmp_path: Path, store: Store, mailbox: Mailbox) -> None:
    config = write_apprise(tmp_path, [(mailbox.url("aci@example.org"), "aci")])
    original = save_notice(store, "26-80", procedure="p-80")
    clock = Clock(T0)
    deliverer = Deliverer(store, sender(config), [group("aci")], clock=clock)
    alert(deliverer, "aci", original)
    deliverer.send_due()
    cancel = save_notice(
        store,
        "26-81",
        nature=CANCELLATION,
        published="2026-02-06",
        deadline=None,
        lots=(),
        procedure="p-80",
    )
    assert queue_updates(store, deliverer, notice_ids=[cancel]) == 1
    deliverer.send_due()
    last = mailbox.messages[-1]
    assert last["Subject"] == "Annulé · Nettoyage des locaux de la mairie"
    assert "La procédure est annulée" in text_part(last)


def test_digest_groups_by_label_and_deadline_once_per_slot(
    tmp_path: Path, store: Store, webhook: Webhook
) -> None:
    config = write_apprise(tmp_path, [(webhook.url("consortium"), "consortium")])
    daily = group("consortium", delivery="daily", digest_time="08:30")
    later = save_notice(store, "26-91", title="Espaces verts", deadline="2026-03-20")
    sooner = save_notice(store, "26-92", title="Restauration", deadline="2026-02-10")
    reserved = save_notice(store, "26-93", title="Blanchisserie", deadline="2026-04-01")
    classify(store, later, ("insertion_clause",))
    classify(store, sooner, ("insertion_clause",))
    classify(store, reserved, ("reserved_siae",))
    clock = Clock(datetime(2026, 2, 4, 6, 0, tzinfo=UTC))  # 07:00 in Paris
    deliverer = Deliverer(store, sender(config), [daily], clock=clock)
    alert(deliverer, "consortium", later, labels=("insertion_clause",))
    alert(deliverer, "consortium", sooner, labels=("insertion_clause",))
    alert(deliverer, "consortium", reserved, labels=("reserved_siae",))

    clock.now = datetime(2026, 2, 4, 6, 30, tzinfo=UTC)  # 07:30: before today's slot
    assert deliverer.send_due().sent == 0
    clock.now = datetime(2026, 2, 4, 7, 31, tzinfo=UTC)  # 08:31
    report = deliverer.send_due()
    assert report.digests == 1 and report.sent == 3

    [digest] = webhook.bodies("consortium")
    body = digest["message"]
    assert "3 avis" in digest["title"]
    order = [
        body.index("Marchés réservés aux SIAE"),
        body.index("Blanchisserie"),
        body.index("Clauses d'insertion"),
        body.index("Restauration"),
        body.index("Espaces verts"),
    ]
    assert order == sorted(order)
    assert len({r["digest_id"] for r in rows(store)}) == 1

    extra = save_notice(store, "26-94", title="Collecte des déchets")
    classify(store, extra, ("insertion_clause",))
    clock.now = datetime(2026, 2, 4, 9, 0, tzinfo=UTC)
    alert(deliverer, "consortium", extra)
    clock.now = datetime(2026, 2, 4, 15, 0, tzinfo=UTC)
    assert deliverer.send_due().sent == 0  # never two digests the same day
    clock.now = datetime(2026, 2, 5, 7, 45, tzinfo=UTC)
    assert deliverer.send_due().digests == 1
    second = webhook.bodies("consortium")[1]
    assert "Collecte des déchets" in second["message"]
    assert "Blanchisserie" not in second["message"]


def test_weekly_digest_waits_for_its_day(tmp_path: Path, store: Store, webhook: Webhook) -> None:
    config = write_apprise(tmp_path, [(webhook.url("w"), "w")])
    weekly = group("w", delivery="weekly", digest_day="mon", digest_time="08:30")
    notice_id = save_notice(store, "26-95")
    clock = Clock(datetime(2026, 2, 4, 10, 0, tzinfo=UTC))  # Wednesday
    deliverer = Deliverer(store, sender(config), [weekly], clock=clock)
    alert(deliverer, "w", notice_id)
    clock.now = datetime(2026, 2, 6, 10, 0, tzinfo=UTC)  # Friday
    assert deliverer.send_due().sent == 0
    clock.now = datetime(2026, 2, 9, 7, 30, tzinfo=UTC)  # Monday 08:30 in Paris
    assert deliverer.send_due().digests == 1
    assert "de la semaine" in webhook.bodies("w")[0]["title"]


def test_reminders_once_before_the_deadline_even_after_a_missed_run(
    tmp_path: Path, store: Store, mailbox: Mailbox
) -> None:
    config = write_apprise(tmp_path, [(mailbox.url("aci@example.org"), "aci")])
    notice_id = save_notice(store, "26-100")
    clock = Clock(datetime(2026, 2, 1, 9, 0, tzinfo=UTC))
    deliverer = Deliverer(store, sender(config), [group("aci", reminder_days=[7, 2])], clock=clock)
    alert(deliverer, "aci", notice_id)
    deliverer.send_due()

    def run(day: int, hour: int = 9) -> int:
        clock.now = datetime(2026, 2, day, hour, 0, tzinfo=UTC)
        queued = queue_reminders(store, deliverer)
        deliverer.send_due()
        return queued

    assert run(5) == 0  # 11 days left
    assert run(9) == 1  # J-7
    assert run(10) == 0
    assert run(13) == 0  # 3 days left: J-2 not yet
    assert run(15) == 1  # 1 day left: the J-2 run was missed, it goes now
    assert run(16, 12) == 0  # the deadline has passed
    subjects = [m["Subject"] for m in mailbox.messages]
    assert subjects[1].startswith("Rappel : date limite dans 7 jours")
    assert subjects[2].startswith("Rappel : date limite demain")
    assert len(subjects) == 3
    assert {r["kind"] for r in rows(store)} == {"alert", "reminder-J7", "reminder-J2"}


def test_no_reminder_for_a_cancelled_procedure(tmp_path: Path, store: Store) -> None:
    config = write_apprise(tmp_path, [(f"json://127.0.0.1:{free_port()}/x", "aci")])
    notice_id = save_notice(store, "26-110", procedure="p-110")
    clock = Clock(datetime(2026, 2, 1, 9, 0, tzinfo=UTC))
    deliverer = Deliverer(store, sender(config), [group("aci")], clock=clock)
    alert(deliverer, "aci", notice_id)
    store.db.execute("UPDATE deliveries SET status = 'sent', sent_at = '2026-02-01T09:00:00+00:00'")
    save_notice(
        store, "26-111", nature=CANCELLATION, published="2026-02-03", lots=(), procedure="p-110"
    )
    clock.now = datetime(2026, 2, 9, 9, 0, tzinfo=UTC)
    assert queue_reminders(store, deliverer) == 0


def test_channel_is_a_hash_and_body_follows_the_plugin(tmp_path: Path, webhook: Webhook) -> None:
    config = write_apprise(
        tmp_path,
        [
            (f"mailtos://veille:{PASSWORD}@mail.example.org?to=a@example.org", "g"),
            (webhook.url("md"), "g"),
            (webhook.url("txt") + "?format=text", "g"),
        ],
    )
    channels = {c.plugin + c.body: c for c in sender(config).channels("g")}
    assert set(channels) == {"E-Mailhtml", "JSONmarkdown", "JSONtext"}
    for channel in channels.values():
        assert len(channel.id) == 12 and int(channel.id, 16) >= 0


def test_load_notice_view_takes_the_deadline_from_the_procedure(store: Store) -> None:
    original = save_notice(store, "26-120", procedure="p-120")
    classify(store, original)
    save_notice(
        store,
        "26-121",
        nature=CORRIGENDUM,
        published="2026-02-05",
        deadline="2026-02-23T12:00:00+01:00",
        procedure="p-120",
    )
    view = load_notice_view(store, original)
    assert view.deadline == "2026-02-23T12:00:00+01:00"
    assert view.social_labels == ["insertion_clause", "reserved_siae"]
    assert [(lot.id, lot.labels) for lot in view.lots] == [("1", []), ("2", ["reserved_siae"])]
    assert view.insertion_hours == 1200 and view.evidence[0]["quote"] == LOT_QUOTE
    assert view.procedure_id and view.canonical_id == original


def test_list_deliveries_filters(tmp_path: Path, store: Store) -> None:
    config = write_apprise(tmp_path, [(f"json://127.0.0.1:{free_port()}/x", "a")])
    notice_id = save_notice(store, "26-130")
    deliverer = Deliverer(store, sender(config), [group("a"), group("b")], clock=Clock(T0))
    alert(deliverer, "a", notice_id)
    alert(deliverer, "b", notice_id)
    assert {r["group_id"] for r in list_deliveries(store)} == {"a", "b"}
    [row] = list_deliveries(store, group="b")
    assert row["title"] == "Nettoyage des locaux de la mairie" and row["status"] == "pending"
    assert row["details"]["reasons"] == ["Territoire : Rhône (69)"]
    assert list_deliveries(store, status="sent") == []
    with pytest.raises(ValueError):
        list_deliveries(store, status="lost")


def test_a_changed_channel_does_not_get_what_was_already_delivered(
    tmp_path: Path, store: Store, mailbox: Mailbox
) -> None:
    notice_id = save_notice(store, "26-140")
    classify(store, notice_id, ("insertion_clause",))
    config = write_apprise(tmp_path, [(mailbox.url("a@example.org"), "g")])
    deliverer = Deliverer(store, sender(config), [group("g")], clock=Clock(T0))
    assert alert(deliverer, "g", notice_id) is True
    assert deliverer.send_due(T0).sent == 1
    # The group's address changes (or its password is rotated): the past is not sent again.
    moved = write_apprise(tmp_path, [(mailbox.url("b@example.org"), "g")])
    again = Deliverer(store, sender(moved), [group("g")], clock=Clock(T0))
    assert alert(again, "g", notice_id) is False
    assert again.send_due(T0).sent == 0
    assert len(mailbox.messages) == 1


def test_the_channel_id_ignores_credentials() -> None:
    import apprise

    from tenderwatch.notifier.delivery import channel_id

    one = apprise.Apprise.instantiate("mailto://u:old-pass@smtp.example.org?to=a@example.org")
    two = apprise.Apprise.instantiate("mailto://u:new-pass@smtp.example.org?to=a@example.org")
    other = apprise.Apprise.instantiate("mailto://u:old-pass@smtp.example.org?to=b@example.org")
    assert channel_id(one) == channel_id(two)
    assert channel_id(one) != channel_id(other)
