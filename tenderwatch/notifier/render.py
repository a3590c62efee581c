"""Alerts, digests, change notices and reminders as messages: a title plus the same content as
HTML (e-mail), plain text and Markdown (chat), in French, from Jinja2 templates.

Everything that comes from a notice is hostile input: a buyer writes the title and the text,
and a harvested page may carry markup. The HTML templates are autoescaped; the Markdown
templates escape every expression through ``finalize`` (so a forgotten filter cannot open a
hole), with :class:`markupsafe.Markup` reserved for the few fragments built here on purpose
(a checked link). No template ever outputs raw HTML from a notice.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, replace
from datetime import date, datetime, time
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup

from tenderwatch.notifier.models import SOCIAL_LABELS, Group, LotView, Match, NoticeView

PARIS = ZoneInfo("Europe/Paris")
TEMPLATES = Path(__file__).resolve().parent / "templates"

WEEKDAYS = ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche")
MONTHS = (
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
)

#: The classifier's labels in plain words, for a small structure reading on a phone.
LABELS_FR: dict[str, str] = {
    "insertion_clause": "Clause d'insertion : le titulaire doit faire travailler des personnes "
    "en insertion",
    "insertion_criterion": "Critère d'attribution sur l'insertion : l'offre est notée sur ce point",
    "reserved_siae": "Marché réservé aux SIAE (structures d'insertion par l'activité économique)",
    "reserved_disability": "Marché réservé aux entreprises adaptées et ESAT",
    "insertion_contract": "Marché d'insertion : l'insertion est l'objet même du marché",
    "reserved_other": "Marché réservé à l'économie sociale et solidaire (ou autre réservation)",
    "allotted": "Marché divisé en lots",
}
#: Short names, for titles, lists of lots and digest sections.
LABELS_SHORT: dict[str, str] = {
    "insertion_clause": "Clause d'insertion",
    "insertion_criterion": "Critère insertion",
    "reserved_siae": "Réservé SIAE",
    "reserved_disability": "Réservé EA/ESAT",
    "insertion_contract": "Marché d'insertion",
    "reserved_other": "Réservé ESS",
    "allotted": "Alloti",
}
#: Order of the digest sections and of the "main" label of a notice: what a structure can
#: answer alone (a reservation) before what it answers with a partner (a clause).
LABEL_PRIORITY = (
    "reserved_siae",
    "reserved_disability",
    "insertion_contract",
    "reserved_other",
    "insertion_criterion",
    "insertion_clause",
)
#: Digest section headings, one per main label.
DIGEST_HEADINGS = {
    "reserved_siae": "Marchés réservés aux SIAE",
    "reserved_disability": "Marchés réservés aux entreprises adaptées et ESAT",
    "insertion_contract": "Marchés d'insertion",
    "reserved_other": "Marchés réservés à l'économie sociale et solidaire",
    "insertion_criterion": "Critère d'attribution sur l'insertion",
    "insertion_clause": "Clauses d'insertion",
    "award": "Avis d'attribution",
    "other": "Autres avis",
}
#: ``legal_basis.norm`` prefixes (clauses-reference.md §8.8) → the text they cite.
LEGAL_TEXTS = {
    "CCP": "du code de la commande publique",
    "CMP": "du code des marchés publics",
    "ORD2015": "de l'ordonnance n° 2015-899",
    "DEC2016": "du décret n° 2016-360",
    "CT": "du code du travail",
}
LOT_STATUS_FR = {
    "cancelled": "annulé",
    "awarded": "attribué",
    "not_awarded": "infructueux",
}
MAX_EVIDENCE = 3
MAX_QUOTE = 400

# Markdown (CommonMark and the chat dialects) gives a meaning to these; a backslash makes
# them literal. ``@`` is not escapable: a zero-width space after it stops @channel / @all
# mentions in Mattermost and Slack.
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()<>#+!|~&])")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\u200b-\u200f\u2028\u2029\u202a-\u202e]")
_SPACES = re.compile(r"\s+")


@dataclass
class Message:
    """One rendered message. ``title`` is plain text (an e-mail subject);
    ``markdown_title`` is the same title escaped for chat services that render it."""

    title: str
    html: str
    text: str
    markdown: str
    markdown_title: str = ""

    def __post_init__(self) -> None:
        if not self.markdown_title:
            self.markdown_title = escape_markdown(self.title)

    def with_reference(self, ref: str) -> Message:
        """The same message with its delivery reference as its last line: a person checking
        whether an interrupted send arrived searches the mailbox or the chat channel for it
        (chat services have no headers)."""
        line = f"Référence de l'envoi : {ref}"
        footer = f'<p style="margin:8px 0 0;color:#57606a;font-size:11px;">{line}</p>\n'
        cut = self.html.rfind("</div>")  # inside the layout's frame when there is one
        html = self.html[:cut] + footer + self.html[cut:] if cut >= 0 else self.html + footer
        return replace(
            self,
            html=html,
            text=self.text.rstrip("\n") + f"\n\n{line}\n",
            markdown=self.markdown.rstrip("\n") + f"\n\n{escape_markdown(line)}\n",
        )


# -- text helpers ---------------------------------------------------------------------------


def clean(value: Any) -> str:
    """One line of notice text: no control or bidi characters, whitespace collapsed."""
    if value is None:
        return ""
    return _SPACES.sub(" ", _CONTROL.sub("", str(value))).strip()


def shorten(value: str, limit: int) -> str:
    """Cut at a word boundary with an ellipsis."""
    if len(value) <= limit:
        return value
    cut = value[:limit].rsplit(" ", 1)[0] or value[:limit]
    return cut.rstrip(" ,;:.") + "…"


def escape_markdown(value: Any) -> str:
    """Make notice text inert in Markdown: no emphasis, link, image, HTML tag or mention."""
    text = clean(value)
    text = _MD_SPECIAL.sub(r"\\\1", text)
    return text.replace("@", "@\u200b")


def safe_url(url: str | None) -> str | None:
    """The notice's link if it is a plain http(s) URL, percent-encoding what could end a
    Markdown link or an HTML attribute; ``None`` for anything else (``javascript:``...)."""
    if not url:
        return None
    url = url.strip()
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    return quote(url, safe=":/?#@!$&'*+,;=%-._~")


def _markdown_finalize(value: Any) -> Any:
    if isinstance(value, Markup):
        return str(value)
    if value is None:
        return ""
    return escape_markdown(value)


def _text_finalize(value: Any) -> Any:
    if value is None:
        return ""
    return _CONTROL.sub("", str(value))


def _md_url(url: str | None) -> Markup | None:
    """A checked URL, bare: every chat client links it, while ``[text](url)`` is not
    understood by all of them (Slack rewrites ``<url>`` its own way)."""
    href = safe_url(url)
    # safe_url checked the scheme and percent-encoded every character Markdown could use.
    return Markup(href) if href else None  # noqa: S704


@cache
def _environments() -> dict[str, Environment]:
    common: dict[str, Any] = {
        "loader": FileSystemLoader(TEMPLATES),
        "trim_blocks": True,
        "lstrip_blocks": True,
        "keep_trailing_newline": True,
        "undefined": StrictUndefined,
    }
    envs = {
        "html": Environment(autoescape=True, **common),
        "text": Environment(autoescape=False, finalize=_text_finalize, **common),  # noqa: S701
        # Markdown is escaped by finalize, not by HTML autoescape (which would not help).
        "md": Environment(autoescape=False, finalize=_markdown_finalize, **common),  # noqa: S701
    }
    envs["md"].filters["url"] = _md_url
    return envs


def _render(name: str, context: dict[str, Any]) -> tuple[str, str, str]:
    envs = _environments()
    html = envs["html"].get_template(f"{name}.html.j2").render(context)
    text = envs["text"].get_template(f"{name}.txt.j2").render(context)
    markdown = envs["md"].get_template(f"{name}.md.j2").render(context)
    return html, text, _tidy(markdown)


def _tidy(text: str) -> str:
    """No runs of blank lines left by optional blocks."""
    return re.sub(r"\n{3,}", "\n\n", text).strip() + "\n"


# -- dates, amounts, places -----------------------------------------------------------------


def parse_when(value: str | None) -> datetime | date | None:
    """An ISO date or datetime; a datetime comes back in Paris time (naive ones are Paris)."""
    if not value:
        return None
    value = value.strip()
    try:
        if len(value) <= 10:
            return date.fromisoformat(value)
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=PARIS)
    return parsed.astimezone(PARIS)


def deadline_moment(value: str | None) -> datetime | None:
    """The deadline as an aware datetime; a bare date means the end of that day in Paris."""
    when = parse_when(value)
    if when is None:
        return None
    if isinstance(when, datetime):
        return when
    return datetime.combine(when, time(23, 59, 59), tzinfo=PARIS)


def local_date(value: str | None) -> date | None:
    """The Paris calendar day of an ISO date or datetime."""
    when = parse_when(value)
    if isinstance(when, datetime):
        return when.date()
    return when


def format_date(value: str | None) -> str:
    """« lundi 16 février 2026 à 12:00 » (Paris time), or the day alone for a bare date."""
    when = parse_when(value)
    if when is None:
        return ""
    day = when.date() if isinstance(when, datetime) else when
    out = f"{WEEKDAYS[day.weekday()]} {day.day} {MONTHS[day.month - 1]} {day.year}"
    if day.day == 1:
        out = out.replace(" 1 ", " 1er ", 1)
    if isinstance(when, datetime):
        out += f" à {when:%H:%M}"
    return out


def format_day(day: date) -> str:
    """« lundi 16 février 2026 »."""
    return format_date(day.isoformat())


def days_until(deadline: str | None, today: date) -> int | None:
    """Whole calendar days from ``today`` to the deadline's day (negative when passed)."""
    day = local_date(deadline)
    return None if day is None else (day - today).days


