"""The observatory of social clauses (issue #11): aggregate figures over every stored notice.

What is counted: calls for tenders (``nature = 'call_for_tenders'``), once per notice published
on two sources (``canonical_id = id``). Each notice is read through its newest classification
without error (``classified_at``); a notice not yet classified counts in ``notices`` but not in
``classified``, and every share is over the *classified* notices, so a harvest still being
classified does not make clauses look rarer than they are.

Joining every notice to its newest classification takes a second or more on a year of France,
so it is done once into ``observatory_facts`` (one narrow row per counted notice, migration
0500) by :func:`refresh`, again only when notices or classifications changed. Each page is
then one aggregate SQL query on that table (labels from the ``positive`` column grouped in SQL,
the few hundred groups merged here; reserved lots counted with ``json_each`` at the rebuild).
Nothing loops over notices in Python (``benchmarks/observatory.py``).

The clause facilitator (issue #12) is counted over the notices with a clause only: the rebuild
copies its organisation and kind into the facts (migration 1000, read through the same
``CASE`` as the reserved lots, so only those classifications' rows are read), and
:func:`facilitators` groups them by organisation. A notice naming none counts only in the
share of notices naming one; nothing is inferred from the buyer or the territory.

The module only reads; it knows nothing of groups or members (the observatory covers the
market, not what a group did). Région filters are resolved to départements by the caller
(:mod:`tenderwatch.notifier.geo`), as this layer reads no geography table.
"""

# SQL is assembled from this module's constants (labels, column names) only; every value a
# user gives goes as a parameter.
# ruff: noqa: S608

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlite_utils import Database

from tenderwatch.core.wording import FACILITATOR_KIND_FR

#: The social labels counted (the classifier's ``SOCIAL_LABELS``, in the same order; a test
#: checks they stay equal — this layer may not import the classifier).
OBSERVED_LABELS: tuple[str, ...] = (
    "insertion_clause",
    "insertion_criterion",
    "reserved_siae",
    "reserved_disability",
    "insertion_contract",
    "reserved_other",
)
#: Reserved markets by kind: the label and its French name, in display order.
RESERVED_KINDS: tuple[tuple[str, str], ...] = (
    ("reserved_siae", "SIAE"),
    ("reserved_disability", "EA/ESAT"),
    ("reserved_other", "ESS/autre"),
)
#: French names of the labels, for tables and CSV headers (the notifier has the same words;
#: duplicated here because core may not import it).
LABEL_NAMES_FR: dict[str, str] = {
    "insertion_clause": "Clause d'insertion (exécution)",
    "insertion_criterion": "Critère social d'attribution",
    "reserved_siae": "Marché réservé SIAE",
    "reserved_disability": "Marché réservé EA/ESAT",
    "insertion_contract": "Marché d'insertion",
    "reserved_other": "Marché réservé ESS/autre",
}

#: How many buyers a facilitator row names before « … et N autres ».
BUYERS_LISTED = 5

_SIRET = re.compile(r"\d{14}")
_DIVISION = re.compile(r"\d{2}")
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


class FilterError(ValueError):
    """A filter value that cannot be used (French message)."""


