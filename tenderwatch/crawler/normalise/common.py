"""Helpers shared by the normalisers: safe XML parsing, text cleaning, dates, numbers."""

from __future__ import annotations

import html
import json
import re
import unicodedata
from datetime import date, datetime
from functools import cache
from importlib import resources

from lxml import etree

#: Hard limit on one payload: a notice bigger than this is refused, not parsed.
MAX_PAYLOAD_BYTES = 20 * 1024 * 1024


class NormaliseError(ValueError):
    """A payload that cannot be turned into a notice. ``reason`` is a short, stable code."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


# Entity resolution, DTD loading and network access are all off: a notice that declares
# entities is parsed without expanding them (no billion laughs, no external file read).
_XML_PARSER = etree.XMLParser(
    resolve_entities=False,
    no_network=True,
    load_dtd=False,
    dtd_validation=False,
    huge_tree=False,
    remove_comments=True,
    remove_pis=True,
)


def parse_xml(body: bytes) -> etree._Element:
    """Parse XML bytes safely; raise :class:`NormaliseError` on malformed or hostile input."""
    if len(body) > MAX_PAYLOAD_BYTES:
        raise NormaliseError("too_large", f"{len(body)} bytes")
    if b"<!ENTITY" in body[:65536]:
        # Entity declarations have no place in a notice; refusing them is simpler and safer
        # than parsing with them unexpanded.
        raise NormaliseError("xml_entities", "entity declarations are refused")
    try:
        root = etree.fromstring(body, parser=_XML_PARSER)
    except etree.XMLSyntaxError as exc:
        raise NormaliseError("malformed_xml", str(exc)[:200]) from exc
    if root is None:
        raise NormaliseError("malformed_xml", "empty document")
    return root


def local(tag: object) -> str:
    """Local name of an lxml tag (namespaces differ between TED and BOAMP copies of eForms)."""
    if not isinstance(tag, str):
        return ""
    return tag.rsplit("}", 1)[-1]


_TAG_RE = re.compile(r"<[^>]{0,2000}>")
_WS_RE = re.compile(r"[ \t\u00a0\u202f\u2007]+")
_CTRL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def clean_text(value: object) -> str:
    """Readable text: HTML entities decoded, tags dropped, control characters and runs of
    spaces removed, line breaks kept. ``None`` gives ``""``."""
    if value is None:
        return ""
    text = str(value)
    if "<" in text and ">" in text:
        text = _TAG_RE.sub(" ", text)
    if "&" in text:
        text = html.unescape(text)
    text = unicodedata.normalize("NFC", text)
    text = _CTRL_RE.sub(" ", text.replace("\r\n", "\n").replace("\r", "\n"))
    lines = [_WS_RE.sub(" ", line).strip() for line in text.split("\n")]
    return "\n".join(line for line in lines if line)


#: Values up to this length are written on the heading's line by :func:`join_sections`.
SHORT_VALUE = 80


def join_sections(sections: list[tuple[str, str]]) -> str:
    """Join ``(heading, body)`` pairs into one text, in order, skipping empty bodies.

    A heading is followed by ``:``; a short one-line value stays on the heading's line
    ("Division en lots : non"), a longer body starts on the next line, so that the
    classifier sees headings and label/value pairs the way notices print them.
    """
    parts: list[str] = []
    for heading, body in sections:
        body = body.strip()
        if not body:
            continue
        if not heading:
            parts.append(body)
        elif len(body) <= SHORT_VALUE and "\n" not in body:
            # A short value stays on its heading's line, as forms print them
            # ("Division en lots : non", "Marché réservé : non").
            parts.append(f"{heading} : {body}")
        else:
            parts.append(f"{heading} :\n{body}")
    return "\n\n".join(parts)


def parse_date(value: object) -> str | None:
    """``YYYY-MM-DD`` from the date forms sources use (ISO with offset, ``DD/MM/YYYY``...)."""
    if value is None:
        return None
    text = str(value).strip()
    if not text:
        return None
    m = re.match(r"(\d{4})-(\d{2})-(\d{2})", text)
    if m:
        y, mo, d = map(int, m.groups())
    else:
        m = re.match(r"(\d{1,2})/(\d{1,2})/(\d{4})", text)
        if m:
            d, mo, y = map(int, m.groups())
        else:
            m = re.match(r"(\d{4})(\d{2})(\d{2})$", text)
            if not m:
                return None
            y, mo, d = map(int, m.groups())
    try:
        return date(y, mo, d).isoformat()
    except ValueError:
        return None


def parse_datetime(day: object, time: object = None) -> str | None:
    """An ISO 8601 datetime from a date (possibly with time and offset) and an optional time.

    eForms writes ``2024-03-18+01:00`` and ``12:00:00+01:00`` separately; BOAMP writes
    ``2026-02-16T12:00:00.000+01:00``. The result keeps the offset when one is given and is
    the date alone when no time is known.
    """
    if day is None or not str(day).strip():
        return None
    text = str(day).strip()
    if "T" in text:
        try:
            return datetime.fromisoformat(text.replace("Z", "+00:00")).isoformat()
        except ValueError:
            return parse_date(text)
    d = parse_date(text)
    if d is None:
        return None
    if time is None or not str(time).strip():
        return d
    t = str(time).strip()
    try:
        return datetime.fromisoformat(f"{d}T{t}".replace("Z", "+00:00")).isoformat()
    except ValueError:
        return d


def parse_amount(value: object) -> float | None:
    """A number from French or international writing: ``1 200 000,50``, ``1200000.5``."""
    if value is None:
        return None
    text = re.sub(r"[\s\u00a0\u202f€]", "", str(value))
    if not text:
        return None
    if "," in text and "." in text:
        text = text.replace(".", "").replace(",", ".")
    elif "," in text:
        text = text.replace(",", ".")
    try:
        return float(text)
    except ValueError:
        return None


def format_money(amount: float, currency: str | None = None) -> str:
    """``75000.0, "EUR"`` → ``75 000 EUR`` (French grouping, cents only when there are any)."""
    text = f"{amount:,.0f}" if amount == int(amount) else f"{amount:,.2f}"
    text = text.replace(",", "\u202f").replace(".", ",")
    return f"{text} {currency}" if currency else text


def normalise_lot_id(value: object) -> str:
    """``LOT-0001`` → ``1``, ``Lot n°03`` → ``3``, ``2A`` stays ``2A``; ``""`` when empty."""
    text = str(value or "").strip()
    m = re.search(r"(\d+)\s*([A-Za-z]?)\s*$", text)
    if m:
        return f"{int(m.group(1))}{m.group(2).upper()}"
    return text


_DEPT_RE = re.compile(r"^(2A|2B|97[1-6]|9[0-5]|[0-8]\d)$")


def departement_from_postcode(postcode: object) -> str | None:
    """Département code from a French postcode (``75011`` → ``75``, ``20000`` → ``2A``)."""
    text = re.sub(r"\s", "", str(postcode or ""))
    if not re.fullmatch(r"\d{5}", text):
        return None
    if text.startswith("97"):
        return text[:3]
    if text.startswith("20"):
        return "2A" if int(text) < 20200 else "2B"
    return text[:2]


def clean_departement(value: object) -> str | None:
    """A département code as written by BOAMP (``"6"``, ``"06"``, ``"2A"``, ``"974"``) or None."""
    text = str(value or "").strip().upper()
    if text.isdigit() and len(text) == 1:
        text = "0" + text
    return text if _DEPT_RE.match(text) else None


def unique(values: list[str]) -> list[str]:
    """Drop empty values and repeats, keeping the first order."""
    seen: set[str] = set()
    out: list[str] = []
    for v in values:
        if v and v not in seen:
            seen.add(v)
            out.append(v)
    return out


@cache
def _lot_title_prefix_re() -> re.Pattern[str]:
    """One leading field label or "Lot N" prefix, matched on accent-folded lower-case text.

    Built from ``lot_title_labels.json`` so that a new label is a data change, not code.
    """
    table = json.loads(
        resources.files("tenderwatch.crawler.normalise")
        .joinpath("lot_title_labels.json")
        .read_text("utf-8")
    )
    labels = sorted((_fold_chars(x) for x in table["labels"]), key=len, reverse=True)
    words = sorted((_fold_chars(x) for x in table["lot_words"]), key=len, reverse=True)
    # "Lot 1.2" is a sub-lot, not "Lot 1" followed by a full stop.
    separator = r"[ \t]*(?:(?:[:\-\u2013\u2014)/]|\.(?!\d))+[ \t]*|$)"
    return re.compile(
        r"^[ \t]*(?:"
        r"(?P<label>" + "|".join(re.escape(x) for x in labels) + r")[ \t]*:[ \t]*"
        r"|(?:" + "|".join(re.escape(x) for x in words) + r")\b[ \t]*"
        r"(?:n[ \t]*[o\u00b0\u00ba]?\.?[ \t]*:?[ \t]*|numero[ \t]*)?"
        r"(?P<id>\d{1,4}[a-z]?)\b" + separator + r")"
    )


def _fold_chars(text: str) -> str:
    """Lower-case, accents dropped, one character for one: offsets stay those of ``text``."""
    return "".join(unicodedata.normalize("NFD", c.lower())[0] for c in text)


#: Trailing characters that end a title without meaning anything ("Nettoyage des locaux ;").
_TITLE_TRAILING = " \t.;,:-\u2013\u2014"


def clean_lot_title(title: object, lot_id: object = None) -> str | None:
    """A lot title without the form's field labels, as an alert can print it.

    Buyers and forms write ``Intitulé : …``, ``Description : Lot 1 : …`` or ``Lot 3 : …`` in
    the title field itself, which then reads ``Lot 3 – Lot 3 : …`` in an alert. Leading labels
    listed in ``lot_title_labels.json`` go, in any order and as often as they repeat; a
    ``Lot N`` / ``Lot n° N -`` prefix goes only when N is this lot's own id (``Lot 2 : …`` on
    lot 5 says something); trailing punctuation goes. ``None`` when nothing is left.
    """
    text = " ".join(str(title or "").split())
    own_id = normalise_lot_id(lot_id) if lot_id not in (None, "") else ""
    pattern = _lot_title_prefix_re()
    while text:
        m = pattern.match(_fold_chars(text))
        if m is None or not m.end():
            break
        if m.group("id") is not None and normalise_lot_id(m.group("id")) != own_id:
            break
        text = text[m.end() :].lstrip()
    text = text.rstrip(_TITLE_TRAILING)
    return text or None
