"""Text normalisation with an offset map back to the original text.

Notices reach us with typographic apostrophes, non-breaking spaces, several dash characters,
ligatures, HTML left over from the harvest, control characters and, now and then, mojibake
("rÃ©servÃ©"). spaCy's ``LOWER``/``NORM`` attributes do not unify any of these for French
(reference §4.10), so every rule would need every variant. Instead the text is normalised
once, before tokenising, into a *matching form*:

* one-to-one character mappings (``str.translate``, so offsets do not move): apostrophes,
  spaces, dashes, control characters, accents folded to their base letter (``é`` → ``e``,
  which also repairs capitals written without accents, ``MARCHE RESERVE``);
* a few many-to-one or one-to-many rewrites (HTML entities, mojibake pairs, ``œ`` → ``oe``,
  combining accents, HTML tags), recorded in an :class:`OffsetMap` so that any span found in
  the normalised text maps back to the exact characters of the input.

Evidence quotes are always cut from the *original* input with the mapped offsets.
"""

from __future__ import annotations

import bisect
import html
import re
import unicodedata
from dataclasses import dataclass, field

# -- one-to-one mapping --------------------------------------------------------------------


def _build_table() -> dict[int, str]:
    table: dict[int, str] = {}
    for ch in "\u2019\u2018\u201b\u02bc\u00b4\u0060\u2032":
        table[ord(ch)] = "'"
    for ch in "\u00a0\u202f\u2007\u2009\u200a\u2002\u2003\u2004\u2005\u2006\u2008\u3000\t\x0b\x0c":
        table[ord(ch)] = " "
    for ch in "\u2010\u2011\u2012\u2013\u2014\u2015\u2212\u2043\ufe63\uff0d":
        table[ord(ch)] = "-"
    for ch in "\u201c\u201d\u201e\u201f":
        table[ord(ch)] = '"'
    # Zero-width characters become spaces (not removed) to keep offsets one-to-one.
    for ch in "\u200b\u200c\u200d\u2060\ufeff\u00ad":
        table[ord(ch)] = " "
    table[ord("\r")] = "\n"
    table[ord("\u2028")] = "\n"
    table[ord("\u2029")] = "\n"
    table[ord("\u00ba")] = "°"  # "nº" (ordinal indicator) is written for "n°"
    for code in list(range(0x00, 0x09)) + list(range(0x0E, 0x20)) + list(range(0x7F, 0xA0)):
        table.setdefault(code, " ")
    # Accented Latin letters fold to their base letter when the decomposition is one base
    # letter plus combining marks (é → e, Ç → C); letters without such a decomposition stay.
    for code in range(0xC0, 0x250):
        ch = chr(code)
        decomposed = unicodedata.normalize("NFD", ch)
        base = decomposed[0]
        if len(decomposed) > 1 and base.isascii() and base.isalpha():
            table[code] = base
    return table


_TABLE = _build_table()

# -- many-to-one / one-to-many rewrites -----------------------------------------------------

#: Common UTF-8-read-as-cp1252 sequences ("mojibake") seen in scraped French text.
_MOJIBAKE = {
    "Ã©": "é",
    "Ã¨": "è",
    "Ãª": "ê",
    "Ã«": "ë",
    "Ã ": "à",
    "Ã¢": "â",
    "Ã§": "ç",
    "Ã´": "ô",
    "Ã®": "î",
    "Ã¯": "ï",
    "Ã¹": "ù",
    "Ã»": "û",
    "Ã‰": "É",
    "Ãˆ": "È",
    "Ã€": "À",
    "Ã‡": "Ç",
    "Å“": "oe",
    "â€™": "'",
    "â€“": "-",
    "â€”": "-",
    "â€œ": '"',
    "â€\x9d": '"',
    "Â°": "°",
    "Â\xa0": " ",
}
_LIGATURES = {"œ": "oe", "Œ": "OE", "æ": "ae", "Æ": "AE", "ﬁ": "fi", "ﬂ": "fl", "ß": "ss"}
#: Block-level tags end a line: replacing them with a newline keeps the notice's layout.
_BLOCK_TAGS = re.compile(r"</?(?:br|p|div|li|tr|td|th|h[1-6]|ul|ol|table|section)\b", re.I)

_REWRITE_RE = re.compile(
    "|".join(
        [
            r"<[!/?]?[A-Za-z][^<>]{0,500}>",  # an HTML tag
            r"&(?:[A-Za-z]{2,8}|#\d{1,6}|#x[0-9A-Fa-f]{1,5});",  # an HTML entity
            "|".join(re.escape(k) for k in sorted(_MOJIBAKE, key=len, reverse=True)),
            "[" + "".join(_LIGATURES) + "]",
            r"[\u0300-\u036f]+",  # combining accents (text in NFD)
            # Harvested text often loses the space after punctuation ("économique.Critères",
            # "(Lots 2 et 3)clauses"): the tokenizer then glues two words. Put it back.
            r"(?<=[A-Za-z]{2})\.(?=[A-Z][a-z])",
            r"[);](?=[A-Za-z])",
        ]
    )
)


