"""Layout of a notice: lines, sentences, clauses, field labels and award-criteria zones.

Everything works on character offsets of the normalised text, with regexes, so that no
Python loop runs over the tokens of a whole notice (speed: reference §7).
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, field
from functools import cache

from tenderwatch.classifier.resources import data


@cache
def _layout() -> dict:
    return data("layout.json")


@cache
def _abbreviations() -> frozenset[str]:
    return frozenset(_layout()["abbreviations"])


#: A candidate sentence end: ., ! or ? (possibly followed by a closing quote or bracket), then
#: spaces, then something that can start a sentence.
_SENT_END_RE = re.compile(r"[.!?]+[\"»)\]]?[ \t]+(?=[A-Z0-9«\"(\-•*])")
_WORD_BEFORE_RE = re.compile(r"([A-Za-z°]+)\.?$")
_LINE_RE = re.compile(r"[^\n]+")
_FIELD_RE = re.compile(r"[^:\n]{1,%d}?\s:\s?(?=\S)|[^:\n]{1,%d}?\s?:\s*$")


@dataclass
class Layout:
    """Lines and sentences of a normalised text (offsets; ``*_starts`` are for bisect)."""

    lines: list[tuple[int, int]] = field(default_factory=list)
    line_starts: list[int] = field(default_factory=list)
    sentences: list[tuple[int, int]] = field(default_factory=list)
    sent_starts: list[int] = field(default_factory=list)
    #: per line: inside an award-criteria zone
    criteria_lines: list[bool] = field(default_factory=list)
    #: per line: a label with no value ("Critères d'attribution :"): a heading
    heading_lines: list[bool] = field(default_factory=list)

    def line_of(self, pos: int) -> int:
        return max(0, bisect.bisect_right(self.line_starts, pos) - 1)

    def sentence_of(self, pos: int) -> int:
        return max(0, bisect.bisect_right(self.sent_starts, pos) - 1)


def _is_abbreviation(text: str, dot: int) -> bool:
    """Whether the period at ``dot`` closes an abbreviation ("art.", "n°.", "L.", "M.")."""
    m = _WORD_BEFORE_RE.search(text, max(0, dot - 12), dot)
    if not m:
        return False
    word = m.group(1).lower().rstrip("°")
    return word in _abbreviations() or len(word) <= 1


def split_sentences(text: str, lines: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Sentences: every line, cut after ``. ! ?`` unless the period ends an abbreviation."""
    sentences: list[tuple[int, int]] = []
    for start, end in lines:
        pos = start
        for m in _SENT_END_RE.finditer(text, start, end):
            if text[m.start()] == "." and _is_abbreviation(text, m.start()):
                continue
            cut = m.end()
            if cut - pos > 1:
                sentences.append((pos, cut))
                pos = cut
        if end > pos:
            sentences.append((pos, end))
    return sentences


def clauses(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """Parts of a sentence separated by ";" (the scope of a negation)."""
    parts = []
    pos = start
    while True:
        semi = text.find(";", pos, end)
        if semi < 0:
            parts.append((pos, end))
            return parts
        parts.append((pos, semi))
        pos = semi + 1


@cache
def _criteria_res() -> tuple[re.Pattern[str], re.Pattern[str], re.Pattern[str]]:
    layout = _layout()
    return (
        re.compile(layout["criteria_heading"], re.I),
        re.compile(layout["criteria_continuation"], re.I),
        re.compile(layout["criteria_exclude"], re.I),
    )


def analyse_layout(text: str) -> Layout:
    """Lines, sentences, criteria zones and headings of the normalised ``text``."""
    layout = Layout()
    layout.lines = [m.span() for m in _LINE_RE.finditer(text)]
    layout.line_starts = [s for s, _ in layout.lines]
    layout.sentences = split_sentences(text, layout.lines)
    layout.sent_starts = [s for s, _ in layout.sentences]
    heading_re, continuation_re, exclude_re = _criteria_res()
    in_zone = False
    for start, end in layout.lines:
        line = text[start:end]
        stripped = line.rstrip()
        is_heading = stripped.endswith(":") and len(stripped) <= 120
        layout.heading_lines.append(is_heading)
        head = heading_re.search(line[:120])
        if head and not exclude_re.search(line[: head.end() + 40]):
            in_zone = True
        elif in_zone:
            in_zone = bool(continuation_re.search(line[:200])) and len(line) < 600
        layout.criteria_lines.append(in_zone)
    return layout


def field_prefix_end(text: str, start: int, end: int, max_len: int = 90) -> int:
    """End of a leading "Label : " of a sentence (``start`` if there is none).

    Used to trim evidence quotes to the statement itself: "Conditions relatives à
    l'exécution du contrat : Le titulaire…" → "Le titulaire…".
    """
    pos = start
    for _ in range(3):  # "III.1.5) Informations … : Lot 2 uniquement : …" has several
        colon = text.find(" : ", pos, min(end, pos + max_len))
        if colon < 0:
            colon2 = text.find(": ", pos, min(end, pos + max_len))
            if colon2 < 0:
                return pos
            colon = colon2 - 1
        label = text[pos:colon]
        if re.search(r"\blots?\b\s*\d", label, re.I) or len(label) > max_len:
            return pos
        nxt = colon + 3 if text.startswith(" : ", colon) else colon + 2
        if nxt >= end:
            return pos
        pos = nxt
        if not re.match(r"[^:]{0,60}\s:\s", text[pos:end]):
            return pos
    return pos
