"""The réseau administrator's pages (issue #11): its groups and their figures, the reserved
lots in its territory that no member opened, creating a group, inviting a member, and the
record of every settings change.

Rights: every page takes the réseau id and answers 404 unless the signed-in member
administers that réseau; a group named in a URL must belong to that réseau (404 otherwise).
One instance can host several réseaux: none sees another's groups.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for

from tenderwatch.core.board import ROLES
from tenderwatch.core.groupstore import GroupStore, GroupStoreError
from tenderwatch.notifier import geo
from tenderwatch.notifier.groups import group_settings, parse_group_table
from tenderwatch.notifier.models import GROUP_KINDS, STRUCTURE_KINDS
from tenderwatch.web.app import board, store
from tenderwatch.web.auth import current_member, login_required
from tenderwatch.web.settings_views import FIELD_FR, _items

bp = Blueprint("reseau", __name__)

#: How far back the « reserved lots nobody looked at » list goes.
UNSEEN_DAYS = 60


@bp.app_context_processor
def _context() -> dict[str, Any]:
    member = current_member()
    mine = GroupStore(store()).reseaux_of(member.id) if member is not None else []
    return {"my_reseaux": mine}


def _reseau(reseau_id: str) -> dict[str, Any]:
    """The réseau, or 404 unless the signed-in member administers it."""
    member = current_member()
    assert member is not None
    gs = GroupStore(store())
    if reseau_id not in gs.reseaux_of(member.id):
        abort(404)
    row = gs.reseau(reseau_id)
    if row is None:
        abort(404)
    return row


def territory(settings_list: list[dict[str, Any]]) -> set[str] | None:
    """The réseau's territory: its groups' départements and their régions' départements;
    None (all France) when one of its groups has no territory filter."""
    out: set[str] = set()
    for settings in settings_list:
        deps = settings.get("departements") or []
        regions = settings.get("regions") or []
        if not deps and not regions:
            return None
        out.update(deps)
        for region in regions:
            out.update(geo.departements_of_region(region))
    return out


@bp.get("/reseau/")
@login_required
def home() -> Any:
    member = current_member()
    assert member is not None
    mine = GroupStore(store()).reseaux_of(member.id)
    if not mine:
        abort(404)
    if len(mine) == 1:
        return redirect(url_for("reseau.dashboard", reseau_id=mine[0]))
    gs = GroupStore(store())
    return render_template("reseau_home.html", reseaux=[gs.reseau(r) for r in mine])


@bp.get("/reseau/<reseau_id>/")
@login_required
def dashboard(reseau_id: str) -> Any:
    reseau = _reseau(reseau_id)
    gs = GroupStore(store())
    rows = gs.all(reseau_id)
    b = board()
    groups = []
    all_figures = gs.group_figures([r["id"] for r in rows])
    for row in rows:
        figures = all_figures[row["id"]]
        figures.update(b.relevance(row["id"]))
        groups.append(
            {
                "id": row["id"],
                "name": row["settings"].get("name") or row["id"],
                "members": len(b.members(row["id"])),
                **figures,
            }
        )
    today = date.today()
    area = territory([r["settings"] for r in rows])
    unseen = gs.unseen_reserved(
        [r["id"] for r in rows],
        area,
        since=(today - timedelta(days=UNSEEN_DAYS)).isoformat(),
        today=today.isoformat(),
    )
    return render_template(
        "reseau_dashboard.html",
        reseau=reseau,
        groups=groups,
        unseen=unseen,
        unseen_days=UNSEEN_DAYS,
        area=sorted(area) if area is not None else None,
        changes=gs.changes([r["id"] for r in rows], limit=50),
        group_kinds=GROUP_KINDS,
        structure_kinds=STRUCTURE_KINDS,
        roles=ROLES,
        FIELD_FR=FIELD_FR,
        errors={},
    )


@bp.post("/reseau/<reseau_id>/groupes")
@login_required
def create_group(reseau_id: str) -> Any:
    _reseau(reseau_id)
    member = current_member()
    assert member is not None
    table: dict[str, Any] = {
        "id": (request.form.get("id") or "").strip(),
        "name": request.form.get("name", ""),
        "kind": request.form.get("kind", ""),
        "structure_kinds": request.form.getlist("structure_kinds"),
        "departements": _items(request.form.get("departements", "")),
    }
    group, errors = parse_group_table(table)
    if group is None:
        for key, items in errors.items():
            for problem in items:
                flash(f"{FIELD_FR.get(key, key)} : {problem}")
        return redirect(url_for("reseau.dashboard", reseau_id=reseau_id)), 303
    try:
        GroupStore(store()).create(
            group_settings(group), reseau_id=reseau_id, actor=f"member:{member.id} {member.email}"
        )
    except GroupStoreError as exc:
        flash(str(exc))
        return redirect(url_for("reseau.dashboard", reseau_id=reseau_id)), 303
    current_app.extensions["tenderwatch"]["groups"][group.id] = group
    flash(f"Groupe « {group.name} » créé.")
    return redirect(url_for("reseau.dashboard", reseau_id=reseau_id))


@bp.post("/reseau/<reseau_id>/membres")
@login_required
def invite(reseau_id: str) -> Any:
    _reseau(reseau_id)
    member = current_member()
    assert member is not None
    group_id = request.form.get("groupe", "")
    row = GroupStore(store()).get(group_id)
    if row is None or row["reseau_id"] != reseau_id:
        abort(404)
    role = request.form.get("role", "member")
    try:
        invited = board().upsert_member(
            email=request.form.get("courriel", ""),
            name=request.form.get("nom", ""),
            group_id=group_id,
            role=role if role in ROLES else "member",
            source="reseau",
            actor=f"member:{member.id}",
        )
    except ValueError as exc:
        flash(str(exc))
        return redirect(url_for("reseau.dashboard", reseau_id=reseau_id)), 303
    flash(f"{invited.name} ajouté(e) au groupe « {row['settings'].get('name') or group_id} ».")
    return redirect(url_for("reseau.dashboard", reseau_id=reseau_id))
