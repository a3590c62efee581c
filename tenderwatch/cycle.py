"""One cycle of the service: crawl, classify, match, send — and its halves alone.

``tenderwatch run`` = crawl every enabled source, classify what is new, then
:func:`notify_cycle`; ``tenderwatch notify`` = :func:`notify_cycle` only (the scheduler runs it
every few minutes so that digests, reminders and retries leave on time).
"""

from __future__ import annotations

import contextlib
import fcntl
import html
import logging
import os
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tenderwatch.core.settings import Settings, SettingsError
from tenderwatch.core.store import Store

logger = logging.getLogger(__name__)

MATCH_CURSOR = "notify.matched_since"


class NotifyConfigError(RuntimeError):
    """Groups, [notify] or the apprise file cannot be used; the message lists every error."""


class NotifyBusy(RuntimeError):
    """Another process is running a notification cycle on the same database."""

    def __init__(self, pid: int | None) -> None:
        self.pid = pid
        super().__init__(f"envoi des alertes déjà en cours (pid {pid if pid else '?'})")


def lock_path(db_path: str) -> Path:
    """The notify lock file beside the database: ``tenderwatch.db.notify.lock``."""
    return Path(db_path).expanduser().with_name(Path(db_path).name + ".notify.lock")


@contextlib.contextmanager
def notify_lock(db_path: str) -> Iterator[None]:
    """Hold the database's notify lock for the duration, or raise :class:`NotifyBusy`.

    An ``flock`` on a file beside the database, not a row in it: the kernel releases it when
    the process ends, however it ends (SIGKILL, OOM, power loss), so a dead cycle never
    leaves a stale lock to clean up. The holder writes its pid in the file for the message.
    Without the lock, two cycles (the scheduler's and a manual ``notify``, or ``run``)
    would match, queue and send side by side; the claim on each delivery row already keeps
    a message from leaving twice, the lock keeps the cycles from racing at all.
    """
    if db_path == ":memory:":
        yield
        return
    path = lock_path(db_path)
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        # A read-only folder: no other cycle can write there either; the store will say why.
        logger.warning("verrou des alertes impossible (%s) : %s", path, exc.strerror)
        yield
        return
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            # Not truncated before locking: the holder's pid is still there to read.
            raw = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
            raise NotifyBusy(int(raw) if raw.isdigit() else None) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode("ascii"), 0)
        try:
            yield
        finally:
            os.ftruncate(fd, 0)
    finally:
        os.close(fd)  # closing the descriptor releases the flock


