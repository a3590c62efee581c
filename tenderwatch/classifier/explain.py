"""Plain-French explanations of a classification result, for a small structure that has two
minutes: one sentence per positive label, with the evidence quote, the article in words, the
hours and the lots; then what needs checking by hand.

>>> explain(result)
["Clause sociale d'insertion pour les lots 1 et 4 (article L. 2112-2 du code de la commande
publique) : « Le titulaire réserve au moins 350 heures … » — 500 heures d'insertion au total."]
"""

from __future__ import annotations

from functools import cache
from typing import Any

from tenderwatch.classifier.legal import describe
from tenderwatch.classifier.resources import data

_ORDER = (
    "reserved_siae",
    "reserved_disability",
    "insertion_clause",
    "insertion_criterion",
    "insertion_contract",
    "reserved_other",
    "allotted",
)
_QUOTE_MAX = 220


@cache
def _wording() -> dict[str, Any]:
    return data("explain_fr.json")


def _number(value: float | int | None) -> str:
    """``1200`` → "1 200" (French thousands separator: a no-break space)."""
    if value is None:
        return ""
    if float(value).is_integer():
        return f"{int(value):,}".replace(",", "\u00a0")
    return f"{value:,.1f}".replace(",", "\u00a0").replace(".", ",")


def _sort_key(lot_id: str) -> tuple[int, str]:
    digits = "".join(ch for ch in lot_id if ch.isdigit())
    return (int(digits) if digits else 10**6, lot_id)


def lots_in_words(lot_ids: list[str], all_lots: list[str] | None = None) -> str:
    """``["1", "4"]`` → "les lots 1 et 4"; ``["1", "2", "3"]`` → "les lots 1 à 3"; one lot →
    "le lot 3"; every lot of an allotted notice → "tous les lots"."""
    ids = sorted(dict.fromkeys(lot_ids), key=_sort_key)
    if not ids:
        return ""
    if all_lots and len(all_lots) > 1 and set(ids) == set(all_lots):
        return "tous les lots"
    if len(ids) == 1:
        return f"le lot {ids[0]}"
    numbers = [int(i) for i in ids if i.isdigit()]
    if (
        len(numbers) == len(ids)
        and len(ids) >= 3
        and numbers == list(range(numbers[0], numbers[-1] + 1))
    ):
        return f"les lots {ids[0]} à {ids[-1]}"
    return "les lots " + ", ".join(ids[:-1]) + " et " + ids[-1]


def _quote(text: str) -> str:
    text = " ".join(text.split())
    if len(text) > _QUOTE_MAX:
        text = text[: _QUOTE_MAX - 1].rsplit(" ", 1)[0] + " …"
    return f"« {text} »"


def _best_evidence(evidence: list[dict[str, Any]], label: str) -> dict[str, Any] | None:
    candidates = [e for e in evidence if e.get("label") == label and not e.get("negated")]
    if not candidates:
        return None
    return sorted(
        candidates,
        key=lambda e: (e.get("source") != "text", e.get("legal_basis") is None, not e.get("quote")),
    )[0]


def _capitalise(text: str) -> str:
    return text[:1].upper() + text[1:]