def days_left_fr(days: int | None) -> str:
    """« dans 12 jours », « demain », « aujourd'hui », « dépassée »."""
    if days is None:
        return ""
    if days < 0:
        return "dépassée"
    if days == 0:
        return "aujourd'hui"
    if days == 1:
        return "demain"
    return f"dans {days} jours"


def format_number(value: float) -> str:
    """« 1 200 000 » (French thousands separator, no decimals)."""
    return f"{round(value):,}".replace(",", " ")


def format_amount(value: float | None) -> str:
    """« 1 200 000 € »; empty when unknown."""
    if value is None:
        return ""
    return f"{format_number(value)} €"


@cache
def _departement_names() -> dict[str, str]:
    names: dict[str, str] = {}
    path = resources.files("tenderwatch.data") / "nuts3_departements.csv"
    with path.open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            names.setdefault(row["departement"], row["name"])
    return names


def format_departements(codes: list[str]) -> str:
    """« Rhône (69), Ain (01) »; a code without a known name stays a code."""
    names = _departement_names()
    return ", ".join(f"{names[c]} ({c})" if c in names else c for c in codes)


def format_legal_basis(basis: dict[str, Any] | None) -> str:
    """« article L. 2113-13 du code de la commande publique » from an evidence's legal basis."""
    if not basis:
        return ""
    norm = basis.get("norm") or ""
    code, _, article = norm.partition(":")
    if code in LEGAL_TEXTS and article:
        article = re.sub(r"^([LRD])\.?\s*(\d)", r"\1. \2", article)
        return f"article {article} {LEGAL_TEXTS[code]}"
    raw = clean(basis.get("raw"))
    return f"article {raw}" if raw and not raw.lower().startswith("art") else raw


