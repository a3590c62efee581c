"""Delivering alerts through apprise: once per channel, nothing lost, nothing sent twice.

A group is an apprise tag (or several); each server carrying the tag is a **channel**. The
``deliveries`` table holds one row per (group, notice, kind, channel), so a notice reaches a
channel at most once across runs, whatever the number of runs or matches.

A row moves through these states (decision record 0006)::

    pending ──claim──▶ sending ──ok──▶ sent
       ▲                  │  └─error─▶ failed ──(next_attempt_at due)──▶ sending ...
       │                  │                └──(max_attempts reached)──▶ failed, reported
       │                  └─(crash between intent and result)──▶ unknown (never resent alone)
       └──────────── retry(ids) ◀── unknown / failed / skipped

The **intent** (``sending``, attempts + 1, and which process: ``claimed_by``) is committed
before apprise is called and the **result** after; a row still ``sending`` whose process is
gone was interrupted after the message may have left, so it becomes ``unknown`` at once and
waits for a person (:func:`retry_deliveries`). Every message carries a stable reference per
(group, notice, kind) (:func:`message_ref`), so a person can tell whether it arrived.

Immediate groups get one message per (group, notice, kind) on each channel; daily and weekly
groups get one digest per channel when their slot (``digest_time``, ``digest_day``,
Europe/Paris) has come, holding their pending alerts and award notices. Changes, cancellations
and reminders are time-sensitive and always go out at once.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import socket
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import apprise
from apprise import NotifyFormat
from apprise.common import MATCH_ALL_TAG
from apprise.plugins.base import NotifyBase
from apprise.url import URLBase

from tenderwatch.core.board import Board, notice_url
from tenderwatch.core.logs import Progress, mask_url, register_apprise_config, register_secret
from tenderwatch.core.store import Store
from tenderwatch.notifier import board_routing  # the board's marks route reminders (ADR 0010)
from tenderwatch.notifier.models import SOCIAL_LABELS, Group, Match, NoticeView
from tenderwatch.notifier.render import (
    PARIS,
    Message,
    days_until,
    deadline_moment,
    local_date,
    render_alert,
    render_digest,
    render_reminder,
    render_update,
)
from tenderwatch.notifier.views import NoticeNotFound, load_notice_view

logger = logging.getLogger(__name__)

PENDING, SENDING, SENT, FAILED, UNKNOWN, SKIPPED = (
    "pending",
    "sending",
    "sent",
    "failed",
    "unknown",
    "skipped",
)
STATUSES = (PENDING, SENDING, SENT, FAILED, UNKNOWN, SKIPPED)
ALERT, AWARD, UPDATE, CANCELLATION = "alert", "award", "update", "cancellation"
#: A later version of a notice (a re-publication) no longer carries a label the group was
#: alerted for: said as a question, since the classifier may just not have found it again.
CLAUSE_REMOVED = "clause-removed"
#: Kinds rendered as a change to a notice the group received.
CHANGE_KINDS = (UPDATE, CANCELLATION, CLAUSE_REMOVED)
#: Kinds that daily and weekly groups receive in their digest; the others go out at once.
DIGEST_KINDS = (ALERT, AWARD)
_KIND = re.compile(
    r"^(alert|award|update|cancellation|clause-removed|reminder-J\d{1,3}|board-claim|board-partner"
    r"|award-contact)$"
)
#: Channel of a row queued for a tag that has no server: it fails visibly until the
#: configuration gives the tag a channel, then it is replaced by the real channels.
NO_CHANNEL = "notag:"
WEEKDAYS = {"mon": 0, "tue": 1, "wed": 2, "thu": 3, "fri": 4, "sat": 5, "sun": 6}
ENV_CONFIG = "TENDERWATCH_APPRISE_CONFIG"

# apprise's own options (retry, timeouts, format...) are not part of what a channel *is*:
# leaving them out of the hash keeps channel ids stable across apprise upgrades and tweaks.
_GENERIC_ARGS = frozenset(NotifyBase.template_args) | frozenset(URLBase.template_args)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds")


def _utcnow() -> datetime:
    return datetime.now(UTC)


# -- message references ---------------------------------------------------------------------

#: The domain of our references: ``.invalid`` is reserved (RFC 2606), it can never clash
#: with a real host's Message-IDs.
REF_DOMAIN = "tenderwatch.invalid"
#: Header carrying the reference on e-mails and webhook requests. Not ``Message-ID``: apprise
#: (2.3) writes its own random Message-ID after the headers of the URL, so a second one
#: would make the e-mail carry two (RFC 5322 allows one).
REF_HEADER = "X-Tenderwatch-Ref"


def message_ref(group_id: str, subject: str, kind: str) -> str:
    """A stable, secret-free reference for one message: the same (group, notice, kind) — or
    (group, digest slot, ``digest``) — always gives the same one, so a resend after an
    interrupted run is recognisably the same message."""
    digest = hashlib.sha256(f"{group_id}|{subject}|{kind}".encode()).hexdigest()[:24]
    return f"tw-{digest}"


def message_id(ref: str) -> str:
    """The reference in Message-ID form (``<tw-…@tenderwatch.invalid>``)."""
    return f"<{ref}@{REF_DOMAIN}>"


def row_ref(row: dict[str, Any]) -> str:
    """The reference of the message a delivery row stands for."""
    if row.get("digest_id"):
        return message_ref(row["group_id"], row["digest_id"], "digest")
    return message_ref(row["group_id"], row["notice_id"], row["kind"])


def unknown_advice(row: dict[str, Any]) -> str:
    """What a person checks before resending an ``unknown`` delivery (French)."""
    ref = row_ref(row)
    return (
        f"vérifiez dans la boîte ou le canal [{row['channel']}] du groupe « {row['group_id']} »"
        f" si le message est arrivé (référence {ref}, Message-ID/en-tête {REF_HEADER}"
        f" {message_id(ref)}, rappelée en bas du message) avant"
        f" `tenderwatch deliveries retry {row['id']}`"
    )


# -- which process holds an intent ----------------------------------------------------------


def _proc_stat(pid: int) -> tuple[str, str] | None:
    """``(state, start time)`` of a process from /proc (Linux), or None if it is gone or /proc
    is not there. The start time (clock ticks since boot, field 22) tells a reused pid from the
    process that recorded an intent."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # Field 2 (the command) is in parentheses and may hold spaces: split after its end.
    fields = stat[stat.rindex(")") + 2 :].split()
    return fields[0], fields[19]


