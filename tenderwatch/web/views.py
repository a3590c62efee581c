"""The board's pages. Every page of a group goes through :func:`_group`, which answers 404
when the signed-in member is not in it, and every notice through :func:`_notice`, which
answers 404 when the notice is not on that group's board: nothing of one group is visible
to another, not even whether it exists."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for

from tenderwatch.core.board import (
    ANNOUNCED,
    MARK_STATUSES,
    OUTCOMES,
    REASONS,
    ROLES,
    ROLES_WANTED,
    Member,
    notice_url,
)
from tenderwatch.core.groupstore import GroupStore
from tenderwatch.core.wording import LINK_KIND_FR
from tenderwatch.notifier.models import SOCIAL_LABELS, STRUCTURE_KINDS, Group
from tenderwatch.notifier.render import (
    format_amount,
    format_date,
    format_departements,
    format_legal_basis,
    label_fr,
    label_short,
    safe_url,
)
from tenderwatch.notifier.views import NoticeNotFound, load_notice_view
from tenderwatch.web import present
from tenderwatch.web.app import board, store
from tenderwatch.web.auth import current_member, login_required, require_admin

bp = Blueprint("views", __name__)


def _groups() -> dict[str, Group]:
    return current_app.extensions["tenderwatch"]["groups"]


def _group_name(group_id: str) -> str:
    group = _groups().get(group_id)
    return group.name if group else group_id


def _group(group_id: str) -> tuple[Member, str]:
    """The signed-in member and the group, or 404 if the member is not in it."""
    member = current_member()
    if member is None or group_id not in member.groups:
        abort(404)
    return member, group_id


def _notice(group_id: str, notice_id: str) -> None:
    if not board().has_notice(group_id, notice_id):
        abort(404)


@bp.app_context_processor
def _context() -> dict[str, Any]:
    member = current_member()
    return {
        "me": member,
        "group_name": _group_name,
        "label_fr": label_fr,
        "label_short": label_short,
        "format_amount": format_amount,
        "format_date": format_date,
        "format_departements": format_departements,
    }


@bp.get("/")
@login_required
def home() -> Any:
    member = current_member()
    assert member is not None
    if not member.groups:  # a réseau administrator outside any group (issue #11)
        return redirect(url_for("reseau.home"))
    if len(member.groups) == 1:
        return redirect(url_for("views.group_board", group_id=next(iter(member.groups))))
    return render_template("home.html", groups=member.groups)


@bp.get("/avis/<path:notice_id>")
@login_required
def notice_link(notice_id: str) -> Any:
    """The link alerts carry: the notice on the first of the member's boards holding it."""
    member = current_member()
    assert member is not None
    # A notice on BOAMP and TED is on the boards under its canonical record.
    row = (
        store().db.execute("SELECT canonical_id FROM notices WHERE id = ?", [notice_id]).fetchone()
    )
    if row and row[0]:
        notice_id = row[0]
    for group_id in member.groups:
        if board().has_notice(group_id, notice_id):
            return redirect(url_for("views.notice", group_id=group_id, notice_id=notice_id))
    abort(404)


#: Cards on one page of a board.
BOARD_PAGE_SIZE = 30
#: The board's filters, kept in the links to its other pages (nothing else of the query).
_BOARD_FILTERS = ("q", "label", "statut", "lot", "echeance", "dep", "tri")


def _board_page_url(group_id: str, page: int) -> str:
    kept = {k: v for k in _BOARD_FILTERS if (v := request.args.get(k))}
    return url_for("views.group_board", group_id=group_id, page=page, **kept)


