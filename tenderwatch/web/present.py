"""What the board's pages show: French words for the codes, the evidence highlighted in the
notice text, card filters and counts, partner search. Pure functions over what
:class:`tenderwatch.core.board.Board` returns, so they are tested without a server.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from importlib import resources
from typing import Any

from markupsafe import Markup, escape

from tenderwatch.core.board import Member
from tenderwatch.notifier import geo
from tenderwatch.notifier.matching import eligibility_rules
from tenderwatch.notifier.models import SOCIAL_LABELS
from tenderwatch.notifier.render import PARIS, days_until, label_short


def _words() -> dict[str, dict[str, str]]:
    path = resources.files("tenderwatch.web").joinpath("words.json")
    return json.loads(path.read_text(encoding="utf-8"))


WORDS = _words()
STATUS_FR: dict[str, str] = WORDS["statuses"]
REASON_FR: dict[str, str] = WORDS["reasons"]
OUTCOME_FR: dict[str, str] = WORDS["outcomes"]
ROLE_FR: dict[str, str] = WORDS["roles"]
ROLE_WANTED_FR: dict[str, str] = WORDS["roles_wanted"]
ACTION_FR: dict[str, str] = WORDS["actions"]
NATURE_FR: dict[str, str] = WORDS["natures"]
#: The deadline windows of the filter, in days ahead ("passee": already past).
DEADLINE_WINDOWS: dict[str, str] = WORDS["deadline_windows"]


def today_paris() -> date:
    return datetime.now(PARIS).date()


def countdown(deadline: str | None, today: date) -> tuple[str, int | None]:
    """« J-5 », « J-0 », « échue » and the number of days (None when no deadline)."""
    days = days_until(deadline, today)
    if days is None:
        return "", None
    if days < 0:
        return "échue", days
    return f"J-{days}", days


def highlight(text: str, evidence: Iterable[Mapping[str, Any]]) -> Markup:
    """The notice text with a ``<mark>`` around each evidence span.

    Spans are the classifier's character offsets into the text; one whose quote does not
    match the text at those offsets (a text that changed since) is looked up by its quote,
    and skipped when not found. Overlapping spans are merged. Each piece of the text is
    escaped on its own and the markup is added around the escaped pieces: the joined HTML
    is never escaped or unescaped again, so notice text can never become markup.
    """
    spans: list[tuple[int, int, str]] = []
    for record in evidence:
        if record.get("negated") or record.get("source") == "structured":
            continue
        start, end, quote = record.get("start"), record.get("end"), record.get("quote") or ""
        if not isinstance(start, int) or not isinstance(end, int) or end <= start:
            continue
        if text[start:end] != quote:
            found = text.find(quote) if quote else -1
            if found < 0:
                continue
            start, end = found, found + len(quote)
        spans.append((start, end, label_short(str(record.get("label") or ""))))
    spans.sort()
    merged: list[list[Any]] = []
    for start, end, label in spans:
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
            if label not in merged[-1][2]:
                merged[-1][2].append(label)
        else:
            merged.append([start, end, [label]])
    out: list[str] = []
    cursor = 0
    for start, end, labels in merged:
        out.append(str(escape(text[cursor:start])))
        title = escape(", ".join(x for x in labels if x))
        out.append(f'<mark title="{title}">{escape(text[start:end])}</mark>')
        cursor = end
    out.append(str(escape(text[cursor:])))
    # Every piece of notice text above went through escape(); only our tags are raw.
    return Markup("".join(out))  # noqa: S704


# -- cards ------------------------------------------------------------------------------------


def claims_by_lot(marks: Iterable[Mapping[str, Any]]) -> dict[str, list[Mapping[str, Any]]]:
    """« on répond » marks grouped by lot ("" = whole notice): who leads each lot."""
    out: dict[str, list[Mapping[str, Any]]] = {}
    for mark in marks:
        if mark["status"] == "on_repond":
            out.setdefault(mark["lot_id"] or "", []).append(mark)
    return out


def decorate(card: dict[str, Any], today: date) -> dict[str, Any]:
    """Add what a card shows: countdown, claims, the notice's state after corrigenda."""
    card["countdown"], card["days_left"] = countdown(card.get("deadline"), today)
    card["claims"] = claims_by_lot(card["marks"])
    card["statuses"] = sorted({m["status"] for m in card["marks"]}, key=list(STATUS_FR).index)
    notices = card.get("procedure_notices") or []
    card["corrected"] = "update" in card["updates"] or (
        bool(notices) and card["id"] in notices and notices[-1] != card["id"]
    )
    card["cancelled"] = (
        card.get("procedure_status") == "cancelled" or "cancellation" in card["updates"]
    )
    return card