@dataclass(frozen=True)
class Filters:
    """What part of the market to look at. Empty fields do not filter.

    ``departements``: INSEE codes (a région is passed as its départements); a notice matches
    when one of its départements is in the list. ``cpv_division``: the first two digits of a
    CPV code ("45" works, "90" sewage and cleaning …). ``buyer``: a SIRET (14 digits, exact)
    or part of the buyer's name (case-insensitive). ``date_from``/``date_until``: publication
    days, both included (YYYY-MM-DD).
    """

    departements: tuple[str, ...] = ()
    cpv_division: str | None = None
    buyer: str | None = None
    date_from: str | None = None
    date_until: str | None = None
    #: How to name ``departements`` to a person (« région Bretagne »); display only.
    territory: str | None = None

    def __post_init__(self) -> None:
        if self.cpv_division and not _DIVISION.fullmatch(self.cpv_division):
            raise FilterError(
                f"division CPV invalide : « {self.cpv_division} » (deux chiffres, ex. 45)"
            )
        for name, day in (("date de début", self.date_from), ("date de fin", self.date_until)):
            if day and not _DAY.fullmatch(day):
                raise FilterError(f"{name} invalide : « {day} » (format AAAA-MM-JJ)")

    def where(self) -> tuple[str, list[Any]]:
        """The SQL conditions on ``observatory_facts f`` and their parameters."""
        clauses = ["1"]
        params: list[Any] = []
        if self.departements:
            marks = ",".join("?" * len(self.departements))
            clauses.append(
                f"EXISTS (SELECT 1 FROM json_each(f.departements) d WHERE d.value IN ({marks}))"
            )
            params += list(self.departements)
        if self.cpv_division:
            clauses.append(
                "EXISTS (SELECT 1 FROM json_each(f.cpv) p WHERE substr(p.value, 1, 2) = ?)"
            )
            params.append(self.cpv_division)
        if self.buyer:
            if _SIRET.fullmatch(self.buyer):
                clauses.append("f.buyer_siret = ?")
                params.append(self.buyer)
            else:
                # instr on lower(): no LIKE wildcards to escape in a name such as « 100% ».
                clauses.append("instr(lower(f.buyer_name), lower(?)) > 0")
                params.append(self.buyer)
        if self.date_from:
            clauses.append("f.published >= ?")
            params.append(self.date_from)
        if self.date_until:
            # Published may be a day or a datetime: everything of that day is included.
            clauses.append("f.published < ?")
            params.append(self.date_until + "~")
        return " AND ".join(clauses), params

    def describe(self) -> str:
        """The filters in French, for a page or a terminal header ("" when none)."""
        parts = []
        if self.departements:
            parts.append(self.territory or "départements " + ", ".join(self.departements))
        if self.cpv_division:
            parts.append(f"division CPV {self.cpv_division}")
        if self.buyer:
            parts.append(f"acheteur « {self.buyer} »")
        if self.date_from:
            parts.append(f"depuis le {self.date_from}")
        if self.date_until:
            parts.append(f"jusqu'au {self.date_until}")
        return " ; ".join(parts)


# Every social label starts with one of these, "allotted" with neither (a test checks it):
# "has a clause" is two GLOBs on the comma-separated ``positive`` column.
CLAUSE_PREFIXES = ("insertion_", "reserved_")


def _any_clause(column: str) -> str:
    return "(" + " OR ".join(f"{column} GLOB '*{p}*'" for p in CLAUSE_PREFIXES) + ")"


def _reserved_lots(label: str) -> str:
    """SQL counting the lots of classification ``c`` that carry ``label``; evaluated only for
    classifications with a reservation (CASE), so few lots' JSON is read."""
    return (
        "(CASE WHEN c.positive GLOB '*reserved_*' THEN (SELECT count(*) FROM classifications cl,"
        " json_each(CASE WHEN json_valid(cl.lots) THEN cl.lots ELSE '[]' END) l,"
        " json_each(l.value, '$.labels') ll"
        f" WHERE cl.rowid = c.rowid AND ll.value = '{label}') ELSE 0 END)"
    )


def _facilitator_sql(value: str) -> str:
    """SQL reading ``value`` from the facilitator (row ``cl``) of classification ``c``, NULL
    when it names none; read only for a classification with a clause (CASE), so the other
    classifications' rows are not fetched (the covering index has no facilitator)."""
    return (
        f"(CASE WHEN {_any_clause('c.positive')} THEN (SELECT {value} FROM classifications cl"
        " WHERE cl.rowid = c.rowid AND json_type(CASE WHEN json_valid(cl.facilitator)"
        " THEN cl.facilitator END) = 'object') END)"
    )


_FACILITATOR_ORG = "nullif(trim(json_extract(cl.facilitator, '$.organisation')), '')"
_FACILITATOR_KIND = "nullif(json_extract(cl.facilitator, '$.kind'), '')"

# A buyer is its SIRET when known, else its name (lower-cased): the same buyer written
# « VILLE DE LYON » and « Ville de Lyon » without SIRET is one buyer.
_BUYER_KEY = "coalesce(nullif(n.buyer_siret, ''), lower(trim(n.buyer_name)))"