def label_fr(label: str) -> str:
    return LABELS_FR.get(label, label)


def label_short(label: str) -> str:
    return LABELS_SHORT.get(label, label)


def main_label(labels: list[str]) -> str | None:
    """The label a notice is filed under in a digest (each notice appears once)."""
    for label in LABEL_PRIORITY:
        if label in labels:
            return label
    return labels[0] if labels else None


# -- contexts -------------------------------------------------------------------------------


def _lot_context(lot: LotView) -> dict[str, Any]:
    return {
        "id": clean(lot.id),
        "title": shorten(clean(lot.title), 160),
        "labels": [label_short(x) for x in lot.labels],
        "status": LOT_STATUS_FR.get(lot.status or "", ""),
        "value": format_amount(lot.estimated_value),
    }


def _lots_concerned(notice: NoticeView, match: Match | None) -> list[LotView]:
    """The lots the match names; for a whole-notice match, the lots with a social clause."""
    by_id = {lot.id: lot for lot in notice.lots}
    if match and match.lots:
        return [by_id.get(lot_id) or LotView(id=lot_id) for lot_id in match.lots]
    return [lot for lot in notice.lots if lot.labels]


def _evidence(notice: NoticeView, labels: list[str], lots: list[str]) -> list[dict[str, str]]:
    """Up to three quotes that justify the labels the group cares about, article included."""
    out: list[dict[str, str]] = []
    seen: set[str] = set()
    for record in notice.evidence:
        if record.get("negated") or record.get("label") not in labels:
            continue
        lot = record.get("lot")
        if lots and lot is not None and str(lot) not in lots:
            continue
        quote_text = shorten(clean(record.get("quote") or record.get("text")), MAX_QUOTE)
        if not quote_text or quote_text in seen:
            continue
        seen.add(quote_text)
        out.append(
            {
                "quote": quote_text,
                "label": label_short(record["label"]),
                "article": format_legal_basis(record.get("legal_basis")),
                "lot": clean(lot) if lot is not None else "",
            }
        )
        if len(out) >= MAX_EVIDENCE:
            break
    return out


