"""A group's subscription settings on the board (issue #11, « Self-service subscription »).

A group administrator (or an administrator of the group's réseau) edits the filters; the
form is turned into the table ``[[groups]]`` would hold and checked by the very parser of
``tenderwatch groups check`` (:func:`tenderwatch.notifier.groups.parse_group_table`), so the
rules and the messages are the same. « Aperçu » counts, with the matcher the notify cycle
uses, the notices of the last 30 days these settings would have sent; « Enregistrer »
stores them in the database (the truth, ADR 0012) and records who changed what.

Rights: a person who is neither in the group nor an administrator of its réseau gets 404 (the
group's existence is not revealed); a plain member gets 403.
"""

from __future__ import annotations

import csv
import re
from datetime import date, timedelta
from functools import cache
from importlib import resources
from typing import Any

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for

from tenderwatch.core.groupstore import GroupStore, GroupStoreError
from tenderwatch.notifier import geo
from tenderwatch.notifier.groups import group_settings, parse_group_table
from tenderwatch.notifier.matching import GroupIndex
from tenderwatch.notifier.models import (
    CONFIDENCE_LEVELS,
    DELIVERY_MODES,
    SOCIAL_LABELS,
    STRUCTURE_KINDS,
    Group,
)
from tenderwatch.notifier.views import notice_views
from tenderwatch.web.app import store
from tenderwatch.web.auth import current_member, login_required

bp = Blueprint("group_settings", __name__)

#: How far back the preview looks (« le mois dernier »).
PREVIEW_DAYS = 30
DELIVERY_FR = {
    "immediate": "à chaque avis",
    "daily": "un résumé par jour",
    "weekly": "un résumé par semaine",
}
DAYS_FR = {
    "mon": "lundi",
    "tue": "mardi",
    "wed": "mercredi",
    "thu": "jeudi",
    "fri": "vendredi",
    "sat": "samedi",
    "sun": "dimanche",
}
FIELD_FR = {
    "name": "Nom du groupe",
    "structure_kinds": "Types de structures",
    "departements": "Départements",
    "regions": "Régions",
    "cpv_prefixes": "Secteurs (CPV)",
    "keywords": "Mots-clés",
    "exclude_keywords": "Mots exclus",
    "labels": "Clauses sociales voulues",
    "awards": "Avis d'attribution",
    "awards_indirect": "Attributaires à démarcher",
    "corrigenda": "Rectificatifs",
    "min_value": "Montant minimum",
    "max_value": "Montant maximum",
    "delivery": "Envoi",
    "digest_time": "Heure du résumé",
    "digest_day": "Jour du résumé",
    "reminder_days": "Rappels",
    "min_confidence": "Confiance minimale",
}
# A list typed in a text box: commas or line breaks separate items (a département name may
# hold spaces: « Alpes de Haute-Provence »).
_SPLIT_RE = re.compile(r"[,;\n]+")


@cache
def cpv_divisions() -> list[tuple[str, str]]:
    """The 45 CPV divisions with their French names (tenderwatch/data/cpv_divisions.csv)."""
    text = resources.files("tenderwatch.data").joinpath("cpv_divisions.csv").read_text("utf-8")
    return [(row["division"], row["libelle"]) for row in csv.DictReader(text.splitlines())]


def _items(text: str) -> list[str]:
    return [part.strip() for part in _SPLIT_RE.split(text or "") if part.strip()]


def _number(text: str) -> Any:
    """A typed amount: a number when it reads as one (French decimal comma, spaces), else
    the text as typed, so that the parser says what it says of a wrong TOML value."""
    cleaned = (text or "").replace("\u202f", "").replace("\xa0", "").replace(" ", "")
    cleaned = cleaned.replace("€", "").replace(",", ".")
    try:
        value = float(cleaned)
    except ValueError:
        return text
    return int(value) if value.is_integer() else value