# One row per counted notice: canonical calls for tenders, each with its newest
# classification without error (by classified_at). Read through the covering indexes of
# migration 0500, in notice id order on both sides.
_REBUILD = (
    "INSERT INTO observatory_facts (month, classified, positive, hours, notice_id, published,"
    " departements, cpv, buyer_key, buyer_name, buyer_siret, lots_reserved_siae,"
    " lots_reserved_disability, lots_reserved_other, facilitator, facilitator_org,"
    " facilitator_kind)"
    " SELECT coalesce(substr(n.published, 1, 7), ''), c.notice_id IS NOT NULL,"
    " coalesce(c.positive, ''), coalesce(c.insertion_hours, 0), n.id, n.published,"
    f" n.departements, n.cpv, {_BUYER_KEY}, n.buyer_name, n.buyer_siret, "
    + ", ".join(_reserved_lots(label) for label, _name in RESERVED_KINDS)
    + f", coalesce({_facilitator_sql('1')}, 0), {_facilitator_sql(_FACILITATOR_ORG)},"
    + f" {_facilitator_sql(_FACILITATOR_KIND)}"
    + " FROM notices n INDEXED BY idx_notices_observatory"
    " LEFT JOIN classifications c INDEXED BY idx_classifications_observatory"
    " ON c.notice_id = n.id AND c.error IS NULL"
    " AND c.classified_at = (SELECT max(c2.classified_at)"
    " FROM classifications c2 INDEXED BY idx_classifications_observatory"
    " WHERE c2.notice_id = n.id AND c2.error IS NULL)"
    " WHERE n.nature = 'call_for_tenders' AND n.canonical_id = n.id"
    # Two runs stamped with the same second: the notice is still counted once.
    " GROUP BY n.id ORDER BY 1, 2, 3, 4, 5"
)
# What changes when a notice or a classification is added or rewritten in place (saves set
# updated_at / classified_at): index look-ups only.
_FINGERPRINT = (
    "SELECT (SELECT max(rowid) FROM notices), (SELECT max(updated_at) FROM notices),"
    " (SELECT count(*) FROM classifications), (SELECT max(classified_at) FROM classifications),"
    " (SELECT max(rowid) FROM classifications)"
)
_STATE_KEY = "observatory_fingerprint"


def _fingerprint(db: Database) -> str:
    return repr(tuple(db.execute(_FINGERPRINT).fetchone()))


def refresh(db: Database, *, force: bool = False) -> bool:
    """Rebuild ``observatory_facts`` when the notices or classifications changed since the
    last rebuild (or ``force``); return whether it was rebuilt. The first page after a
    harvest pays for it (a few seconds for a year of France); the next ones read the small
    table. The check and the rebuild run under the write lock, so two requests arriving
    together rebuild once."""
    current = _fingerprint(db)
    stored = db.execute("SELECT value FROM state WHERE key = ?", [_STATE_KEY]).fetchone()
    if not force and stored and stored[0] == current:
        return False
    with db.atomic():  # BEGIN IMMEDIATE (TenderwatchDatabase): the write lock, then re-check
        current = _fingerprint(db)
        stored = db.execute("SELECT value FROM state WHERE key = ?", [_STATE_KEY]).fetchone()
        if not force and stored and stored[0] == current:
            return False
        # Without its secondary index, then the index built once: inserting in key order
        # and sorting once is a few times faster than keeping two B-trees up to date.
        indexes = db.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index'"
            " AND tbl_name = 'observatory_facts' AND sql IS NOT NULL"
        ).fetchall()
        for name, _sql in indexes:
            db.execute(f'DROP INDEX "{name}"')
        db.execute("DELETE FROM observatory_facts")
        db.execute(_REBUILD)
        for _name, sql in indexes:
            db.execute(sql)
        db.execute(
            "INSERT OR REPLACE INTO state (key, value, updated_at)"
            " VALUES (?, ?, strftime('%Y-%m-%dT%H:%M:%S+00:00', 'now'))",
            [_STATE_KEY, current],
        )
    return True


def _all(db: Database, sql: str, params: list[Any]) -> list[dict[str, Any]]:
    cursor = db.execute(sql, params)
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _share(part: int, whole: int) -> float | None:
    """A share in percent, one decimal; None when there is nothing to divide."""
    return round(100.0 * part / whole, 1) if whole else None


_COUNTED = (
    "notices",
    "classified",
    "with_clause",
    "hours",
    "with_hours",
    *OBSERVED_LABELS,
    *(f"lots_{label}" for label, _name in RESERVED_KINDS),
)


