"""eForms UBL notices (TED, BOAMP "famille JOUE") normalised into a :class:`Notice`.

One parser for every eForms root (``ContractNotice``, ``ContractAwardNotice``,
``PriorInformationNotice``, ``BusinessRegistrationInformationNotice``). Elements are matched on
their **local names only**: TED uses the OASIS UBL namespaces, BOAMP rebases them on
``urn:boamp:names:specification:ubl:schema:xsd:...``, and a tree rebuilt from BOAMP's JSON may
keep ``cbc:``-style prefixes in plain tag names. Every lookup goes through the small path helpers
below and tolerates absent elements.

The tree is walked a bounded number of times: the organisations and the result section are
indexed once, then each lot is read through direct child steps (no ``//`` search per lot), so the
cost grows with the size of the notice, not with lots x notice size.

Business terms follow the eForms SDK (``fields.json``); see ``docs/sources.md`` §3.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable
from datetime import UTC, datetime
from functools import lru_cache
from importlib import resources

from lxml import etree

from tenderwatch.core.records import (
    AWARD,
    CALL_FOR_TENDERS,
    CANCELLATION,
    CORRIGENDUM,
    OTHER,
    AwardCriterion,
    Lot,
    LotRules,
    Notice,
    NoticeLink,
    Signals,
)
from tenderwatch.crawler.normalise.common import (
    NormaliseError,
    clean_lot_title,
    clean_text,
    departement_from_postcode,
    join_sections,
    normalise_lot_id,
    parse_amount,
    parse_date,
    parse_datetime,
    parse_xml,
    unique,
)

__all__ = [
    "EFORMS_ROOTS",
    "departement_from_nuts",
    "iso639_1",
    "merge_signals",
    "normalise_eforms",
    "normalise_eforms_bytes",
    "normalise_publication_number",
    "ted_notice_url",
]

#: Local names of the eForms document roots.
EFORMS_ROOTS = frozenset(
    {
        "ContractNotice",
        "ContractAwardNotice",
        "PriorInformationNotice",
        "BusinessRegistrationInformationNotice",
    }
)

# Path from a notice root (or a criterion) to its eForms extension block.
_EXT = "UBLExtensions/UBLExtension/ExtensionContent/EformsExtension"

# ---------------------------------------------------------------------------------------------
# Local-name path helpers
# ---------------------------------------------------------------------------------------------

_LOCAL_CACHE: dict[str, str] = {}


def _ln(tag: object) -> str:
    """Local name of a tag: drops ``{namespace}`` and any ``prefix:`` kept in a plain tag."""
    if not isinstance(tag, str):
        return ""  # comments and processing instructions have a function as tag
    name = _LOCAL_CACHE.get(tag)
    if name is None:
        name = tag.rsplit("}", 1)[-1].rsplit(":", 1)[-1]
        # Bounded so that a hostile document with endless distinct tags cannot grow it forever.
        if len(_LOCAL_CACHE) < 4096:
            _LOCAL_CACHE[tag] = name
    return name


@lru_cache(maxsize=512)
def _steps(path: str) -> tuple[str, ...]:
    return tuple(path.split("/"))


def _children(el: etree._Element | None, name: str) -> list[etree._Element]:
    """Direct children of ``el`` whose local name is ``name``."""
    if el is None:
        return []
    return [c for c in el if _ln(c.tag) == name]


def _child(el: etree._Element | None, name: str) -> etree._Element | None:
    """First direct child of ``el`` with local name ``name``."""
    if el is None:
        return None
    for c in el:
        if _ln(c.tag) == name:
            return c
    return None


def _all(el: etree._Element | None, path: str) -> list[etree._Element]:
    """Every element reached from ``el`` by the ``/``-separated local-name path."""
    if el is None:
        return []
    nodes = [el]
    for step in _steps(path):
        nodes = [c for n in nodes for c in n if _ln(c.tag) == step]
        if not nodes:
            break
    return nodes


def _first(el: etree._Element | None, path: str) -> etree._Element | None:
    """First element reached by ``path`` (depth first, stops at the first match)."""
    if el is None:
        return None
    return _first_from(el, _steps(path), 0)


def _first_from(el: etree._Element, steps: tuple[str, ...], i: int) -> etree._Element | None:
    name = steps[i]
    last = i == len(steps) - 1
    for c in el:
        if _ln(c.tag) == name:
            if last:
                return c
            found = _first_from(c, steps, i + 1)
            if found is not None:
                return found
    return None


_SCRIPT_RE = re.compile(r"<(script|style)\b[^>]*>.*?</\1\s*>", re.IGNORECASE | re.DOTALL)


def _gather(el: etree._Element, out: list[str]) -> None:
    if el.text:
        out.append(el.text)
    for c in el:
        # Markup that survived as real elements: keep its words, but never a script's code.
        if isinstance(c.tag, str) and _ln(c.tag).lower() not in ("script", "style"):
            _gather(c, out)
        if c.tail:
            out.append(c.tail)


def plain_text(raw: str) -> str:
    """Readable text from a field value: script/style blocks dropped, then :func:`clean_text`."""
    if "<" in raw and ">" in raw:
        raw = _SCRIPT_RE.sub(" ", raw)
    return clean_text(raw)


def _text(el: etree._Element | None) -> str:
    """Clean text of an element (its whole subtree); ``""`` when absent."""
    if el is None:
        return ""
    if len(el) == 0:
        return plain_text(el.text or "")
    out: list[str] = []
    _gather(el, out)
    return plain_text("".join(out))


def _texts(el: etree._Element | None, path: str) -> list[str]:
    return [t for t in (_text(e) for e in _all(el, path)) if t]


def _pick(els: list[etree._Element], langs: tuple[str, ...]) -> etree._Element | None:
    """Among language variants of one field, the first in ``langs`` order, else the first."""
    if not els:
        return None
    if len(els) > 1:
        for lang in langs:
            for e in els:
                if (e.get("languageID") or "").upper() == lang:
                    return e
    return els[0]


def _lang_text(el: etree._Element | None, path: str, langs: tuple[str, ...]) -> str:
    return _text(_pick(_all(el, path), langs))


def _by_list(els: Iterable[etree._Element], list_name: str) -> list[etree._Element]:
    return [e for e in els if e.get("listName") == list_name]


# ---------------------------------------------------------------------------------------------
# Lookup tables
# ---------------------------------------------------------------------------------------------

# EU authority-table language codes (ISO 639-2/B style, upper case) to ISO 639-1.
_ISO639_1 = {
    "BUL": "bg", "CES": "cs", "DAN": "da", "DEU": "de", "ELL": "el", "ENG": "en", "EST": "et",
    "FIN": "fi", "FRA": "fr", "GLE": "ga", "HRV": "hr", "HUN": "hu", "ITA": "it", "LAV": "lv",
    "LIT": "lt", "MLT": "mt", "NLD": "nl", "POL": "pl", "POR": "pt", "RON": "ro", "SLK": "sk",
    "SLV": "sl", "SPA": "es", "SWE": "sv", "NOR": "no", "ISL": "is", "LTZ": "lb", "CAT": "ca",
    "EUS": "eu", "GLG": "gl", "MKD": "mk", "SRP": "sr", "SQI": "sq", "TUR": "tr", "UKR": "uk",
    "RUS": "ru", "BOS": "bs", "HYE": "hy", "KAT": "ka", "ZHO": "zh", "JPN": "ja",
}  # fmt: skip


def iso639_1(code: str | None) -> str | None:
    """``FRA`` → ``fr``; a two-letter code is lower-cased; unknown codes give ``None``."""
    text = (code or "").strip()
    if len(text) == 2 and text.isalpha():
        return text.lower()
    return _ISO639_1.get(text.upper())


# OPP-070 notice subtype → nature (SDK notice-types.json; docs/sources.md §3.4). Change notices
# keep the subtype of the notice they change, so efac:Changes is checked before this table.
_SUBTYPE_NATURE: dict[str, str] = {
    **{str(n): OTHER for n in range(1, 7)},  # pin-buyer, pin-only
    **{str(n): CALL_FOR_TENDERS for n in range(7, 25)},  # pin-rtl, pin-cfc, qu-sy, cn, subco
    **{str(n): OTHER for n in range(25, 29)},  # veat: a contract already awarded without call
    **{str(n): AWARD for n in range(29, 38)},  # can-standard, can-social, can-desg
    **{str(n): OTHER for n in range(38, 41)},  # can-modif
    "E1": OTHER,  # pre-market consultation
    "E2": OTHER,  # pin-only (below thresholds)
    "E3": CALL_FOR_TENDERS,  # voluntary contract notice
    "E4": AWARD,
    "E5": OTHER,  # completion
    "E6": OTHER,  # modification
    "CEI": CALL_FOR_TENDERS,  # call for expressions of interest
    "T01": OTHER,  # pin-tran
    "T02": AWARD,  # can-tran
    "X01": OTHER,
    "X02": OTHER,
}

# BT-02 notice type → nature, used when the subtype is missing (e.g. a tree rebuilt from JSON).
_NOTICE_TYPE_NATURE = {
    "pin-only": OTHER,
    "pin-buyer": OTHER,
    "pin-tran": OTHER,
    "pmc": OTHER,
    "pin-rtl": CALL_FOR_TENDERS,
    "pin-cfc-standard": CALL_FOR_TENDERS,
    "pin-cfc-social": CALL_FOR_TENDERS,
    "qu-sy": CALL_FOR_TENDERS,
    "cn-standard": CALL_FOR_TENDERS,
    "cn-social": CALL_FOR_TENDERS,
    "cn-desg": CALL_FOR_TENDERS,
    "subco": CALL_FOR_TENDERS,
    "cei": CALL_FOR_TENDERS,
    "can-standard": AWARD,
    "can-social": AWARD,
    "can-desg": AWARD,
    "can-tran": AWARD,
    "veat": OTHER,
    "can-modif": OTHER,
    "compl": OTHER,
    "brin-ecs": OTHER,
    "brin-eeig": OTHER,
    "corr": CORRIGENDUM,
}

# BT-140 change-corrig-justification codes that end the procedure (SDK codelist: "cancel" =
# Notice cancelled, "cancel-intent" = Cancellation intention). The other codes (cor-buy,
# cor-esen, cor-pub, info-release, update-add) are corrections.
_CANCEL_REASONS = frozenset({"cancel", "cancel-intent"})

# efac:LotResult/cbc:TenderResultCode (winner-selection-status) → Lot.result.
_RESULT = {"selec-w": "awarded", "clos-nw": "not_awarded", "open-nw": "open"}

# ProcurementAdditionalType lists that have a dedicated Signals field.
_OWN_FIELD_LISTS = frozenset({"strategic-procurement", "social-objective"})

_UUID_RE = re.compile(
    r"^([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})(?:-\d{1,3})?$",
    re.IGNORECASE,
)
_PUBNO_RE = re.compile(r"^0*(\d{1,9})-(\d{4})$")


def normalise_publication_number(value: str | None) -> str | None:
    """TED publication number without leading zeros: ``00047522-2024`` → ``47522-2024``."""
    m = _PUBNO_RE.match((value or "").strip())
    if not m:
        return None
    return f"{int(m.group(1))}-{m.group(2)}"


def ted_notice_url(pubno: str) -> str:
    """The French TED page of a published notice."""
    return f"https://ted.europa.eu/fr/notice/-/detail/{pubno}"


# ---------------------------------------------------------------------------------------------
# NUTS-3 → département
# ---------------------------------------------------------------------------------------------

_NUTS: dict[str, str] | None = None


def _nuts_table() -> dict[str, str]:
    """``nuts3 → département`` from the package CSV, read once per process."""
    global _NUTS
    if _NUTS is None:
        table: dict[str, str] = {}
        raw = (
            resources.files("tenderwatch.data")
            .joinpath("nuts3_departements.csv")
            .read_text(encoding="utf-8")
        )
        for row in csv.DictReader(io.StringIO(raw)):
            table[row["nuts3"].strip().upper()] = row["departement"].strip()
        # A NUTS-1/2 code covering a single département (e.g. FRY4 La Réunion) maps too;
        # a region spanning several départements does not (it would widen alerts silently).
        spans: dict[str, set[str]] = {}
        for code, dep in table.items():
            for n in range(2, len(code)):
                spans.setdefault(code[:n], set()).add(dep)
        for prefix, deps in spans.items():
            if len(deps) == 1 and prefix not in table:
                table[prefix] = next(iter(deps))
        _NUTS = table
    return _NUTS


def departement_from_nuts(code: str | None) -> str | None:
    """Département of a French NUTS-3 code (2021, 2016 and 2013 codes): ``FRJ12`` → ``30``."""
    text = (code or "").strip().upper()
    if not text.startswith("FR"):
        return None
    return _nuts_table().get(text)


# ---------------------------------------------------------------------------------------------
# Signals
# ---------------------------------------------------------------------------------------------


def merge_signals(parts: Iterable[Signals]) -> Signals:
    """Union of lot signals: lists merged without repeats, criteria concatenated,
    ``reserved_execution`` ``yes`` if any lot says yes, else ``no`` if any says no."""
    out = Signals()
    executions: list[str] = []
    reserved: list[bool] = []
    flags: list[bool] = []
    for s in parts:
        out.reserved_codes += s.reserved_codes
        out.social_objectives += s.social_objectives
        out.strategic_procurement += s.strategic_procurement
        out.strategic_descriptions += s.strategic_descriptions
        out.execution_conditions += s.execution_conditions
        out.award_criteria += s.award_criteria
        for key, values in s.codes.items():
            out.codes[key] = unique(out.codes.get(key, []) + values)
        if s.reserved_execution:
            executions.append(s.reserved_execution)
        if s.reserved is not None:
            reserved.append(s.reserved)
        if s.social_criteria_flag is not None:
            flags.append(s.social_criteria_flag)
    out.reserved_codes = unique(out.reserved_codes)
    out.social_objectives = unique(out.social_objectives)
    out.strategic_procurement = unique(out.strategic_procurement)
    out.strategic_descriptions = unique(out.strategic_descriptions)
    out.execution_conditions = unique(out.execution_conditions)
    for value in ("yes", "no", "not-known"):
        if value in executions:
            out.reserved_execution = value
            break
    if reserved:
        out.reserved = any(reserved)
    if flags:
        out.social_criteria_flag = any(flags)
    return out


def _lot_signals(lot: etree._Element, langs: tuple[str, ...]) -> Signals:
    sig = Signals()
    terms = _child(lot, "TenderingTerms")
    # BT-71 reserved participation.
    reserved = [
        _text(e)
        for e in _by_list(
            _all(
                terms,
                "TendererQualificationRequest/SpecificTendererRequirement/"
                "TendererRequirementTypeCode",
            ),
            "reserved-procurement",
        )
    ]
    sig.reserved_codes = unique([c for c in reserved if c and c != "none"])
    if sig.reserved_codes:
        sig.reserved = True
    elif "none" in reserved:
        sig.reserved = False  # the form explicitly says "not reserved"
    # BT-736 reserved execution, OPT-060 conditions + BT-70 text, and other requirement codes.
    for req in _children(terms, "ContractExecutionRequirement"):
        code_el = _child(req, "ExecutionRequirementCode")
        if code_el is None:
            continue
        list_name = code_el.get("listName") or ""
        code = _text(code_el)
        if list_name == "reserved-execution":
            sig.reserved_execution = code or None
        elif list_name == "conditions":
            if code:
                sig.codes.setdefault("conditions", []).append(code)
            desc = _lang_text(req, "Description", langs)
            if desc:
                sig.execution_conditions.append(desc)
    # BT-06 / BT-777 strategic procurement, BT-775 social objectives, BT-774, BT-754...
    project = _child(lot, "ProcurementProject")
    for add in _children(project, "ProcurementAdditionalType"):
        code_el = _child(add, "ProcurementTypeCode")
        list_name = (code_el.get("listName") or "") if code_el is not None else ""
        code = _text(code_el)
        if list_name == "strategic-procurement":
            if code and code != "none":
                sig.strategic_procurement.append(code)
            desc = _lang_text(add, "ProcurementType", langs)
            if desc:
                sig.strategic_descriptions.append(desc)
        elif list_name == "social-objective":
            if code:
                sig.social_objectives.append(code)
        elif code and list_name:
            sig.codes.setdefault(list_name, []).append(code)
    # BT-539/734/540/541 award criteria.
    for crit in _all(terms, "AwardingTerms/AwardingCriterion/SubordinateAwardingCriterion"):
        weight = None
        for param in _all(crit, _EXT + "/AwardCriterionParameter"):
            if _by_list(_children(param, "ParameterCode"), "number-weight"):
                weight = parse_amount(_text(_child(param, "ParameterNumeric")))
                break
        sig.award_criteria.append(
            AwardCriterion(
                type=_text(_child(crit, "AwardingCriterionTypeCode")) or None,
                name=_lang_text(crit, "Name", langs) or None,
                description=_lang_text(crit, "Description", langs) or None,
                weight=weight,
            )
        )
    sig.strategic_procurement = unique(sig.strategic_procurement)
    sig.social_objectives = unique(sig.social_objectives)
    sig.strategic_descriptions = unique(sig.strategic_descriptions)
    sig.execution_conditions = unique(sig.execution_conditions)
    sig.codes = {k: unique(v) for k, v in sig.codes.items()}
    return sig


def format_criterion(c: AwardCriterion) -> str:
    """One award criterion as a readable line: ``Qualité (quality, 40 %) : ...``."""
    meta = [m for m in (c.type if c.name else None, _weight(c.weight)) if m]
    head = c.name or c.type or ""
    if meta:
        head = f"{head} ({', '.join(meta)})".strip()
    if c.description:
        return f"{head} : {c.description}" if head else c.description
    return head


def _weight(value: float | None) -> str | None:
    return f"{value:g} %" if value is not None else None


# ---------------------------------------------------------------------------------------------
# Dates
# ---------------------------------------------------------------------------------------------


def _sort_key(value: str) -> datetime:
    try:
        dt = datetime.fromisoformat(value)
    except ValueError:
        return datetime.max.replace(tzinfo=UTC)
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


def earliest(values: Iterable[str | None]) -> str | None:
    """Earliest of ISO dates/datetimes (offsets taken into account)."""
    present = [v for v in values if v]
    return min(present, key=_sort_key) if present else None


def _period_deadline(process: etree._Element | None) -> str | None:
    # BT-131 tenders, else BT-1311 requests to participate, else BT-630 expressions of interest.
    for path in (
        "TenderSubmissionDeadlinePeriod",
        "ParticipationRequestReceptionPeriod",
        _EXT + "/InterestExpressionReceptionPeriod",
    ):
        period = _first(process, path)
        if period is not None:
            value = parse_datetime(
                _text(_child(period, "EndDate")), _text(_child(period, "EndTime"))
            )
            if value:
                return value
    return None


# ---------------------------------------------------------------------------------------------
# Results (CAN): LotResult → LotTender → TenderingParty → Tenderer → Organization
# ---------------------------------------------------------------------------------------------


class _Results:
    """Index of ``efac:NoticeResult`` built once per notice."""

    def __init__(
        self,
        result: etree._Element | None,
        org_names: dict[str, str],
        org_sirets: dict[str, str] | None = None,
    ) -> None:
        self.by_lot: dict[str, tuple[list[str], list[str]]] = {}
        #: Per lot: the winners' SIRET ("" when not given), award dates, winning amounts.
        self.ids: dict[str, list[str]] = {}
        self.dates: dict[str, list[str]] = {}
        self.amounts: dict[str, list[float | None]] = {}
        org_sirets = org_sirets or {}
        if result is None:
            return
        party_orgs: dict[str, list[str]] = {}
        for party in _children(result, "TenderingParty"):
            pid = _text(_child(party, "ID"))
            party_orgs[pid] = [_text(_child(t, "ID")) for t in _children(party, "Tenderer")]
        tender_party: dict[str, str] = {}
        tender_rank: dict[str, str] = {}
        tender_amount: dict[str, float | None] = {}
        for tender in _children(result, "LotTender"):
            tid = _text(_child(tender, "ID"))
            tender_party[tid] = _text(_first(tender, "TenderingParty/ID"))
            tender_rank[tid] = _text(_child(tender, "RankCode"))
            # BT-720, the winning tender's value.
            tender_amount[tid] = parse_amount(
                _text(_first(tender, "LegalMonetaryTotal/PayableAmount"))
            )
        # BT-1451 winner decision date (else BT-145 conclusion date) of each tender's contract.
        tender_date: dict[str, str] = {}
        for contract in _children(result, "SettledContract"):
            day = parse_date(_text(_child(contract, "AwardDate"))[:10]) or parse_date(
                _text(_child(contract, "IssueDate"))[:10]
            )
            for ref in _all(contract, "LotTender/ID"):
                if day:
                    tender_date.setdefault(_text(ref), day)
        # Tenders that led to a contract: LotResult may also list ranked losing tenders.
        contracted = {
            _text(ref)
            for contract in _children(result, "SettledContract")
            for ref in _all(contract, "LotTender/ID")
        }
        for lot_result in _children(result, "LotResult"):
            lot_ref = _first(lot_result, "TenderLot/ID")
            if _scheme(lot_ref) == "LotsGroup":
                continue  # GLO-0001 would otherwise normalise to lot "1"
            lot_id = normalise_lot_id(_text(lot_ref))
            status = _RESULT.get(_text(_child(lot_result, "TenderResultCode")), "")
            refs = [_text(r) for r in _all(lot_result, "LotTender/ID")]
            if contracted:
                wins = [t for t in refs if t in contracted]
            else:
                wins = [t for t in refs if tender_rank.get(t, "") in ("", "1")]
            names: list[str] = []
            if status in ("awarded", ""):
                for tid in wins:
                    for org in party_orgs.get(tender_party.get(tid, ""), []):
                        names.append(org_names.get(org, ""))
                        self.ids.setdefault(lot_id, []).append(org_sirets.get(org, ""))
                    if tid in tender_date:
                        self.dates.setdefault(lot_id, []).append(tender_date[tid])
                    self.amounts.setdefault(lot_id, []).append(tender_amount.get(tid))
            statuses, winners = self.by_lot.setdefault(lot_id, ([], []))
            if status:
                statuses.append(status)
            winners.extend(names)

    def for_lot(self, lot_id: str) -> tuple[str | None, list[str]]:
        statuses, winners = self.by_lot.get(lot_id, ([], []))
        result = None
        for value in ("awarded", "open", "not_awarded"):
            if value in statuses:
                result = value
                break
        if winners and result is None:
            result = "awarded"
        return result, unique(winners)

    def award_facts(self, lot_id: str) -> tuple[list[str], str | None, float | None]:
        """Winners' SIRET (aligned with the winners, only when one is given), the earliest
        award date and the winning tender's value (one winning tender only: several are a
        framework's holders, whose values are not one amount)."""
        ids = self.ids.get(lot_id, [])
        dates = sorted(self.dates.get(lot_id, []))
        amounts = self.amounts.get(lot_id, [])
        value = amounts[0] if len(amounts) == 1 else None
        return (ids if any(ids) else []), (dates[0] if dates else None), value