def _with_level(text: str, notice: NoticeView, label: str) -> str:
    """« Clause d'insertion (sûr) : le titulaire… »: the classifier's confidence beside the
    label's name, when the classification gives one."""
    if label not in notice.confidence:
        return text
    level = f" ({notice.confidence_level(label)})"
    name, sep, rest = text.partition(" : ")
    return name + level + sep + rest


def facilitator_line(facilitator: dict[str, Any] | None) -> str:
    """« Mme X, PLIE de …, 04 …, x@… »: the clause contact as the notice gives it (issue #12);
    "" when the notice names none. Only quoted fields, never a guessed one."""
    if not facilitator:
        return ""
    parts = [
        clean(facilitator.get(key))
        for key in ("name", "organisation", "phone", "email")
        if clean(facilitator.get(key))
    ]
    return ", ".join(parts) or "un facilitateur est mentionné dans l'avis, sans coordonnées"


def notice_context(notice: NoticeView, match: Match | None, today: date) -> dict[str, Any]:
    """What every template shows about a notice, as plain strings (templates escape them)."""
    labels = list(match.labels) if match and match.labels else notice.social_labels
    lots = _lots_concerned(notice, match)
    days = days_until(notice.deadline, today)
    return {
        "id": notice.id,
        "title": clean(notice.title) or "(avis sans titre)",
        "nature": notice.nature,
        "is_award": notice.nature == "award",
        "buyer": clean(notice.buyer_name),
        "places": format_departements(notice.departements),
        "deadline": format_date(notice.deadline),
        "days": days,
        "days_left": days_left_fr(days),
        "value": format_amount(notice.estimated_value),
        "labels": [_with_level(label_fr(x), notice, x) for x in labels],
        "labels_short": [_with_level(label_short(x), notice, x) for x in labels],
        "truncated": notice.truncated,
        "main_label": main_label(labels),
        "allotted": bool(notice.labels.get("allotted")) or bool(notice.lots),
        "evidence": _evidence(notice, labels, [lot.id for lot in lots] if match else []),
        "hours": format_number(notice.insertion_hours) if notice.insertion_hours else "",
        "facilitator": facilitator_line(notice.facilitator),
        "lots": [_lot_context(lot) for lot in lots],
        "whole_notice": not (match and match.lots),
        "reasons": [clean(r) for r in (match.reasons if match else []) if clean(r)],
        "explanations": [clean(e) for e in notice.explanations if clean(e)],
        "url": safe_url(notice.url),
        "board_url": safe_url(notice.board_url),
        "published": format_date(notice.published),
    }


# -- public renderers -----------------------------------------------------------------------


def render_alert(notice: NoticeView, match: Match, *, today: date) -> Message:
    """One notice for one group: what it is, where, until when, which clause (quoted, with
    its article), which lots, and why the group receives it."""
    n = notice_context(notice, match, today)
    prefix = "Attribution" if n["is_award"] else label_short(n["main_label"] or "") or "Avis"
    title = f"{prefix} · {shorten(n['title'], 150)}"
    html, text, markdown = _render("alert", {"n": n, "title": title})
    return Message(title=title, html=html, text=text, markdown=markdown)


def _digest_sections(items: list[tuple[NoticeView, Match]], today: date) -> list[dict[str, Any]]:
    """Sections by main label (priority order), awards last; soonest deadline first in each,
    notices without a deadline next, passed deadlines at the end."""
    sections: dict[str, list[dict[str, Any]]] = {}
    for notice, match in items:
        n = notice_context(notice, match, today)
        key = "award" if n["is_award"] else (n["main_label"] or "other")
        sort_day = local_date(notice.deadline)
        n["_sort"] = (
            n["days"] is not None and n["days"] < 0,
            sort_day is None,
            deadline_moment(notice.deadline) or datetime.max.replace(tzinfo=PARIS),
            n["title"],
        )
        sections.setdefault(key, []).append(n)
    order = [*LABEL_PRIORITY, *sorted(set(sections) - set(LABEL_PRIORITY) - {"award"}), "award"]
    out = []
    for key in order:
        if key not in sections:
            continue
        entries = sorted(sections[key], key=lambda e: e["_sort"])
        heading = DIGEST_HEADINGS.get(key, label_short(key))
        out.append({"key": key, "heading": heading, "notices": entries})
    return out