def _monthly(db: Database, filters: Filters) -> list[dict[str, Any]]:
    """Everything the overview counts, per month of publication (``None``: notices without a
    date), from one aggregate query grouped by month and by what the classification says
    (its positive labels and hours: a few hundred groups for a year of France). Only those
    groups are read here, never the notices one by one."""
    where, params = filters.where()
    lot_sums = ", ".join(f"sum(f.lots_{label}) AS lots_{label}" for label, _name in RESERVED_KINDS)
    groups = _all(
        db,
        "SELECT f.month, f.classified, f.positive, f.hours, count(*) AS notices,"
        f" {lot_sums} FROM observatory_facts f WHERE {where}"
        " GROUP BY f.month, f.classified, f.positive, f.hours",
        params,
    )
    months: dict[str | None, dict[str, Any]] = {}
    for group in groups:
        month = months.setdefault(group["month"], dict.fromkeys(_COUNTED, 0))
        count = group["notices"]
        month["notices"] += count
        if not group["classified"]:
            continue
        labels = set((group["positive"] or "").split(","))
        hours = group["hours"] or 0
        month["classified"] += count
        if labels & set(OBSERVED_LABELS):
            month["with_clause"] += count
        for label in OBSERVED_LABELS:
            if label in labels:
                month[label] += count
        if hours > 0:
            month["hours"] += hours * count
            month["with_hours"] += count
        for label, _name in RESERVED_KINDS:
            month[f"lots_{label}"] += group[f"lots_{label}"] or 0
    return [
        {"month": key or None, **value} for key, value in sorted(months.items(), key=_month_key)
    ]


def _month_key(item: tuple[str | None, Any]) -> str:
    return item[0] or ""


def overview(db: Database, filters: Filters) -> dict[str, Any]:
    """The figures of the overview page: ``data`` (totals, with the facilitator share) and
    the rows of the tables ``clauses``, ``reserves``, ``heures``, ``tendance`` and
    ``facilitateurs``. Two SQL queries (the months, the facilitators)."""
    refresh(db)
    months = _monthly(db, filters)
    data = {key: sum(m[key] for m in months) for key in _COUNTED}
    classified = data["classified"]
    clauses = [
        {
            "label": "any",
            "libelle": "Au moins une clause sociale",
            "avis": data["with_clause"],
            "part": _share(data["with_clause"], classified),
        }
    ] + [
        {
            "label": label,
            "libelle": LABEL_NAMES_FR[label],
            "avis": data[label],
            "part": _share(data[label], classified),
        }
        for label in OBSERVED_LABELS
    ]
    reserves = [
        {"kind": label, "type": name, "avis": data[label], "lots": data[f"lots_{label}"]}
        for label, name in RESERVED_KINDS
    ]
    heures = [
        {
            "heures": data["hours"],
            "avis_avec_heures": data["with_hours"],
            "moyenne": round(data["hours"] / data["with_hours"]) if data["with_hours"] else None,
        }
    ]
    tendance = [
        {
            "mois": m["month"],
            "avis": m["notices"],
            "classes": m["classified"],
            "avec_clause": m["with_clause"],
            "part": _share(m["with_clause"], m["classified"]),
        }
        for m in months
        if m["month"]
    ]
    figures = _facilitator_figures(_facilitator_groups(db, filters))
    data.update(
        with_facilitator=figures["avec_facilitateur"],
        facilitator_without_org=figures["sans_organisation"],
        facilitator_share=figures["part"],
    )
    return {
        "data": data,
        "clauses": clauses,
        "reserves": reserves,
        "heures": heures,
        "tendance": tendance,
        "facilitateurs": figures["facilitateurs"],
    }


def summary(db: Database, filters: Filters) -> dict[str, Any]:
    """The totals: notices, classified, with a clause, per label, hours, reserved lots."""
    return overview(db, filters)["data"]


