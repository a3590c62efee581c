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
* a gold label that is ``null`` is **not scored** for that notice (the real BOAMP clause
  sections say nothing about allotment: ``allotted: null``); a ``null`` ``allotted`` also
  skips lot attribution.
* **social** (« étiquettes sociales ») sums TP/FP/FN over the six social labels only.
* **false social alerts** (« Fausses alertes sociales ») : among the gold notices with no
  social label, those that get at least one social label — what a subscriber would receive
  for nothing. Given as « N / M ».
* **facilitator** (« Facilitateur », issue #12), only over the gold notices that have a
  ``facilitator`` field (``null`` = the notice names none): a predicted facilitator is right
  when organisation, kind, name, phone and e-mail all equal the gold ones (normalised: case,
  spaces, apostrophes; phones by digits, +33 = 0). A wrong contact is a false positive *and*
  a false negative; a contact where the gold has none is a false positive. Per field, a value
  predicted where the gold has another or none is a false positive.
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


def _id_order(lot_id: str) -> tuple[int, str]:
    """Sort key that puts ``"2"`` before ``"10"``."""
    return (len(lot_id), lot_id)


def lot_lists(gold: list[dict], by_id: dict[str, dict]) -> dict[str, Any]:
    """Lot lists exactly right: over the gold-allotted notices, those whose predicted lot ids
    equal the gold ones as sets, both normalised (``"02"`` = ``"2"``, ``"Lot 1.1"`` =
    ``"1.1"``); a notice predicted not allotted has no lots and counts as wrong. Titles are
    not compared (a count with no list has none). An allotted gold notice with an empty
    ``lots`` (some real annotations leave « 33 lots » unlisted) cannot be checked: it is
    counted apart (``unlisted``), never as right."""
    total = correct = unlisted = 0
    wrong: list[dict[str, Any]] = []
    for record in gold:
        if not (record.get("labels") or {}).get("allotted"):
            continue
        if not record.get("lots"):
            unlisted += 1
            continue
        notice_id = str(record.get("id"))
        pred = by_id.get(notice_id) or {}
        wanted = {_lot_key(lot.get("id")) for lot in record.get("lots") or []}
        got = {_lot_key(lot.get("id")) for lot in pred.get("lots") or []}
        total += 1
        if got == wanted:
            correct += 1
        else:
            wrong.append(
                {
                    "id": notice_id,
                    "missing": sorted((x for x in wanted - got if x), key=_id_order),
                    "extra": sorted((x for x in got - wanted if x), key=_id_order),
                }
            )
    return {
        "total": total,
        "correct": correct,
        "accuracy": correct / total if total else None,
        "unlisted": unlisted,
        "wrong": wrong,
    }


FACILITATOR_FIELDS = ("organisation", "kind", "name", "phone", "email")


def _norm_field(field: str, value: Any) -> str | None:
    """A facilitator field as compared: phones by their digits (+33 = 0), the rest folded."""
    if value is None or not str(value).strip():
        return None
    text = str(value)
    if field == "phone":
        digits = "".join(c for c in text if c.isdigit())
        if text.strip().startswith(("+33", "0033")):
            digits = "0" + digits[4 if text.strip().startswith("0033") else 2 :].lstrip("0")
        return digits
    return " ".join(text.replace("’", "'").casefold().split())


def facilitator_scores(gold: list[dict], by_id: dict[str, dict]) -> dict[str, Any] | None:
    """Precision and recall of the facilitator over the gold notices with a ``facilitator``
    field (``None`` when no gold notice has one), overall and per field."""
    scored = [r for r in gold if "facilitator" in r]
    if not scored:
        return None
    tp = fp = fn = 0
    fields = {f: {"tp": 0, "fp": 0, "fn": 0} for f in FACILITATOR_FIELDS}
    wrong: list[dict[str, Any]] = []
    for record in scored:
        notice_id = str(record.get("id"))
        g = record.get("facilitator") or None
        p = (by_id.get(notice_id) or {}).get("facilitator") or None
        gn = {f: _norm_field(f, g.get(f)) for f in FACILITATOR_FIELDS} if g else None
        pn = {f: _norm_field(f, p.get(f)) for f in FACILITATOR_FIELDS} if p else None
        same = gn is not None and gn == pn
        tp += same
        fp += pn is not None and not same
        fn += gn is not None and not same
        if not same and (gn is not None or pn is not None):
            wrong.append({"id": notice_id, "gold": g, "predicted": p})
        for f, c in fields.items():
            gv = gn.get(f) if gn else None
            pv = pn.get(f) if pn else None
            if gv is not None and gv == pv:
                c["tp"] += 1
                continue
            c["fp"] += pv is not None
            c["fn"] += gv is not None
    precision, recall, f1 = _prf(tp, fp, fn)
    per_field = {}
    for f, c in fields.items():
        fp_, fr_, _ = _prf(c["tp"], c["fp"], c["fn"])
        per_field[f] = {**c, "precision": fp_, "recall": fr_}
    return {
        "notices": len(scored),
        "gold_positive": sum(1 for r in scored if r.get("facilitator")),
        "tp": tp,
        "fp": fp,
        "fn": fn,
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "fields": per_field,
        "wrong": wrong,
    }


def evaluate(gold: Iterable[dict], predictions: Iterable[dict]) -> dict[str, Any]:
    """Compare predictions (classifier results) with gold records, matched by ``id``."""
    gold = list(gold)
    by_id = {str(p.get("id")): p for p in predictions if isinstance(p, dict)}
    counts = {label: {"tp": 0, "fp": 0, "fn": 0, "tn": 0} for label in LABELS}
    mistakes: list[dict[str, Any]] = []
    lots_total = lots_ok = social_total = social_ok = 0
    hours_total = hours_ok = gold_hours_total = gold_hours_ok = 0
    missing = errors = 0
    ordinary_total = 0
    false_alerts: list[dict[str, Any]] = []
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
        if all(gold_labels.get(label) is False for label in SOCIAL):
            ordinary_total += 1
            alerted = [label for label in SOCIAL if pred_labels.get(label)]
            if alerted:
                false_alerts.append({"id": notice_id, "labels": alerted})
        for label in LABELS:
            if label in gold_labels and gold_labels[label] is None:
                continue  # not annotated for this notice: not scored
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
    s_tp = sum(counts[label]["tp"] for label in SOCIAL)
    s_fp = sum(counts[label]["fp"] for label in SOCIAL)
    s_fn = sum(counts[label]["fn"] for label in SOCIAL)
    social_p, social_r, social_f = _prf(s_tp, s_fp, s_fn)
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
        "social": {
            "precision": social_p,
            "recall": social_r,
            "f1": social_f,
            "tp": s_tp,
            "fp": s_fp,
            "fn": s_fn,
        },
        "false_alerts": {
            "count": len(false_alerts),
            "ordinary": ordinary_total,
            "rate": len(false_alerts) / ordinary_total if ordinary_total else None,
            "notices": false_alerts,
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
        "lot_lists": lot_lists(gold, by_id),
        "facilitator": facilitator_scores(gold, by_id),
        "mistakes": mistakes,
    }


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{100 * value:5.1f} %".replace(".", ",")


def format_report(report: dict[str, Any], mistakes: bool = True) -> str:
    """The report as a French table for the terminal; with ``mistakes``, the list of errors
    (notice, label, FP/FN) follows, which is where rule work starts."""
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
    lines += [rule, row("micro", report["micro"])]
    if "social" in report:
        lines.append(row("étiquettes sociales", report["social"]))
    lines.append(row("macro", report["macro"], counts=False))
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
    lists = report.get("lot_lists")
    if lists:
        unlisted = lists.get("unlisted")
        lines.append(
            f"Liste des lots exacte pour {lists['correct']} / {lists['total']} avis allotis"
            f" ({_pct(lists['accuracy']).strip()}, identifiants normalisés"
            + (f" ; {unlisted} sans liste annotée, non comptés" if unlisted else "")
            + ")"
        )
    alerts = report.get("false_alerts")
    if alerts:
        lines.append(
            f"Fausses alertes sociales : {alerts['count']} / {alerts['ordinary']}"
            f" ({_pct(alerts['rate']).strip()} des avis sans étiquette sociale)"
        )
    fac = report.get("facilitator")
    if fac:
        lines.append(
            f"Facilitateur : précision {_pct(fac['precision']).strip()},"
            f" rappel {_pct(fac['recall']).strip()}"
            f" (VP {fac['tp']}, FP {fac['fp']}, FN {fac['fn']} ; {fac['gold_positive']} contacts"
            f" annotés sur {fac['notices']} avis)"
        )
        fields_fr = {
            "organisation": "organisme",
            "kind": "type",
            "name": "personne",
            "phone": "téléphone",
            "email": "courriel",
        }
        lines.append(
            "  par champ : "
            + " ; ".join(
                f"{fields_fr[f]} {_pct(v['precision']).strip()} / {_pct(v['recall']).strip()}"
                for f, v in fac["fields"].items()
            )
            + " (précision / rappel)"
        )
    if report.get("missing_predictions") or report.get("prediction_errors"):
        lines.append(
            f"Prédictions manquantes : {report['missing_predictions']} ;"
            f" en erreur : {report['prediction_errors']}"
        )
    if mistakes and report.get("mistakes"):
        lines += ["", f"Erreurs ({len(report['mistakes'])}) :"]
        lines += [f"  {m['id']}  {m['label']}  {m['error']}" for m in report["mistakes"]]
    if mistakes and fac and fac["wrong"]:
        lines += ["", f"Facilitateurs erronés ({len(fac['wrong'])}) :"]
        lines += [
            f"  {w['id']}  attendu : {_fac_fr(w['gold'])} ; trouvé : {_fac_fr(w['predicted'])}"
            for w in fac["wrong"]
        ]
    if mistakes and lists and lists["wrong"]:
        lines += ["", f"Listes de lots erronées ({len(lists['wrong'])}) :"]
        lines += [
            f"  {w['id']}  manquants : {', '.join(w['missing']) or '—'} ;"
            f" en trop : {', '.join(w['extra']) or '—'}"
            for w in lists["wrong"]
        ]
    return "\n".join(lines)


def _fac_fr(value: dict[str, Any] | None) -> str:
    if not value:
        return "aucun"
    parts = [str(value.get(f)) for f in FACILITATOR_FIELDS if value.get(f)]
    return ", ".join(parts) or "facilitateur sans coordonnées"
