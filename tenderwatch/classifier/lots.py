"""Lots: id normalisation, lot headers and sections, lot mentions, lots per bidder.

Works on the normalised text (accents folded). Layouts covered (reference §4.7, real
notices in ``shared/samples/notices-text``, the golden set and the harvest's own layout):

* eForms: ``5.1 Lot : LOT-0001`` then ``Titre : …``;
* JOUE 2014/24: ``II.2.1) Intitulé : … Lot nº : 1`` (one line, or split over two lines);
* JOUE 2004/18: ``Lot no : 1 Intitulé : …``;
* BOAMP / buyer platforms: ``Lot n° 1 : …``, ``Lot(s) 1. - ….``, ``- Lot 1 : …``, ``LOT 01``,
  ``Lot n° 1`` followed by ``Description du lot : …``;
* the harvest (``tenderwatch.crawler.normalise``): ``Lot 1 :`` + title line,
  ``Lot 1 – Critères… :``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache

from tenderwatch.classifier.normalise import fold
from tenderwatch.classifier.numerals import parse_words
from tenderwatch.classifier.resources import data


@cache
def _layout() -> dict:
    return data("layout.json")


@cache
def _single_lot_ids() -> frozenset[str]:
    return frozenset(_layout()["single_lot_ids"])


@cache
def _number_words() -> dict[str, int]:
    table = data("number_words.json")
    words = dict(table["units"])
    words.pop("zero", None)
    words.update({k: v for k, v in table["tens"].items()})
    return words


def _id_pattern() -> str:
    """A lot id: ``12``, ``2A``, ``1.1`` (sub-lot), ``A`` or ``D1`` (letters are taken in
    capitals only, so that "lot a …" — a folded "lot à" — is never an id), or a number word."""
    words = sorted(_number_words(), key=len, reverse=True)
    return (
        r"(?:\d{1,4}(?:\.\d{1,3})*(?:[A-Z](?![A-Za-z]))?"
        r"|(?-i:[A-Z]{1,2}\d{0,3})(?![\w]|\.\d)"
        r"|(?:" + "|".join(words) + r")\b)"
    )


def normalise_lot_id(raw: object) -> str | None:
    """``"Lot n° 03"``, ``"LOT 3"``, ``"lot trois"``, ``"LOT-0003"`` → ``"3"``; ``"2a"`` → ``"2A"``.

    ``None`` for an empty id and for ``0`` (eForms ``LOT-0000``, the single lot of an
    undivided procedure).
    """
    if raw is None:
        return None
    text = fold(str(raw)).strip().lower()
    text = re.sub(r"^(?:lots?|lot\(s\))\b", "", text).strip(" -:#")
    text = re.sub(r"^(?:n\s*[°o]s?\.?|numeros?|num\.?)\s*", "", text).strip(" -:#.")
    if not text or text in _single_lot_ids():
        return None
    m = re.fullmatch(r"0*(\d+)\s*-?\s*([a-z]?)", text)
    if m:
        number, letter = m.groups()
        if int(number) == 0 and not letter:
            return None
        return f"{int(number)}{letter.upper()}"
    m = re.fullmatch(r"\d+(?:\.\d+)+", text)
    if m:  # "01.1" → "1.1": sub-lots keep their dots, each part loses its leading zeros
        return ".".join(str(int(part)) for part in text.split("."))
    m = re.fullmatch(r"([a-z]{1,2})\s*-?\s*0*(\d{1,3})", text)
    if m:  # "D01" → "D1"
        return f"{m.group(1).upper()}{int(m.group(2))}"
    value = parse_words(text)
    if value:
        return str(value)
    if re.fullmatch(r"[a-z0-9][a-z0-9.-]{0,9}", text):
        return text.upper()
    return None


@dataclass
class LotHeader:
    """A lot header found in the text; offsets are in the normalised text."""

    lot_id: str
    kind: str  # "numbered", "heading", "bare", "titled"
    line_start: int
    line_end: int
    title: tuple[int, int] | None = None  # title span in the normalised text


@dataclass
class LotMention:
    """Lots named in running text ("lots 1 à 3", "le lot 4", "LOT-0002")."""

    start: int
    end: int
    ids: list[str]
    excluded: bool = False  # "sauf le lot 3", "les lots 7 et 8 ne sont pas concernés"


@dataclass
class LotLayout:
    headers: list[LotHeader] = field(default_factory=list)
    #: (start, end, lot_id) sections, in text order
    sections: list[tuple[int, int, str]] = field(default_factory=list)
    single_lot_marker: bool = False  # eForms LOT-0000 / harvest "Lot 0"


_I = re.I | re.M
_ID = _id_pattern()
_EFORMS_RE = re.compile(r"^[ \t]*\d+(?:\.\d+)*\s+Lot\s*:\s*LOT-(?P<id>\d{1,4})\s*$", _I)
_JOUE_ONE_LINE_RE = re.compile(
    r"^[^\n]*?Intitule\s*:[ \t]*(?P<title>[^\n]*?)[ \t]*"
    r"Lot\s*n\s*[°o]\.?[ \t]*:?[ \t]*(?:Lot[ \t]*)?(?P<id>" + _ID + r")[ \t]*$",
    _I,
)
_JOUE_SPLIT_RE = re.compile(  # TED: "II.2.1)Intitulé:" / "Nautilis" / "Lot nº: 1"
    r"^[^\n]*Intitule\s*:[ \t]*(?P<title>[^\n]*)\n"
    r"(?:(?![ \t]*Lot\b)[ \t]*(?P<title3>[^\n]+)\n)?"
    r"(?:[ \t]*Lot\s+(?P<id2>\d{1,3})\s*:\s*(?P<title2>[^\n]*)\n)?"
    r"[ \t]*Lot\s*n\s*[°o]\.?[ \t]*:?[ \t]*(?:Lot[ \t]*)?(?P<id>" + _ID + r")[ \t]*$",
    _I,
)
_LOTNO_INTITULE_RE = re.compile(
    r"^[ \t]*Lot\s*n\s*[°o]\.?[ \t]*:?[ \t]*(?P<id>"
    + _ID
    + r")\s+Intitule\s*:\s*(?P<title>[^\n]+?)\s*$",
    _I,
)
_GENERIC_RE = re.compile(
    r"^[ \t]*(?:"
    + _layout()["lot_bullet"]
    + r"[ \t]*)?Lot(?:\(s\)|s)?[ \t]*(?:n[ \t]*[°o]s?\.?[ \t]*|numero[ \t]*)?:?[ \t]*(?P<id>"
    + _ID
    + r")(?P<sep>[ \t]*(?:[:.)]|[ \t]-[ \t])[ \t]*-?[ \t]*|[ \t]*$)(?P<title>[^\n]*)$",
    _I,
)
_INLINE_RE = re.compile(  # "Lot no1: Signalisation lumineuseLot no2 : Supports…" (real BOAMP)
    r"Lot\s*(?:n\s*[°o]?)?\s*(?P<id>\d{1,3})\s*:\s*(?P<title>.+?)"
    r"(?=Lot\s*(?:n\s*[°o]?)?\s*\d{1,3}\s*:|\n|$)"
)
_TITLE_LINE_RE = re.compile(
    r"^[ \t]*(?:[ivx]+\.\d+(?:\.\d+)*\)\s*)?"
    r"(?:description(?: succincte)?(?: du lot| des prestations)?|intitule(?: du lot)?|titre"
    r"|objet(?: du lot)?)"
    r"\s*:\s*(?P<title>[^\n]+?)\s*$",
    _I,
)
_EFORMS_BREAK_RE = re.compile(
    r"^\s*(?:[0-46-9]\d*\.(?:\d+)?\s|\d+\.\d+\s+ORG-|informations relatives a l.avis)", _I
)
_JOUE_BREAK_RE = re.compile(
    r"^\s*(?:section\s|[ivx]+\)\s|iii\.|iv\.|v\.|vi\.|vii\.|ii\.1\b|ii\.3\b)", _I
)


@cache
def _generic_break_re() -> re.Pattern[str]:
    return re.compile(_layout()["lot_section_breaks"], _I)


@cache
def _internal_re() -> re.Pattern[str]:
    return re.compile(_layout()["lot_internal_lines"], _I)


def _clean_title(text: str, start: int, end: int) -> tuple[int, int] | None:
    """Trim a title span: spaces, a trailing period, a second sentence; ``None`` if empty or
    if it is a heading ("Critères d'attribution :")."""
    end = min(end, start + 200)  # a "title" longer than that is running text
    segment = text[start:end]
    cut = re.search(r"\.\s+(?=[A-Z])", segment)
    if cut:
        end = start + cut.start()
        segment = text[start:end]
    stripped = segment.strip()
    if not stripped or stripped.endswith(":"):
        return None
    lead = len(segment) - len(segment.lstrip())
    start += lead
    end = start + len(stripped)
    while end > start and text[end - 1] in ". ;,":
        end -= 1
    return (start, end) if end > start else None


def _title_below(text: str, pos: int, limit: int = 4) -> tuple[int, int] | None:
    """A title on one of the next lines ("Description du lot : …", "Titre : …")."""
    for _ in range(limit):
        if pos >= len(text):
            return None
        nl = text.find("\n", pos)
        line_end = len(text) if nl < 0 else nl
        m = _TITLE_LINE_RE.match(text, pos, line_end)
        if m:
            return _clean_title(text, m.start("title"), m.end("title"))
        pos = line_end + 1
    return None


def _next_line_title(text: str, pos: int) -> tuple[int, int] | None:
    """Harvest layout: ``Lot 1 :`` on its own line, the title on the next line."""
    if pos >= len(text):
        return None
    nl = text.find("\n", pos)
    line_end = len(text) if nl < 0 else nl
    line = text[pos:line_end]
    if not line.strip() or re.match(r"\s*lot\b", line, re.I) or line.rstrip().endswith(":"):
        return None
    return _clean_title(text, pos, line_end)


def find_headers(text: str) -> LotLayout:
    """Lot headers and their sections in the normalised ``text``."""
    layout = LotLayout()
    headers: list[LotHeader] = []
    taken: set[int] = set()  # line starts already used by a header

    def add(raw_id: str, kind: str, line_start: int, line_end: int, title) -> None:
        lot_id = normalise_lot_id(raw_id)
        if lot_id is None:
            layout.single_lot_marker = True
            return
        if line_start in taken:
            return
        taken.add(line_start)
        headers.append(LotHeader(lot_id, kind, line_start, line_end, title))

    if "lot" not in text.lower():
        return layout
    for m in _EFORMS_RE.finditer(text):
        add(m.group("id"), "numbered", m.start(), m.end(), _title_below(text, m.end() + 1))
    for m in _JOUE_SPLIT_RE.finditer(text):
        title = _clean_title(text, m.start("title"), m.end("title"))
        for group in ("title3", "title2"):
            if title is None and m.group(group):
                title = _clean_title(text, m.start(group), m.end(group))
        if title is None:
            title = _title_below(text, m.end() + 1, limit=8)
        id_line = text.rfind("\n", 0, m.start("id")) + 1
        taken.add(id_line)
        if m.group("id2"):
            taken.add(text.rfind("\n", 0, m.start("id2")) + 1)
        taken.discard(m.start())
        add(m.group("id"), "numbered", m.start(), m.end(), title)
    for m in _JOUE_ONE_LINE_RE.finditer(text):
        add(m.group("id"), "numbered", m.start(), m.end(), _clean_title(text, *m.span("title")))
    for m in _LOTNO_INTITULE_RE.finditer(text):
        add(m.group("id"), "titled", m.start(), m.end(), _clean_title(text, *m.span("title")))
    for m in _GENERIC_RE.finditer(text):
        title = _clean_title(text, *m.span("title")) if m.group("title") else None
        raw_title = m.group("title").strip()
        if not raw_title:
            kind = "bare" if ":" not in m.group("sep") else "heading"
            title = _title_below(text, m.end() + 1) or (
                _next_line_title(text, m.end() + 1) if kind == "heading" else None
            )
        elif raw_title.endswith(":"):
            kind = "heading"  # harvest "Lot 1 – Critères d'attribution :"
        else:
            kind = "titled"
        add(m.group("id"), kind, m.start(), m.end(), title)
    for raw_id, row_start, row_end, title in _table_headers(text):
        add(raw_id, "titled", row_start, row_end, title)
    if not headers:
        for line in re.finditer(r"^[^\n]*$", text, re.M):
            found = list(_INLINE_RE.finditer(line.group(0)))
            if len(found) >= 2:
                for m in found:
                    s = line.start() + m.start()
                    title = _clean_title(
                        text, line.start() + m.start("title"), line.start() + m.end("title")
                    )
                    add(m.group("id"), "titled", s, line.start() + m.end(), title)
    headers.sort(key=lambda h: h.line_start)
    layout.headers = headers
    layout.sections = _sections(text, headers)
    return layout


# -- tables of lots ----------------------------------------------------------------------

_TABLE_RULE_RE = re.compile(r"^[ \t|:+-]*-[ \t|:+-]*$", re.M)
_AMOUNT_TAIL_RE = re.compile(
    r"(?:[ \t]+(?:\d[\d .,]*[ \t]*(?:€|euros?\b|eur\b|k€)?|€|euros?\b|ht\b|ttc\b)\.?)+[ \t]*$",
    re.I,
)
_AMOUNT_LINE_RE = re.compile(
    r"[ \t]*\d[\d .,]*[ \t]*(?:€|euros?|eur|k€)[ \t]*(?:ht|ttc)?[ \t]*", re.I
)


@cache
def _table_res() -> tuple[re.Pattern[str], re.Pattern[str], re.Pattern[str]]:
    """Header row on one line (cells split by ``|``, or by spaces: tabs become spaces when
    the text is normalised), lot-column cell alone on its line, title-column cell alone."""
    lot_col, title_col = _layout()["table_lot_column"], _layout()["table_title_column"]
    return (
        re.compile(r"^[ \t|]*" + lot_col + r"(?:[ \t]*\|[ \t]*|[ \t]+)" + title_col + r"\b", _I),
        re.compile(r"^[ \t|]*" + lot_col + r"[ \t|]*$", _I),
        re.compile(r"^[ \t|]*" + title_col + r"[ \t|]*$", _I),
    )


_ROW_RE = re.compile(
    r"[ \t]*\|?[ \t]*(?:lot[ \t]*(?:n[ \t]*[°o]\.?[ \t]*)?)?(?P<id>" + _ID + r")"
    r"[ \t]*(?:\||[:.)]|[ \t]-[ \t]|[ \t])[ \t]*(?P<rest>[^\s|][^\n]*)$",
    re.I,
)
_CELL_ID_RE = re.compile(r"[ \t]*(?:lot[ \t]*)?(?P<id>" + _ID + r")[ \t]*", re.I)


def _table_headers(text: str) -> list[tuple[str, int, int, tuple[int, int] | None]]:
    """Lots given as a table: a header row with a lot column then a title column
    (« N° de lot | Désignation | Montant »), then one row per lot. Three renderings of a
    table as text are read: cells split by ``|``; cells split by spaces (the title runs to
    the end of the row, a trailing amount cut off); one cell per line (HTML tables
    flattened: id line, title line, optional amount line). At least two rows are needed.
    Returns ``(raw id, row start, row end, title span)``."""
    one_line, lot_alone, title_alone = _table_res()
    lines = list(_line_iter(text, 0))
    found: list[tuple[str, int, int, tuple[int, int] | None]] = []
    i = 0
    while i < len(lines):
        s, e = lines[i]
        if "lot" not in text[s:e].lower():
            i += 1
            continue
        rows: list[tuple[str, int, int, tuple[int, int] | None]] = []
        j = i + 1
        if one_line.match(text, s, e):
            piped = "|" in text[s:e]
            while j < len(lines):
                rs, re_ = lines[j]
                if _TABLE_RULE_RE.match(text, rs, re_):
                    j += 1
                    continue
                m = _ROW_RE.match(text, rs, re_)
                if not m:
                    break
                t_start = m.start("rest")
                if piped:
                    bar = text.find("|", t_start, re_)
                    t_end = bar if bar >= 0 else re_
                else:
                    tail = _AMOUNT_TAIL_RE.search(text, t_start, re_)
                    t_end = tail.start() if tail else re_
                rows.append((m.group("id"), rs, re_, _clean_title(text, t_start, t_end)))
                j += 1
        elif lot_alone.match(text, s, e) and j < len(lines) and title_alone.match(text, *lines[j]):
            j += 1
            # further header cells (« Montant », « Estimation ») before the first row
            skipped = 0
            while (
                j < len(lines)
                and skipped < 3
                and not _CELL_ID_RE.fullmatch(text, *lines[j])
                and len(text[slice(*lines[j])].strip()) <= 40
            ):
                j += 1
                skipped += 1
            while j + 1 < len(lines):
                (a_s, a_e), (b_s, b_e) = lines[j], lines[j + 1]
                m = _CELL_ID_RE.fullmatch(text, a_s, a_e)
                if not m or not text[b_s:b_e].strip() or _CELL_ID_RE.fullmatch(text, b_s, b_e):
                    break
                rows.append((m.group("id"), a_s, b_e, _clean_title(text, b_s, b_e)))
                j += 2
                while j < len(lines) and _AMOUNT_LINE_RE.fullmatch(text, *lines[j]):
                    j += 1  # an amount column
        if len(rows) >= 2:
            found.extend(rows)
            i = j
        else:
            i += 1
    return found


# -- lot count, relaunch ----------------------------------------------------------------


@cache
def _count_res() -> list[re.Pattern[str]]:
    return [re.compile(p, _I) for p in _layout()["lot_count"]]


def lot_count(text: str) -> tuple[int, int, int] | None:
    """The number of lots a notice states (« Allotissement : 11 lots », « La consultation
    comporte 8 lots », « NOMBRE DE LOTS 24 »), with the span of the statement; ``None``
    when no count is stated. « Nombre maximal de lots » is a limit, not a count."""
    if "lot" not in text.lower():
        return None
    best: tuple[int, int, int] | None = None
    for pattern in _count_res():
        for m in pattern.finditer(text):
            if re.search(r"(?:maxim|minim)\w*\s*$", text[max(0, m.start() - 12) : m.start()]):
                continue
            value = _count(m.group("n"))
            if value and (best is None or m.start() < best[1]):
                best = (value, m.start(), m.end())
                break
    return best


@cache
def anaphora_re() -> re.Pattern[str]:
    """A sentence that refers back to the clause before it and says which lots it concerns
    (« Cette clause s'applique aux lots 2 et 4 »); use with ``.match(text, start, end)``."""
    return re.compile(_layout()["lot_scope_anaphora"], re.I)


@cache
def back_anaphora_re() -> re.Pattern[str]:
    """A reservation whose subject is a pronoun (« Il est réservé aux ESAT ») after a sentence
    that names the lot (« Le lot n° 4 est réservé. »); use with ``.match``."""
    return re.compile(_layout()["lot_scope_back_anaphora"], re.I)


def relaunch(text: str) -> bool:
    """Whether the notice relaunches one lot of an earlier procedure (« relance du lot 3 »,
    « lot 3 déclaré infructueux »)."""
    return re.search(_layout()["lot_relaunch"], text, _I) is not None


def complete_ids(ids: list[str], count: int | None) -> list[str] | None:
    """Lots ``1..count`` when the notice states ``count`` lots and the lots found are some
    of them (a JOUE form that details only lot 1 of 24): the ids in order; else ``None``."""
    if not count or count < 2 or count > 300 or len(ids) >= count:
        return None
    if not all(i.isdigit() and 1 <= int(i) <= count for i in ids):
        return None
    return [str(i) for i in range(1, count + 1)]


def _line_iter(text: str, pos: int):
    """Yield ``(start, end)`` of the lines from ``pos`` on."""
    while pos < len(text):
        nl = text.find("\n", pos)
        end = len(text) if nl < 0 else nl
        yield pos, end
        pos = end + 1


def _sections(text: str, headers: list[LotHeader]) -> list[tuple[int, int, str]]:
    sections = []
    generic_break = _generic_break_re()
    internal = _internal_re()
    for i, header in enumerate(headers):
        # a repeated header of the same lot ("Lot 5: Begonia" under "II.2.1) … Lot nº: 5")
        # does not end its section
        following = [h for h in headers[i + 1 :] if h.lot_id != header.lot_id]
        limit = following[0].line_start if following else len(text)
        end = header.line_end
        if header.kind == "numbered":
            breaker = (
                _EFORMS_BREAK_RE
                if re.match(r"\s*\d", text[header.line_start :])
                else _JOUE_BREAK_RE
            )
            for s, e in _line_iter(text, header.line_end + 1):
                if s >= limit or breaker.match(text, s, e):
                    break
                end = e
        elif header.kind in ("heading", "bare"):
            for s, e in _line_iter(text, header.line_end + 1):
                if (
                    s >= limit
                    or not text[s:e].strip()
                    or (generic_break.match(text, s, e) and not internal.match(text, s, e))
                ):
                    break
                end = e
        else:  # one-line header: only lines that obviously describe the lot follow it
            for s, e in _line_iter(text, header.line_end + 1):
                if s >= limit or not internal.match(text, s, e):
                    break
                end = e
        sections.append((header.line_start, end, header.lot_id))
    return sections


# -- mentions ----------------------------------------------------------------------------

_MENTION_RE = re.compile(
    r"\b(?P<word>lots?(?:\(s\))?)(?![\w-])"
    # « Lots concernés par la clause d'insertion : 1, 3 et 4 »
    r"(?:[ \t]+(?:concernes?|vises?|soumis|retenus?|suivants?)\b[^:.;\n]{0,60}:)?"
    r"[ \t]*(?:n[ \t]*[°o]s?\.?[ \t]*|numeros?[ \t]*)?:?[ \t]*",
    re.I,
)
_EFORMS_ID_RE = re.compile(r"\bLOT-(\d{4})\b", re.I)
_ITEM_RE = re.compile(r"(?:lot-)?(?P<id>" + _ID + r")", re.I)
_UNIT_AFTER_RE = re.compile(
    r"\s*(?:\d|heures?\b|h\b|%|euros?\b|€|etp\b|mois\b|jours?\b|ans?\b|annees?\b|semaines?\b"
    r"|m2\b|m\b|km\b|pour\s?cent|exemplaires\b|places\b|agents\b|personnes\b|salaries\b)",
    re.I,
)
_PAREN_RE = re.compile(r"[ \t]*\([^()\n]{0,80}\)")
_CONNECTOR_RE = re.compile(r"[ \t]*(?P<c>,|&|/|\bet\b|\bou\b|\bau\b|\ba\b|-)[ \t]*", re.I)
#: "lots n° 1 et n° 3", "lots n°2, n°3 et n°4": the number sign repeated without "lot"
_NUMERO_RE = re.compile(r"n[ \t]*[°o]s?\.?[ \t]*(?=\d)", re.I)
_AGAIN_RE = re.compile(r"(?:les?[ \t]+|du[ \t]+)?lots?[ \t]*(?:n[ \t]*[°o]s?\.?[ \t]*)?", re.I)
_EXCLUDE_BEFORE_RE = re.compile(
    r"(?:sauf|hors|a l.exception d[ue]s?|excepte|autres que|exclusion d[ue]s?)"
    r"[ \t]*(?:les?|du|des|pour)?[ \t]*$",
    re.I,
)
_EXCLUDE_AFTER_RE = re.compile(  # used with .match(text, pos): anchored at pos
    r"[^.;\n]{0,60}?(?:\bne (?:sont|est) pas (?:concerne|soumis|vise)"
    r"|\bn'(?:est|y est) pas (?:concerne|soumis|vise)|\bne comporte(?:nt)? pas|\bnon concerne"
    r"|(?:sont|est) exclus?|ne prevoi(?:t|ent) pas|n.y sont pas soumis|sans clause"
    r"|ne sont pas reserves|n.est pas reserve)",
    re.I,
)


_LETTER_HEADER_RE = re.compile(
    r"^[ \t]*(?:[^\w\s][ \t]*)?Lot[ \t]*(?:n[ \t]*[°o]\.?[ \t]*)?:?[ \t]*"
    r"(?-i:[A-Z]{1,2}\d{0,3})[ \t]*[:.)|-]",
    re.I | re.M,
)


def _item_value(raw: str) -> str | None:
    return normalise_lot_id(raw)


def find_mentions(text: str) -> list[LotMention]:
    """Lots named in the normalised ``text``: ``lots 1 à 3`` → 1, 2, 3; ``lots 1, 2 et 5``;
    ``le lot 4``; ``LOT-0002``. Quantities are not lots (``lot 1, 400 heures``)."""
    mentions: list[LotMention] = []
    if "lot" not in text.lower():
        return mentions
    # letter ids ("lot A") only in a notice whose lots are lettered: elsewhere a capital
    # after "lot" is a folded "à" ("LOTS A BONS DE COMMANDE")
    letters = _LETTER_HEADER_RE.search(text) is not None
    consumed = 0
    for m in _MENTION_RE.finditer(text):
        if m.start() < consumed:
            continue
        plural = m.group("word").lower() != "lot"
        pos = m.end()
        first = _ITEM_RE.match(text, pos)
        if not first or (_UNIT_AFTER_RE.match(text, first.end()) and not first.group(0).isalpha()):
            continue
        ids = [first.group("id")]
        pos = first.end()
        end = pos
        while True:
            paren = _PAREN_RE.match(text, pos)
            look = paren.end() if paren else pos
            conn = _CONNECTOR_RE.match(text, look)
            if not conn:
                break
            after = conn.end()
            again = _AGAIN_RE.match(text, after) or _NUMERO_RE.match(text, after)
            if again and again.end() > after:
                after = again.end()
            elif not plural and conn.group("c").lower() not in ("et", "a", "au"):
                break
            item = _ITEM_RE.match(text, after)
            if not item or (item.group(0).isalpha() and not (again and again.end() > conn.end())):
                break
            if _UNIT_AFTER_RE.match(text, item.end()):
                break
            c = conn.group("c").lower()
            if c in ("a", "au", "-") and ids and ids[-1].isdigit() and item.group("id").isdigit():
                lo, hi = int(ids[-1]), int(item.group("id"))
                if lo < hi <= lo + 200:
                    ids.extend(str(i) for i in range(lo + 1, hi + 1))
                else:
                    ids.append(item.group("id"))
            else:
                ids.append(item.group("id"))
            pos = end = item.end()
        values = [v for v in (_item_value(i) for i in ids) if v and (letters or v[0].isdigit())]
        if not values:
            continue
        excluded = bool(
            _EXCLUDE_BEFORE_RE.search(text[max(0, m.start() - 40) : m.start()])
            or _EXCLUDE_AFTER_RE.match(text, end)
        )
        mentions.append(LotMention(m.start(), end, list(dict.fromkeys(values)), excluded))
        consumed = end
    for m in _EFORMS_ID_RE.finditer(text):
        value = normalise_lot_id(m.group(1))
        if value and not any(x.start <= m.start() < x.end for x in mentions):
            mentions.append(LotMention(m.start(), m.end(), [value]))
    mentions.sort(key=lambda x: x.start)
    return mentions


# -- lots per bidder --------------------------------------------------------------------

_NUM_OR_WORD = r"(?P<n>\d{1,3}|[a-z]+)"
_MAX_AWARDED_RE = [
    re.compile(
        r"nombre maxim(?:al|um) de lots"
        r" (?:pouvant etre|qui peuvent etre|susceptibles d.etre) attribues a un (?:meme |seul )?"
        r"(?:soumissionnaire|candidat|operateur(?: economique)?|titulaire)\s*:?\s*" + _NUM_OR_WORD,
        re.I,
    ),
    re.compile(
        r"(?:ne (?:pourra|peut|pourront|peuvent) (?:se voir )?"
        r"(?:attribuer|etre attributaires? d[eu]s?|obtenir)"
        r"|pourront se voir attribuer|pourra se voir attribuer|peut se voir attribuer)"
        r" (?:plus de |au maximum |au plus |que )?" + _NUM_OR_WORD + r" lots?",
        re.I,
    ),
    re.compile(r"limitation du nombre de lots attribues a " + _NUM_OR_WORD, re.I),
    re.compile(r"(?:au maximum|au plus|pas plus de) " + _NUM_OR_WORD + r" lots?", re.I),
]
_MAX_SUBMITTED_RE = re.compile(
    r"nombre maxim(?:al|um) de lots(?: pour lesquels un soumissionnaire peut presenter une offre)?"
    r"\s*:\s*" + _NUM_OR_WORD,
    re.I,
)


def _count(raw: str) -> int | None:
    if raw.isdigit():
        return int(raw)
    return parse_words(raw)


def max_lots_per_bidder(text: str) -> int | None:
    """The most lots one bidder can be awarded (or, failing that, bid for), if stated."""
    for pattern in _MAX_AWARDED_RE:
        m = pattern.search(text)
        if m:
            value = _count(m.group("n"))
            if value:
                return value
    m = _MAX_SUBMITTED_RE.search(text)
    if m:
        return _count(m.group("n"))
    return None