@dataclass
class NotifyReport:
    """What a notification cycle did."""

    groups: int = 0
    notices_matched: int = 0
    queued: int = 0
    updates: int = 0
    reminders: int = 0
    #: « Attributaire à démarcher » alerts queued (issue #12).
    award_contacts: int = 0
    summary: str = ""
    problems: list[str] = field(default_factory=list)
    #: Configuration warnings: logged by the cycle, never blocking (issue #8).
    warnings: list[str] = field(default_factory=list)
    #: Deliveries found interrupted by a crash: what to check before retrying each one.
    interrupted: list[str] = field(default_factory=list)

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
    progress_every: int = 1000,
) -> dict[str, int]:
    """Classify the stored notices not yet classified by the current model version (or whose
    content changed); return the count of notices per label, ``errors``, ``truncated`` (texts
    cut at the classifier's hard limit) and ``classified``.

    ``classifier`` is a :class:`~tenderwatch.classifier.Classifier` or a
    :class:`~tenderwatch.classifier.parallel.ClassifierPool` (every core): the notices are
    read in pages of ``chunk_size`` while it works, its results come back in order and are
    written here, by this one process, one short transaction per page. Progress goes to
    ``echo(line, progress=True)`` every ``progress_every`` notices (N / total, rate).
    """
    from tenderwatch.classifier import LABELS, MODEL_VERSION, NoticeInput

    ids = store.notice_ids_to_classify(MODEL_VERSION, limit=limit, reclassify=reclassify)
    total = len(ids)
    echo(f"{total} avis à classer avec le modèle {MODEL_VERSION}", progress=True)

    def inputs() -> Iterator[NoticeInput]:
        for start in range(0, total, chunk_size):
            for r in store.notices_for_classifier(ids[start : start + chunk_size]):
                yield NoticeInput(
                    id=r["id"],
                    text=r["text"] or "",
                    title=r["title"],
                    published=r["published"],
                    signals=r["signals"],
                    lots=r["lots"],
                )

    counts = dict.fromkeys(LABELS, 0)
    errors = truncated = done = 0
    started = time.monotonic()
    next_report = min(progress_every, total)
    page: list[dict[str, Any]] = []

    def flush() -> None:
        nonlocal done, next_report
        store.save_classifications(page)
        done += len(page)
        page.clear()
        if done >= next_report or done == total:
            elapsed = max(time.monotonic() - started, 1e-6)
            rate = done / elapsed
            left = (total - done) / rate if rate else 0.0
            echo(
                f"  classés : {done}/{total} ({rate:.1f} avis/s, reste ~{_duration(left)})",
                progress=True,
            )
            next_report = (done // progress_every + 1) * progress_every

    for result in classifier.classify_many(inputs()):
        page.append(result)
        errors += bool(result.get("error"))
        truncated += bool(result.get("truncated"))
        for label, value in (result.get("labels") or {}).items():
            counts[label] += bool(value)
        if len(page) >= chunk_size:
            flush()
    if page:
        flush()
    elapsed = time.monotonic() - started
    processes = getattr(classifier, "used_jobs", 1) or 1
    echo(
        f"Classement terminé : {done} avis en {_duration(elapsed)}"
        f" ({processes} processus), {errors} en erreur, {truncated} texte(s) tronqué(s)"
    )
    for label in LABELS:
        echo(f"  {label:<22} {counts[label]}")
    return {**counts, "errors": errors, "truncated": truncated, "classified": done}


def _duration(seconds: float) -> str:
    """« 42 s », « 3 min 05 s », « 2 h 17 min »."""
    seconds = round(seconds)
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"


def notify_cycle(
    settings: Settings,
    store: Store,
    *,
    now: datetime | None = None,
    rematch: bool = False,
    min_interval: float | None = None,
) -> NotifyReport:
    """:func:`_notify_cycle` under the database's notify lock: one cycle at a time per
    database; raise :class:`NotifyBusy` when another process runs one."""
    with notify_lock(store.path):
        return _notify_cycle(
            settings, store, now=now, rematch=rematch, min_interval=min_interval
        )


def _notify_cycle(
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
    from tenderwatch.notifier.awards import awards_to_link, link_awards, queue_award_contacts
    from tenderwatch.notifier.delivery import (
        Deliverer,
        Sender,
        SenderError,
        queue_reminders,
        queue_updates,
    )
    from tenderwatch.notifier.groups import check_config, load_groups_from, load_notify_settings
    from tenderwatch.notifier.matching import GroupIndex
    from tenderwatch.notifier.views import notice_views

    report = NotifyReport()
    if not settings.config_path:
        raise NotifyConfigError(
            "aucun fichier de configuration : les groupes se déclarent dans "
            "le fichier TOML ([[groups]]), voir config/tenderwatch.example.toml"
        )
    # Once imported, the database's groups are the truth (ADR 0012).
    problems = check_config(settings.config_path, store=store)
    errors = [str(p) for p in problems if p.is_error]
    if errors:
        raise NotifyConfigError("\n".join(errors))
    # A warning (a channel no group uses...) never holds back the alerts: it is said.
    report.warnings = [str(p) for p in problems if not p.is_error]
    for warning in report.warnings:
        logger.warning("%s", warning)
    groups = load_groups_from(settings.config_path, store)
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
        board_base_url=board_base_url(settings.config_path),
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
    # Awards of these notices (or of their procedures) linked to the call's insertion
    # clause, then « attributaire à démarcher » to the groups that can act (issue #12).
    award_ids = awards_to_link(store, ids)
    link_awards(store, award_ids)
    report.award_contacts = queue_award_contacts(store, deliverer, groups, award_ids)
    if newest:
        store.set_state(MATCH_CURSOR, newest)
    delivery = deliverer.send_due(now or datetime.now(UTC))
    report.summary = delivery.summary()
    report.problems = list(delivery.errors)
    if delivery.interrupted:
        # Said now, by this run's exit code and on the operators' channel: a crash may have
        # cost a message, and only a person can tell whether it left.
        report.interrupted = list(delivery.interrupted)
        report.problems += report.interrupted
        if notify.operations_tag:
            _tell_operations(
                sender,
                notify.operations_tag,
                f"tenderwatch : {len(report.interrupted)} envoi(s) interrompu(s)",
                report.interrupted,
            )
    return report


def board_base_url(config_path: str | None, env: Mapping[str, str] | None = None) -> str | None:
    """The board's public address when this instance has one (a ``[web]`` section or
    ``TENDERWATCH_WEB_BASE_URL``): alerts then link each notice on the board."""
    import tomllib

    from tenderwatch.core.board import load_web_settings

    env = os.environ if env is None else env
    has_web = "TENDERWATCH_WEB_BASE_URL" in env
    if config_path and not has_web:
        try:
            has_web = "web" in tomllib.loads(Path(config_path).read_text("utf-8"))
        except (OSError, tomllib.TOMLDecodeError):
            return None  # the configuration check reports it
    if not has_web:
        return None
    try:
        return load_web_settings(config_path, env=env).base_url
    except SettingsError as exc:
        logger.warning("tableau de veille : %s (pas de lien dans les alertes)", exc)
        return None


def _tell_operations(sender: Any, tag: str, title: str, lines: list[str]) -> None:
    """Send ``lines`` to the operators' channel; a failure there is logged, never raised
    (the run already reports the same lines)."""
    from tenderwatch.notifier.render import Message, escape_markdown

    items = "".join(f"<li>{html.escape(line)}</li>" for line in lines)
    message = Message(
        title=title,
        html=f"<p>{html.escape(title)}</p><ul>{items}</ul>",
        text=title + "\n\n" + "\n".join(f"- {line}" for line in lines),
        markdown="\n".join(
            [escape_markdown(title), "", *(f"- {escape_markdown(line)}" for line in lines)]
        ),
    )
    for result in sender.send(tag, message):
        if not result.ok:
            logger.error("signalement au canal d'exploitation impossible : %s", result.error)


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