def form_to_table(current: dict[str, Any], form: Any) -> dict[str, Any]:
    """The settings form → the table a ``[[groups]]`` block would hold. What the form does
    not edit (id, kind, tags, members) is kept from ``current``. A checkbox left unchecked
    sends nothing: its absence means false."""
    table = {k: v for k, v in current.items() if v is not None}
    table["name"] = form.get("name", "")
    table["structure_kinds"] = form.getlist("structure_kinds")
    table["departements"] = _items(form.get("departements", ""))
    table["regions"] = _items(form.get("regions", ""))
    table["cpv_prefixes"] = form.getlist("cpv_divisions") + _items(form.get("cpv_autres", ""))
    table["keywords"] = _items(form.get("keywords", ""))
    table["exclude_keywords"] = _items(form.get("exclude_keywords", ""))
    table["labels"] = form.getlist("labels")
    if not table["labels"]:
        table["labels"] = []  # the parser says « au moins un label »
    table["awards"] = form.get("awards") == "1"
    table["awards_indirect"] = form.get("awards_indirect") == "1"
    table["corrigenda"] = form.get("corrigenda") == "1"
    for key in ("min_value", "max_value"):
        raw = (form.get(key) or "").strip()
        if raw:
            table[key] = _number(raw)
        else:
            table.pop(key, None)
    table["delivery"] = form.get("delivery", "")
    table["digest_time"] = form.get("digest_time", "")
    table["digest_day"] = form.get("digest_day", "")
    days = _items(form.get("reminder_days", ""))
    table["reminder_days"] = [int(d) if d.isascii() and d.isdigit() else d for d in days]
    table["min_confidence"] = form.get("min_confidence", "")
    return table


def preview_ids(since: str, until: str, group: Group) -> list[str]:
    """The notices the preview runs over: canonical calls for tenders and awards published in
    [since, until] with a classification (what the notify cycle reads).

    Prefilters keep the page fast on a large base; each drops only notices that
    ``GroupIndex`` rules out anyway (so the count stays the matcher's): no label the group
    wants on any classification (notice or lot); for a group with a territory, none of the
    notice's or its lots' places in it; for a group with sectors, a notice with CPV codes of
    which none (nor any of its lots') starts with one of its prefixes."""
    wanted = [label for label in group.labels if label in SOCIAL_LABELS]
    if not wanted:
        return []
    marks = ",".join("?" for _ in wanted)
    sql = (
        "SELECT n.id FROM notices n WHERE n.published >= ? AND n.published <= ?"  # noqa: S608
        " AND n.nature IN ('call_for_tenders', 'award') AND n.canonical_id = n.id"
        " AND EXISTS (SELECT 1 FROM classifications c WHERE c.notice_id = n.id"
        " AND c.error IS NULL AND (EXISTS (SELECT 1 FROM json_each(CASE WHEN"
        "  json_valid(c.labels) THEN c.labels ELSE '{}' END) x"
        f"  WHERE x.key IN ({marks}) AND x.value)"
        "  OR EXISTS (SELECT 1 FROM json_each(CASE WHEN json_valid(c.lots) THEN c.lots"
        "   ELSE '[]' END) l, json_each(l.value, '$.labels') y"
        f"   WHERE y.value IN ({marks}))))"
    )
    args: list[Any] = [since, until, *wanted, *wanted]
    territory = _territory(group)
    if territory is not None:
        marks = ",".join("?" for _ in territory)
        sql += (
            " AND (EXISTS (SELECT 1 FROM json_each(n.departements) d"  # noqa: S608
            f"  WHERE d.value IN ({marks}))"
            " OR EXISTS (SELECT 1 FROM lots l, json_each(l.departements) d"
            f"  WHERE l.notice_id = n.id AND d.value IN ({marks})))"
        )
        args += [*territory, *territory]
    prefixes = [c for c in group.cpv_prefixes if c]
    if prefixes:
        # A unit without CPV passes every CPV filter: a notice without codes is kept.
        starts = " OR ".join("substr(x.value, 1, ?) = ?" for _ in prefixes)
        starts_args = [a for p in prefixes for a in (len(p), p)]
        sql += (  # only "?" placeholders are joined into the SQL
            " AND (coalesce(json_array_length(n.cpv), 0) = 0"  # noqa: S608
            f" OR EXISTS (SELECT 1 FROM json_each(n.cpv) x WHERE {starts})"
            " OR EXISTS (SELECT 1 FROM lots l, json_each(l.cpv) x"
            f"  WHERE l.notice_id = n.id AND ({starts})))"
        )
        args += [*starts_args, *starts_args]
    rows = store().db.execute(sql + " ORDER BY n.published, n.id", args).fetchall()
    return [r[0] for r in rows]


