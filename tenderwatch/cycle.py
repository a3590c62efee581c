"""One cycle of the service: crawl, classify, match, send — and its halves alone.

``tenderwatch run`` = crawl every enabled source, classify what is new, then
:func:`notify_cycle`; ``tenderwatch notify`` = :func:`notify_cycle` only (the scheduler runs it
every few minutes so that digests, reminders and retries leave on time).
"""

from __future__ import annotations

import html
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tenderwatch.core.settings import Settings
from tenderwatch.core.store import Store

logger = logging.getLogger(__name__)

MATCH_CURSOR = "notify.matched_since"


class NotifyConfigError(RuntimeError):
    """Groups, [notify] or the apprise file cannot be used; the message lists every error."""


@dataclass
class NotifyReport:
    """What a notification cycle did."""

    groups: int = 0
    notices_matched: int = 0
    queued: int = 0
    updates: int = 0
    reminders: int = 0
    summary: str = ""
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def classify_store(
    store: Store,
    classifier: Any,
    *,
    reclassify: bool = False,
    limit: int | None = None,
    echo: Callable[..., None] = lambda line, progress=False: None,
    chunk_size: int = 256,
) -> dict[str, int]:
    """Classify the stored notices not yet classified by the current model version (or whose
    content changed), in chunks; report progress through ``echo`` and return the count of
    notices per label, ``errors`` and ``classified``."""
    from tenderwatch.classifier import LABELS, MODEL_VERSION, NoticeInput

    rows = store.notices_to_classify(MODEL_VERSION, limit=limit, reclassify=reclassify)
    total = len(rows)
    echo(f"{total} avis à classer avec le modèle {MODEL_VERSION}", progress=True)
    counts = dict.fromkeys(LABELS, 0)
    errors = done = 0
    for start in range(0, total, chunk_size):
        chunk = rows[start : start + chunk_size]
        inputs = [
            NoticeInput(
                id=r["id"],
                text=r["text"] or "",
                title=r["title"],
                published=r["published"],
                signals=r["signals"],
                lots=r["lots"],
            )
            for r in chunk
        ]
        results = list(classifier.classify_many(inputs))
        store.save_classifications(results)
        for result in results:
            errors += bool(result.get("error"))
            for label, value in (result.get("labels") or {}).items():
                counts[label] += bool(value)
        done += len(chunk)
        echo(f"  classés : {done}/{total}", progress=True)
    echo(f"Classement terminé : {done} avis, {errors} en erreur")
    for label in LABELS:
        echo(f"  {label:<22} {counts[label]}")
    return {**counts, "errors": errors, "classified": done}


def notify_cycle(
    settings: Settings,
    store: Store,
    *,
    now: datetime | None = None,
    rematch: bool = False,
    min_interval: float | None = None,
) -> NotifyReport:
    """Match newly classified notices against the groups, queue updates (corrigenda,
    cancellations) and reminders, then send what is due. ``min_interval`` overrides apprise's
    pause between two messages to one server (the demo's local servers need none)."""
    from tenderwatch.classifier import MODEL_VERSION
    from tenderwatch.notifier.delivery import (
        Deliverer,
        Sender,
        SenderError,
        queue_reminders,
        queue_updates,
    )
    from tenderwatch.notifier.groups import check_config, load_groups, load_notify_settings
    from tenderwatch.notifier.matching import GroupIndex
    from tenderwatch.notifier.views import notice_views

    report = NotifyReport()
    if not settings.config_path:
        raise NotifyConfigError(
            "aucun fichier de configuration : les groupes se déclarent dans "
            "le fichier TOML ([[groups]]), voir config/tenderwatch.example.toml"
        )
    errors = [e for e in check_config(settings.config_path) if not e.startswith("attention")]
    if errors:
        raise NotifyConfigError("\n".join(errors))
    groups = load_groups(settings.config_path)
    notify = load_notify_settings(settings.config_path)
    report.groups = len(groups)
    try:
        sender = Sender(notify.apprise_config, min_interval=min_interval)
    except SenderError as exc:
        raise NotifyConfigError(str(exc)) from None
    deliverer = Deliverer(
        store,
        sender,
        groups,
        max_attempts=notify.max_attempts,
        backoff_minutes=notify.retry_backoff_minutes,
    )
    since = None if rematch else store.get_state(MATCH_CURSOR)
    ids, newest = store.classified_since(MODEL_VERSION, since)
    views = notice_views(store, ids)
    index = GroupIndex(groups)
    for match in index.match_all(views):
        report.queued += bool(deliverer.queue_match(match))
    report.notices_matched = len(views)
    report.updates = queue_updates(store, deliverer)
    report.reminders = queue_reminders(store, deliverer, now=now)
    if newest:
        store.set_state(MATCH_CURSOR, newest)
    delivery = deliverer.send_due(now or datetime.now(UTC))
    report.summary = delivery.summary()
    report.problems = list(delivery.errors)
    return report


def operations_reporter(settings: Settings):  # type: ignore[no-untyped-def]
    """A callback sending a job failure to the ``[notify] operations_tag`` channel, or None."""
    if not settings.config_path or not Path(settings.config_path).exists():
        return None
    try:
        from tenderwatch.notifier.delivery import Sender
        from tenderwatch.notifier.groups import load_notify_settings
        from tenderwatch.notifier.render import Message, escape_markdown

        notify = load_notify_settings(settings.config_path)
    except Exception:  # a broken [notify] is reported by `groups check`, not here
        logger.warning("signalement des échecs désactivé : section [notify] illisible")
        return None
    if not notify.operations_tag:
        return None
    tag = notify.operations_tag

    def report(job: str, error: str) -> None:
        text = f"La tâche « {job} » a échoué : {error}"
        message = Message(
            title=f"tenderwatch : échec de {job}",
            html=f"<p>{html.escape(text)}</p>",
            text=text,
            markdown=escape_markdown(text),
        )
        Sender(notify.apprise_config).send(tag, message)

    return report
