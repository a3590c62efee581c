"""French words for the codes stored in the database, for what a person reads (the CLI, the
run report). One table per concept; the classifier's labels have theirs in
:mod:`tenderwatch.notifier.render` (``LABELS_SHORT``, ``LABELS_FR``).

The codes stay in English in the database, the JSON outputs and the configuration: they are
contracts. Only their display goes through these tables; an unknown code is shown as is
(:func:`word`) rather than hidden.
"""

from __future__ import annotations

from collections.abc import Mapping

#: Natures of a notice (tenderwatch.core.records.NATURES).
NATURE_FR: dict[str, str] = {
    "call_for_tenders": "avis de marché",
    "corrigendum": "rectificatif",
    "award": "avis d'attribution",
    "cancellation": "annulation",
    "other": "autre avis",
}
#: Kinds of clause facilitator organisation (the classifier's ``facilitator.kind``).
FACILITATOR_KIND_FR: dict[str, str] = {
    "plie": "PLIE",
    "maison_emploi": "Maison de l'emploi",
    "mission_locale": "Mission locale",
    "france_travail": "France Travail",
    "guichet_unique": "guichet unique des clauses",
    "service_acheteur": "service de l'acheteur",
}
#: States of a delivery (tenderwatch.notifier.delivery.STATUSES).
DELIVERY_STATUS_FR: dict[str, str] = {
    "pending": "en attente",
    "sending": "en cours d'envoi",
    "sent": "envoyé",
    "failed": "échec",
    "unknown": "incertain",
    "skipped": "ignoré",
}
#: Kinds of a delivery; reminders are ``reminder-J<days>`` (see :func:`delivery_kind`).
DELIVERY_KIND_FR: dict[str, str] = {
    "alert": "alerte",
    "award": "attribution",
    "update": "mise à jour",
    "cancellation": "annulation",
    "digest": "résumé",
    "reminder": "rappel",
}
#: States of a procedure (tenderwatch.core.store: procedures.status).
PROCEDURE_STATUS_FR: dict[str, str] = {
    "open": "en cours",
    "cancelled": "annulée",
    "awarded": "attribuée",
    "not_awarded": "infructueuse",
}
#: Links between notices (tenderwatch.core.records.NoticeLink.kind).
LINK_KIND_FR: dict[str, str] = {
    "corrects": "modifie l'avis",
    "follows": "fait suite à",
    "same_as": "même avis que",
}
#: What is shown for a missing value (a notice without deadline, an unknown date).
MISSING = "—"


def word(table: Mapping[str, str], code: str | None) -> str:
    """The French word for ``code`` in ``table``; the code itself when unknown, and
    :data:`MISSING` for no code at all (never ``None`` on a page)."""
    if code is None or code == "":
        return MISSING
    return table.get(code, code)


def nature_fr(code: str | None) -> str:
    return word(NATURE_FR, code)


def delivery_status_fr(code: str | None) -> str:
    return word(DELIVERY_STATUS_FR, code)


def delivery_kind_fr(code: str | None) -> str:
    """``alert`` → « alerte », ``reminder-J7`` → « rappel J-7 »."""
    if code and code.startswith("reminder-J"):
        return f"{DELIVERY_KIND_FR['reminder']} J-{code.removeprefix('reminder-J')}"
    return word(DELIVERY_KIND_FR, code)