def render_digest(group: Group, items: list[tuple[NoticeView, Match]], *, today: date) -> Message:
    """The daily or weekly summary of a group: notices filed by label, soonest deadline first."""
    sections = _digest_sections(items, today)
    count = len(items)
    period = "de la semaine" if group.delivery == "weekly" else "du jour"
    title = f"Veille marchés inclusifs {period} : {count} avis – {format_day(today)}"
    context = {
        "title": title,
        "group": clean(group.name),
        "count": count,
        "sections": sections,
        "today": format_day(today),
    }
    html, text, markdown = _render("digest", context)
    return Message(title=title, html=html, text=text, markdown=markdown)


def _change_context(changes: dict[str, Any]) -> dict[str, Any]:
    deadline = changes.get("deadline") or {}
    lots_titles = changes.get("lot_titles") or {}

    def lots(key: str) -> list[dict[str, str]]:
        return [
            {"id": clean(x), "title": shorten(clean(lots_titles.get(str(x))), 120)}
            for x in changes.get(key) or []
        ]

    return {
        "cancelled": bool(changes.get("cancelled")),
        "deadline_old": format_date(deadline.get("old")),
        "deadline_new": format_date(deadline.get("new")),
        "deadline_changed": bool(deadline) and deadline.get("old") != deadline.get("new"),
        "lots_added": lots("lots_added"),
        "lots_removed": lots("lots_removed"),
        "lots_cancelled": lots("lots_cancelled"),
        "labels_added": [label_fr(x) for x in changes.get("labels_added") or []],
        "labels_removed": [label_fr(x) for x in changes.get("labels_removed") or []],
        "labels_maybe_removed": [label_fr(x) for x in changes.get("labels_maybe_removed") or []],
    }


def render_update(
    notice: NoticeView, previous: NoticeView, changes: dict[str, Any], *, today: date
) -> Message:
    """A corrigendum or a cancellation of a notice the group received: what changed."""
    n = notice_context(notice, None, today)
    p = notice_context(previous, None, today)
    c = _change_context(changes)
    cancellation = notice.nature == "cancellation" or c["cancelled"] or bool(c["lots_cancelled"])
    if c["cancelled"] or (cancellation and not c["lots_cancelled"]):
        prefix = "Annulé"
        c["cancelled"] = True
    elif c["lots_cancelled"]:
        prefix = "Lots annulés"
    elif c["deadline_changed"]:
        prefix = "Date limite modifiée"
    elif c["labels_maybe_removed"]:
        prefix = "Clause retirée ?"
    else:
        prefix = "Rectificatif"
    title = f"{prefix} · {shorten(p['title'] or n['title'], 150)}"
    nothing = not any(
        [
            c["cancelled"],
            c["deadline_changed"],
            c["lots_added"],
            c["lots_removed"],
            c["lots_cancelled"],
            c["labels_added"],
            c["labels_removed"],
            c["labels_maybe_removed"],
        ]
    )
    context = {"title": title, "n": n, "p": p, "c": c, "nothing": nothing}
    html, text, markdown = _render("update", context)
    return Message(title=title, html=html, text=text, markdown=markdown)


def render_reminder(notice: NoticeView, days_left: int, *, today: date) -> Message:
    """J-N before the deadline of a notice the group received."""
    n = notice_context(notice, None, today)
    n["days"] = days_left
    n["days_left"] = days_left_fr(days_left)
    title = f"Rappel : date limite {n['days_left']} · {shorten(n['title'], 130)}"
    html, text, markdown = _render("reminder", {"title": title, "n": n, "days": days_left})
    return Message(title=title, html=html, text=text, markdown=markdown)


__all__ = [
    "LABELS_FR",
    "LABELS_SHORT",
    "SOCIAL_LABELS",
    "Message",
    "days_left_fr",
    "escape_markdown",
    "format_amount",
    "format_date",
    "render_alert",
    "render_digest",
    "render_reminder",
    "render_update",
    "safe_url",
]