def _territory(group: Group) -> list[str] | None:
    """The group's départements, its régions' included; None for all France."""
    if not group.departements and not group.regions:
        return None
    deps = set(group.departements)
    for region in group.regions:
        deps.update(geo.departements_of_region(region))
    return sorted(deps)


def preview_count(group: Group, today: date | None = None) -> int:
    """How many notices of the last :data:`PREVIEW_DAYS` days these settings select, with
    the notify cycle's matcher (:class:`GroupIndex`)."""
    today = today or date.today()
    since = (today - timedelta(days=PREVIEW_DAYS)).isoformat()
    views = notice_views(store(), preview_ids(since, today.isoformat() + "T99", group))
    return len({m.notice_id for m in GroupIndex([group]).match_all(views)})


def _rights(group_id: str) -> None:
    """404 unless the member is in the group or administers its réseau; 403 for a plain
    member."""
    member = current_member()
    assert member is not None
    gs = GroupStore(store())
    row = gs.get(group_id)
    reseau_admin = bool(row and row["reseau_id"] in gs.reseaux_of(member.id))
    if reseau_admin or member.groups.get(group_id) == "admin":
        return
    if group_id in member.groups:
        abort(403)
    abort(404)


def _page(group_id: str, table: dict[str, Any], **extra: Any) -> str:
    gs = GroupStore(store())
    chosen = set(table.get("cpv_prefixes") or [])
    divisions = {d for d, _ in cpv_divisions()}
    return render_template(
        "group_settings.html",
        group_id=group_id,
        t=table,
        stored=gs.get(group_id) is not None,
        divisions=cpv_divisions(),
        chosen_divisions=chosen & divisions,
        other_cpv=", ".join(c for c in table.get("cpv_prefixes") or [] if c not in divisions),
        changes=gs.changes([group_id], limit=50),
        social_labels=SOCIAL_LABELS,
        structure_kinds=STRUCTURE_KINDS,
        delivery_modes=DELIVERY_MODES,
        confidence_levels=CONFIDENCE_LEVELS,
        DELIVERY_FR=DELIVERY_FR,
        DAYS_FR=DAYS_FR,
        FIELD_FR=FIELD_FR,
        preview_days=PREVIEW_DAYS,
        **{"errors": {}, "preview": None, **extra},
    )


def _current(group_id: str) -> dict[str, Any]:
    row = GroupStore(store()).get(group_id)
    if row is not None:
        return row["settings"]
    group = current_app.extensions["tenderwatch"]["groups"].get(group_id)
    if group is not None:
        return group_settings(group)
    abort(404)


@bp.get("/g/<group_id>/reglages")
@login_required
def edit(group_id: str) -> Any:
    _rights(group_id)
    return _page(group_id, _current(group_id))


@bp.post("/g/<group_id>/reglages")
@login_required
def submit(group_id: str) -> Any:
    _rights(group_id)
    member = current_member()
    assert member is not None
    current = _current(group_id)
    table = form_to_table(current, request.form)
    group, errors = parse_group_table(table)
    if group is None:
        return _page(group_id, table, errors=errors), 400
    if request.form.get("action") != "enregistrer":
        return _page(group_id, table, preview=preview_count(group))
    settings = group_settings(group)
    gs = GroupStore(store())
    try:
        changed = gs.save(settings, actor=f"member:{member.id} {member.email}")
    except GroupStoreError:
        # Groups still in the file: saving one here would make the database the truth for
        # it alone and silence the others (ADR 0012).
        return (
            _page(
                group_id,
                table,
                errors={
                    "": [
                        "les groupes sont encore lus dans le fichier de configuration : "
                        "l'exploitant doit d'abord lancer « tenderwatch groups import »"
                    ]
                },
            ),
            409,
        )
    # The board names groups from this dict: keep it in step with what was saved.
    current_app.extensions["tenderwatch"]["groups"][group_id] = group
    flash("Réglages enregistrés." if changed else "Aucun changement.")
    return redirect(url_for("group_settings.edit", group_id=group_id))