# ---------------------------------------------------------------------------------------------
# Notice
# ---------------------------------------------------------------------------------------------


def _find_root(root: etree._Element) -> etree._Element:
    if _ln(root.tag) in EFORMS_ROOTS:
        return root
    # A wrapper such as BOAMP's <ann><DONNEES><EFORMS><ContractNotice>: look a few levels down.
    level = [root]
    for _ in range(4):
        level = [c for n in level for c in n if isinstance(c.tag, str)]
        for c in level:
            if _ln(c.tag) in EFORMS_ROOTS:
                return c
    raise NormaliseError("unknown_root", _ln(root.tag) or "no element")


def _scheme(id_el: etree._Element | None) -> str:
    if id_el is None:
        return ""
    scheme = id_el.get("schemeName")
    if scheme:
        return scheme
    # A tree rebuilt without attributes: the identifier's prefix says what it is.
    prefix = _text(id_el)[:4].upper()
    return {"LOT-": "Lot", "GLO-": "LotsGroup", "PAR-": "Part"}.get(prefix, "")


def _links(
    changes: etree._Element | None, root: etree._Element, lots: list[etree._Element]
) -> list[NoticeLink]:
    links: list[NoticeLink] = []
    seen: set[tuple[str, str | None, str | None]] = set()

    def add(kind: str, ref: str) -> None:
        ref = ref.strip()
        m = _UUID_RE.match(ref)
        pubno = normalise_publication_number(ref)
        if m:
            # BT-758 is "<BT-701 UUID>-<BT-757 version>": keep the UUID, which equals the
            # changed notice's own BT-701 (Notice.notice_uuid).
            link = NoticeLink(kind=kind, target_uuid=m.group(1))
        elif pubno:
            link = NoticeLink(kind=kind, target=f"ted:{pubno}")
        else:
            return
        key = (link.kind, link.target, link.target_uuid)
        if key not in seen:
            seen.add(key)
            links.append(link)

    for ref in _all(changes, "ChangedNoticeIdentifier"):
        add("corrects", _text(ref))
    # OPP-090 previous notice (procedure) and BT-125 previous planning notice (lots).
    for ref in _all(root, "TenderingProcess/NoticeDocumentReference/ID"):
        add("follows", _text(ref))
    for lot in lots:
        for ref in _all(lot, "TenderingProcess/NoticeDocumentReference/ID"):
            add("follows", _text(ref))
    return links