def buyers(
    db: Database,
    filters: Filters,
    *,
    limit: int = 20,
    min_notices: int = 5,
    never_limit: int = 50,
) -> dict[str, list[dict[str, Any]]]:
    """The buyers page, from one aggregate per buyer: ``acheteurs``, the ``limit`` buyers
    with most notices carrying a clause (and the share of their classified notices that
    do); ``sans_clause``, the buyers with at least ``min_notices`` classified notices and
    not one clause. Each buyer with a clause lists the facilitators its notices name
    (``facilitateurs``, as in :func:`facilitators`). Two SQL queries (the buyers, the
    facilitators); the sorting is over buyers, not notices."""
    refresh(db)
    where, params = filters.where()
    rows = _all(
        db,
        "SELECT f.buyer_key AS buyer_key, max(f.buyer_name) AS acheteur,"
        " max(f.buyer_siret) AS siret, count(*) AS avis,"
        " sum(f.classified) AS classes,"
        f" sum(f.classified AND {_any_clause('f.positive')}) AS avec_clause"
        f" FROM observatory_facts f WHERE {where} AND f.buyer_key IS NOT NULL"
        " GROUP BY f.buyer_key",
        params,
    )
    using = sorted(
        (r for r in rows if r["avec_clause"]),
        key=lambda r: (-r["avec_clause"], -r["avis"], r["acheteur"] or ""),
    )[:limit]
    never = sorted(
        (r for r in rows if not r["avec_clause"] and r["classes"] >= min_notices),
        key=lambda r: (-r["classes"], r["acheteur"] or ""),
    )[:never_limit]
    named = _facilitators_by_buyer(_facilitator_groups(db, filters)) if using else {}
    return {
        "acheteurs": [
            {
                **{k: v for k, v in r.items() if k != "buyer_key"},
                "part": _share(r["avec_clause"], r["classes"]),
                "facilitateurs": named.get(r["buyer_key"]),
            }
            for r in using
        ],
        "sans_clause": [
            {"acheteur": r["acheteur"], "siret": r["siret"], "avis_classes": r["classes"]}
            for r in never
        ],
    }


@dataclass(frozen=True)
class Names:
    """Names in one table cell, most frequent first, and how many more were left out: one
    per line on the page, « A, B … et 3 autres » in a CSV file or a terminal."""

    shown: tuple[str, ...]
    more: int = 0

    @property
    def others(self) -> str:
        """« … et 3 autres » ("" when none was left out)."""
        if not self.more:
            return ""
        return f"… et {self.more} autre{'s' if self.more > 1 else ''}"

    def __str__(self) -> str:
        return " ".join(part for part in (", ".join(self.shown), self.others) if part)


def _folded(name: str) -> str:
    """An organisation name as compared: accents, case, apostrophes, punctuation and spacing
    ignored (« Maison de l’Emploi de Vitré » is « MAISON DE L'EMPLOI DE VITRE »)."""
    text = unicodedata.normalize("NFKD", name)
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).casefold()
    return " ".join(re.sub(r"[\W_]+", " ", text).split())


def _most_written(spellings: Counter[str]) -> str:
    """The spelling written on most notices (ties: the first in alphabetical order)."""
    return min(spellings.items(), key=lambda item: (-item[1], item[0]))[0]


def _kind_name(kind: str | None) -> str | None:
    if not kind:
        return None
    name = FACILITATOR_KIND_FR.get(kind, kind)
    return name[:1].upper() + name[1:]


def _facilitator_groups(db: Database, filters: Filters) -> list[dict[str, Any]]:
    """The notices with a clause grouped by facilitator (organisation as written, kind) and
    buyer; the notices naming no facilitator fall into one group (``named`` 0) whatever
    their buyer, so the groups stay as few as the facilitator-buyer pairs."""
    where, params = filters.where()
    named_only = "CASE WHEN f.facilitator THEN {} END"
    return _all(
        db,
        "SELECT f.facilitator AS named, f.facilitator_org AS org,"
        " f.facilitator_kind AS kind,"
        f" {named_only.format('f.buyer_key')} AS buyer_key,"
        f" {named_only.format('f.buyer_name')} AS buyer_name, count(*) AS notices,"
        " sum(CASE WHEN f.hours > 0 THEN f.hours ELSE 0 END) AS hours,"
        " sum(f.hours > 0) AS with_hours, max(f.published) AS last"
        f" FROM observatory_facts f WHERE {where} AND f.classified"
        f" AND {_any_clause('f.positive')} GROUP BY 1, 2, 3, 4, 5",
        params,
    )


