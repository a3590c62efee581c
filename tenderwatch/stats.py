"""`tenderwatch stats`: the observatory of social clauses in the terminal, and its CSV files.

The figures are :mod:`tenderwatch.core.observatory`'s, the same the board's « Observatoire »
pages show (with one line on the clause facilitators under the totals); this module turns
the user's filters (a région or département by name or code, a CPV division, a buyer, a
period) into :class:`~tenderwatch.core.observatory.Filters`, and prints or writes the tables.
"""

from __future__ import annotations

import unicodedata
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from tenderwatch.core.observatory import TABLES, FilterError, Filters, buyers, overview, write_csv
from tenderwatch.notifier import geo

#: The tables ``stats`` prints, in order (every table of the observatory).
STATS_TABLES: tuple[str, ...] = tuple(TABLES)
#: Facilitator organisations printed (the most named first; the CSV file has them all).
FACILITATORS_PRINTED = 10


def build_filters(
    *,
    region: str | None = None,
    departement: str | None = None,
    cpv: str | None = None,
    buyer: str | None = None,
    date_from: str | None = None,
    date_until: str | None = None,
) -> Filters:
    """Filters from what a person types; :class:`FilterError` (French) when one is unknown.

    A région and a département together keep the département only if it is in the région
    (otherwise nothing could match: the error says so rather than showing empty tables)."""
    deps: tuple[str, ...] = ()
    territory = None
    if region:
        try:
            deps = tuple(geo.departements_of_region(region))
        except KeyError:
            raise FilterError(f"région inconnue : « {region} »") from None
        territory = f"région {geo.region_name(region)}"
    if departement:
        codes = geo.departement_codes(departement)
        if not codes:
            raise FilterError(f"département inconnu : « {departement} »")
        if deps and not set(codes) & set(deps):
            raise FilterError(f"le département {departement} n'est pas dans la région {region}")
        deps = tuple(c for c in codes if not deps or c in deps)
        territory = "département " + ", ".join(f"{geo.departement_name(c)} ({c})" for c in deps)
    cpv = (cpv or "").strip() or None
    if cpv and cpv.isdigit() and len(cpv) > 2:
        cpv = cpv[:2]  # a full CPV code or a prefix: its division
    return Filters(
        departements=deps,
        cpv_division=cpv,
        buyer=(buyer or "").strip() or None,
        date_from=date_from or None,
        date_until=date_until or None,
        territory=territory,
    )


def _cell(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.1f}".replace(".", ",")
    if isinstance(value, int):
        return f"{value:,}".replace(",", "\u202f")
    return " ".join(str(value).split())  # a name with line breaks stays on its line


def _width(text: str) -> int:
    """Display width: combining accents take no column."""
    return sum(0 if unicodedata.combining(ch) else 1 for ch in text)


def _short(text: str, width: int) -> str:
    return text if _width(text) <= width else text[: width - 1] + "…"


def format_table(name: str, rows: list[dict[str, Any]]) -> str:
    """A table as aligned text: its title, a header line, one line per row."""
    table = TABLES[name]
    headers = [header for _key, header in table.columns]
    body = [[_short(_cell(row.get(key)), 50) for key, _h in table.columns] for row in rows]
    widths = [max([_width(h), *(_width(r[i]) for r in body)]) for i, h in enumerate(headers)]

    def line(cells: list[str]) -> str:
        out = []
        for i, cell in enumerate(cells):
            pad = " " * (widths[i] - _width(cell))
            # Numbers right-aligned, words left-aligned.
            numeric = cell[:1].isdigit() or cell == "—"
            out.append(pad + cell if numeric else cell + pad)
        return "  ".join(out).rstrip()

    lines = [table.title, "=" * _width(table.title), line(headers)]
    lines += [line(r) for r in body] if body else ["(aucune ligne)"]
    return "\n".join(lines)


def facilitator_line(data: dict[str, Any]) -> str:
    """How many notices with a clause name a facilitator (issue #12), as one line."""
    if not data.get("with_clause"):
        return "Facilitateurs : aucun avis avec clause sociale"
    line = (
        f"Avis avec clause nommant un facilitateur : {_cell(data['with_facilitator'])}"
        f" sur {_cell(data['with_clause'])} ({_cell(data['facilitator_share'])} %)"
    )
    if data.get("facilitator_without_org"):
        line += f", dont {_cell(data['facilitator_without_org'])} sans organisation nommée"
    return line


def run_stats(
    db: Database,
    filters: Filters,
    *,
    top: int = 20,
    min_notices: int = 5,
    csv_dir: str | Path | None = None,
) -> tuple[str, list[Path]]:
    """The text ``stats`` prints and the CSV files written (one per table) in ``csv_dir``."""
    tables = overview(db, filters)
    data = tables.pop("data")
    tables.update(buyers(db, filters, limit=top, min_notices=min_notices))
    described = filters.describe()
    head = [
        "Observatoire des clauses sociales" + (f" — {described}" if described else ""),
        f"Avis de marché : {_cell(data['notices'])} ; classés : {_cell(data['classified'])}",
        facilitator_line(data),
        "",
    ]
    blocks = []
    written: list[Path] = []
    folder = Path(csv_dir) if csv_dir else None
    if folder:
        folder.mkdir(parents=True, exist_ok=True)
    for name in STATS_TABLES:
        rows = tables[name]
        if name == "facilitateurs" and len(rows) > FACILITATORS_PRINTED:
            left = len(rows) - FACILITATORS_PRINTED
            blocks.append(
                format_table(name, rows[:FACILITATORS_PRINTED])
                + f"\n… et {_cell(left)} autre{'s' if left > 1 else ''} organisation"
                + ("s" if left > 1 else "")
                + (" (toutes dans le CSV)" if folder else "")
            )
        else:
            blocks.append(format_table(name, rows))
        if folder:
            path = folder / f"{name}.csv"
            with path.open("w", encoding="utf-8", newline="") as stream:
                write_csv(TABLES[name], rows, stream)
            written.append(path)
    return "\n".join(head) + "\n" + "\n\n".join(blocks) + "\n", written
