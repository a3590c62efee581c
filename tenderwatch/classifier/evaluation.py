"""Evaluation against a golden set (format: ``tests/fixtures/golden/README.md``).

Definitions:

* per label: TP / FP / FN over notices, precision, recall, F1 (0 when undefined);
  *micro* sums TP/FP/FN over the seven labels, *macro* averages the per-label figures.
  A gold notice without a prediction counts as all-negative.
* **lot attribution** (« Attribution aux lots »): over the gold notices that are allotted,
  the share of gold lots whose predicted social-label set equals the gold set. Lots are
  matched by normalised id (``"Lot n° 03"`` = ``"3"``); a gold lot missing from the
  prediction counts as wrong. The figure is also given for the gold lots that carry at
  least one social label (the lots a user is alerted about).
* **insertion hours** (« Heures d'insertion »): exact-match rate of ``insertion_hours``
  over the notices where the gold or the prediction gives hours (a value on one side and
  ``null`` on the other is a miss); the rate over gold notices with hours is also given.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from tenderwatch.classifier.classifier import LABELS
from tenderwatch.classifier.lots import normalise_lot_id

SOCIAL = tuple(label for label in LABELS if label != "allotted")


def _prf(tp: int, fp: int, fn: int) -> tuple[float, float, float]:
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def _lot_key(raw: Any) -> str | None:
    return normalise_lot_id(raw) or (str(raw) if raw is not None else None)


def evaluate(gold: Iterable[dict], predictions: Iterable[dict]) -> dict[str, Any]:
    """Compare predictions (classifier results) with gold records, matched by ``id``."""
    gold = list(gold)
    by_id = {str(p.get("id")): p for p in predictions if isinstance(p, dict)}
    counts = {label: {"tp": 0, "fp": 0, "fn": 0, "tn": 0} for label in LABELS}
    mistakes: list[dict[str, Any]] = []
    lots_total = lots_ok = social_total = social_ok = 0
    hours_total = hours_ok = gold_hours_total = gold_hours_ok = 0
    missing = errors = 0
    for record in gold:
        notice_id = str(record.get("id"))
        pred = by_id.get(notice_id)
        if pred is None:
            missing += 1
            pred = {}
        if pred.get("error"):
            errors += 1
        gold_labels = record.get("labels") or {}
        pred_labels = pred.get("labels") or {}
        for label in LABELS:
            g = bool(gold_labels.get(label))
            p = bool(pred_labels.get(label))
            key = "tp" if g and p else "fp" if p else "fn" if g else "tn"
            counts[label][key] += 1
            if key in ("fp", "fn"):
                mistakes.append({"id": notice_id, "label": label, "error": key.upper()})
        if gold_labels.get("allotted"):
            predicted_lots = {
                _lot_key(lot.get("id")): set(lot.get("labels") or [])
                for lot in pred.get("lots") or []
            }
            for lot in record.get("lots") or []:
                wanted = set(lot.get("labels") or []) & set(SOCIAL)
                got = predicted_lots.get(_lot_key(lot.get("id")))
                ok = got is not None and (got & set(SOCIAL)) == wanted
                lots_total += 1
                lots_ok += ok
                if wanted:
                    social_total += 1
                    social_ok += ok
                if not ok:
                    mistakes.append(
                        {
                            "id": notice_id,
                            "label": "lot",
                            "error": f"lot {lot.get('id')}: {sorted(wanted)} ≠ "
                            + (str(sorted(got)) if got is not None else "absent"),
                        }
                    )
        g_hours = record.get("insertion_hours")
        p_hours = pred.get("insertion_hours")
        if g_hours is not None or p_hours is not None:
            hours_total += 1
            same = (
                g_hours is not None
                and p_hours is not None
                and abs(float(g_hours) - float(p_hours)) < 0.5
            )
            hours_ok += same
            if g_hours is not None:
                gold_hours_total += 1
                gold_hours_ok += same
            if not same:
                mistakes.append(
                    {"id": notice_id, "label": "hours", "error": f"{g_hours} ≠ {p_hours}"}
                )
    per_label = {}
    for label, c in counts.items():
        precision, recall, f1 = _prf(c["tp"], c["fp"], c["fn"])
        per_label[label] = {
            **c,
            "precision": precision,
            "recall": recall,
            "f1": f1,
            "support": c["tp"] + c["fn"],
        }
    tp = sum(c["tp"] for c in counts.values())
    fp = sum(c["fp"] for c in counts.values())
    fn = sum(c["fn"] for c in counts.values())
    micro_p, micro_r, micro_f = _prf(tp, fp, fn)
    n = len(LABELS)
    return {
        "notices": len(gold),
        "missing_predictions": missing,
        "prediction_errors": errors,
        "labels": per_label,
        "micro": {
            "precision": micro_p,
            "recall": micro_r,
            "f1": micro_f,
            "tp": tp,
            "fp": fp,
            "fn": fn,
        },
        "macro": {
            "precision": sum(v["precision"] for v in per_label.values()) / n,
            "recall": sum(v["recall"] for v in per_label.values()) / n,
            "f1": sum(v["f1"] for v in per_label.values()) / n,
        },
        "lots": {
            "total": lots_total,
            "correct": lots_ok,
            "accuracy": lots_ok / lots_total if lots_total else None,
            "social_total": social_total,
            "social_correct": social_ok,
            "social_accuracy": social_ok / social_total if social_total else None,
        },
        "hours": {
            "total": hours_total,
            "correct": hours_ok,
            "accuracy": hours_ok / hours_total if hours_total else None,
            "gold_total": gold_hours_total,
            "gold_correct": gold_hours_ok,
            "gold_accuracy": gold_hours_ok / gold_hours_total if gold_hours_total else None,
        },
        "mistakes": mistakes,
    }


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{100 * value:5.1f} %".replace(".", ",")


def format_report(report: dict[str, Any]) -> str:
    """The report as a French table for the terminal."""
    header = (
        f"{'Étiquette':<22} | {'Précision':>9} | {'Rappel':>9} | {'F1':>9}"
        f" | {'VP':>4} | {'FP':>4} | {'FN':>4}"
    )
    rule = "-" * len(header)

    def row(name: str, v: dict[str, Any], counts: bool = True) -> str:
        line = (
            f"{name:<22} | {_pct(v['precision']):>9} | {_pct(v['recall']):>9} | {_pct(v['f1']):>9}"
        )
        if counts:
            return line + f" | {v['tp']:>4} | {v['fp']:>4} | {v['fn']:>4}"
        return line + " |      |      |"

    lines = [f"Évaluation sur {report['notices']} avis", header, rule]
    lines += [row(label, v) for label, v in report["labels"].items()]
    lines += [rule, row("micro", report["micro"]), row("macro", report["macro"], counts=False)]
    lots = report["lots"]
    hours = report["hours"]
    lines += [
        "",
        f"Attribution aux lots : {_pct(lots['accuracy'])} ({lots['correct']}/{lots['total']} lots"
        f" des avis allotis ; lots à clause ou réservation : {_pct(lots['social_accuracy'])},"
        f" {lots['social_correct']}/{lots['social_total']})",
        f"Heures d'insertion : {_pct(hours['accuracy'])} exactes"
        f" ({hours['correct']}/{hours['total']} avis avec des heures dans l'annotation ou la"
        f" prédiction ; {hours['gold_correct']}/{hours['gold_total']} des avis annotés avec"
        " des heures)",
    ]
    if report.get("missing_predictions") or report.get("prediction_errors"):
        lines.append(
            f"Prédictions manquantes : {report['missing_predictions']} ;"
            f" en erreur : {report['prediction_errors']}"
        )
    return "\n".join(lines)
