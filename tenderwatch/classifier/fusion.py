"""Structured signals (``asdict(Signals)``) fused with the text findings.

Rules (brief and reference §3):

* BT-71 ``res-ws`` names both EA/ESAT and SIAE: the text decides. When the text names
  neither, no label is set and an ``uncertain`` conflict is reported for both.
* BT-71 ``res-pub-ser`` → ``reserved_other`` (ESS / public-service mission).
* BT-736 ``yes`` (sheltered-employment programmes) → ``reserved_disability``.
* BT-775 ``opp``: the BT-70 execution conditions are read with the text rules; a clause
  found there is ``insertion_clause`` evidence (source ``structured``); ``opp`` alone is
  reported as uncertain.
* BOAMP ``reserved`` True with no text reservation → uncertain (like res-ws).
* A structured flag that disagrees with the text is kept and reported in ``conflicts``;
  an explicit structured negative (``reserved: false``) never removes a text positive.

Structured evidence has no position in the text: its ``quote`` is ``""`` with
``start == end == 0`` (so ``quote == text[start:end]`` still holds), and it carries the
field and value in ``field``/``value`` and the field text, if any, in ``field_text``.
"""

from __future__ import annotations

from typing import Any

RESERVED_LABELS = ("reserved_siae", "reserved_disability")
#: DECP ``considerationsSociales`` (``Signals.codes["decp_social"]``) → label. The buyer ticks
#: it after the award, often as boilerplate: its evidence scores :data:`DECP_SCORE`, below
#: « sûr », so that the flag alone is only ever « probable » (ADR 0013).
DECP_SOCIAL_LABELS = {"clause": "insertion_clause", "criterion": "insertion_criterion"}
DECP_SCORE = 0.7


def structured_evidence(
    label: str, lot: str | None, field: str, value: str, field_text: str | None = None, **extra: Any
) -> dict[str, Any]:
    record: dict[str, Any] = {
        "label": label,
        "lot": lot,
        "quote": "",
        "start": 0,
        "end": 0,
        "legal_basis": None,
        "hours": None,
        "percent": None,
        "source": "structured",
        "negated": False,
        "field": field,
        "value": value,
    }
    if field_text:
        record["field_text"] = field_text[:500]
    record.update(extra)
    return record


def conflict(
    label: str, structured: str | None, text: bool | str, lot: str | None, kind: str, note: str
) -> dict[str, Any]:
    """A disagreement (``kind="conflict"``) or an undecidable flag (``kind="uncertain"``)."""
    return {
        "label": label,
        "structured": structured,
        "text": text,
        "lot": lot,
        "kind": kind,
        "note": note,
    }


def _codes(signals: dict[str, Any] | None, key: str) -> list[str]:
    value = (signals or {}).get(key) or []
    return [str(v).lower() for v in value] if isinstance(value, list) else [str(value).lower()]


def signal_scopes(
    signals: dict | None, lots: list[dict] | None, normalise_id
) -> list[tuple[str | None, dict]]:
    """``(lot_id or None, signals)`` for the notice and each structured lot that has signals."""
    scopes: list[tuple[str | None, dict]] = []
    if isinstance(signals, dict) and signals:
        scopes.append((None, signals))
    for lot in lots or []:
        if not isinstance(lot, dict):
            continue
        lot_signals = lot.get("signals")
        if isinstance(lot_signals, dict) and lot_signals:
            scopes.append((normalise_id(lot.get("lot_id") or lot.get("id")), lot_signals))
    return scopes


