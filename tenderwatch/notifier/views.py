"""Read a stored, classified notice as the notifier sees it (:class:`NoticeView`).

The store keeps notices, lots, the procedure's current state and one classification per model
version; a view merges them: the deadline is the procedure's (a corrigendum may have moved it),
the labels, lots, evidence and insertion hours come from the latest classification, and each
lot carries its state (open, cancelled, awarded) from the procedure.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from typing import Any

from tenderwatch.core.store import Store
from tenderwatch.notifier.models import SOCIAL_LABELS, LotView, NoticeView

logger = logging.getLogger(__name__)


class NoticeNotFound(LookupError):
    """No notice with that id in the store."""


def _json(value: Any, default: Any) -> Any:
    if value is None or value == "":
        return default
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return default
    return value


def _explanations(classification: dict[str, Any], notice_id: str) -> list[str]:
    """``tenderwatch.classifier.explain`` when installed; plain sentences in French.

    The alert must still go out without it, so any failure there only costs the sentences.
    """
    try:
        from tenderwatch.classifier import explain
    except ImportError:
        return []
    try:
        return [str(s) for s in explain({**classification, "id": notice_id})]
    except Exception:  # the explainer is optional decoration; never block an alert on it
        logger.warning("explications indisponibles pour %s", notice_id, exc_info=True)
        return []


def _lots(
    stored: list[dict[str, Any]], classified: list[dict[str, Any]], state: dict[str, Any]
) -> list[LotView]:
    """Lots in the notice's order, with the classifier's labels and the procedure's status."""
    labels = {
        str(lot.get("id")): [x for x in lot.get("labels") or [] if x in SOCIAL_LABELS]
        for lot in classified
    }
    titles = {str(lot.get("id")): lot.get("title") for lot in classified}
    views: list[LotView] = []
    seen: set[str] = set()
    for lot in stored:
        lot_id = str(lot["lot_id"])
        seen.add(lot_id)
        views.append(
            LotView(
                id=lot_id,
                title=lot.get("title") or titles.get(lot_id),
                labels=labels.get(lot_id, []),
                cpv=_json(lot.get("cpv"), []),
                departements=_json(lot.get("departements"), []),
                estimated_value=lot.get("estimated_value"),
                status=(state.get(lot_id) or {}).get("status"),
            )
        )
    # Lots the classifier found in the text but the form did not structure.
    for lot_id, lot_labels in labels.items():
        if lot_id not in seen:
            views.append(
                LotView(
                    id=lot_id,
                    title=titles.get(lot_id),
                    labels=lot_labels,
                    status=(state.get(lot_id) or {}).get("status"),
                )
            )
    return views


def load_notice_view(store: Store, notice_id: str) -> NoticeView:
    """The notice ``notice_id`` with its procedure state and latest classification.

    Raises :class:`NoticeNotFound` when the store has no such notice.
    """
    row = store.get_notice(notice_id)
    if row is None:
        raise NoticeNotFound(notice_id)
    proc = row.get("procedure_state") or {}
    classification = store.classification(notice_id) or {}
    labels = {k: bool(v) for k, v in (classification.get("labels") or {}).items()}
    return NoticeView(
        id=row["id"],
        title=row.get("title") or proc.get("title") or "",
        nature=row.get("nature") or "other",
        published=row.get("published"),
        # The procedure holds the latest deadline once a corrigendum has moved it.
        deadline=proc.get("deadline") or row.get("deadline"),
        buyer_name=row.get("buyer_name") or proc.get("buyer_name"),
        url=row.get("url"),
        text=row.get("text") or "",
        departements=_json(row.get("departements"), []),
        cpv=_json(row.get("cpv"), []),
        estimated_value=row.get("estimated_value"),
        labels=labels,
        lots=_lots(
            row.get("lots") or [],
            classification.get("lots") or [],
            _json(proc.get("lots_state"), {}),
        ),
        evidence=list(classification.get("evidence") or []),
        insertion_hours=classification.get("insertion_hours"),
        explanations=_explanations(classification, notice_id) if classification else [],
        procedure_id=row.get("procedure_id"),
        canonical_id=row.get("canonical_id"),
        corrects=[
            link["target"]
            for link in row.get("links") or []
            if link["kind"] == "corrects" and link["target"]
        ],
        confidence=_json(classification.get("confidence"), {}) or {},
        truncated=bool(classification.get("truncated")),
        facilitator=_json(classification.get("facilitator"), None) or None,
    )


def notice_views(store: Store, notice_ids: Iterable[str]) -> list[NoticeView]:
    """Views of several notices, skipping ids the store does not have."""
    views = []
    for notice_id in notice_ids:
        try:
            views.append(load_notice_view(store, notice_id))
        except NoticeNotFound:
            logger.warning("avis introuvable : %s", notice_id)
    return views