@dataclass
class _Facilitator:
    """One facilitator organisation while its groups are merged."""

    kind: str | None
    spellings: Counter[str] = field(default_factory=Counter)
    buyers: Counter[str] = field(default_factory=Counter)
    notices: int = 0
    hours: float = 0
    with_hours: int = 0
    last: str | None = None


def _merge_facilitators(
    groups: list[dict[str, Any]],
) -> tuple[dict[tuple[str, str | None], _Facilitator], dict[str, str]]:
    """The facilitators keyed by (folded organisation, kind), and the buyers' names (each
    buyer as written on most of these notices; its SIRET when it has no name)."""
    found: dict[tuple[str, str | None], _Facilitator] = {}
    buyer_spellings: dict[str, Counter[str]] = {}
    for g in groups:
        if not g["named"] or not g["org"]:
            continue
        item = found.setdefault((_folded(g["org"]), g["kind"]), _Facilitator(g["kind"]))
        item.spellings[g["org"]] += g["notices"]
        item.notices += g["notices"]
        item.hours += g["hours"] or 0
        item.with_hours += g["with_hours"] or 0
        if g["last"] and (item.last is None or g["last"] > item.last):
            item.last = g["last"]
        if g["buyer_key"]:
            item.buyers[g["buyer_key"]] += g["notices"]
            name = " ".join((g["buyer_name"] or "").split()) or g["buyer_key"]
            buyer_spellings.setdefault(g["buyer_key"], Counter())[name] += g["notices"]
    names = {key: _most_written(spellings) for key, spellings in buyer_spellings.items()}
    return found, names


def _names(counts: Counter[str], name_of: dict[str, str]) -> Names:
    ranked = sorted(counts.items(), key=lambda item: (-item[1], name_of[item[0]].casefold()))
    shown = tuple(name_of[key] for key, _n in ranked[:BUYERS_LISTED])
    return Names(shown, len(ranked) - len(shown))


def _facilitator_figures(groups: list[dict[str, Any]]) -> dict[str, Any]:
    """The ``facilitateurs`` table and the share of notices with a clause naming one."""
    with_clause = sum(g["notices"] for g in groups)
    named = sum(g["notices"] for g in groups if g["named"])
    without_org = sum(g["notices"] for g in groups if g["named"] and not g["org"])
    found, buyer_names = _merge_facilitators(groups)
    rows = [
        {
            "organisation": _most_written(item.spellings),
            "type": _kind_name(item.kind),
            "avis": item.notices,
            "nb_acheteurs": len(item.buyers),
            "acheteurs": _names(item.buyers, buyer_names),
            "heures": round(item.hours) if item.with_hours else None,
            "dernier_avis": item.last[:10] if item.last else None,
        }
        for item in found.values()
    ]
    rows.sort(key=lambda r: (-r["avis"], -r["nb_acheteurs"], _folded(r["organisation"])))
    return {
        "facilitateurs": rows,
        "avec_clause": with_clause,
        "avec_facilitateur": named,
        "sans_organisation": without_org,
        "part": _share(named, with_clause),
    }


def _facilitators_by_buyer(groups: list[dict[str, Any]]) -> dict[str, Names]:
    """Each buyer's facilitators (organisation as shown in the ``facilitateurs`` table),
    the one named on most of its notices first."""
    found, _buyer_names = _merge_facilitators(groups)
    shown = {key: _most_written(item.spellings) for key, item in found.items()}
    per_buyer: dict[str, Counter[tuple[str, str | None]]] = {}
    for key, item in found.items():
        for buyer, count in item.buyers.items():
            per_buyer.setdefault(buyer, Counter())[key] += count
    result = {}
    for buyer, counts in per_buyer.items():
        ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0][0], kv[0][1] or ""))
        names = tuple(shown[key] for key, _n in ranked[:BUYERS_LISTED])
        result[buyer] = Names(names, len(ranked) - len(names))
    return result


def facilitators(db: Database, filters: Filters) -> dict[str, Any]:
    """Who facilitates the clauses, over the notices with a clause (issue #12).

    ``facilitateurs``: one row per organisation (grouped on its folded name and kind, shown
    as written on most notices) with its notices, its distinct buyers and their names (most
    frequent first, :data:`BUYERS_LISTED` of them), the insertion hours announced by those
    notices (``None`` when none gives any) and the last publication day. A facilitator
    named without an organisation has no row. ``avec_clause``, ``avec_facilitateur``,
    ``sans_organisation`` and ``part``: how many notices with a clause name a facilitator
    at all (in percent, ``None`` when there is no notice with a clause). One SQL query."""
    refresh(db)
    return _facilitator_figures(_facilitator_groups(db, filters))


