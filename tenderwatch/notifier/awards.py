"""Awards linked to the insertion clause of their call, and the « attributaire à démarcher »
alert (issue #12).

Half of the SIAE that reach public contracts do it indirectly: the company that won a lot with
an insertion clause must find insertion hours, and an ETTI, an AI or a GEIQ provides staff, an
EI or an ACI takes a sub-contract. What they need is the award: who won which lot, with how
many hours to do, where. This module

1. **links** each award notice to the call for tenders whose clause it carries
   (:func:`link_awards`) and writes one ``awards`` row per awarded lot with the winner, the
   award date and value, and the insertion hours and clause quote of *that lot* as the call's
   classification found them:

   - BOAMP and TED awards belong to the call's procedure through the links the store already
     builds (decision record 0003);
   - a DECP record (an awarded contract; it names no notice) is matched on the buyer's SIRET,
     a CPV code of the same division and the similarity of the objects
     (:func:`decp_match`, thresholds and stop words in ``award_matching.json``). Two calls
     equally close make no link: no alert is better than a wrong one;
   - lots without an insertion clause or criterion, lots not awarded and lots without a
     known winner make no row (there is nobody to call);

2. **queues** the alert (:func:`queue_award_contacts`, delivery kind ``award-contact``) to
   the groups :func:`~tenderwatch.notifier.matching.match_award_contact` accepts, once per
   (group, award notice) — the deliveries table's promise (decision record 0006);

3. **renders** it (:func:`render_award_contact`) from the templates
   ``award_contact.{html,txt,md}.j2``: winner, lot, hours, buyer, dates, the clause quoted,
   the facilitator when the call's classification names one, and why the group receives it.

A group that answered the call itself (« on répond » on the board) and lost still receives
the alert when it is eligible: a loser can still sub-contract or provide staff to the winner,
and the board shows its outcome (« perdu — attributaire : X ») from the same rows.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from importlib import resources
from typing import Any

from tenderwatch.core.store import Store
from tenderwatch.notifier.geo import fold
from tenderwatch.notifier.matching import award_contact_rules, match_award_contact
from tenderwatch.notifier.models import Group
from tenderwatch.notifier.render import (
    Message,
    _render,  # the module's one renderer of the three formats (html, text, markdown)
    clean,
    format_amount,
    format_date,
    format_departements,
    format_number,
    safe_url,
    shorten,
)

__all__ = [
    "AWARD_CONTACT",
    "LinkReport",
    "decp_match",
    "link_awards",
    "object_similarity",
    "queue_award_contacts",
    "render_award_contact",
    "split_winner",
]

#: The delivery kind of the « attributaire à démarcher » alert.
AWARD_CONTACT = "award-contact"
PROCEDURE_LINK, DECP_LINK = "procedure", "decp-match"
#: Source name of DECP records (helper L1's spider); only those are matched by similarity.
DECP_SOURCE = "decp"
_SIRET = re.compile(r"(?<!\d)(\d{3}\s?\d{3}\s?\d{3}\s?\d{5})(?!\d)")


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _loads(value: Any, default: Any) -> Any:
    if value is None or value == "":
        return default
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return default
    return value


# -- winners and objects ----------------------------------------------------------------------


def split_winner(text: str) -> tuple[str, str | None]:
    """``"Bâti Sud (SIRET 123 456 789 00012)"`` → ``("Bâti Sud", "12345678900012")``.

    Normalised records keep winners as strings; a SIRET written in one (DECP titulaires are
    identified by SIRET) is taken out. A string that is only a SIRET keeps it as its name."""
    found = _SIRET.search(text or "")
    if not found:
        return clean(text), None
    siret = re.sub(r"\s", "", found.group(1))
    name = (text[: found.start()] + text[found.end() :]).replace("SIRET", " ")
    name = re.sub(r"[\s(),:;–-]+$", "", re.sub(r"\(\s*\)", " ", name)).strip(" ,;:–-(")
    return clean(name) or siret, siret


@cache
def _matching_table() -> dict[str, Any]:
    raw = resources.files("tenderwatch.notifier").joinpath("award_matching.json")
    table = json.loads(raw.read_text(encoding="utf-8"))
    table["stop_words"] = frozenset(table["stop_words"])
    table["lot_re"] = re.compile(table["lot_pattern"])
    return table


def object_tokens(text: str | None) -> frozenset[str]:
    """The words that say what a contract is about: folded, stop words and short words out,
    a final s or x dropped (« espaces verts » = « espace vert »)."""
    table = _matching_table()
    out = set()
    for word in fold(text or "").split():
        if len(word) < table["min_token_length"] or word.isdigit():
            continue
        if word in table["stop_words"]:
            continue
        out.add(word[:-1] if len(word) > 4 and word[-1] in "sx" else word)
    return frozenset(out)


def object_similarity(a: str | None, b: str | None) -> tuple[float, int]:
    """(shared tokens / tokens of the shorter side, shared count) of two contract objects."""
    ta, tb = object_tokens(a), object_tokens(b)
    if not ta or not tb:
        return 0.0, 0
    shared = len(ta & tb)
    return shared / min(len(ta), len(tb)), shared


def _close_enough(score: float, shared: int) -> bool:
    table = _matching_table()
    return score >= table["min_overlap"] and shared >= table["min_shared"]


def _siret(value: str | None) -> str | None:
    digits = re.sub(r"\D", "", value or "")
    return digits if len(digits) == 14 else None


# -- linking ----------------------------------------------------------------------------------


@dataclass
class LinkReport:
    """What :func:`link_awards` did."""

    awards: int = 0  # award notices read
    linked: int = 0  # award notices with at least one row written
    rows: int = 0
    unlinked: list[str] = field(default_factory=list)  # no call with an insertion clause found


def _call_labels(classification: dict[str, Any]) -> tuple[dict[str, set[str]], set[str]]:
    """The call's insertion labels by lot id, and those written once for the whole notice
    (a label on no lot applies to every lot, as matching reads it)."""
    wanted = set(award_contact_rules().labels)
    by_lot = {
        str(lot.get("id")): {x for x in lot.get("labels") or [] if x in wanted}
        for lot in classification.get("lots") or []
    }
    on_lots = {x for labels in by_lot.values() for x in labels}
    notice_wide = {
        x for x, on in (classification.get("labels") or {}).items() if on and x in wanted
    } - on_lots
    return by_lot, notice_wide


def _has_insertion(classification: dict[str, Any] | None) -> bool:
    if not classification or classification.get("error"):
        return False
    by_lot, notice_wide = _call_labels(classification)
    return bool(notice_wide or any(by_lot.values()))


def _procedure_call(store: Store, award: dict[str, Any]) -> str | None:
    """The latest canonical call of the award's procedure whose classification carries an
    insertion clause or criterion."""
    if not award.get("procedure_id"):
        return None
    rows = store.db.execute(
        "SELECT id FROM notices WHERE procedure_id = ? AND nature = 'call_for_tenders'"
        " AND (canonical_id IS NULL OR canonical_id = id) AND id != ?"
        " ORDER BY published DESC, id DESC",
        [award["procedure_id"], award["id"]],
    ).fetchall()
    for (call_id,) in rows:
        if _has_insertion(store.classification(call_id)):
            return call_id
    return None


def _divisions(codes: Iterable[str]) -> set[str]:
    return {c[:2] for c in codes if c and len(c) >= 2 and c[:2].isdigit()}


def decp_match(store: Store, award: dict[str, Any]) -> tuple[str, float] | None:
    """The call for tenders a DECP record awards, with the object similarity, or None.

    Reliable or nothing: the same buyer SIRET, a CPV code of the same division on both sides
    (a record or a call without CPV is not matched), a call published no later than the
    award, and objects close enough (``award_matching.json``). The object of the record is
    compared with the call's title and with each lot's title (« Réfection … – lot 2 peinture »
    against the lot « Peinture »); the best call wins, and a tie between two calls makes no
    link. Same buyer and division but another object: no link."""
    buyer = _siret(award.get("buyer_siret"))
    award_div = _divisions(_loads(award.get("cpv"), []))
    if not buyer or not award_div:
        return None
    rows = list(
        store.db.query(
            "SELECT id, title, cpv, published, procedure_id FROM notices"
            " WHERE nature = 'call_for_tenders'"
            " AND buyer_siret = ? AND (canonical_id IS NULL OR canonical_id = id)"
            " AND (published IS NULL OR ? IS NULL OR published <= ?)"
            " ORDER BY published DESC, id DESC",
            [buyer, award.get("published"), award.get("published")],
        )
    )
    # Per procedure, its latest call only: a re-published call is one candidate, not a tie.
    scored: dict[str, tuple[float, int, str]] = {}
    for call in rows:
        if call["procedure_id"] in scored:
            continue
        lots = list(store.db.query("SELECT title, cpv FROM lots WHERE notice_id = ?", [call["id"]]))
        codes = _loads(call["cpv"], []) + [c for lot in lots for c in _loads(lot["cpv"], [])]
        if not award_div & _divisions(codes):
            continue
        if not _has_insertion(store.classification(call["id"])):
            continue
        objects = [call["title"], *(lot["title"] for lot in lots if lot["title"])]
        best = max(object_similarity(award.get("title"), t) for t in objects)
        if _close_enough(*best):
            scored[call["procedure_id"]] = (best[0], best[1], call["id"])
    ranked = sorted(scored.values(), reverse=True)
    if not ranked:
        return None
    if len(ranked) > 1 and ranked[0][:2] == ranked[1][:2]:
        return None  # two procedures equally close: ambiguous, no link
    return ranked[0][2], round(ranked[0][0], 3)


def _decp_lot(award: dict[str, Any], call_lots: list[dict[str, Any]], own: str) -> str:
    """The call's lot a DECP record is for: « lot 2 » in its object; else the one lot whose
    title its object contains; else the lot its id names (``…-LOT2``, ``own`` other than
    the default "1"); else "" (the whole contract)."""
    ids = [str(lot["lot_id"]) for lot in call_lots]
    if not ids:
        return ""
    found = _matching_table()["lot_re"].search(fold(award.get("title") or ""))
    if found and str(int(found.group(1))) in ids:
        return str(int(found.group(1)))
    close = [
        str(lot["lot_id"])
        for lot in call_lots
        if (score := object_similarity(award.get("title"), lot["title"]))[1] >= 1
        and score[0] >= 0.99
    ]
    if len(close) == 1:
        return close[0]
    return own if own != "1" and own in ids else ""


def _evidence_for(
    classification: dict[str, Any], labels: set[str], lot_id: str
) -> tuple[float | None, str, str | None]:
    """(hours, scope, clause quote) of one lot of the call: the lot's own clause sentences
    first; else the notice-wide clause, whose hours are the whole contract's (``marché``)
    unless the call has a single lot."""
    evidence = [
        e
        for e in classification.get("evidence") or []
        if e.get("label") in labels and not e.get("negated")
    ]
    own = [e for e in evidence if lot_id and str(e.get("lot")) == lot_id]
    wide = [e for e in evidence if e.get("lot") is None]
    per_quote: dict[str, float] = {}
    for e in own:
        if e.get("label") == "insertion_clause" and e.get("hours"):
            per_quote[" ".join(str(e.get("quote")).split())] = float(e["hours"])
    quote = (own or wide or [{}])[0].get("quote")
    if per_quote:
        return sum(per_quote.values()), "lot", quote
    total = classification.get("insertion_hours")
    lots = classification.get("lots") or []
    if total and (wide or not lot_id):
        return float(total), ("lot" if len(lots) <= 1 or not lot_id else "marché"), quote
    return None, "lot", quote


def _award_units(store: Store, award: dict[str, Any]) -> list[dict[str, Any]]:
    """The awarded lots of an award notice (the notice itself when it has no lot), with
    ``winners`` as (name, SIRET or None) pairs. ``winner_ids``, ``award_date`` and
    ``awarded_value`` are read when the source gives them (DECP; BOAMP legacy
    ``DECISION/RENSEIGNEMENT``; eForms results; TED R2.0.9 ``AWARDED_CONTRACT``)."""
    lots = list(
        store.db.query("SELECT * FROM lots WHERE notice_id = ? ORDER BY position", [award["id"]])
    )
    if not lots:
        lots = [
            {
                "lot_id": "",
                "title": award.get("title"),
                "winners": award.get("winners"),
                "estimated_value": award.get("estimated_value"),
                "departements": award.get("departements"),
                "cpv": award.get("cpv"),
            }
        ]
    units = []
    for lot in lots:
        names = _loads(lot.get("winners"), []) or (
            _loads(award.get("winners"), []) if len(lots) == 1 else []
        )
        ids = _loads(lot.get("winner_ids"), [])
        winners = []
        for i, name in enumerate(names):
            shown, siret = split_winner(name)
            winners.append((shown, _siret(ids[i] if i < len(ids) else None) or siret))
        awarded = lot.get("awarded_value")
        units.append(
            {
                "lot_id": str(lot["lot_id"]),
                "title": lot.get("title"),
                "result": lot.get("result"),
                "winners": winners,
                "award_date": lot.get("award_date") or award.get("published"),
                "value": awarded if awarded is not None else lot.get("estimated_value"),
                "departements": _loads(lot.get("departements"), []),
                "cpv": _loads(lot.get("cpv"), []),
            }
        )
    if len(units) == 1 and units[0]["value"] is None:
        units[0]["value"] = award.get("estimated_value")  # one lot: the notice's amount
    return units


def _link_one(store: Store, award: dict[str, Any]) -> int:
    """Write the ``awards`` rows of one award notice; return how many."""
    link, score = PROCEDURE_LINK, None
    call_id = _procedure_call(store, award)
    if call_id is None and award.get("source") == DECP_SOURCE:
        found = decp_match(store, award)
        if found:
            (call_id, score), link = found, DECP_LINK
    if call_id is None:
        return 0
    classification = store.classification(call_id) or {}
    call = store.get_notice(call_id) or {}
    call_lots = call.get("lots") or []
    by_id = {str(lot["lot_id"]): lot for lot in call_lots}
    by_lot, notice_wide = _call_labels(classification)
    rows = []
    now = _now()
    for unit in _award_units(store, award):
        if unit["result"] == "not_awarded" or not unit["winners"]:
            continue  # nobody to call
        lot_id = unit["lot_id"]
        if award.get("source") == DECP_SOURCE:
            # A DECP contract is one lot numbered "1" unless its id names a lot: that number
            # says nothing about the call's lots, its object may.
            lot_id = _decp_lot(award, call_lots, unit["lot_id"])
        if not lot_id and len(call_lots) == 1:
            lot_id = str(call_lots[0]["lot_id"])  # a single lot is the whole contract
        if lot_id:
            labels = by_lot.get(lot_id, set()) | notice_wide
        elif len(call_lots) > 1:
            # Which lot was won is unknown: only a clause written for every lot is sure to
            # bind the winner (the hours of lot 2 are not the winner of lot 1's to do).
            labels = set(notice_wide)
        else:
            labels = notice_wide | {x for s in by_lot.values() for x in s}
        if not labels:
            continue  # this lot carries no insertion clause
        hours, scope, quote = _evidence_for(classification, labels, lot_id)
        call_lot = by_id.get(lot_id) or {}
        places = (
            _loads(call_lot.get("departements"), [])
            or _loads(call.get("departements"), [])
            or unit["departements"]
            or _loads(award.get("departements"), [])
        )
        cpv = (
            _loads(call_lot.get("cpv"), [])
            or _loads(call.get("cpv"), [])
            or unit["cpv"]
            or _loads(award.get("cpv"), [])
        )
        winners = unit["winners"]
        rows.append(
            {
                "award_notice_id": award["id"],
                "lot_id": lot_id,
                "procedure_id": call.get("procedure_id") or award.get("procedure_id") or "",
                "call_notice_id": call_id,
                "link": link,
                "match_score": score,
                "winner_name": " ; ".join(name for name, _ in winners),
                "winner_siret": next((s for _, s in winners if s), None),
                "winners": json.dumps(
                    [{"name": n, "siret": s} for n, s in winners], ensure_ascii=False
                ),
                "award_date": unit["award_date"],
                "value": unit["value"],
                "labels": json.dumps(sorted(labels)),
                "insertion_hours": hours,
                "hours_scope": scope,
                "clause": quote,
                "departements": json.dumps(places),
                "cpv": json.dumps(cpv),
                "source": award.get("source") or "",
                "created_at": now,
                "updated_at": now,
            }
        )
    if rows:
        with store.db.atomic():
            for row in rows:
                old = store.db.execute(
                    "SELECT created_at FROM awards WHERE award_notice_id = ? AND lot_id = ?",
                    [row["award_notice_id"], row["lot_id"]],
                ).fetchone()
                if old:
                    row["created_at"] = old[0]
                store.db["awards"].upsert(row, pk=("award_notice_id", "lot_id"))
    return len(rows)


def awards_to_link(store: Store, notice_ids: Iterable[str]) -> list[str]:
    """The award notices to (re)link after ``notice_ids`` were classified: the awards among
    them, the awards of the procedures of the calls among them (an award stored before its
    call's classification), and the DECP records of those calls' buyers."""
    ids = list(dict.fromkeys(notice_ids))
    out: list[str] = []
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        marks = ",".join("?" * len(chunk))  # placeholders only; the ids go as parameters
        out += [
            r[0]
            for r in store.db.execute(
                "SELECT a.id FROM notices a WHERE a.nature = 'award'"  # noqa: S608
                " AND (a.canonical_id IS NULL OR a.canonical_id = a.id) AND ("
                f" a.id IN ({marks})"
                " OR a.procedure_id IN (SELECT c.procedure_id FROM notices c"
                f"   WHERE c.id IN ({marks}) AND c.nature = 'call_for_tenders')"
                " OR (a.source = ? AND a.buyer_siret IN (SELECT c.buyer_siret FROM notices c"
                f"   WHERE c.id IN ({marks}) AND c.nature = 'call_for_tenders')))"
                " ORDER BY a.published, a.id",
                [*chunk, *chunk, DECP_SOURCE, *chunk],
            )
        ]
    return list(dict.fromkeys(out))


def link_awards(store: Store, award_ids: Iterable[str] | None = None) -> LinkReport:
    """Link award notices (all stored ones when ``award_ids`` is None) to the insertion
    clause of their call and write their ``awards`` rows (idempotent: rows are upserted)."""
    if award_ids is None:
        award_ids = [
            r[0]
            for r in store.db.execute(
                "SELECT id FROM notices WHERE nature = 'award'"
                " AND (canonical_id IS NULL OR canonical_id = id) ORDER BY published, id"
            )
        ]
    report = LinkReport()
    for award_id in award_ids:
        rows = list(store.db.query("SELECT * FROM notices WHERE id = ?", [award_id]))
        if not rows or rows[0]["nature"] != "award":
            continue
        report.awards += 1
        written = _link_one(store, rows[0])
        report.rows += written
        if written:
            report.linked += 1
        else:
            report.unlinked.append(award_id)
    return report


def award_rows(store: Store, award_notice_id: str) -> list[dict[str, Any]]:
    """The ``awards`` rows of an award notice, JSON columns decoded, in lot order."""
    rows = list(
        store.db.query(
            "SELECT * FROM awards WHERE award_notice_id = ? ORDER BY length(lot_id), lot_id",
            [award_notice_id],
        )
    )
    for row in rows:
        for key in ("winners", "labels", "departements", "cpv"):
            row[key] = _loads(row[key], [])
    return rows


def awards_of_call(store: Store, call_notice_id: str) -> list[dict[str, Any]]:
    """The awards linked to a call for tenders (for its board page), in lot order."""
    ids = [
        r[0]
        for r in store.db.execute(
            "SELECT DISTINCT award_notice_id FROM awards WHERE call_notice_id = ?",
            [call_notice_id],
        )
    ]
    return [row for award_id in ids for row in award_rows(store, award_id)]


# -- queueing ---------------------------------------------------------------------------------


def award_contact_match(
    group: Group, rows: Sequence[dict[str, Any]], fails: list[str] | None = None
) -> tuple[list[str], list[str]] | None:
    """(lot ids, reasons) of an award's rows that concern ``group``, or None."""
    lots: list[str] = []
    reasons: list[str] = []
    for row in rows:
        found = match_award_contact(
            group,
            lot_id=row["lot_id"] or None,
            labels=row["labels"],
            departements=row["departements"],
            cpv=row["cpv"],
            fails=fails,
        )
        if found is not None:
            lots.append(row["lot_id"])
            reasons += [r for r in found if r not in reasons]
    return (lots, reasons) if lots else None


def queue_award_contacts(
    store: Store, deliverer: Any, groups: Iterable[Group], award_ids: Iterable[str]
) -> int:
    """Queue the « attributaire à démarcher » alert of each linked award for every group it
    concerns; return how many (group, award) were newly queued. ``deliverer`` is a
    :class:`~tenderwatch.notifier.delivery.Deliverer` (at most once per group, notice, kind)."""
    queued = 0
    groups = list(groups)
    for award_id in dict.fromkeys(award_ids):
        rows = award_rows(store, award_id)
        if not rows:
            continue
        for group in groups:
            found = award_contact_match(group, rows)
            if found is None:
                continue
            lots, reasons = found
            details = {"lots": lots, "reasons": reasons}
            queued += bool(deliverer.queue(group.id, award_id, AWARD_CONTACT, details))
    return queued


# -- rendering --------------------------------------------------------------------------------


def _facilitator(classification: dict[str, Any] | None) -> dict[str, str] | None:
    """The clause facilitator the call's classification names (helper L2's ``facilitator``:
    organisation, name, phone, email, quote), or None when it names none."""
    value = _loads((classification or {}).get("facilitator"), None)
    if isinstance(value, list):
        value = value[0] if value else None
    if not isinstance(value, dict):
        return None
    out = {k: clean(value.get(k)) for k in ("organisation", "name", "phone", "email")}
    if not any(out.values()):
        return None
    out["quote"] = shorten(clean(value.get("quote")), 300)
    return out


def _hours_text(row: dict[str, Any]) -> str:
    hours = row.get("insertion_hours")
    if not hours:
        return ""
    text = f"{format_number(hours)} heures d'insertion"
    return text + (
        " sur l'ensemble du marché (tous lots)" if row["hours_scope"] == "marché" else ""
    )


def render_award_contact(
    store: Store,
    award_notice_id: str,
    lots: Sequence[str],
    reasons: Sequence[str],
    *,
    board_url: str | None = None,
) -> Message:
    """The « attributaire à démarcher » message of one award notice for one group: who won
    which lot, the hours, the buyer, the dates, the clause quoted, the facilitator when
    known, and why the group receives it."""
    rows = [r for r in award_rows(store, award_notice_id) if not lots or r["lot_id"] in lots]
    if not rows:
        raise LookupError(f"aucune attribution liée pour {award_notice_id}")
    award = store.get_notice(award_notice_id) or {}
    call = store.get_notice(rows[0]["call_notice_id"]) or {}
    call_lots = {str(lot["lot_id"]): lot for lot in call.get("lots") or []}
    entries = []
    for row in rows:
        lot = call_lots.get(row["lot_id"]) or {}
        entries.append(
            {
                "lot": clean(row["lot_id"]),
                "lot_title": shorten(clean(lot.get("title")), 160),
                "winner": clean(row["winner_name"]),
                "siret": clean(row["winner_siret"]),
                "hours": _hours_text(row),
                "value": format_amount(row["value"]),
                "clause": shorten(clean(row["clause"]), 400),
                "places": format_departements(row["departements"]),
            }
        )
    first = entries[0]
    title_call = clean(call.get("title")) or clean(award.get("title")) or "(avis sans titre)"
    subject = f"lot {first['lot']}" if first["lot"] else "le marché"
    title = shorten(f"Attributaire à démarcher · {first['winner']} · {subject} · {title_call}", 200)
    context = {
        "title": title,
        "entries": entries,
        "call_title": title_call,
        "buyer": clean(award.get("buyer_name") or call.get("buyer_name")),
        "award_date": format_date(rows[0]["award_date"]),
        "call_published": format_date(call.get("published")),
        "call_deadline": format_date(call.get("deadline")),
        "decp": rows[0]["link"] == DECP_LINK,
        "facilitator": _facilitator(store.classification(rows[0]["call_notice_id"])),
        "reasons": [clean(r) for r in reasons if clean(r)],
        "award_url": safe_url(award.get("url")),
        "call_url": safe_url(call.get("url")),
        "award_id": award_notice_id,
        "call_id": rows[0]["call_notice_id"],
        "board_url": safe_url(board_url),
    }
    html, text, markdown = _render("award_contact", context)
    return Message(title=title, html=html, text=text, markdown=markdown)