@bp.get("/g/<group_id>/")
@login_required
def group_board(group_id: str) -> Any:
    _member, group_id = _group(group_id)
    today = present.today_paris()
    with_text = bool((request.args.get("q") or "").strip())
    cards = [present.decorate(c, today) for c in board().cards(group_id, with_text=with_text)]
    counts = present.status_counts(cards)
    shown = present.sort_cards(
        present.filter_cards(cards, request.args), request.args.get("tri", "")
    )
    departements = sorted({d for c in cards for d in c["departements"]})
    # One page of cards: a board keeps every notice the group was ever alerted about, and
    # rendering them all made the page's time grow with the board (benchmarks/board.py).
    pages = max(1, -(-len(shown) // BOARD_PAGE_SIZE))
    raw = request.args.get("page", "")
    # ASCII digits only, and short: int() refuses « ² » and 5,000-digit strings (a 500).
    page = min(max(int(raw), 1), pages) if raw.isascii() and raw.isdigit() and len(raw) < 7 else 1
    start = (page - 1) * BOARD_PAGE_SIZE
    return render_template(
        "board.html",
        group_id=group_id,
        cards=shown[start : start + BOARD_PAGE_SIZE],
        matched=len(shown),
        first=start + 1,
        page=page,
        prev_url=_board_page_url(group_id, page - 1) if page > 1 else None,
        next_url=_board_page_url(group_id, page + 1) if page < pages else None,
        total=len(cards),
        counts=counts,
        relevance=board().relevance(group_id),
        args=request.args,
        labels=SOCIAL_LABELS,
        departements=departements,
    )


@bp.post("/g/<group_id>/ajouter")
@login_required
def add_notice(group_id: str) -> Any:
    member, group_id = _group(group_id)
    notice_id = request.form.get("avis", "").strip()[:200]
    if notice_id and board().add_item(group_id, notice_id, member.id):
        flash("Avis ajouté au tableau.")
        return redirect(url_for("views.notice", group_id=group_id, notice_id=notice_id))
    flash("Aucun avis n'a cet identifiant.")
    return redirect(url_for("views.search", group_id=group_id, q=notice_id))


@bp.get("/g/<group_id>/recherche")
@login_required
def search(group_id: str) -> Any:
    _member, group_id = _group(group_id)
    query = request.args.get("q", "").strip()[:200]
    results = store().search(query, limit=30) if query else []
    for row in results:
        row["on_board"] = board().has_notice(group_id, row["id"])
    return render_template("search.html", group_id=group_id, query=query, results=results)


def _lot_labels(view: Any) -> dict[str, list[str]]:
    return {lot.id: lot.labels for lot in view.lots}


@bp.get("/g/<group_id>/avis/<path:notice_id>")
@login_required
def notice(group_id: str, notice_id: str) -> Any:
    member, group_id = _group(group_id)
    _notice(group_id, notice_id)
    try:
        view = load_notice_view(store(), notice_id)
    except NoticeNotFound:
        abort(404)
    # The réseau dashboard counts opened notices and lists reserved lots nobody opened.
    GroupStore(store()).record_opened(group_id, notice_id, member.id)
    b = board()
    marks = b.marks(group_id, notice_id)
    marks_by_lot: dict[str, list[dict[str, Any]]] = {}
    for mark in marks:
        marks_by_lot.setdefault(mark["lot_id"] or "", []).append(mark)
    mine = {m["lot_id"] or "": m for m in marks if m["member_id"] == member.id}
    members = b.members(group_id)
    units = [{"id": "", "title": "Avis entier", "labels": view.social_labels, "lot": None}]
    for lot in view.lots:
        units.append({"id": lot.id, "title": lot.title or "", "labels": lot.labels, "lot": lot})
    for unit in units:
        interested = {
            m["member_id"]
            for m in marks
            if m["status"] in ("interesse", "on_repond", "cherche_partenaire")
            and (m["lot_id"] or "") in (unit["id"], "")
        }
        lot = unit["lot"]
        unit["partners"] = present.partners(
            members,
            labels=unit["labels"],
            cpv=(lot.cpv if lot and lot.cpv else view.cpv),
            departements=(lot.departements if lot and lot.departements else view.departements),
            interested=interested,
        )
        unit["marks"] = marks_by_lot.get(unit["id"], [])
        unit["claims"] = [m for m in unit["marks"] if m["status"] == "on_repond"]
        unit["mine"] = mine.get(unit["id"])
    row = store().get_notice(notice_id) or {}
    versions = _versions(row)
    countdown, _days = present.countdown(view.deadline, present.today_paris())
    evidence = [
        {
            "label": label_short(e.get("label") or ""),
            "quote": e.get("quote") or "",
            "article": format_legal_basis(e.get("legal_basis")),
            "hours": e.get("hours"),
            "lot": e.get("lot"),
        }
        for e in view.evidence
        if not e.get("negated")
    ]
    return render_template(
        "notice.html",
        group_id=group_id,
        view=view,
        source_url=safe_url(view.url),
        text_html=present.highlight(view.text, view.evidence),
        evidence=evidence,
        units=units,
        countdown=countdown,
        notes=b.notes(group_id, notice_id),
        activity=b.activity(group_id, notice_id),
        versions=versions,
        links=row.get("links") or [],
        LINK_KIND_FR=LINK_KIND_FR,
        statuses=MARK_STATUSES,
        reasons=REASONS,
        outcomes=OUTCOMES,
        roles_wanted=ROLES_WANTED,
        social_labels=SOCIAL_LABELS,
    )


def _versions(row: dict[str, Any]) -> list[dict[str, Any]]:
    """The procedure's notices in publication order, and the notice's own links."""
    proc = row.get("procedure_state") or {}
    out = []
    import json

    try:
        ids = json.loads(proc.get("notice_ids") or "[]")
    except ValueError:
        ids = []
    for notice_id in ids:
        other = (
            store()
            .db.execute(
                "SELECT id, nature, published, title FROM notices WHERE id = ?", [notice_id]
            )
            .fetchone()
        )
        if other:
            out.append(
                {
                    "id": other[0],
                    "nature": other[1],
                    "published": other[2],
                    "title": other[3],
                    "current": other[0] == row.get("id"),
                }
            )
    return out


def _back(group_id: str, notice_id: str) -> Any:
    return redirect(url_for("views.notice", group_id=group_id, notice_id=notice_id))


@bp.post("/g/<group_id>/avis/<path:notice_id>/marque")
@login_required
def mark(group_id: str, notice_id: str) -> Any:
    member, group_id = _group(group_id)
    _notice(group_id, notice_id)
    form = request.form
    lot_id = form.get("lot", "")[:100]
    status = form.get("statut", "")
    if status == "retirer":
        board().clear_mark(group_id, notice_id, lot_id, member.id)
        return _back(group_id, notice_id)
    label = form.get("label") or None
    try:
        board().set_mark(
            group_id,
            notice_id,
            lot_id,
            member.id,
            status,
            reason=form.get("raison") or None,
            label=label if label in SOCIAL_LABELS else None,
            role_wanted=form.get("role") or None,
            text=form.get("texte"),
        )
    except ValueError as exc:
        flash(f"Marque non enregistrée : {exc}.")
        return _back(group_id, notice_id)
    group = _groups().get(group_id)
    if status in ANNOUNCED and group is not None:
        # Once per group and notice, on the group's channels (the next `notify` sends it).
        settings = current_app.extensions["tenderwatch"]["settings"]
        board().announce(
            group_id,
            group.tags or [group_id],
            notice_id,
            status,
            {
                "member": member.name,
                "structure": member.structure_name,
                "lot": lot_id,
                "role": form.get("role") or None,
                "url": notice_url(notice_id, base_url=settings.base_url),
            },
        )
    return _back(group_id, notice_id)


@bp.post("/g/<group_id>/avis/<path:notice_id>/resultat")
@login_required
def outcome(group_id: str, notice_id: str) -> Any:
    member, group_id = _group(group_id)
    _notice(group_id, notice_id)
    try:
        ok = board().set_outcome(
            group_id,
            notice_id,
            request.form.get("lot", "")[:100],
            member.id,
            request.form.get("resultat", ""),
            request.form.get("titulaire"),
        )
    except ValueError as exc:
        flash(f"Résultat non enregistré : {exc}.")
    else:
        if not ok:
            flash("Un résultat s'indique sur un lot marqué « on répond ».")
    return _back(group_id, notice_id)


@bp.post("/g/<group_id>/avis/<path:notice_id>/note")
@login_required
def note(group_id: str, notice_id: str) -> Any:
    member, group_id = _group(group_id)
    _notice(group_id, notice_id)
    try:
        board().add_note(group_id, notice_id, member.id, request.form.get("texte", ""))
    except ValueError:
        flash("Une note vide n'est pas enregistrée.")
    return _back(group_id, notice_id)


@bp.get("/g/<group_id>/membres")
@login_required
def members(group_id: str) -> Any:
    member, group_id = _group(group_id)
    return render_template(
        "members.html",
        group_id=group_id,
        members=board().members(group_id),
        is_admin=member.groups.get(group_id) == "admin",
        roles=ROLES,
        kinds=STRUCTURE_KINDS,
    )


@bp.post("/g/<group_id>/membres")
@login_required
def members_add(group_id: str) -> Any:
    _member, group_id = _group(group_id)
    admin = require_admin(group_id)
    form = request.form
    kind = form.get("type") or None
    siret = (form.get("siret") or "").replace(" ", "") or None
    if kind is not None and kind not in STRUCTURE_KINDS:
        flash("Type de structure inconnu.")
    elif siret is not None and not (siret.isdigit() and len(siret) == 14):
        flash("Le SIRET compte 14 chiffres.")
    else:
        try:
            board().upsert_member(
                email=form.get("courriel", ""),
                name=form.get("nom", "")[:200],
                group_id=group_id,
                role=form.get("role", "member"),
                structure_name=(form.get("structure") or "")[:200] or None,
                structure_siret=siret,
                structure_kind=kind,
                source="board",
                actor=f"member:{admin.id}",
            )
            flash("Membre enregistré.")
        except ValueError as exc:
            flash(f"Membre non enregistré : {exc}.")
    return redirect(url_for("views.members", group_id=group_id))


@bp.post("/g/<group_id>/membres/<int:member_id>/retirer")
@login_required
def members_remove(group_id: str, member_id: int) -> Any:
    _member, group_id = _group(group_id)
    admin = require_admin(group_id)
    target = board().member(member_id)
    if target is None or group_id not in target.groups:
        abort(404)
    if target.id == admin.id:
        flash("Un administrateur ne se retire pas lui-même.")
    else:
        board().remove_membership(target.email, group_id, actor=f"member:{admin.id}")
        flash("Membre retiré du groupe.")
    return redirect(url_for("views.members", group_id=group_id))