def process_token(pid: int | None = None) -> str:
    """``host/pid/start`` naming this process (``start`` is ``?`` without /proc)."""
    pid = os.getpid() if pid is None else pid
    stat = _proc_stat(pid)
    return f"{socket.gethostname()}/{pid}/{stat[1] if stat else '?'}"


def process_gone(token: str | None) -> bool | None:
    """Whether the process that recorded an intent no longer runs: True (gone, or its pid now
    belongs to another process), False (still running), None (cannot tell: another host, an
    intent recorded before ``claimed_by`` existed)."""
    host, _, rest = (token or "").partition("/")
    pid_text, _, start = rest.partition("/")
    if not pid_text.isdigit() or host != socket.gethostname():
        return None
    pid = int(pid_text)
    if start != "?":
        stat = _proc_stat(pid)
        # A zombie ("Z") was killed and waits for its parent to read its status: gone.
        return stat is None or stat[0] in ("Z", "X") or stat[1] != start
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # someone else's process: it exists
        return False
    return False


def channel_id(server: NotifyBase) -> str:
    """A short, stable hash naming a channel without revealing its URL (which may hold a
    password or a webhook token)."""
    parts = urlsplit(server.url(privacy=False))
    query = sorted(
        (k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in _GENERIC_ARGS
    )
    # Credentials are left out: rotating a password must not make a new channel.
    netloc = parts.hostname or ""
    if parts.port:
        netloc = f"{netloc}:{parts.port}"
    canonical = urlunsplit((parts.scheme, netloc, parts.path, urlencode(query), ""))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:12]


# -- sending --------------------------------------------------------------------------------


class SenderError(RuntimeError):
    """The apprise configuration cannot be used."""


#: Longest channel reason kept in an error (apprise's own sentences are short).
_MAX_REASON = 300