def _rewrite(match: re.Match[str]) -> str:
    piece = match.group(0)
    first = piece[0]
    if first == "<":
        # Same length: offsets inside the tag map to the tag itself.
        if _BLOCK_TAGS.match(piece):
            return "\n" + " " * (len(piece) - 1)
        return " " * len(piece)
    if first == "&":
        decoded = html.unescape(piece)
        return decoded if len(decoded) == 1 else " "
    if piece in _MOJIBAKE:
        return _MOJIBAKE[piece]
    if piece in _LIGATURES:
        return _LIGATURES[piece]
    if piece in ".);":
        return piece + " "
    return ""  # combining marks: dropped, the base letter stays


@dataclass
class OffsetMap:
    """Maps offsets of the normalised text back to the original text.

    Only the rewritten pieces are stored, as parallel sorted lists: ``norm_starts[i]`` ..
    ``norm_ends[i]`` in the normalised text came from ``orig_starts[i]`` .. ``orig_ends[i]``.
    Between two pieces the shift is constant. An empty map is the identity.
    """

    norm_starts: list[int] = field(default_factory=list)
    norm_ends: list[int] = field(default_factory=list)
    orig_starts: list[int] = field(default_factory=list)
    orig_ends: list[int] = field(default_factory=list)

    def _shift_before(self, i: int) -> int:
        """Shift (orig - norm) that applies after piece ``i - 1``."""
        if i <= 0:
            return 0
        return self.orig_ends[i - 1] - self.norm_ends[i - 1]

    def start(self, pos: int) -> int:
        """Original offset of the character that starts at ``pos`` in the normalised text."""
        if not self.norm_starts:
            return pos
        i = bisect.bisect_right(self.norm_starts, pos) - 1
        if i >= 0 and pos < self.norm_ends[i]:
            return self.orig_starts[i]
        return pos + self._shift_before(i + 1)

    def end(self, pos: int) -> int:
        """Original offset for an exclusive end ``pos`` in the normalised text.

        An end inside a rewritten piece, or right before a piece that vanished (combining
        accents), extends to the end of that piece in the original.
        """
        if not self.norm_starts or pos <= 0:
            return pos
        i = bisect.bisect_right(self.norm_starts, pos) - 1
        if i >= 0:
            n_start, n_end = self.norm_starts[i], self.norm_ends[i]
            if n_start < pos <= n_end or n_start == n_end == pos:
                return self.orig_ends[i]
            if n_start == pos:  # a rewritten piece starts right after the end
                return pos + self._shift_before(i)
        return pos + self._shift_before(i + 1)

    def span(self, start: int, end: int) -> tuple[int, int]:
        """Original ``(start, end)`` for a normalised span."""
        return self.start(start), self.end(end)


#: "Marché réservé :" / "non" on two lines (the harvest writes a heading, then its value):
#: join them when the value is a bare yes/no, so that "réservé : non" reads as one field.
_SHORT_VALUE_RE = re.compile(
    r":[ \t]*\n(?=[ \t]*(?:oui|non|neant|sans objet|aucune?|non concernee?s?)"
    r"[ \t]*[.;]?[ \t]*(?:\n|$))",
    re.I,
)


def _join_short_values(text: str) -> str:
    """Same-length rewrite (the newline becomes a space): offsets do not move."""
    if ":" not in text or "\n" not in text:
        return text
    return _SHORT_VALUE_RE.sub(": ", text)


def normalise(text: str) -> tuple[str, OffsetMap]:
    """Return the matching form of ``text`` and the map back to ``text``'s offsets."""
    offsets = OffsetMap()
    if _REWRITE_RE.search(text) is not None:
        parts: list[str] = []
        last = 0
        norm_pos = 0
        for match in _REWRITE_RE.finditer(text):
            start, end = match.span()
            replacement = _rewrite(match)
            parts.append(text[last:start])
            norm_pos += start - last
            if len(replacement) != end - start:
                offsets.norm_starts.append(norm_pos)
                offsets.norm_ends.append(norm_pos + len(replacement))
                offsets.orig_starts.append(start)
                offsets.orig_ends.append(end)
            parts.append(replacement)
            norm_pos += len(replacement)
            last = end
        parts.append(text[last:])
        text = "".join(parts)
    return _join_short_values(text.translate(_TABLE)), offsets


def fold(text: str) -> str:
    """The matching form of a short string (patterns, lookups); offsets are not kept."""
    return normalise(text)[0]