def _fold(value: Any) -> str:
    return geo.fold(str(value or ""))


def filter_cards(cards: list[dict[str, Any]], args: Mapping[str, str]) -> list[dict[str, Any]]:
    """The cards that pass the board's filters (query-string values; unknown ones ignored)."""
    label = args.get("label") or ""
    status = args.get("statut") or ""
    claimed = args.get("lot") or ""
    window = args.get("echeance") or ""
    dep = (args.get("dep") or "").strip()
    words = _fold(args.get("q")).split()
    out = []
    for card in cards:
        if label in SOCIAL_LABELS and label not in card["labels"]:
            continue
        if status == "aucun" and card["marks"]:
            continue
        if status in STATUS_FR and status not in card["statuses"]:
            continue
        if claimed == "revendique" and not card["claims"]:
            continue
        if claimed == "libre" and card["claims"]:
            continue
        days = card["days_left"]
        if window == "passee" and not (days is not None and days < 0):
            continue
        if window.isdigit() and not (days is not None and 0 <= days <= int(window)):
            continue
        if dep and dep not in card["departements"]:
            continue
        if words:
            hay = _fold(
                " ".join([card["title"] or "", card["buyer_name"] or "", card["text"] or ""])
            )
            if not all(w in hay for w in words):
                continue
        out.append(card)
    return out


def sort_cards(cards: list[dict[str, Any]], order: str) -> list[dict[str, Any]]:
    """``echeance`` (default): open notices by closest deadline, then those without a
    deadline (newest first), past deadlines last. ``recent``: newest publication first."""
    if order == "recent":
        return sorted(cards, key=lambda c: (c.get("published") or "", c["id"]), reverse=True)

    def key(card: dict[str, Any]) -> tuple[Any, ...]:
        days = card["days_left"]
        newest = "".join(chr(0x10FFFF - ord(ch)) for ch in (card.get("published") or ""))
        if days is None:
            return (1, 0, newest)
        if days < 0:
            return (2, -days, newest)
        return (0, days, newest)

    return sorted(cards, key=key)


def status_counts(cards: Iterable[Mapping[str, Any]]) -> dict[str, int]:
    """How many notices carry each mark (a notice counts once per status), and « aucun »."""
    counts: Counter[str] = Counter()
    for card in cards:
        if not card["marks"]:
            counts["aucun"] += 1
        for status in card["statuses"]:
            counts[status] += 1
    return {key: counts.get(key, 0) for key in [*STATUS_FR, "aucun"]}


# -- partner search -------------------------------------------------------------------------


def eligible_kinds(labels: Iterable[str]) -> frozenset[str] | None:
    """The structure kinds allowed to answer a unit carrying ``labels``: None when it is not
    reserved (anyone may), from the same table as the alerts (``eligibility.json``)."""
    rules = eligibility_rules()
    gates = [lb for lb in labels if lb in rules.labels and rules.labels[lb].gate]
    audiences = {a for lb in gates for a in rules.labels[lb].restricted_to or ()}
    if not audiences:
        return None
    return frozenset(k for a in audiences for k in rules.audiences[a])


def partners(
    members: Iterable[Member],
    *,
    labels: Iterable[str],
    cpv: Iterable[str],
    departements: Iterable[str],
    interested: set[int],
) -> list[dict[str, Any]]:
    """Members of the group whose structure may answer the lot and fits its sectors and
    territory; ``interested`` ids are flagged. A member without a structure kind is left
    out (nobody knows what it may answer); empty sectors or territory fit everything, and so
    does a lot whose place or CPV is unknown."""
    allowed = eligible_kinds(labels)
    cpv = [str(c) for c in cpv]
    deps = set(departements)
    out = []
    for member in members:
        kind = member.structure_kind
        if not kind or (allowed is not None and kind not in allowed):
            continue
        if (
            member.cpv_prefixes
            and cpv
            and not any(code.startswith(prefix) for code in cpv for prefix in member.cpv_prefixes)
        ):
            continue
        if member.departements and deps and not deps & set(member.departements):
            continue
        out.append({"member": member, "interested": member.id in interested})
    out.sort(key=lambda p: (not p["interested"], p["member"].name))
    return out