class _ReasonCatcher(logging.Handler):
    """Keeps what apprise says at WARNING and above during one send: apprise returns only
    "failed", and the why (connection refused, 401...) is in its log."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.reasons: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = " ".join(record.getMessage().split())
        except Exception:  # a broken log call must not break the send
            return
        if text and text not in self.reasons:
            self.reasons.append(text)

    def reason(self) -> str:
        """The reasons, secrets masked (registered URLs and secrets, any URL's credentials)."""
        text = mask_url(" ; ".join(self.reasons))
        return text if len(text) <= _MAX_REASON else text[: _MAX_REASON - 1] + "…"


@contextmanager
def _apprise_reasons() -> Iterator[_ReasonCatcher]:
    """A handler on apprise's logger for the duration of a send. Its level is lowered to
    WARNING if it was higher, never raised or lowered further: what other handlers receive
    does not change."""
    apprise_logger = logging.getLogger("apprise")
    catcher = _ReasonCatcher()
    level = apprise_logger.level
    if apprise_logger.getEffectiveLevel() > logging.WARNING:
        apprise_logger.setLevel(logging.WARNING)
    apprise_logger.addHandler(catcher)
    try:
        yield catcher
    finally:
        apprise_logger.removeHandler(catcher)
        apprise_logger.setLevel(level)


@dataclass(frozen=True)
class Channel:
    """One apprise server: its hash, its plugin's name and the body it receives."""

    id: str
    plugin: str
    body: str  # html | markdown | text

    @property
    def description(self) -> str:
        return f"{self.plugin} [{self.id}]"


@dataclass
class ChannelResult:
    """What happened on one channel. ``error`` is safe to store and log: it names the
    plugin and the channel hash, never the URL."""

    channel: str
    plugin: str
    ok: bool
    error: str | None = None

    @property
    def description(self) -> str:
        return f"{self.plugin} [{self.channel}]"


def _body_kind(server: NotifyBase) -> str:
    """Which rendering a server gets.

    ``resolve_format(MARKDOWN)`` is apprise's own choice for a Markdown input: e-mail
    plugins (HTML first, no Markdown) answer HTML and get the HTML e-mail; chat plugins that
    take Markdown get Markdown. A server answering TEXT gets our plain text only when it
    declares several formats, i.e. ``format=text`` was asked for in its URL; a text-only
    plugin (Mattermost, ntfy, Signal...) still gets the escaped Markdown, because some of them
    render Markdown themselves and notice text must never be interpreted there.
    """
    target = server.resolve_format(NotifyFormat.MARKDOWN)
    declared = server.notify_format
    several = isinstance(declared, list | tuple | set) and len(declared) > 1
    if target == NotifyFormat.HTML:
        return "html"
    if target == NotifyFormat.TEXT and several:
        return "text"
    return "markdown"


class Sender:
    """Sends rendered messages to the servers of an apprise tag, one server at a time.

    The channel URLs and their secrets stay in apprise's YAML, read from
    ``apprise_config_path`` (or ``$TENDERWATCH_APPRISE_CONFIG``); nothing here logs or
    stores a URL.
    """

    def __init__(
        self,
        apprise_config_path: str | Path | None = None,
        *,
        timeout: float = 60.0,
        min_interval: float | None = None,
    ) -> None:
        """``timeout`` bounds one send (seconds). ``min_interval`` overrides apprise's pause
        between two messages to the same server (5.5 s by default for most plugins, a
        politeness towards public services); ``None`` keeps each plugin's own."""
        path = apprise_config_path or os.environ.get(ENV_CONFIG)
        if not path:
            raise SenderError(
                f"aucune configuration apprise : passez un chemin ou définissez {ENV_CONFIG}"
            )
        path = Path(path).expanduser()
        if not path.is_file():
            raise SenderError(f"configuration apprise introuvable : {path}")
        # Its URLs hold the channels' secrets: hidden from every log record from now on
        # (apprise and urllib3 print them at DEBUG).
        register_apprise_config(path)
        config = apprise.AppriseConfig()
        config.add(str(path))
        self._apprise = apprise.Apprise()
        self._apprise.add(config)
        self.timeout = timeout
        self._servers: dict[str, NotifyBase] = {}
        for server in self._apprise.find(MATCH_ALL_TAG, match_always=False):
            if min_interval is not None:
                server.request_rate_per_sec = min_interval
            register_secret(server.url(privacy=False))  # apprise's own spelling of the URL
            self._servers.setdefault(channel_id(server), server)
        if not self._servers:
            logger.warning("la configuration apprise %s ne déclare aucun canal", path)

    def _channel(self, cid: str, server: NotifyBase) -> Channel:
        return Channel(id=cid, plugin=server.service_name, body=_body_kind(server))

    def channels(self, tag: str) -> list[Channel]:
        """The channels carrying ``tag`` (not those tagged ``always``: a group's channels are
        exactly the servers it names)."""
        out: dict[str, Channel] = {}
        for server in self._apprise.find(tag, match_always=False):
            cid = channel_id(server)
            out.setdefault(cid, self._channel(cid, server))
        return list(out.values())

    def send(self, tag: str, message: Message, *, ref: str | None = None) -> list[ChannelResult]:
        """Send ``message`` to every channel of ``tag``, each on its own; no channel for the
        tag is an error, never a silent success."""
        channels = self.channels(tag)
        if not channels:
            return [self.send_channel(NO_CHANNEL + tag, message)]
        return [self.send_channel(channel.id, message, ref=ref) for channel in channels]

    def send_channel(self, cid: str, message: Message, *, ref: str | None = None) -> ChannelResult:
        """Send ``message`` to one channel; exceptions from apprise become errors, and the
        reason apprise logs (secrets masked) goes with the error. ``ref``
        (:func:`message_ref`) is written at the bottom of the message and, for e-mails and
        webhooks, in the :data:`REF_HEADER` header."""
        if cid.startswith(NO_CHANNEL):
            tag = cid[len(NO_CHANNEL) :]
            return ChannelResult(cid, "-", False, f"aucun canal apprise pour l'étiquette « {tag} »")
        server = self._servers.get(cid)
        if server is None:
            return ChannelResult(cid, "-", False, f"canal [{cid}] absent de la configuration")
        channel = self._channel(cid, server)
        if ref:
            message = message.with_reference(ref)
        if channel.body == "html":
            body, title, fmt = message.html, message.title, NotifyFormat.HTML
        elif channel.body == "text":
            body, title, fmt = message.text, message.title, NotifyFormat.TEXT
        else:
            # Chat services may show the title as Markdown (or blend it into the body).
            body, title, fmt = message.markdown, message.markdown_title, NotifyFormat.MARKDOWN
        one = apprise.Apprise()
        one.add(server)
        # E-mail and HTTP plugins send the URL's ``+Header=value`` as headers (a dict on the
        # server); ours is added for this send only, then the server is as configured again.
        headers = getattr(server, "headers", None)
        tagged = ref is not None and isinstance(headers, dict)
        if tagged:
            server.headers = {**headers, REF_HEADER: message_id(ref)}
        try:
            with _apprise_reasons() as catcher:
                result = one.notify(body=body, title=title, body_format=fmt, timeout=self.timeout)
        except Exception as exc:  # any plugin failure is this channel's error, not a crash
            # The exception's text may quote the URL: keep its type only.
            error = f"{channel.description} : exception {type(exc).__name__}"
            return ChannelResult(cid, channel.plugin, False, error)
        finally:
            if tagged:
                server.headers = headers
        # apprise 1.x returns None when nothing matched and a bool otherwise; 2.x returns an
        # AppriseResult whose truth is SUCCESS only.
        if result:
            return ChannelResult(cid, channel.plugin, True)
        status = getattr(getattr(result, "status", None), "name", "FAILURE")
        reason = "rien n'a été envoyé" if result is None else f"échec de l'envoi ({status})"
        why = catcher.reason()
        if why:
            reason += f" — {why}"
        return ChannelResult(cid, channel.plugin, False, f"{channel.description} : {reason}")


# -- the deliveries table -------------------------------------------------------------------


@dataclass
class DeliveryReport:
    """What one :meth:`Deliverer.send_due` run did. ``errors`` are secret-free."""

    sent: int = 0
    failed: int = 0  # failures that will be retried
    given_up: list[int] = field(default_factory=list)  # reached max_attempts in this run
    unknown: list[int] = field(default_factory=list)  # found interrupted at start
    #: One French line per interrupted row: what it was and what to check before a retry.
    interrupted: list[str] = field(default_factory=list)
    skipped: int = 0
    digests: int = 0
    errors: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (self.failed or self.given_up or self.unknown)

    def summary(self) -> str:
        parts = [f"{self.sent} envoyée(s)"]
        if self.digests:
            parts.append(f"dont {self.digests} résumé(s)")
        if self.failed:
            parts.append(f"{self.failed} en échec (nouvel essai prévu)")
        if self.given_up:
            parts.append(f"{len(self.given_up)} abandonnée(s) : {self.given_up}")
        if self.unknown:
            parts.append(f"{len(self.unknown)} à l'issue inconnue : {self.unknown}")
        if self.skipped:
            parts.append(f"{self.skipped} sans objet")
        return ", ".join(parts)


class _Skip(Exception):
    """A delivery that has lost its purpose (deadline passed, procedure closed)."""


class Deliverer:
    """Queues deliveries and sends those that are due (see the module docstring).

    ``clock`` returns an aware datetime (UTC); tests pass a fixed one. ``load_view`` reads a
    notice from the store (default :func:`tenderwatch.notifier.views.load_notice_view`).
    """

    def __init__(
        self,
        store: Store,
        sender: Sender,
        groups: Iterable[Group],
        *,
        max_attempts: int = 5,
        backoff_minutes: float = 5.0,
        clock: Callable[[], datetime] = _utcnow,
        stale_after_minutes: float = 10.0,
        load_view: Callable[[Store, str], NoticeView] = load_notice_view,
        board_base_url: str | None = None,
    ) -> None:
        self.store = store
        self.db = store.db
        self.sender = sender
        self.groups = {g.id: g for g in groups}
        self.max_attempts = max_attempts
        self.backoff = timedelta(minutes=backoff_minutes)
        self.clock = clock
        # A send in progress in another process (the CLI next to the scheduler) must not be
        # called interrupted: an intent is interrupted when its process is gone, or (when
        # that cannot be told: another host, an old row) when it is older than this.
        self.stale_after = timedelta(minutes=stale_after_minutes)
        self.load_view = load_view
        # With a board ([web] base_url), every message links the notice on it (issue #10).
        self.board_base_url = board_base_url
        self.owner = process_token()

    # -- queueing -----------------------------------------------------------------------------

    def channels_of(self, group: Group) -> list[str]:
        """Channel ids of the group's tags; a tag without a server gives a placeholder."""
        out: list[str] = []
        for tag in group.tags or [group.id]:
            found = [c.id for c in self.sender.channels(tag)] or [NO_CHANNEL + tag]
            out.extend(c for c in found if c not in out)
        return out

    def _canonical(self, notice_id: str) -> str:
        row = self.db.execute(
            "SELECT canonical_id FROM notices WHERE id = ?", [notice_id]
        ).fetchone()
        if row is None:
            raise NoticeNotFound(notice_id)
        return row[0] or notice_id

    def _procedure_already_alerted(self, group_id: str, notice_id: str, kind: str) -> bool:
        """Whether the group has (or will have) this procedure's alert through another of its
        notices: a corrigendum matched again must not arrive as a second alert."""
        row = self.db.execute(
            "SELECT 1 FROM deliveries d JOIN notices n ON n.id = d.notice_id"
            " JOIN notices m ON m.id = ? AND m.procedure_id = n.procedure_id"
            " WHERE d.group_id = ? AND d.kind = ? AND d.notice_id != ?"
            " AND (d.status IN ('pending', 'sending', 'sent', 'unknown')"
            "      OR (d.status = 'failed' AND d.attempts < ?))"
            " LIMIT 1",
            [notice_id, group_id, kind, notice_id, self.max_attempts],
        ).fetchone()
        return row is not None

    def _channel_has_it(self, channel: str, group_id: str, notice_id: str, kind: str) -> bool:
        """Whether another group already owes this very message to this channel: two groups
        sharing a mailbox or a chat room must not make it arrive twice."""
        if channel.startswith(NO_CHANNEL):
            return False
        row = self.db.execute(
            "SELECT 1 FROM deliveries WHERE channel = ? AND notice_id = ? AND kind = ?"
            " AND group_id != ?"
            " AND (status IN ('pending', 'sending', 'sent', 'unknown')"
            "      OR (status = 'failed' AND attempts < ?))"
            " LIMIT 1",
            [channel, notice_id, kind, group_id, self.max_attempts],
        ).fetchone()
        return row is not None

    def queue(
        self, group_id: str, notice_id: str, kind: str, details: dict[str, Any] | None = None
    ) -> bool:
        """Owe ``kind`` about ``notice_id`` to each channel of the group; True when at least
        one row is new. The notice's canonical record is used (a notice on BOAMP and TED is
        one alert); a procedure already alerted to the group gets no second alert; a channel
        that another group already owes this message to is left out."""
        if not _KIND.match(kind):
            raise ValueError(f"type de livraison inconnu : {kind}")
        group = self.groups.get(group_id)
        if group is None:
            raise KeyError(f"groupe inconnu : {group_id}")
        notice_id = self._canonical(notice_id)
        if kind == ALERT and self._procedure_already_alerted(group_id, notice_id, kind):
            return False
        if self._already_delivered(group_id, notice_id, kind):
            # At most once per (group, notice, kind): a channel added or changed later (a new
            # address, a rotated password, another port) does not get the past again.
            return False
        now = _iso(self.clock())
        payload = json.dumps(details or {}, ensure_ascii=False, sort_keys=True)
        with self.db.atomic():
            inserted = [
                self._insert(group_id, notice_id, kind, channel, now, payload)
                for channel in self.channels_of(group)
            ]
        return any(inserted)

    def _already_delivered(self, group_id: str, notice_id: str, kind: str) -> bool:
        """True when this (group, notice, kind) went out, or may have, on any channel."""
        row = self.db.execute(
            "SELECT 1 FROM deliveries WHERE group_id = ? AND notice_id = ? AND kind = ?"
            " AND status IN ('sent', 'sending', 'unknown') LIMIT 1",
            [group_id, notice_id, kind],
        ).fetchone()
        return row is not None

    def _insert(
        self, group_id: str, notice_id: str, kind: str, channel: str, created: str, details: str
    ) -> bool:
        """Insert one pending row unless it exists or another group owes it to the channel."""
        if self._channel_has_it(channel, group_id, notice_id, kind):
            return False
        cursor = self.db.execute(
            "INSERT OR IGNORE INTO deliveries"
            " (group_id, notice_id, kind, channel, status, attempts, created_at, details)"
            " VALUES (?, ?, ?, ?, 'pending', 0, ?, ?)",
            [group_id, notice_id, kind, channel, created, details],
        )
        return cursor.rowcount == 1

    def queue_match(self, match: Match, *, kind: str | None = None) -> bool:
        """Queue the alert (or award notice) of a match, keeping its labels, lots, reasons."""
        if kind is None:
            row = self.db.execute(
                "SELECT nature FROM notices WHERE id = ?", [match.notice_id]
            ).fetchone()
            kind = AWARD if row and row[0] == "award" else ALERT
        details = {"labels": match.labels, "lots": match.lots, "reasons": match.reasons}
        return self.queue(match.group_id, match.notice_id, kind, details)

    # -- the state machine --------------------------------------------------------------------

    def _recover_interrupted(self, now: datetime, report: DeliveryReport) -> list[int]:
        """Rows left ``sending`` by a run that died between intent and result: the message may
        have left, so they become ``unknown`` and are not sent again by themselves.

        A row is interrupted as soon as the process that recorded its intent is gone (its pid
        no longer runs, or runs another program); when that cannot be told (another host, a
        row from before ``claimed_by``), or the process still runs, only once its intent is
        older than ``stale_after``."""
        limit = _iso(now - self.stale_after)
        found: list[tuple[dict[str, Any], str]] = []
        for row in self.db.query("SELECT * FROM deliveries WHERE status = 'sending'"):
            gone = process_gone(row.get("claimed_by"))
            if gone:
                pid = row["claimed_by"].split("/")[1]
                found.append((row, f"processus {pid} arrêté pendant l'envoi"))
            elif (row["attempted_at"] or "") <= limit:
                found.append((row, "envoi commencé il y a plus de 10 min, sans résultat"))
        ids: list[int] = []
        with self.db.atomic():
            for row, why in found:
                cursor = self.db.execute(
                    "UPDATE deliveries SET status = 'unknown', last_error = ?"
                    " WHERE id = ? AND status = 'sending'",
                    [
                        f"interrompu ({why}) : peut-être envoyé, non renvoyé automatiquement",
                        row["id"],
                    ],
                )
                if cursor.rowcount == 1:
                    ids.append(row["id"])
                    report.interrupted.append(
                        f"livraison {row['id']} ({row['kind']} {row['notice_id']}) interrompue"
                        f" ({why}) : {unknown_advice(row)}"
                    )
        for line in report.interrupted:
            logger.warning("%s", line)
        return ids

    def _replace_placeholders(self) -> None:
        """A tag that had no channel when a row was queued may have one now."""
        rows = list(
            self.db.query(
                "SELECT * FROM deliveries WHERE channel LIKE 'notag:%'"
                " AND status IN ('pending', 'failed')"
            )
        )
        for row in rows:
            channels = self.sender.channels(row["channel"][len(NO_CHANNEL) :])
            if not channels:
                continue
            with self.db.atomic():
                for channel in channels:
                    self._insert(
                        row["group_id"],
                        row["notice_id"],
                        row["kind"],
                        channel.id,
                        row["created_at"],
                        row["details"],
                    )
                self.db.execute("DELETE FROM deliveries WHERE id = ?", [row["id"]])

    def _due(self, now: datetime) -> list[dict[str, Any]]:
        return list(
            self.db.query(
                "SELECT * FROM deliveries WHERE attempts < ? AND ("
                " (status = 'pending' AND (next_attempt_at IS NULL OR next_attempt_at <= ?))"
                " OR (status = 'failed' AND next_attempt_at <= ?))"
                " ORDER BY id",
                [self.max_attempts, _iso(now), _iso(now)],
            )
        )

    def _claim(self, rows: list[dict[str, Any]], now: datetime, digest_id: str | None) -> list:
        """Record the intent, committed before anything is sent. The status condition makes
        the claim exclusive: a row another process took is left out."""
        claimed = []
        with self.db.atomic():
            for row in rows:
                cursor = self.db.execute(
                    "UPDATE deliveries SET status = 'sending', attempts = attempts + 1,"
                    " attempted_at = ?, digest_id = COALESCE(?, digest_id), claimed_by = ?"
                    " WHERE id = ? AND status IN ('pending', 'failed') AND attempts < ?",
                    [_iso(now), digest_id, self.owner, row["id"], self.max_attempts],
                )
                if cursor.rowcount == 1:
                    row["attempts"] += 1
                    claimed.append(row)
        return claimed

    def _record(
        self,
        row: dict[str, Any],
        ok: bool,
        error: str | None,
        now: datetime,
        report: DeliveryReport,
    ) -> None:
        """Record the result of an attempt (by id: the message has left or it has not)."""
        if ok:
            self.db.execute(
                "UPDATE deliveries SET status = 'sent', sent_at = ?, next_attempt_at = NULL,"
                " last_error = NULL WHERE id = ?",
                [_iso(now), row["id"]],
            )
            report.sent += 1
            logger.info(
                "livraison %s envoyée : %s %s à %s via [%s]",
                row["id"],
                row["kind"],
                row["notice_id"],
                row["group_id"],
                row["channel"],
            )
            return
        attempts = row["attempts"]
        if attempts >= self.max_attempts:
            next_at = None
            report.given_up.append(row["id"])
        else:
            next_at = _iso(now + self.backoff * 2 ** (attempts - 1))
            report.failed += 1
        self.db.execute(
            "UPDATE deliveries SET status = 'failed', next_attempt_at = ?, last_error = ?"
            " WHERE id = ?",
            [next_at, error, row["id"]],
        )
        report.errors.append(f"livraison {row['id']} : {error}")
        logger.warning(
            "livraison %s en échec (essai %s/%s) : %s",
            row["id"],
            attempts,
            self.max_attempts,
            error,
        )

    def _skip(self, rows: list[dict[str, Any]], reason: str, report: DeliveryReport) -> None:
        with self.db.atomic():
            for row in rows:
                self.db.execute(
                    "UPDATE deliveries SET status = 'skipped', last_error = ?, next_attempt_at"
                    " = NULL WHERE id = ? AND status IN ('pending', 'failed')",
                    [reason, row["id"]],
                )
        report.skipped += len(rows)

    # -- rendering ------------------------------------------------------------------------------

    def _view(self, notice_id: str, channel: str | None = None) -> NoticeView:
        view = self.load_view(self.store, notice_id)
        if self.board_base_url:
            view.board_url = notice_url(
                view.id, base_url=self.board_base_url, email=self._member_email(channel)
            )
        return view

    def _member_email(self, channel: str | None) -> str | None:
        """The address behind a ``member:<id>`` channel (a personal link), else None."""
        if not channel or not channel.startswith(board_routing.MEMBER_CHANNEL):
            return None
        try:
            member = Board(self.store).member(int(channel[len(board_routing.MEMBER_CHANNEL) :]))
        except ValueError:
            return None
        return member.email if member else None

    def _procedure_status(self, notice: NoticeView) -> str | None:
        if not notice.procedure_id:
            return None
        row = self.db.execute(
            "SELECT status FROM procedures WHERE id = ?", [notice.procedure_id]
        ).fetchone()
        return row[0] if row else None

    def _check_open(self, notice: NoticeView, now: datetime) -> None:
        """An alert or reminder after the deadline, or about a closed procedure, is noise."""
        deadline = deadline_moment(notice.deadline)
        if deadline is not None and deadline <= now:
            raise _Skip("date limite dépassée avant l'envoi")
        status = self._procedure_status(notice)
        if status not in (None, "open"):
            raise _Skip(f"procédure close ({status}) avant l'envoi")

    def _item(self, row: dict[str, Any], now: datetime) -> tuple[NoticeView, Match]:
        details = json.loads(row["details"] or "{}")
        notice = self._view(row["notice_id"], row.get("channel"))
        if row["kind"] == ALERT:
            self._check_open(notice, now)
        match = Match(
            group_id=row["group_id"],
            notice_id=row["notice_id"],
            labels=details.get("labels") or notice.social_labels,
            lots=[str(x) for x in details.get("lots") or []],
            reasons=details.get("reasons") or [],
        )
        return notice, match

    def render(self, row: dict[str, Any], now: datetime) -> Message:
        """The message a single (non-digest) delivery row stands for."""
        today = now.astimezone(PARIS).date()
        kind = row["kind"]
        details = json.loads(row["details"] or "{}")
        if kind in DIGEST_KINDS:
            notice, match = self._item(row, now)
            return render_alert(notice, match, today=today)
        notice = self._view(row["notice_id"], row.get("channel"))
        if kind in CHANGE_KINDS:
            previous = self._view(details.get("previous_id") or row["notice_id"])
            return render_update(notice, previous, details.get("changes") or {}, today=today)
        if kind in board_routing.ANNOUNCEMENTS:
            return board_routing.render_announcement(notice, kind, details)
        if kind == "award-contact":  # « attributaire à démarcher » (issue #12)
            from tenderwatch.notifier.awards import render_award_contact

            return render_award_contact(
                self.store,
                row["notice_id"],
                [str(x) for x in details.get("lots") or []],
                details.get("reasons") or [],
                # No board link: the award notice is not on the group's board.
            )
        # reminder-J<n>
        self._check_open(notice, now)
        days = days_until(notice.deadline, today)
        if days is None:
            raise _Skip("plus de date limite connue")
        return render_reminder(notice, days, today=today)

    # -- sending ----------------------------------------------------------------------------

    def send_due(self, now: datetime | None = None) -> DeliveryReport:
        """Send what is due at ``now`` (default: the clock) and report it."""
        now = now or self.clock()
        if self.db.conn.in_transaction:
            # The intent must be committed before apprise is called; inside a caller's
            # transaction it would not be, and a crash would resend.
            raise RuntimeError("send_due ne doit pas s'exécuter dans une transaction ouverte")
        report = DeliveryReport()
        report.unknown = self._recover_interrupted(now, report)
        self._replace_placeholders()
        immediate: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
        digests: dict[tuple[str, str], list[dict[str, Any]]] = {}
        orphans = []
        for row in self._due(now):
            group = self.groups.get(row["group_id"])
            if group is None:
                orphans.append(row)
            elif group.delivery in ("daily", "weekly") and row["kind"] in DIGEST_KINDS:
                digests.setdefault((row["group_id"], row["channel"]), []).append(row)
            else:
                key = (row["group_id"], row["notice_id"], row["kind"])
                immediate.setdefault(key, []).append(row)
        if orphans:
            self._skip(orphans, "groupe absent de la configuration", report)
        # A counter on a terminal, a line every 50 messages in a log (-q: nothing).
        progress = Progress("Envois", len(immediate) + len(digests), logger=logger, every=50)
        for rows in immediate.values():
            self._send_one(rows, now, report)
            progress.step()
        for (group_id, channel), rows in digests.items():
            self._send_digest(self.groups[group_id], channel, rows, now, report)
            progress.step()
        progress.done()
        return report

    def _send_one(self, rows: list[dict[str, Any]], now: datetime, report: DeliveryReport) -> None:
        """One (group, notice, kind): render once, then each channel on its own."""
        try:
            message = self.render(rows[0], now)
        except _Skip as skip:
            self._skip(rows, str(skip), report)
            return
        except Exception as exc:  # a notice we cannot render must not stop the others
            logger.exception("rendu impossible pour la livraison %s", rows[0]["id"])
            for row in self._claim(rows, now, None):
                self._record(row, False, f"rendu impossible ({type(exc).__name__})", now, report)
            return
        for row in rows:
            for claimed in self._claim([row], now, None):
                if claimed["channel"].startswith(board_routing.MEMBER_CHANNEL):
                    ok, error = board_routing.send_to_member(
                        self.store, self.sender, claimed["channel"], message
                    )
                    self._record(claimed, ok, error, now, report)
                    continue
                result = self.sender.send_channel(claimed["channel"], message, ref=row_ref(claimed))
                self._record(claimed, result.ok, result.error, now, report)

    def last_slot(self, group: Group, now: datetime) -> datetime:
        """The latest digest time of the group at or before ``now`` (Paris wall clock)."""
        hour, _, minute = (group.digest_time or "08:30").partition(":")
        local = now.astimezone(PARIS)
        slot = local.replace(hour=int(hour), minute=int(minute or 0), second=0, microsecond=0)
        if group.delivery == "weekly":
            back = (local.weekday() - WEEKDAYS.get(group.digest_day, 0)) % 7
            slot -= timedelta(days=back)
            step = timedelta(days=7)
        else:
            step = timedelta(days=1)
        if slot > local:
            slot -= step
        # Arithmetic on a ZoneInfo datetime is wall-clock: 08:30 stays 08:30 across DST.
        return slot.astimezone(UTC)

    def _digest_is_due(
        self, group: Group, channel: str, rows: list[dict[str, Any]], now: datetime
    ) -> datetime | None:
        """The slot to serve, when a row was waiting at that slot and no digest went out to
        this channel since (never two digests in one slot)."""
        slot = self.last_slot(group, now)
        if min(r["created_at"] for r in rows) > _iso(slot):
            return None
        already = self.db.execute(
            "SELECT 1 FROM deliveries WHERE group_id = ? AND channel = ? AND status = 'sent'"
            " AND digest_id IS NOT NULL AND sent_at >= ? LIMIT 1",
            [group.id, channel, _iso(slot)],
        ).fetchone()
        return None if already else slot

    def _send_digest(
        self,
        group: Group,
        channel: str,
        rows: list[dict[str, Any]],
        now: datetime,
        report: DeliveryReport,
    ) -> None:
        slot = self._digest_is_due(group, channel, rows, now)
        if slot is None:
            return
        digest_id = f"{group.id}/{slot.astimezone(PARIS):%Y-%m-%dT%H:%M}"
        items: list[tuple[NoticeView, Match]] = []
        keep: list[dict[str, Any]] = []
        for row in rows:
            try:
                items.append(self._item(row, now))
                keep.append(row)
            except _Skip as skip:
                self._skip([row], str(skip), report)
            except Exception as exc:  # one broken notice must not hold back the digest
                logger.exception("rendu impossible pour la livraison %s", row["id"])
                for claimed in self._claim([row], now, None):
                    error = f"rendu impossible ({type(exc).__name__})"
                    self._record(claimed, False, error, now, report)
        if not keep:
            return
        claimed = self._claim(keep, now, digest_id)
        if not claimed:
            return
        ids = {r["id"] for r in claimed}
        items = [item for item, row in zip(items, keep, strict=True) if row["id"] in ids]
        today = now.astimezone(PARIS).date()
        message = render_digest(group, items, today=today)
        ref = message_ref(group.id, digest_id, "digest")
        result = self.sender.send_channel(channel, message, ref=ref)
        for row in claimed:
            self._record(row, result.ok, result.error, now, report)
        if result.ok:
            report.digests += 1

    def retry(self, ids: Iterable[int]) -> int:
        """Put chosen deliveries (unknown, failed or skipped) back to pending; see
        :func:`retry_deliveries`. Returns how many were."""
        return len(retry_deliveries(self.store, ids).retried)


@dataclass
class RetryResult:
    """What :func:`retry_deliveries` did: the ids put back to pending, and for every other id
    why it was refused (French, for the CLI)."""

    retried: list[int] = field(default_factory=list)
    refused: dict[int, str] = field(default_factory=dict)


#: Why a delivery in this state cannot be put back to pending (French, for the CLI).
_NOT_RETRIABLE = {
    SENT: "déjà envoyée : jamais renvoyée (elle arriverait deux fois)",
    PENDING: "déjà en attente : elle partira au prochain envoi",
    SENDING: "envoi en cours",
}


def retry_deliveries(store: Store, ids: Iterable[int]) -> RetryResult:
    """Put chosen deliveries (unknown, failed or skipped) back to pending, attempts reset: a
    person decided that sending again is better than maybe not having sent. A sent delivery
    is never sent again; an id that does not exist is refused, not ignored. Needs neither the
    groups nor the channels: only the database."""
    result = RetryResult()
    with store.db.atomic():
        for delivery_id in dict.fromkeys(int(i) for i in ids):
            row = store.db.execute(
                "SELECT status FROM deliveries WHERE id = ?", [delivery_id]
            ).fetchone()
            if row is None:
                result.refused[delivery_id] = "envoi inconnu"
                continue
            cursor = store.db.execute(
                "UPDATE deliveries SET status = 'pending', attempts = 0,"
                " next_attempt_at = NULL WHERE id = ?"
                " AND status IN ('unknown', 'failed', 'skipped')",
                [delivery_id],
            )
            if cursor.rowcount == 1:
                result.retried.append(delivery_id)
            else:
                result.refused[delivery_id] = _NOT_RETRIABLE.get(row[0], f"état {row[0]}")
    return result


# -- corrigenda, cancellations, reminders ---------------------------------------------------


def _complete_republication(form: str | None) -> bool:
    """eForms change notices restate the whole notice; BOAMP rectificatifs often list only
    what changed, so an absent lot or clause there proves nothing."""
    return "eforms" in (form or "").lower()


def _lot_ids(store: Store, notice_ids: list[str]) -> tuple[list[str], dict[str, str]]:
    ids: list[str] = []
    titles: dict[str, str] = {}
    for notice_id in notice_ids:
        for lot in store.db.query(
            "SELECT lot_id, title FROM lots WHERE notice_id = ? ORDER BY position", [notice_id]
        ):
            if lot["lot_id"] not in ids:
                ids.append(lot["lot_id"])
            if lot["title"]:
                titles[lot["lot_id"]] = lot["title"]
    return ids, titles


def _positive(classification: dict[str, Any] | None) -> set[str]:
    labels = (classification or {}).get("labels") or {}
    return {label for label in SOCIAL_LABELS if labels.get(label)}


def compute_changes(store: Store, change_id: str) -> tuple[str | None, dict[str, Any]]:
    """What a corrigendum or cancellation changes, against the procedure's notices published
    before it: ``(previous_id, changes)``. ``previous_id`` is the latest earlier call for
    tenders or corrigendum (the state the change applies to)."""
    change = store.get_notice(change_id)
    if change is None:
        raise NoticeNotFound(change_id)
    earlier = [
        r
        for r in store.db.query(
            "SELECT id, nature, deadline, form FROM notices WHERE procedure_id = ? AND id != ?"
            " AND (canonical_id IS NULL OR canonical_id = id)"
            " AND (published < ? OR (published = ? AND id < ?))"
            " ORDER BY published, id",
            [
                change["procedure_id"],
                change_id,
                change["published"] or "",
                change["published"] or "",
                change_id,
            ],
        )
        if r["nature"] in ("call_for_tenders", "corrigendum")
    ]
    previous_id = earlier[-1]["id"] if earlier else None
    changes: dict[str, Any] = {}
    old_deadline = next((r["deadline"] for r in reversed(earlier) if r["deadline"]), None)
    new_deadline = change.get("deadline")
    if (
        change["nature"] == "corrigendum"
        and new_deadline
        and deadline_moment(new_deadline) != deadline_moment(old_deadline)
    ):
        changes["deadline"] = {"old": old_deadline, "new": new_deadline}
    before, titles = _lot_ids(store, [r["id"] for r in earlier])
    now_lots, now_titles = _lot_ids(store, [change_id])
    titles.update(now_titles)
    complete = _complete_republication(change.get("form"))
    if change["nature"] == "cancellation":
        proc = change.get("procedure_state") or {}
        lots_state = json.loads(proc.get("lots_state") or "{}")
        cancelled = [x for x in now_lots if (lots_state.get(x) or {}).get("status") == "cancelled"]
        if proc.get("status") == "cancelled" or not cancelled:
            changes["cancelled"] = True
        else:
            changes["lots_cancelled"] = cancelled
    else:
        if before:
            changes["lots_added"] = [x for x in now_lots if x not in before]
        if complete and now_lots and set(now_lots) & set(before):
            changes["lots_removed"] = [x for x in before if x not in now_lots]
        if previous_id:
            was = _positive(store.classification(previous_id))
            latest = store.classification(change_id)
            if latest is not None:
                # Same model version on both sides when it exists: a new model is not a change.
                same = store.classification(previous_id, latest["model_version"])
                was = _positive(same) if same else was
                is_ = _positive(latest)
                changes["labels_added"] = sorted(is_ - was, key=SOCIAL_LABELS.index)
                removed = sorted(was - is_, key=SOCIAL_LABELS.index)
                if complete:
                    changes["labels_removed"] = removed
                else:
                    # A BOAMP rectificatif often restates only what changed: the label may
                    # still hold. Silence would hide a real withdrawal, so it is said as a
                    # question (issue #8).
                    changes["labels_maybe_removed"] = removed
    changes["lot_titles"] = {k: v for k, v in titles.items() if k in now_lots or k in before}
    return previous_id, {k: v for k, v in changes.items() if v or k == "lot_titles"}


def _clause_removed(
    group: Group, previous_id: str | None, changes: dict[str, Any]
) -> dict[str, Any] | None:
    """The details of a ``clause-removed`` message for a re-publication, or None when no
    label the group follows disappeared."""
    gone = (changes.get("labels_removed") or []) + (changes.get("labels_maybe_removed") or [])
    removed = [label for label in gone if label in group.labels]
    if not removed:
        return None
    return {"previous_id": previous_id, "changes": {"labels_maybe_removed": removed}}


def queue_updates(
    store: Store, deliverer: Deliverer, *, notice_ids: Iterable[str] | None = None
) -> int:
    """For each corrigendum or cancellation (``notice_ids``, or all of them), queue an
    ``update`` or ``cancellation`` to the groups that **received** an alert for an earlier
    notice of the same procedure, and to them only. A re-publication (a later call for
    tenders of the procedure) that no longer carries a label the group follows gets a
    ``clause-removed`` message. Returns the number queued."""
    sql = (
        "SELECT DISTINCT d.group_id, c.id AS change_id, c.nature FROM deliveries d"
        " JOIN notices a ON a.id = d.notice_id"
        " JOIN notices c ON c.procedure_id = a.procedure_id AND c.id != a.id"
        " WHERE d.kind = 'alert' AND d.status = 'sent'"
        " AND c.nature IN ('corrigendum', 'cancellation', 'call_for_tenders')"
        " AND (c.canonical_id IS NULL OR c.canonical_id = c.id)"
        " AND (c.published > a.published OR (c.published = a.published AND c.id > a.id))"
    )
    params: list[Any] = []
    if notice_ids is not None:
        ids = list(notice_ids)
        if not ids:
            return 0
        sql += f" AND c.id IN ({', '.join('?' for _ in ids)})"
        params.extend(ids)
    queued = 0
    computed: dict[str, tuple[str | None, dict[str, Any]]] = {}
    for row in list(store.db.query(sql + " ORDER BY c.published, c.id", params)):
        group = deliverer.groups.get(row["group_id"])
        kind = CANCELLATION if row["nature"] == "cancellation" else UPDATE
        # ``corrigenda = false`` turns off both (as config/tenderwatch.example.toml says).
        if group is None or not group.corrigenda:
            continue
        if row["change_id"] not in computed:
            computed[row["change_id"]] = compute_changes(store, row["change_id"])
        previous_id, changes = computed[row["change_id"]]
        details: dict[str, Any] | None = {"previous_id": previous_id, "changes": changes}
        if row["nature"] == "call_for_tenders":
            kind, details = CLAUSE_REMOVED, _clause_removed(group, previous_id, changes)
            if details is None:
                continue
        queued += deliverer.queue(group.id, row["change_id"], kind, details)
    return queued


def queue_reminders(store: Store, deliverer: Deliverer, *, now: datetime | None = None) -> int:
    """For each alert a group received, queue ``reminder-J<n>`` once when the deadline is n
    days away (or fewer, when a run was missed), for the smallest such n of the group's
    ``reminder_days``; never after the deadline, never for a closed procedure, and never for
    a reminder the alert itself came too late for."""
    now = now or deliverer.clock()
    today = now.astimezone(PARIS).date()
    rows = list(
        store.db.query(
            "SELECT d.group_id, d.notice_id, MIN(d.sent_at) AS sent_at,"
            " COALESCE(p.deadline, n.deadline) AS deadline, p.status"
            " FROM deliveries d JOIN notices n ON n.id = d.notice_id"
            " LEFT JOIN procedures p ON p.id = n.procedure_id"
            " WHERE d.kind = 'alert' AND d.status = 'sent'"
            " GROUP BY d.group_id, d.notice_id"
        )
    )
    queued = 0
    for row in rows:
        group = deliverer.groups.get(row["group_id"])
        deadline = deadline_moment(row["deadline"])
        if not group or not group.reminder_days or deadline is None or deadline <= now:
            continue
        if row["status"] not in (None, "open"):
            continue
        days_left = (deadline.date() - today).days
        sent_day: date = local_date(row["sent_at"]) or today
        lead = (deadline.date() - sent_day).days
        due = [n for n in group.reminder_days if days_left <= n < lead]
        if not due:
            continue
        n = min(due)
        details = {"days": n, "deadline": row["deadline"]}
        # The board's marks: engaged members by personal e-mail, nobody when the members
        # only said « vu » / « pas pour nous », the group's channels when nobody marked it.
        members = board_routing.reminder_recipients(store, group.id, row["notice_id"])
        if members is not None:
            kind = f"reminder-J{n}"
            if members and not deliverer._already_delivered(group.id, row["notice_id"], kind):
                payload = json.dumps(details, ensure_ascii=False, sort_keys=True)
                with store.db.atomic():
                    queued += any(
                        [
                            deliverer._insert(
                                group.id,
                                row["notice_id"],
                                kind,
                                f"{board_routing.MEMBER_CHANNEL}{m.id}",
                                _iso(now),
                                payload,
                            )
                            for m in members
                        ]
                    )
            continue
        queued += deliverer.queue(group.id, row["notice_id"], f"reminder-J{n}", details)
    return queued


# -- reading --------------------------------------------------------------------------------


def list_deliveries(
    store: Store, status: str | None = None, group: str | None = None, *, limit: int = 200
) -> list[dict[str, Any]]:
    """Deliveries, newest first, with the notice's title (for ``deliveries list``)."""
    where, params = ["1 = 1"], []
    if status:
        if status not in STATUSES:
            raise ValueError(f"statut inconnu : {status} (attendu : {', '.join(STATUSES)})")
        where.append("d.status = ?")
        params.append(status)
    if group:
        where.append("d.group_id = ?")
        params.append(group)
    # Only fixed clauses with "?" placeholders are joined here: no user text in the SQL.
    sql = (
        "SELECT d.id, d.group_id, d.notice_id, n.title, d.kind, d.channel, d.status,"  # noqa: S608
        " d.attempts, d.next_attempt_at, d.last_error, d.created_at, d.attempted_at,"
        " d.sent_at, d.digest_id, d.details FROM deliveries d"
        " LEFT JOIN notices n ON n.id = d.notice_id WHERE "
        + " AND ".join(where)
        + " ORDER BY d.id DESC LIMIT ?"
    )
    rows = list(store.db.query(sql, [*params, limit]))
    for row in rows:
        row["details"] = json.loads(row["details"] or "{}")
    return rows