@dataclass(frozen=True)
class Table:
    """One table of the observatory: its French title, its columns (key, French header) and
    the page that computes it. The web pages, the CSV export and ``tenderwatch stats`` all
    go through :data:`TABLES`, so they show the same figures under the same headers."""

    name: str
    title: str
    columns: tuple[tuple[str, str], ...]
    page: str  # "overview" or "buyers"


TABLES: dict[str, Table] = {
    t.name: t
    for t in (
        Table(
            "clauses",
            "Avis par clause sociale",
            (("libelle", "Clause"), ("avis", "Avis"), ("part", "Part des avis classés (%)")),
            "overview",
        ),
        Table(
            "reserves",
            "Marchés réservés par type",
            (("type", "Type"), ("avis", "Avis réservés"), ("lots", "Lots réservés")),
            "overview",
        ),
        Table(
            "heures",
            "Heures d'insertion annoncées",
            (
                ("heures", "Heures annoncées"),
                ("avis_avec_heures", "Avis indiquant des heures"),
                ("moyenne", "Moyenne par avis"),
            ),
            "overview",
        ),
        Table(
            "acheteurs",
            "Acheteurs qui recourent le plus aux clauses",
            (
                ("acheteur", "Acheteur"),
                ("siret", "SIRET"),
                ("avis", "Avis"),
                ("avec_clause", "Avis avec clause"),
                ("part", "Part des avis classés (%)"),
                ("facilitateurs", "Facilitateurs nommés"),
            ),
            "buyers",
        ),
        Table(
            "sans_clause",
            "Acheteurs sans aucune clause",
            (("acheteur", "Acheteur"), ("siret", "SIRET"), ("avis_classes", "Avis classés")),
            "buyers",
        ),
        Table(
            "tendance",
            "Évolution mensuelle",
            (
                ("mois", "Mois"),
                ("avis", "Avis"),
                ("avec_clause", "Avis avec clause"),
                ("part", "Part des avis classés (%)"),
            ),
            "overview",
        ),
        Table(
            "facilitateurs",
            "Facilitateurs des clauses et acheteurs couverts",
            (
                ("organisation", "Organisation"),
                ("type", "Type"),
                ("avis", "Avis avec clause"),
                ("nb_acheteurs", "Acheteurs"),
                ("acheteurs", "Acheteurs couverts"),
                ("heures", "Heures d'insertion annoncées"),
                ("dernier_avis", "Dernier avis publié"),
            ),
            "overview",
        ),
    )
}


def compute(db: Database, name: str, filters: Filters, **options: Any) -> list[dict[str, Any]]:
    """The rows of table ``name``; ``options`` (``limit``, ``min_notices``) are the buyers
    page's."""
    if TABLES[name].page == "overview":
        return overview(db, filters)[name]
    kept = {k: v for k, v in options.items() if k in ("limit", "min_notices") and v is not None}
    return buyers(db, filters, **kept)[name]


def csv_rows(table: Table, rows: Iterable[dict[str, Any]]) -> list[list[Any]]:
    """Header then rows, in the table's column order, ``None`` as an empty cell and a list
    of :class:`Names` as one line."""
    out: list[list[Any]] = [[header for _key, header in table.columns]]
    for row in rows:
        out.append([_csv_cell(row.get(key)) for key, _h in table.columns])
    return out


def _csv_cell(value: Any) -> Any:
    if value is None:
        return ""
    return safe_cell(str(value) if isinstance(value, Names) else value)


def write_csv(table: Table, rows: Iterable[dict[str, Any]], stream: Any) -> None:
    """Write the table as CSV (comma, UTF-8 text; the caller opens ``stream``)."""
    import csv

    csv.writer(stream, lineterminator="\r\n").writerows(csv_rows(table, rows))


def safe_cell(value: Any) -> Any:
    """A CSV cell a spreadsheet will not run as a formula (buyer names come from the
    sources: « =HYPERLINK(…) » must stay text)."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value
