"""Article references: find them with regexes on the (normalised) text and normalise them.

The spaCy tokenizer splits references inconsistently (``L.2113 | - | 13`` but
``L | 2113 | - | 13``), so references are matched with regexes on the text and mapped back
to tokens with ``doc.char_span(..., alignment_mode="expand")`` by the ``tw_legal`` component
(reference §4.8). Norms look like ``CCP:L2113-13``, ``CMP:53-I``, ``ORD2015:36-II``,
``DEC2016:62``, ``CT:L5132-4``.

A bare "Article 14" is a section number of the CCAP, not the CMP: article numbers of the old
texts are accepted only when the source (code des marchés publics, ordonnance, décret) is
named right after them, or just before.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from typing import Any

from tenderwatch.classifier.resources import data

#: Legal generations, in time order, and the date each starts (publication date fallback).
GENERATION_STARTS = (("CMP", "0000-00-00"), ("ORD2015", "2016-04-01"), ("CCP", "2019-04-01"))

_CODE_REF = (
    r"(?<![A-Za-z0-9])(?P<letter{n}>[LRD])\s?\.?\s?(?P<num{n}>\d{{3,4}})\s?-\s?(?P<sub{n}>\d{{1,3}})"
    r"(?:\s?-\s?(?P<subsub{n}>\d{{1,2}})(?![\d°]))?(?:\s?,?\s?(?P<alinea{n}>\d{{1,2}})\s?°)?"
)
#: A code reference (CCP, code du travail, CASF), optionally a range "L. 2113-12 à L. 2113-16".
CODE_RE = re.compile(
    _CODE_REF.format(n=1) + r"(?:\s?(?:a|au|et)\s?" + _CODE_REF.format(n=2) + r")?",
)
_ROMAN = {"1": "I", "2": "II", "3": "III", "i": "I", "ii": "II", "iii": "III", "iv": "IV"}
#: An old-text article number: "art. 53-I", "article 36 II", "articles 36 et 37", "art.30".
_OLD_NUM = r"\d{1,3}(?:er)?(?:\s?(?:-|\s)\s?(?:iv|i{1,3}|[1-3](?![\d,.]))(?![a-z]))?"
OLD_RE = re.compile(
    r"\b(?:art(?:icle)?s?)\s?\.?\s?(?P<nums>"
    + _OLD_NUM
    + r"(?:\s?(?:,|et)\s?"
    + _OLD_NUM
    + r")*)\b",
    re.I,
)
_OLD_ONE = re.compile(
    r"(?P<num>\d{1,3})(?:er)?(?:\s?(?:-|\s)\s?(?P<sec>iv|i{1,3}|[1-3](?![\d,.]))(?![a-z]))?", re.I
)
_SOURCE_AFTER = re.compile(
    r"^[^.;\n]{0,45}?\b(?P<src>code des marches publics|cmp\b|ordonnance|decret)"
    r"(?P<textnum>\s*(?:n\s?°|no)?\s?\d{2,4}-\d{1,5})?",
    re.I,
)
#: The only ordonnance and décret of the 2016-2019 generation; other numbers are other texts.
_KNOWN_TEXTS = {"ordonnance": "2015-899", "decret": "2016-360"}
_SOURCE_BEFORE = re.compile(r"\b(?P<src>code des marches publics|cmp)\s*,?\s*$", re.I)
_CODE_CONTEXT = re.compile(
    r"^[^.;\n]{0,40}?(?P<src>code du travail|code de l'action sociale|casf\b"
    r"|code de la commande publique|ccp\b)",
    re.I,
)


@dataclass(frozen=True)
class LegalRef:
    """One article reference found in the normalised text."""

    start: int
    end: int
    norm: str  # "CCP:L2113-13"
    generation: str | None  # "CCP", "CMP", "ORD2015", "DEC2016"; None for other codes
    also: tuple[str, ...] = ()  # further norms covered by a range ("L2113-12 à L2113-16")

    @property
    def norms(self) -> tuple[str, ...]:
        return (self.norm, *self.also)


@cache
def article_table() -> dict[str, dict[str, Any]]:
    """The article lookup of ``data/articles.json`` (norm → labels, kind, topic)."""
    return data("articles.json")["articles"]


@cache
def source_names() -> dict[str, str]:
    return data("articles.json")["sources"]


def lookup(norm: str) -> dict[str, Any] | None:
    """Article-table entry of a norm, also for prefix entries (``CT:L5212`` covers L5212-1)."""
    table = article_table()
    if norm in table:
        return table[norm]
    for key, entry in table.items():
        if entry.get("prefix") and norm.startswith(key):
            return entry
    return None


def generation_from_date(published: str | None) -> str | None:
    """Legal generation in force on a publication date (``YYYY-MM-DD``), ``None`` if unknown."""
    if not published or not re.match(r"\d{4}-\d{2}-\d{2}", published):
        return None
    current = None
    for name, start in GENERATION_STARTS:
        if published[:10] >= start:
            current = name
    return current


def _code_for(num: str, context: str) -> str:
    """Which code a "L. nnnn-n" reference belongs to, from the words after it and its number."""
    m = _CODE_CONTEXT.match(context)
    if m:
        src = m.group("src").lower()
        if src.startswith("code du travail"):
            return "CT"
        if src.startswith(("code de l'action", "casf")):
            return "CASF"
        return "CCP"
    if len(num) == 3:
        return "CASF" if num.startswith("3") else "OTHER"
    if num[0] in "23":
        return "CCP"
    return "CT" if num[0] in "145678" else "OTHER"


def _code_norm(m: re.Match[str], n: int, code: str) -> str:
    norm = f"{code}:{m.group(f'letter{n}').upper()}{m.group(f'num{n}')}-{m.group(f'sub{n}')}"
    if m.group(f"subsub{n}"):
        norm += f"-{m.group(f'subsub{n}')}"
    return norm


def _expand_range(first: str, last: str) -> tuple[str, ...]:
    """``CCP:L2113-12`` .. ``CCP:L2113-16`` → the norms strictly between and the last one."""
    a = re.match(r"(.*-)(\d+)$", first)
    b = re.match(r"(.*-)(\d+)$", last)
    if not a or not b or a.group(1) != b.group(1):
        return (last,)
    lo, hi = int(a.group(2)), int(b.group(2))
    if not 0 < hi - lo <= 20:
        return (last,)
    return tuple(f"{a.group(1)}{i}" for i in range(lo + 1, hi + 1))


def find_references(text: str) -> list[LegalRef]:
    """Every article reference of the normalised ``text``, in order."""
    refs: list[LegalRef] = []
    for m in CODE_RE.finditer(text):
        after = text[m.end() : m.end() + 60]
        code = _code_for(m.group("num1"), after)
        if code == "OTHER":
            continue
        first = _code_norm(m, 1, code)
        also: tuple[str, ...] = ()
        if m.group("num2"):
            second = _code_norm(m, 2, code)
            joiner = text[m.end("sub1") : m.start("letter2")]
            also = _expand_range(first, second) if re.search(r"\ba", joiner) else (second,)
        generation = "CCP" if code == "CCP" else None
        refs.append(LegalRef(m.start(), m.end(), first, generation, also))
    for m in OLD_RE.finditer(text):
        after = text[m.end() : m.end() + 70]
        src_m = _SOURCE_AFTER.match(after)
        source = src_m.group("src").lower() if src_m else None
        end = m.end()
        if src_m is not None:
            textnum = src_m.group("textnum")
            expected = _KNOWN_TEXTS.get(source or "")
            if textnum and expected and not textnum.strip().endswith(expected):
                continue  # another ordonnance or décret (e.g. the notaries' ordonnance of 1945)
            end = m.end() + src_m.end()
        else:
            before = _SOURCE_BEFORE.search(text[max(0, m.start() - 30) : m.start()])
            source = before.group("src").lower() if before else None
        if source is None:
            continue  # a bare "Article 14": a section number, not the CMP
        if source.startswith(("code des marches", "cmp")):
            prefix = "CMP"
        elif source.startswith("ordonnance"):
            prefix = "ORD2015"
        else:
            prefix = "DEC2016"
        norms = []
        for one in _OLD_ONE.finditer(m.group("nums")):
            norm = f"{prefix}:{one.group('num')}"
            if one.group("sec"):
                norm += "-" + _ROMAN.get(one.group("sec").lower(), one.group("sec").upper())
            norms.append(norm)
        if norms:
            refs.append(LegalRef(m.start(), end, norms[0], prefix, tuple(norms[1:])))
    refs.sort(key=lambda r: r.start)
    return refs


def describe(norm: str) -> str:
    """The article in words, for people: ``CCP:L2113-13`` → "article L. 2113-13 du code de la
    commande publique"."""
    code, _, ref = norm.partition(":")
    source = source_names().get(code, "")
    if ref[:1] in ("L", "R", "D"):
        ref = f"{ref[0]}. {ref[1:]}"
    return f"article {ref} {source}".strip()


def legal_basis(ref: LegalRef, raw: str, published: str | None) -> dict[str, Any]:
    """The contract's ``legal_basis`` record: raw text, norm, generation (article first, then
    the publication date)."""
    generation = ref.generation or generation_from_date(published)
    return {"raw": raw, "norm": ref.norm, "generation": generation}
