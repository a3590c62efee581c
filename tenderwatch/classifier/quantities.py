"""Quantities of an insertion clause: hours, percentages of hours, FTEs.

Matched with regexes on the normalised text (French formats, see
:mod:`tenderwatch.classifier.numerals`) and mapped back to tokens by the ``tw_quantities``
component. A quantity means nothing on its own ("48 heures" can be a delay); the decision
component only reads the quantities of sentences that carry an insertion clause.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from tenderwatch.classifier.numerals import NUMBER, number_word_list, parse_number, parse_words


@dataclass(frozen=True)
class Quantity:
    """A quantity in the normalised text: ``kind`` is ``hours``, ``rate`` (hours per period
    or per amount), ``percent`` or ``fte``."""

    start: int
    end: int
    kind: str
    value: float
    #: The values of a list ("500, 250, 200 et 150 heures"), in order; ``(value,)`` otherwise.
    values: tuple[float, ...] = ()
    #: For percentages: whether it is a share of working hours / workforce.
    of_hours: bool = False
    #: For rates (``kind == "rate"``): what the hours are per: "an", "mois", "10000 EUR".
    per: str | None = None


_AMOUNT_FACTORS = {"k": 1_000, "m": 1_000_000}


def _per(match: re.Match[str]) -> str:
    """The unit of a rate: a period ("an") or an amount in euros ("10000 EUR")."""
    if match.group("period"):
        period = match.group("period").lower()
        return "an" if period == "annee" else period
    amount = parse_number(match.group("amount")) or 0
    factor = _AMOUNT_FACTORS.get(match.group("unit")[0].lower(), 1)
    value = amount * factor
    return f"{int(value) if float(value).is_integer() else value} EUR"


@cache
def _patterns() -> dict[str, re.Pattern[str]]:
    words = "|".join(re.escape(w) for w in number_word_list())
    word_number = rf"(?:(?:{words})(?:[ -]+(?:{words}))*)"
    item = rf"(?:{NUMBER}|{word_number})"
    return {
        # "1 200 heures", "1.200 h", "500, 250, 200 et 150 heures", "deux mille heures";
        # real forms misspell ("2 100 heurs") and glue the next field to the unit ("100
        # heuresLes modalités", "295 heuresoTranche 2", "1200 hLot 2"): a capital, or a bullet
        # "o" before a capital, ends the unit as a word boundary does.
        "hours": re.compile(
            rf"(?<![\w,.])(?P<num>{item}(?:\s?(?:,|et)\s?{item})*)"
            r"\s?(?:heures?|heurs?|hrs?|h)(?:\b|(?-i:(?=o?[A-Z])))(?![ ]?\d)",
            re.I,
        ),
        # a rate, not a total: "5 h par tranche de 10 000 € HT", "70 heures / an",
        # "35 heures par an", "7 heures pour 100 000 euros de travaux"
        "rate": re.compile(
            r"(?:\s(?:de travail\s)?d'insertion|\sde travail)?"
            rf"\s?(?:/|par|pour|chaque)\s?(?:(?P<period>an|annee|mois|semaine|trimestre)\b"
            rf"|(?:(?:tranche|part|fraction)\s(?:de\s)?)?(?P<amount>{NUMBER})\s?"
            r"(?P<unit>k€|k\s?euros?|m€|€|euros?|eur\b))",
            re.I,
        ),
        # "Nombre d'heures de travail à réaliser au titre de l'engagement d'insertion : 5043"
        "hours_field": re.compile(
            rf"(?:nombre|volume)(?: minimal| minimum| total| global)? d'heures[^:\n]{{0,160}}?:"
            rf"\s*(?P<num>{NUMBER})(?!\s?(?:%|euros?|€))",
            re.I,
        ),
        "percent": re.compile(
            rf"(?<![\w,.])(?P<num>{NUMBER})\s?(?:%|pour\s?cent\b|pourcents?\b)", re.I
        ),
        "fte": re.compile(
            rf"(?<![\w,.])(?P<num>{item})\s?(?:etp\b|e\.t\.p\.|equivalents?[ -]temps[ -]pleins?)",
            re.I,
        ),
    }


_ITEM_SPLIT_RE = re.compile(r"\s?(?:,|\bet\b)\s?")
_OF_HOURS_RE = re.compile(  # used with .match(text, pos): anchored at pos
    r"\s*(?:au moins |minimum )?(?:du|des|de la|de l'|d')?\s*(?:nombre (?:total )?(?:d'|des )?)?"
    r"(?:heures?|main-d'oeuvre|main d'oeuvre|effectifs?|volume horaire|temps de travail|"
    r"embauches?|recrutements?|postes?|salaries|personnel|masse salariale)",
    re.I,
)


def _items(raw: str, offset: int) -> list[tuple[int, float]]:
    """``(start, value)`` of each item of a list of numbers ("500, 250 et 150")."""
    items = []
    pos = 0
    for part in _ITEM_SPLIT_RE.split(raw):
        start = raw.find(part, pos)
        pos = start + len(part)
        part = part.strip()
        if not part:
            continue
        value = parse_number(part) if re.match(r"\d", part) else parse_words(part)
        if value is None:
            return []
        items.append((offset + start, float(value)))
    return items


def _values(raw: str) -> tuple[float, ...]:
    return tuple(v for _, v in _items(raw, 0))


def find_quantities(text: str, blocked: list[tuple[int, int]] | None = None) -> list[Quantity]:
    """Hours, percentages and FTEs of the normalised ``text``, in order.

    ``blocked`` spans (lot mentions) cannot hold a list item: in "lot 1, 400 heures" the 1
    is a lot number, not hours.
    """
    found: list[Quantity] = []
    blocked = blocked or []
    patterns = _patterns()
    if "h" in text.lower():
        for m in patterns["hours"].finditer(text):
            items = _items(m.group("num"), m.start("num"))
            # the number right before the unit is hours even inside a lot mention ("présent
            # lot : 100 heures"); earlier list items there are lot numbers ("lot 1, 400 h")
            items = [
                (s, v)
                for i, (s, v) in enumerate(items)
                if i == len(items) - 1 or not any(b0 <= s < b1 for b0, b1 in blocked)
            ]
            if not items or any(v <= 0 for _, v in items):
                continue
            values = tuple(v for _, v in items)
            rate = patterns["rate"].match(text, m.end())
            if rate and len(values) == 1:
                found.append(
                    Quantity(items[0][0], rate.end(), "rate", values[0], values, per=_per(rate))
                )
                continue
            found.append(Quantity(items[0][0], m.end(), "hours", sum(values), values))
        for m in patterns["hours_field"].finditer(text):
            value = parse_number(m.group("num"))
            if value and not any(q.start <= m.start("num") < q.end for q in found):
                found.append(Quantity(m.start("num"), m.end("num"), "hours", value, (value,)))
    if "%" in text or "cent" in text.lower():
        for m in patterns["percent"].finditer(text):
            value = parse_number(m.group("num"))
            if value is None or not 0 < value <= 100:
                continue
            of_hours = bool(_OF_HOURS_RE.match(text, m.end(), min(len(text), m.end() + 80)))
            found.append(Quantity(m.start(), m.end(), "percent", value, (value,), of_hours))
    lowered = text.lower()
    if "etp" in lowered or "temps plein" in lowered or "e.t.p" in lowered:
        for m in patterns["fte"].finditer(text):
            values = _values(m.group("num"))
            if values:
                found.append(Quantity(m.start(), m.end(), "fte", sum(values), values))
    found.sort(key=lambda q: q.start)
    return found