def _nature(changes: etree._Element | None, subtype: str, notice_type: str) -> str:
    if changes is not None:
        reasons = {_text(e) for e in _all(changes, "ChangeReason/ReasonCode")}
        return CANCELLATION if reasons & _CANCEL_REASONS else CORRIGENDUM
    if subtype in _SUBTYPE_NATURE:
        return _SUBTYPE_NATURE[subtype]
    return _NOTICE_TYPE_NATURE.get(notice_type, OTHER)


def _siret(company_id: str) -> str | None:
    digits = re.sub(r"[\s.\u00a0\u202f]", "", company_id)
    return digits if re.fullmatch(r"\d{14}", digits) else None


def _nuts_departements(codes: Iterable[str]) -> list[str]:
    return unique([d for d in (departement_from_nuts(c) for c in codes) if d])


def _int(value: str) -> int | None:
    amount = parse_amount(value)
    return int(amount) if amount is not None else None


def normalise_eforms(
    root: etree._Element,
    *,
    source: str,
    source_id: str | None = None,
    url: str | None = None,
) -> Notice:
    """Normalise an already parsed eForms notice.

    ``root`` is the notice element (or a wrapper holding it a few levels down). ``source_id``
    defaults to the TED publication number (OPP-010) and then to ``<BT-701 UUID>-<version>``.
    Raises :class:`NormaliseError` when no eForms root is found or no identifier exists.
    """
    root = _find_root(root)
    root_name = _ln(root.tag)
    ext = _first(root, _EXT)

    subtype = _text(_first(ext, "NoticeSubType/SubTypeCode"))
    notice_type = _text(_child(root, "NoticeTypeCode"))
    publication = _child(ext, "Publication")
    pubno = normalise_publication_number(_text(_child(publication, "NoticePublicationID")))
    notice_uuid = _text(_child(root, "ID")) or None
    version = _text(_child(root, "VersionID"))
    procedure_uuid = _text(_child(root, "ContractFolderID")) or None
    changes = _child(ext, "Changes")

    if not source_id:
        if pubno:
            source_id = pubno
        elif notice_uuid:
            source_id = f"{notice_uuid}-{version}" if version else notice_uuid
        else:
            raise NormaliseError("missing_identifier", "no publication number nor notice UUID")

    # Languages: French first whenever the notice carries it, else the notice language.
    notice_lang = _text(_child(root, "NoticeLanguageCode")).upper()
    langs = ("FRA", notice_lang) if notice_lang and notice_lang != "FRA" else ("FRA",)

    # Organisations indexed once (OPT-200 → company).
    companies: dict[str, etree._Element] = {}
    for company in _all(ext, "Organizations/Organization/Company"):
        org_id = _text(_first(company, "PartyIdentification/ID"))
        if org_id:
            companies.setdefault(org_id, company)
    org_names = {k: _lang_text(c, "PartyName/Name", langs) for k, c in companies.items()}
    org_sirets = {
        k: _siret(_text(_first(c, "PartyLegalEntity/CompanyID"))) or ""
        for k, c in companies.items()
    }

    # Buyer (OPT-300 reference of the first contracting party).
    buyer = None
    for ref in _all(root, "ContractingParty/Party/PartyIdentification/ID"):
        buyer = companies.get(_text(ref))
        if buyer is not None:
            break
    buyer_name = _lang_text(buyer, "PartyName/Name", langs) or None
    buyer_siret = _siret(_text(_first(buyer, "PartyLegalEntity/CompanyID")))

    project = _child(root, "ProcurementProject")
    title_el = _pick(_all(project, "Name"), langs)
    title = " ".join(_text(title_el).split("\n"))  # a title is one line
    language = iso639_1(title_el.get("languageID") if title_el is not None else None)
    language = language or iso639_1(notice_lang)
    description = _lang_text(project, "Description", langs)
    note = _lang_text(project, "Note", langs)

    proc_nuts = [_text(e) for e in _all(project, "RealizedLocation/Address/CountrySubentityCode")]
    cpv = _texts(project, "MainCommodityClassification/ItemClassificationCode") + _texts(
        project, "AdditionalCommodityClassification/ItemClassificationCode"
    )
    amount_el = _first(project, "RequestedTenderTotal/EstimatedOverallContractAmount")
    estimated_value = parse_amount(_text(amount_el))
    currency = amount_el.get("currencyID") if amount_el is not None else None

    process = _child(root, "TenderingProcess")
    procedure = _text(_child(process, "ProcedureCode")) or None
    distribution = _first(root, "TenderingTerms/LotDistribution")
    part_presentation = _text(_child(process, "PartPresentationCode"))
    lot_rules = LotRules(
        max_lots_submitted=_int(_text(_child(distribution, "MaximumLotsSubmittedNumeric"))),
        max_lots_awarded=_int(_text(_child(distribution, "MaximumLotsAwardedNumeric"))),
        all_lots_required=(part_presentation == "all") if part_presentation else None,
    )

    # Lots: BT-137 with schemeName Lot; PIN-only notices describe "parts" instead.
    # An identifier without scheme nor known prefix counts as a lot rather than being lost.
    all_lots = _children(root, "ProcurementProjectLot")
    schemes = [_scheme(_child(e, "ID")) for e in all_lots]
    lot_els = [e for e, s in zip(all_lots, schemes, strict=True) if s in ("Lot", "")]
    if not lot_els:
        lot_els = [e for e, s in zip(all_lots, schemes, strict=True) if s == "Part"]

    results = _Results(_child(ext, "NoticeResult"), org_names, org_sirets)
    lots: list[Lot] = []
    lot_sections: list[tuple[str, str]] = []
    # Lines already in the text, per kind of section: "" holds titles and descriptions.
    seen_lines: dict[str, set[str]] = {"": {title, description}}
    all_nuts = list(proc_nuts)
    for lot_el in lot_els:
        lot_id = normalise_lot_id(_text(_child(lot_el, "ID")))
        lot_project = _child(lot_el, "ProcurementProject")
        lot_nuts = [
            _text(e) for e in _all(lot_project, "RealizedLocation/Address/CountrySubentityCode")
        ]
        all_nuts += lot_nuts
        lot_amount = _first(lot_project, "RequestedTenderTotal/EstimatedOverallContractAmount")
        if currency is None and lot_amount is not None:
            currency = lot_amount.get("currencyID")
        signals = _lot_signals(lot_el, langs)
        result, winners = results.for_lot(lot_id)
        winner_ids, award_date, awarded_value = results.award_facts(lot_id)
        if len(winner_ids) != len(winners):  # a winner named twice: ids cannot be aligned
            winner_ids = []
        lot = Lot(
            lot_id=lot_id,
            title=clean_lot_title(_lang_text(lot_project, "Name", langs), lot_id),
            description=_lang_text(lot_project, "Description", langs) or None,
            cpv=unique(
                _texts(lot_project, "MainCommodityClassification/ItemClassificationCode")
                + _texts(lot_project, "AdditionalCommodityClassification/ItemClassificationCode")
            ),
            estimated_value=parse_amount(_text(lot_amount)),
            deadline=_period_deadline(_child(lot_el, "TenderingProcess")),
            departements=_nuts_departements(lot_nuts),
            signals=signals,
            result=result,
            winners=winners,
            winner_ids=winner_ids,
            award_date=award_date,
            awarded_value=awarded_value,
        )
        lots.append(lot)
        cpv += lot.cpv
        lot_sections += _lot_sections(lot, lot_el, lot_project, langs, seen_lines)

    departements = _nuts_departements(all_nuts)
    if not departements and buyer is not None:
        # No French place of performance: fall back on the buyer's own address.
        address = _child(buyer, "PostalAddress")
        if _text(_first(address, "Country/IdentificationCode")) == "FRA":
            dep = departement_from_postcode(_text(_child(address, "PostalZone")))
            dep = dep or departement_from_nuts(_text(_child(address, "CountrySubentityCode")))
            departements = [dep] if dep else []

    change_texts = [
        t
        for t in (
            _lang_text(changes, "ChangeReason/ReasonDescription", langs),
            *(_lang_text(c, "ChangeDescription", langs) for c in _children(changes, "Change")),
        )
        if t
    ]
    sections = [
        ("Titre", title),
        ("Modifications", "\n".join(unique(change_texts))),
        ("Description", description),
        ("Caractéristiques de la procédure", _lang_text(process, "Description", langs)),
        ("Informations complémentaires", note),
        *lot_sections,
    ]

    published = parse_date(_text(_child(publication, "PublicationDate"))) or parse_date(
        _text(_child(root, "IssueDate"))
    )
    if pubno and (source == "ted" or not url):
        url = ted_notice_url(pubno)

    return Notice(
        id=f"{source}:{source_id}",
        source=source,
        source_id=source_id,
        form=f"eforms/{subtype}" if subtype else f"eforms/{root_name}",
        title=title,
        nature=_nature(changes, subtype, notice_type),
        published=published,
        deadline=earliest(lot.deadline for lot in lots) or _period_deadline(process),
        buyer_name=buyer_name,
        buyer_siret=buyer_siret,
        departements=departements,
        cpv=unique(cpv),
        procedure=procedure,
        estimated_value=estimated_value,
        currency=currency,
        url=url,
        language=language,
        text=join_sections(sections),
        lots=lots,
        lot_rules=lot_rules,
        signals=merge_signals(lot.signals for lot in lots),
        links=_links(changes, root, lot_els),
        procedure_uuid=procedure_uuid,
        notice_uuid=notice_uuid,
        ted_publication_number=pubno,
        winners=unique([w for lot in lots for w in lot.winners]),
    )