def fuse(
    scopes: list[tuple[str | None, dict]],
    text_labels: dict[str, set[str | None]],
    classify_text,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], dict[str, set[str | None]]]:
    """Evidence, conflicts and labels (label → lots, ``None`` = whole notice) coming from the
    structured signals. ``text_labels`` holds what the text found (same shape);
    ``classify_text(str)`` runs the text rules on a field and returns found labels."""
    evidence: list[dict[str, Any]] = []
    conflicts: list[dict[str, Any]] = []
    labels: dict[str, set[str | None]] = {}

    def add(label: str, lot: str | None) -> None:
        labels.setdefault(label, set()).add(lot)

    def text_has(label: str) -> bool:
        return bool(text_labels.get(label))

    # A notice's signals are often the union of its lots' signals (eForms): when a lot says
    # it, the lot is the precise scope and the notice-level copy is not repeated.
    lot_codes: set[str] = set()
    for lot, sig in scopes:
        if lot is not None:
            lot_codes.update(_codes(sig, "reserved_codes"))
            lot_codes.update("opp" for _ in [0] if "opp" in _codes(sig, "social_objectives"))
            if str(sig.get("reserved_execution") or "").lower() == "yes":
                lot_codes.add("execution")

    for lot, sig in scopes:
        codes = _codes(sig, "reserved_codes")
        if lot is None:
            codes = [c for c in codes if c not in lot_codes]
        if "res-ws" in codes:
            if not (text_has("reserved_siae") or text_has("reserved_disability")):
                for label in RESERVED_LABELS:
                    conflicts.append(
                        conflict(
                            label,
                            "BT-71=res-ws",
                            False,
                            lot,
                            "uncertain",
                            "participation réservée (ateliers protégés ou opérateurs d'insertion) "
                            "sans article ni structure nommés dans le texte",
                        )
                    )
        if "res-pub-ser" in codes:
            add("reserved_other", lot)
            evidence.append(
                structured_evidence("reserved_other", lot, "BT-71", "res-pub-ser", kind="ess")
            )
            if not text_has("reserved_other"):
                conflicts.append(
                    conflict(
                        "reserved_other",
                        "BT-71=res-pub-ser",
                        False,
                        lot,
                        "conflict",
                        "réservation ESS / mission de service public cochée, absente du texte",
                    )
                )
        execution = str(sig.get("reserved_execution") or "").lower()
        if lot is None and "execution" in lot_codes:
            execution = ""
        if execution == "yes":
            add("reserved_disability", lot)
            evidence.append(
                structured_evidence(
                    "reserved_disability", lot, "BT-736", "yes", kind="sheltered-programme"
                )
            )
            if not text_has("reserved_disability"):
                conflicts.append(
                    conflict(
                        "reserved_disability",
                        "BT-736=yes",
                        False,
                        lot,
                        "conflict",
                        "exécution dans le cadre de programmes d'emplois protégés cochée, "
                        "absente du texte",
                    )
                )
        reserved = sig.get("reserved")
        if (
            reserved is True
            and not (lot is None and lot_codes)
            and "res-ws" not in codes
            and "res-pub-ser" not in codes
            and execution != "yes"
        ):
            if not any(text_has(label) for label in (*RESERVED_LABELS, "reserved_other")):
                for label in RESERVED_LABELS:
                    conflicts.append(
                        conflict(
                            label,
                            "reserved=true",
                            False,
                            lot,
                            "uncertain",
                            "marché réservé coché sans type de réservation dans le texte",
                        )
                    )
        if reserved is False:
            for label in (*RESERVED_LABELS, "reserved_other"):
                if text_has(label):
                    conflicts.append(
                        conflict(
                            label,
                            "reserved=false",
                            True,
                            lot,
                            "conflict",
                            "le formulaire dit « marché réservé : non », le texte dit le contraire",
                        )
                    )
        objectives = _codes(sig, "social_objectives")
        if lot is None and "opp" in lot_codes:
            objectives = [o for o in objectives if o != "opp"]
        conditions = [
            c for c in sig.get("execution_conditions") or [] if isinstance(c, str) and c.strip()
        ]
        descriptions = [
            c for c in sig.get("strategic_descriptions") or [] if isinstance(c, str) and c.strip()
        ]
        if "opp" in objectives:
            found_clause = False
            for field_text in conditions + descriptions:
                found = classify_text(field_text)
                if "insertion_clause" in found:
                    found_clause = True
                    add("insertion_clause", lot)
                    evidence.append(
                        structured_evidence(
                            "insertion_clause", lot, "BT-775+BT-70", "opp", field_text
                        )
                    )
            if not found_clause and not text_has("insertion_clause"):
                conflicts.append(
                    conflict(
                        "insertion_clause",
                        "BT-775=opp",
                        False,
                        lot,
                        "uncertain",
                        "objectif social « emploi des personnes défavorisées » coché sans clause "
                        "d'exécution lisible",
                    )
                )
        decp = (sig.get("codes") or {}).get("decp_social") or []
        for kind in decp if isinstance(decp, list) else []:
            label = DECP_SOCIAL_LABELS.get(str(kind))
            if label:
                add(label, lot)
                value = "Clause sociale" if kind == "clause" else "Critère social"
                evidence.append(
                    structured_evidence(
                        label, lot, "DECP considerationsSociales", value, score=DECP_SCORE
                    )
                )
        if "none" in decp:
            for label in DECP_SOCIAL_LABELS.values():
                if text_has(label):
                    conflicts.append(
                        conflict(
                            label,
                            "DECP=Pas de considération sociale",
                            True,
                            lot,
                            "conflict",
                            "les données essentielles disent « pas de considération sociale », "
                            "l'objet du marché dit le contraire",
                        )
                    )
        for criterion in sig.get("award_criteria") or []:
            if not isinstance(criterion, dict):
                continue
            words = " ".join(str(criterion.get(k) or "") for k in ("name", "description"))
            if words.strip() and "insertion_criterion" in classify_text(
                "Critère d'attribution : " + words
            ):
                add("insertion_criterion", lot)
                evidence.append(
                    structured_evidence(
                        "insertion_criterion",
                        lot,
                        "BT-734",
                        str(criterion.get("name") or ""),
                        words,
                    )
                )
    return _unique(evidence), _unique(conflicts), labels


def _unique(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Drop repeats (a single-lot notice gives the same signals for the notice and its lot)."""
    seen: set[str] = set()
    kept = []
    for record in records:
        key = repr(sorted(record.items()))
        if key not in seen:
            seen.add(key)
            kept.append(record)
    return kept