def explain(result: dict[str, Any]) -> list[str]:
    """One French sentence per positive label of ``result`` (a classifier result), then one
    per point to check by hand (ambiguous reservation wording, form/text disagreements)."""
    wording = _wording()
    labels = result.get("labels") or {}
    evidence = result.get("evidence") or []
    lots = result.get("lots") or []
    lot_ids = [str(lot.get("id")) for lot in lots]
    titles = {str(lot.get("id")): lot.get("title") for lot in lots}
    sentences: list[str] = []
    for label in _ORDER:
        if not labels.get(label):
            continue
        if label == "allotted":
            sentences.append(_allotment(result, lots, titles))
            continue
        forms = wording["labels"][label]
        with_label = [str(lot.get("id")) for lot in lots if label in (lot.get("labels") or [])]
        lots_text = lots_in_words(with_label, lot_ids) if lots else ""
        if lots_text and lots_text != "tous les lots":
            several = lots_text.startswith("les ")
            head = (
                forms["lots"]
                .replace("{lots}", lots_text)
                .replace("{Lots}", _capitalise(lots_text.split(" ", 1)[1]))
                .replace("{réservé}", "réservés" if several else "réservé")
            )
        else:
            head = forms["whole"]
        best = _best_evidence(evidence, label)
        kind = (best or {}).get("kind")
        if label == "reserved_other" and kind in wording["kinds"]:
            head += " " + wording["kinds"][kind]
        if lots_text == "tous les lots":
            head += " (tous les lots)"
        legal = (best or {}).get("legal_basis")
        if legal and legal.get("norm"):
            head += f" ({describe(legal['norm'])})"
        parts = [head]
        if best and best.get("quote"):
            parts[0] += " : " + _quote(best["quote"])
        elif best and best.get("source") == "structured":
            parts[0] += ", " + wording["structured"].format(
                field=best.get("field"), value=best.get("value")
            )
        if label == "insertion_clause":
            detail = _hours(result, evidence)
            if detail:
                parts.append(detail)
        sentences.append(" — ".join(parts) + ".")
    for item in result.get("conflicts") or []:
        if item.get("kind") == "uncertain" and item.get("label") == "reserved_disability":
            continue  # the same ambiguity is reported once, under reserved_siae
        lot = item.get("lot")
        sentences.append(
            wording["uncertain"].format(
                note=item.get("note", ""), lots=f" (lot {lot})" if lot else ""
            )
        )
    return sentences


def _hours(result: dict[str, Any], evidence: list[dict[str, Any]]) -> str:
    wording = _wording()
    if "insertion_clause" in (result.get("unspecified") or []):
        # only the form's generic wording: the clause itself is in the CCAP
        return wording["unspecified"]
    total = result.get("insertion_hours")
    rate = result.get("insertion_rate")
    if not total and rate:
        per = str(rate.get("per", ""))
        if per.endswith(" EUR"):
            return wording["rate_amount"].format(
                hours=_number(rate.get("hours")), amount=_number(float(per.split()[0]))
            )
        return wording["rate_period"].format(hours=_number(rate.get("hours")), period=per)
    clause = [e for e in evidence if e.get("label") == "insertion_clause" and not e.get("negated")]
    per_lot = {e["lot"]: e["hours"] for e in clause if e.get("lot") and e.get("hours")}
    if total:
        text = f"{_number(total)} heures d'insertion"
        if len(per_lot) > 1 and abs(sum(per_lot.values()) - total) < 0.5:
            text += (
                " ("
                + ", ".join(
                    f"lot {lot} : {_number(h)} h"
                    for lot, h in sorted(per_lot.items(), key=lambda x: _sort_key(x[0]))
                )
                + ")"
            )
        return text + " au total" if len(per_lot) > 1 else text
    percent = next((e.get("percent") for e in clause if e.get("percent")), None)
    if percent:
        return f"{_number(percent)} % des heures travaillées"
    fte = next((e.get("fte") for e in clause if e.get("fte")), None)
    if fte:
        return f"{_number(fte)} ETP (équivalents temps plein)"
    return "volume d'insertion non chiffré dans l'avis (voir le CCAP)"


def _allotment(result: dict[str, Any], lots: list[dict[str, Any]], titles: dict[str, Any]) -> str:
    count = len(lots)
    text = f"Marché alloti en {count} lots" if count else "Marché alloti"
    most = result.get("max_lots_per_bidder")
    if most:
        text += f" (au plus {most} lot{'s' if most > 1 else ''} par candidat)"
    shown = [
        f"lot {lot['id']} « {titles[str(lot['id'])]} »"
        if titles.get(str(lot["id"]))
        else f"lot {lot['id']}"
        for lot in lots[:8]
    ]
    if shown:
        text += " : " + ", ".join(shown) + (", …" if count > 8 else "")
    return text + "."