def fresh_sections(
    label: str, kinds: list[tuple[str, list[str]]], seen: dict[str, set[str]]
) -> list[tuple[str, str]]:
    """``(heading, body)`` sections of one lot labelled ``label`` ("Lot 3"), one per kind of
    heading; a line already written under the same kind for an earlier lot is left out."""
    out: list[tuple[str, str]] = []
    for kind, lines in kinds:
        done = seen.setdefault(kind, set())
        fresh = [line for line in lines if line and line not in done]
        done.update(fresh)
        if fresh:
            out.append((f"{label} – {kind}" if kind else label, "\n".join(fresh)))
    return out


def _lot_sections(
    lot: Lot,
    lot_el: etree._Element,
    project: etree._Element | None,
    langs: tuple[str, ...],
    seen: dict[str, set[str]],
) -> list[tuple[str, str]]:
    """Text sections of one lot, headed "Lot N". A line already written under the same kind
    of heading (the procedure title repeated as lot title, the same conditions on 100 lots) is
    written once, so the text stays proportional to what the notice really says."""
    label = f"Lot {lot.lot_id}"
    sig = lot.signals
    selection = _all(lot_el, "TenderingTerms/" + _EXT + "/SelectionCriteria")
    kinds: list[tuple[str, list[str]]] = [
        ("", [t for t in (lot.title, lot.description) if t]),
        ("Conditions d'exécution", sig.execution_conditions),
        ("Achat stratégique", sig.strategic_descriptions),
        ("Critères d'attribution", [format_criterion(c) for c in sig.award_criteria]),
        (
            "Critères de sélection",
            [
                t
                for s in selection
                for t in (_lang_text(s, "Name", langs), _lang_text(s, "Description", langs))
                if t
            ],
        ),
        ("Informations complémentaires", [_lang_text(project, "Note", langs)]),
    ]
    return fresh_sections(label, kinds, seen)


def normalise_eforms_bytes(
    body: bytes,
    *,
    source: str = "ted",
    source_id: str | None = None,
    url: str | None = None,
) -> Notice:
    """Parse eForms XML bytes safely (no entities, no network) and normalise them."""
    if not body or not body.strip():
        raise NormaliseError("empty_payload")
    return normalise_eforms(parse_xml(body), source=source, source_id=source_id, url=url)
