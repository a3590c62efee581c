"""The observatory of social clauses on the board: ``/observatoire/`` (clauses, reserved
markets, insertion hours, monthly trend, the clause facilitators and the buyers they cover)
and ``/observatoire/acheteurs`` (the buyers that use clauses most, with the facilitators
their notices name, and those that never use any).

Who sees it: every signed-in member, whatever their group. The figures cover all stored
notices (public data) and nothing of any group (no alert, mark or member), so there is
nothing one group could learn about another; it is not public because the instance belongs
to the réseau, which decides whom it signs in (README « Observatoire des clauses sociales »).

Charts are SVG drawn here on the server (no script, no CDN: the CSP allows none), each with a
``<title>``/``<desc>`` and the table of the same figures beside it. Every table downloads as
CSV with ``?format=csv&tableau=<name>`` and the page's filters.
"""

from __future__ import annotations

import io
from typing import Any

from flask import Blueprint, Response, abort, render_template, request
from markupsafe import Markup, escape

from tenderwatch.core import observatory as figures
from tenderwatch.core.observatory import TABLES, FilterError, Filters, write_csv
from tenderwatch.notifier import geo
from tenderwatch.stats import build_filters
from tenderwatch.web.app import store
from tenderwatch.web.auth import login_required

bp = Blueprint("observatory", __name__, url_prefix="/observatoire")

#: The query parameters that are filters (kept in the CSV links and between the two pages).
FILTER_PARAMS = ("region", "departement", "cpv", "acheteur", "du", "au")
#: Which tables each page shows (and may export).
PAGE_TABLES = {
    "overview": ("clauses", "reserves", "heures", "tendance", "facilitateurs"),
    "buyers": ("acheteurs", "sans_clause"),
}
_MAX_TOP = 200
#: Facilitator organisations shown on the page (the CSV has them all).
FACILITATORS_SHOWN = 10


def _int_arg(name: str, default: int) -> int:
    try:
        return max(1, min(_MAX_TOP, int(request.args.get(name, default))))
    except ValueError:
        return default


def _filters() -> tuple[Filters | None, str | None]:
    """The filters of the query string, or the French reason they cannot be used."""
    args = request.args
    try:
        return (
            build_filters(
                region=args.get("region") or None,
                departement=args.get("departement") or None,
                cpv=args.get("cpv") or None,
                buyer=args.get("acheteur") or None,
                date_from=args.get("du") or None,
                date_until=args.get("au") or None,
            ),
            None,
        )
    except FilterError as exc:
        return None, str(exc)


def _kept_filters() -> dict[str, str]:
    return {k: v for k in FILTER_PARAMS if (v := request.args.get(k, "").strip())}


def _csv(name: str, rows: list[dict[str, Any]]) -> Response:
    buffer = io.StringIO()
    buffer.write("\ufeff")  # a byte-order mark: spreadsheets then read the accents as UTF-8
    write_csv(TABLES[name], rows, buffer)
    return Response(
        buffer.getvalue(),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="observatoire-{name}.csv"'},
    )


def _render(page: str, tables: dict[str, list[dict[str, Any]]], **context: Any) -> Any:
    if request.args.get("format") == "csv":
        name = request.args.get("tableau", "")
        if name not in tables:
            abort(404)
        return _csv(name, tables[name])
    return render_template(
        "observatoire.html" if page == "overview" else "observatoire_acheteurs.html",
        tables=tables,
        TABLES=TABLES,
        kept=_kept_filters(),
        regions=sorted(geo.all_regions().values(), key=lambda r: r.name),
        **context,
    )


def _bad_filters(message: str, page: str) -> Any:
    return (
        render_template(
            "observatoire.html" if page == "overview" else "observatoire_acheteurs.html",
            error=message,
            tables={},
            TABLES=TABLES,
            kept=_kept_filters(),
            regions=sorted(geo.all_regions().values(), key=lambda r: r.name),
        ),
        400,
    )


@bp.get("/")
@login_required
def overview() -> Any:
    filters, error = _filters()
    if filters is None:
        return _bad_filters(error or "", "overview")
    result = figures.overview(store().db, filters)
    data = result.pop("data")
    tables = result
    if request.args.get("format") == "csv":
        return _render("overview", tables)  # no chart drawn for a download
    charts = {
        "clauses": bar_chart(
            "chart-clauses",
            "Part des avis classés portant chaque clause sociale",
            [(r["libelle"], r["part"] or 0.0) for r in tables["clauses"]],
            unit="%",
        ),
        "reserves": bar_chart(
            "chart-reserves",
            "Lots réservés par type de structure",
            [(r["type"], r["lots"]) for r in tables["reserves"]],
        ),
        "tendance": line_chart(
            "chart-tendance",
            "Part mensuelle des avis classés portant au moins une clause sociale",
            [(r["mois"], r["part"]) for r in tables["tendance"]],
        ),
    }
    return _render(
        "overview",
        tables,
        data=data,
        charts=charts,
        filters=filters,
        facilitators_shown=FACILITATORS_SHOWN,
    )


@bp.get("/acheteurs")
@login_required
def buyers_page() -> Any:
    filters, error = _filters()
    if filters is None:
        return _bad_filters(error or "", "buyers")
    top = _int_arg("top", 20)
    min_notices = _int_arg("min", 5)
    tables = figures.buyers(store().db, filters, limit=top, min_notices=min_notices)
    charts = {
        "acheteurs": bar_chart(
            "chart-acheteurs",
            "Avis avec au moins une clause sociale, par acheteur",
            [(r["acheteur"] or r["siret"] or "?", r["avec_clause"]) for r in tables["acheteurs"]],
        )
    }
    return _render(
        "buyers", tables, charts=charts, filters=filters, top=top, min_notices=min_notices
    )


