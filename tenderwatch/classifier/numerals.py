"""French number formats: ``1 200``, ``1.200``, ``30 000``, ``7,5``, ``deux mille``, ``trois``.

Used for insertion hours, percentages, FTEs, lot ids and lot counts. Inputs are in the
matching form of :mod:`tenderwatch.classifier.normalise` (accents folded, non-breaking
spaces already turned into plain spaces).
"""

from __future__ import annotations

import re
from functools import cache

from tenderwatch.classifier.resources import data

#: A number written with digits: thousands grouped by spaces or dots, decimal comma.
NUMBER = r"(?:\d{1,3}(?:[ .]\d{3})+(?![\d])|\d+(?:,\d+)?)"
_THOUSANDS_RE = re.compile(r"^\d{1,3}(?:([ .])\d{3})+$")


def parse_number(text: str) -> float | None:
    """``"1 200"`` → 1200.0, ``"1.200"`` → 1200.0, ``"7,5"`` → 7.5; ``None`` if not a number."""
    text = text.strip()
    if not text:
        return None
    if _THOUSANDS_RE.match(text):
        return float(re.sub(r"[ .]", "", text))
    try:
        return float(text.replace(",", "."))
    except ValueError:
        return parse_words(text)


@cache
def _words() -> tuple[
    dict[str, int], dict[str, int], frozenset[str], frozenset[str], frozenset[str]
]:
    table = data("number_words.json")
    return (
        table["units"],
        table["tens"],
        frozenset(table["hundred"]),
        frozenset(table["thousand"]),
        frozenset(table["million"]),
    )


def number_word_list() -> list[str]:
    """Every number word, for building regexes (longest first)."""
    units, tens, hundred, thousand, million = _words()
    words = set(units) | set(tens) | hundred | thousand | million | {"et"}
    return sorted(words, key=len, reverse=True)


def parse_words(text: str) -> int | None:
    """Value of a French number in words (``"deux mille cinq cents"`` → 2500), else ``None``.

    Handles "soixante-dix", "quatre-vingt-dix", "vingt et un"; ``None`` when any word is
    not a number word, so that ordinary text never parses by accident.
    """
    units, tens, hundred, thousand, million = _words()
    words = [w for w in re.split(r"[\s-]+", text.lower().strip()) if w and w != "et"]
    if not words:
        return None
    total = 0
    current = 0
    seen = False
    for word in words:
        if word in units:
            current += units[word]
        elif word in tens:
            current += tens[word]
        elif word in ("quatre", "quatres"):
            current += 4
        elif word in hundred:
            current = (current or 1) * 100
        elif word in thousand:
            total += (current or 1) * 1000
            current = 0
        elif word in million:
            total += (current or 1) * 1_000_000
            current = 0
        else:
            return None
        seen = True
    # "quatre vingt" parses as 4 + 20; French means 4 × 20.
    text_l = " ".join(words)
    if "quatre vingt" in text_l:
        return _parse_quatre_vingt(words)
    return total + current if seen else None


def _parse_quatre_vingt(words: list[str]) -> int | None:
    """Second pass for numbers containing "quatre-vingt" (80) such as "quatre-vingt-dix"."""
    merged: list[str] = []
    i = 0
    while i < len(words):
        if words[i] == "quatre" and i + 1 < len(words) and words[i + 1] in ("vingt", "vingts"):
            merged.append("octante")
            i += 2
        else:
            merged.append(words[i])
            i += 1
    return parse_words(" ".join(merged)) if merged != words else None
