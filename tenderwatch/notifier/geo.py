"""French geography for group territories: départements, régions and NUTS-3 codes.

The tables live in ``tenderwatch/data`` (``departements.csv``: the 101 départements with their
INSEE region since the 2016 reform; ``nuts3_departements.csv``: NUTS-3 codes of the 2013, 2016
and 2021 nomenclatures). They are read once per process.

Names are looked up without regard to case, accents, hyphens or apostrophes, so that
``"auvergne rhone-alpes"``, ``"Auvergne-Rhône-Alpes"`` and ``"AUVERGNE RHONE ALPES"`` are the
same région. Codes are the INSEE ones: ``"26"``, ``"2A"``, ``"974"`` for départements, ``"84"``,
``"11"``, ``"01"`` for régions.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from dataclasses import dataclass
from functools import cache
from importlib import resources

__all__ = [
    "Departement",
    "Region",
    "all_departements",
    "all_regions",
    "departement_code",
    "departement_codes",
    "departement_from_nuts3",
    "departement_name",
    "departements_of_region",
    "fold",
    "region_code",
    "region_name",
    "region_of",
]


@dataclass(frozen=True)
class Departement:
    """A French département and the région it belongs to."""

    code: str
    name: str
    region_code: str


@dataclass(frozen=True)
class Region:
    """An INSEE région (2016 boundaries) and its départements, in code order."""

    code: str
    name: str
    departements: tuple[str, ...]


# Common ways of writing a région that are not its official name (folded, see ``fold``).
# "Sud" is the name the PACA regional council uses; "Centre" its pre-2015 name.
_REGION_ALIASES = {
    "paca": "93",
    "sud": "93",
    "region sud": "93",
    "idf": "11",
    "ara": "84",
    "aura": "84",
    "bfc": "27",
    "hdf": "32",
    "centre": "24",
    "reunion": "04",
}

# Départements written another way by some sources: "20" is Corsica before 1976 (both halves);
# INSEE splits the Rhône into "69D" (département) and "69M" (Métropole de Lyon).
_DEPARTEMENT_ALIASES = {"69D": ("69",), "69M": ("69",), "20": ("2A", "2B")}


def fold(text: str) -> str:
    """Lower-case, strip accents, turn every non-alphanumeric run into one space.

    ``"Provence-Alpes-Côte d’Azur"`` → ``"provence alpes cote d azur"``. Also used by the
    keyword matcher, so that both sides of a comparison are folded the same way.
    """
    decomposed = unicodedata.normalize("NFKD", text.replace("œ", "oe").replace("Œ", "OE"))
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return re.sub(r"[^0-9a-z]+", " ", stripped.lower()).strip()


@cache
def _tables() -> tuple[dict[str, Departement], dict[str, Region]]:
    raw = resources.files("tenderwatch.data").joinpath("departements.csv").read_text("utf-8")
    departements: dict[str, Departement] = {}
    region_names: dict[str, str] = {}
    region_deps: dict[str, list[str]] = {}
    for row in csv.DictReader(io.StringIO(raw)):
        dep = Departement(row["code"].strip(), row["name"].strip(), row["region_code"].strip())
        departements[dep.code] = dep
        region_names[dep.region_code] = row["region_name"].strip()
        region_deps.setdefault(dep.region_code, []).append(dep.code)
    regions = {
        code: Region(code, region_names[code], tuple(region_deps[code])) for code in region_names
    }
    return departements, regions


@cache
def _name_index() -> tuple[dict[str, str], dict[str, str]]:
    """Folded names → code, for départements and for régions."""
    departements, regions = _tables()
    deps = {fold(d.name): d.code for d in departements.values()}
    regs = {fold(r.name): r.code for r in regions.values()}
    regs.update(_REGION_ALIASES)
    return deps, regs


def all_departements() -> dict[str, Departement]:
    """Every département, keyed by code."""
    return dict(_tables()[0])


def all_regions() -> dict[str, Region]:
    """Every région, keyed by INSEE code."""
    return dict(_tables()[1])


def departement_code(value: str | int) -> str | None:
    """The code of a département written as a code (``"26"``, ``26``, ``"7"``, ``"2a"``,
    ``"974"``) or a name (``"Drôme"``, ``"drome"``); ``None`` when it is not one."""
    departements = _tables()[0]
    if isinstance(value, bool):
        return None
    text = str(value).strip().upper()
    if text.isdigit() and len(text) == 1:
        text = "0" + text
    if text in departements:
        return text
    aliased = _DEPARTEMENT_ALIASES.get(text)
    if aliased and len(aliased) == 1:
        return aliased[0]
    return _name_index()[0].get(fold(str(value)))


def departement_codes(value: str | int) -> tuple[str, ...]:
    """Like :func:`departement_code` but an alias may stand for several départements
    (``"20"`` → ``("2A", "2B")``); empty when unknown."""
    text = str(value).strip().upper()
    if text in _DEPARTEMENT_ALIASES:
        return _DEPARTEMENT_ALIASES[text]
    code = departement_code(value)
    return (code,) if code else ()


def departement_name(code: str) -> str | None:
    """``"26"`` → ``"Drôme"``."""
    dep = _tables()[0].get(code)
    return dep.name if dep else None


def region_code(value: str | int) -> str | None:
    """The INSEE code of a région written as a code (``"84"``, ``84``, ``"1"``) or a name,
    case-, accent- and punctuation-insensitive (``"Auvergne-Rhône-Alpes"``, ``"ile de france"``,
    ``"PACA"``); ``None`` when it is not one."""
    regions = _tables()[1]
    if isinstance(value, bool):
        return None
    text = str(value).strip()
    if text.isdigit() and len(text) == 1:
        text = "0" + text
    if text in regions:
        return text
    return _name_index()[1].get(fold(text))


def region_name(code_or_name: str | int) -> str | None:
    """``"84"`` → ``"Auvergne-Rhône-Alpes"``."""
    code = region_code(code_or_name)
    return _tables()[1][code].name if code else None


def departements_of_region(code_or_name: str | int) -> list[str]:
    """The départements of a région given by code or name; ``KeyError`` when unknown."""
    code = region_code(code_or_name)
    if code is None:
        raise KeyError(f"région inconnue : {code_or_name!r}")
    return list(_tables()[1][code].departements)


def region_of(departement: str | int) -> str | None:
    """The INSEE région code of a département (code or name): ``"26"`` → ``"84"``."""
    code = departement_code(departement)
    return _tables()[0][code].region_code if code else None


@cache
def _nuts_table() -> dict[str, str]:
    raw = resources.files("tenderwatch.data").joinpath("nuts3_departements.csv").read_text("utf-8")
    table = {
        row["nuts3"].strip().upper(): row["departement"].strip()
        for row in csv.DictReader(io.StringIO(raw))
    }
    # A NUTS-1/2 code covering one département only (FRY4 La Réunion) stands for it; a code
    # spanning several does not (it would widen a notice's territory silently).
    spans: dict[str, set[str]] = {}
    for code, dep in table.items():
        for n in range(3, len(code)):
            spans.setdefault(code[:n], set()).add(dep)
    for prefix, deps in spans.items():
        if len(deps) == 1 and prefix not in table:
            table[prefix] = next(iter(deps))
    return table


def departement_from_nuts3(code: str | None) -> str | None:
    """Département of a French NUTS code (2013, 2016 or 2021): ``"FRK23"`` → ``"26"``."""
    text = (code or "").strip().upper()
    if not text.startswith("FR"):
        return None
    return _nuts_table().get(text)