# -- SVG charts -------------------------------------------------------------------------------

_BAR_COLOR = "#1f6f5c"
_LINE_COLOR = "#1f4e8c"
_TEXT_COLOR = "#222222"
_GRID_COLOR = "#cccccc"


def _number(value: float, unit: str) -> str:
    text = f"{value:.1f}".replace(".", ",") if unit == "%" else f"{int(value)}"
    return text + (" %" if unit == "%" else "")


def _cut(text: str, width: int) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= width else text[: width - 1] + "…"


def bar_chart(
    chart_id: str,
    title: str,
    items: list[tuple[str, float]],
    *,
    unit: str = "",
    maximum: float | None = None,
) -> Markup:
    """Horizontal bars, one per item, the value written after each bar; the longest bar is
    the largest value (or ``maximum``). Every text goes through :func:`escape` (buyer names
    come from the sources)."""
    label_w, bar_w, row_h, top = 250, 330, 26, 8
    width = label_w + bar_w + 70
    height = top * 2 + row_h * max(1, len(items))
    peak = maximum or max([v for _l, v in items] + [1])
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" id="{chart_id}" role="img"'
        f' viewBox="0 0 {width} {height}" width="{width}" height="{height}"'
        f' aria-labelledby="{chart_id}-title {chart_id}-desc">',
        f'<title id="{chart_id}-title">{escape(title)}</title>',
        f'<desc id="{chart_id}-desc">Les mêmes chiffres figurent dans le tableau'
        " à côté du graphique.</desc>",
    ]
    if not items:
        parts.append(
            f'<text x="10" y="{top + 17}" fill="{_TEXT_COLOR}" font-size="13">Aucune donnée</text>'
        )
    for i, (label, value) in enumerate(items):
        y = top + i * row_h
        length = 0 if not peak else round(bar_w * (value or 0) / peak, 1)
        shown = _number(value or 0, unit)
        parts.append(
            f"<g><title>{escape(label)} : {escape(shown)}</title>"
            f'<text x="{label_w - 8}" y="{y + 17}" text-anchor="end" fill="{_TEXT_COLOR}"'
            f' font-size="13">{escape(_cut(label, 34))}</text>'
            f'<rect x="{label_w}" y="{y + 4}" width="{length}" height="{row_h - 8}"'
            f' fill="{_BAR_COLOR}"/>'
            f'<text x="{label_w + length + 6}" y="{y + 17}" fill="{_TEXT_COLOR}"'
            f' font-size="13">{escape(shown)}</text></g>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 -- every text in it went through escape()


def line_chart(chart_id: str, title: str, points: list[tuple[str, float | None]]) -> Markup:
    """A line of percentages by month (0 to the highest value, at least 10 %); a month with
    no classified notice leaves a gap in the line."""
    left, right, top, bottom = 48, 36, 12, 40
    plot_w, plot_h = 560, 200
    width, height = left + plot_w + right, top + plot_h + bottom
    peak = max([v for _m, v in points if v is not None] + [10.0])
    peak = min(100.0, (int(peak // 10) + 1) * 10.0)
    step = plot_w / max(1, len(points) - 1)

    def xy(i: int, value: float) -> tuple[float, float]:
        return round(left + i * step, 1), round(top + plot_h * (1 - value / peak), 1)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" id="{chart_id}" role="img"'
        f' viewBox="0 0 {width} {height}" width="{width}" height="{height}"'
        f' aria-labelledby="{chart_id}-title {chart_id}-desc">',
        f'<title id="{chart_id}-title">{escape(title)}</title>',
        f'<desc id="{chart_id}-desc">Les mêmes chiffres figurent dans le tableau'
        " à côté du graphique.</desc>",
    ]
    for tick in range(0, int(peak) + 1, max(10, int(peak) // 5 // 10 * 10 or 10)):
        _x, y = xy(0, tick)
        parts.append(
            f'<line x1="{left}" y1="{y}" x2="{left + plot_w}" y2="{y}" stroke="{_GRID_COLOR}"/>'
            f'<text x="{left - 6}" y="{y + 4}" text-anchor="end" font-size="11"'
            f' fill="{_TEXT_COLOR}">{tick} %</text>'
        )
    segment: list[str] = []
    segments: list[list[str]] = []
    for i, (month, value) in enumerate(points):
        if value is None:
            if segment:
                segments.append(segment)
            segment = []
            continue
        x, y = xy(i, value)
        segment.append(f"{x},{y}")
        parts.append(
            f'<circle cx="{x}" cy="{y}" r="3.5" fill="{_LINE_COLOR}">'
            f"<title>{escape(month)} : {escape(_number(value, '%'))}</title></circle>"
        )
    if segment:
        segments.append(segment)
    for seg in segments:
        parts.append(
            f'<polyline points="{" ".join(seg)}" fill="none" stroke="{_LINE_COLOR}"'
            ' stroke-width="2"/>'
        )
    # Month labels: at most about twelve, so that they do not overlap.
    every = max(1, (len(points) + 11) // 12)
    for i, (month, _v) in enumerate(points):
        if i % every == 0:
            x, _y = xy(i, 0)
            parts.append(
                f'<text x="{x}" y="{top + plot_h + 18}" text-anchor="middle" font-size="11"'
                f' fill="{_TEXT_COLOR}">{escape(month)}</text>'
            )
    if not points:
        parts.append(
            f'<text x="{left + 10}" y="{top + 30}" font-size="13" fill="{_TEXT_COLOR}">'
            "Aucune donnée</text>"
        )
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 -- every text in it went through escape()
