"""TED XML schema R2.0.9 (``TED_EXPORT``, forms F01…F25, until early 2024) → :class:`Notice`.

An EXP file holds the original form and, sometimes, machine translations: the form marked
``CATEGORY="ORIGINAL"`` is read (the French one when a notice has several originals, as Swiss
notices do). Matching is on local names, like the eForms parser, because the forms carry a
default namespace and NUTS elements a versioned prefix (``n2016:NUTS``).

Social signals map onto the eForms vocabulary so that both formats answer the same questions
(docs/sources.md §2.5; OP-TED/ted-xml-data-converter): RESTRICTED_SHELTERED_WORKSHOP →
``res-ws``, RESERVED_ORGANISATIONS_SERVICE_MISSION → ``res-pub-ser``, RESTRICTED_SHELTERED_PROGRAM
→ reserved execution ``yes``, PERFORMANCE_CONDITIONS → execution conditions (+ code
``conditions: performance``). These are procedure-level in R2.0.9, so every lot carries them.
"""

from __future__ import annotations

import re

from lxml import etree

from tenderwatch.core.records import (
    AWARD,
    CALL_FOR_TENDERS,
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
    departement_from_postcode,
    format_money,
    join_sections,
    normalise_lot_id,
    parse_amount,
    parse_date,
    parse_datetime,
    parse_xml,
    unique,
)
from tenderwatch.crawler.normalise.eforms import (
    _all,
    _child,
    _children,
    _first,
    _ln,
    _text,
    departement_from_nuts,
    format_criterion,
    fresh_sections,
    iso639_1,
    merge_signals,
    ted_notice_url,
)

__all__ = ["normalise_ted_r209", "normalise_ted_r209_bytes", "publication_number"]

# Form number → nature. F21/F22/F23 (light regime, utilities social, concessions social) can be
# a PIN, a contract notice or an award: NOTICE/@TYPE decides (see _nature).
_FORM_NATURE = {
    "F01": OTHER,  # prior information (unless used as a call for competition)
    "F04": OTHER,  # periodic indicative (same)
    "F08": OTHER,  # buyer profile
    "F02": CALL_FOR_TENDERS,
    "F05": CALL_FOR_TENDERS,
    "F07": CALL_FOR_TENDERS,  # qualification system
    "F12": CALL_FOR_TENDERS,  # design contest
    "F24": CALL_FOR_TENDERS,  # concession notice
    "F21": CALL_FOR_TENDERS,
    "F22": CALL_FOR_TENDERS,
    "F23": CALL_FOR_TENDERS,
    "F03": AWARD,
    "F06": AWARD,
    "F13": AWARD,  # design contest results
    "F15": AWARD,  # voluntary ex ante transparency
    "F25": AWARD,  # concession award
    "F14": CORRIGENDUM,
    "F20": OTHER,  # modification during the term of a contract
}

# PROCEDURE/PT_* element → eForms BT-105 code, so both formats share one vocabulary.
_PROCEDURE = {
    "PT_OPEN": "open",
    "PT_RESTRICTED": "restricted",
    "PT_COMPETITIVE_NEGOTIATION": "neg-w-call",
    "PT_NEGOTIATED_WITH_PRIOR_CALL": "neg-w-call",
    "PT_COMPETITIVE_DIALOGUE": "comp-dial",
    "PT_INNOVATION_PARTNERSHIP": "innovation",
    "PT_AWARD_CONTRACT_WITHOUT_CALL": "neg-wo-call",
    "PT_AWARD_CONTRACT_WITHOUT_PUBLICATION": "neg-wo-call",
    "PT_NEGOTIATED_WITHOUT_PUBLICATION": "neg-wo-call",
    "PT_AWARD_CONTRACT_WITH_PRIOR_PUBLICATION": "oth-single",
    "PT_INVOLVING_NEGOTIATION": "oth-mult",
}

# AC children → eForms award-criterion-type (None where the form does not say).
_CRITERION_TYPE = {
    "AC_QUALITY": "quality",
    "AC_COST": "cost",
    "AC_PRICE": "price",
    "AC_CRITERIA": None,  # defence directive 2009/81: criteria without a type
}

_NO_DOC_RE = re.compile(r"(\d{4})\s*/\s*S\s*\d+\s*-\s*0*(\d+)")
_DOC_ID_RE = re.compile(r"^0*(\d+)-(\d{4})$")
_NUMBER_RE = re.compile(r"\d+(?:[.,]\d+)?")


def publication_number(no_doc_ojs: str | None) -> str | None:
    """``2019/S 055-130148`` → ``130148-2019`` (leading zeros dropped, as TED writes them)."""
    m = _NO_DOC_RE.search(no_doc_ojs or "")
    return f"{int(m.group(2))}-{m.group(1)}" if m else None


def _doc_id(value: str | None) -> str | None:
    m = _DOC_ID_RE.match((value or "").strip())
    return f"{int(m.group(1))}-{m.group(2)}" if m else None


def _ptext(el: etree._Element | None) -> str:
    """Text of a block made of ``<P>`` paragraphs, one line per paragraph."""
    if el is None:
        return ""
    paragraphs = [p for p in el.iter() if _ln(p.tag) == "P"]
    if paragraphs:
        return "\n".join(t for t in (_text(p) for p in paragraphs) if t)
    # Structured values (F14 OLD_VALUE/DATE + TIME, CPV_MAIN/CPV_CODE@CODE): one word each.
    leaves = [e for e in el.iter() if isinstance(e.tag, str) and len(e) == 0]
    if leaves == [el]:
        return _text(el)
    return " ".join(t for t in (_text(e) or _code(e) for e in leaves) if t)


def _code(el: etree._Element | None, attr: str = "CODE") -> str:
    return (el.get(attr) or "").strip() if el is not None else ""


def _pick_form(root: etree._Element) -> etree._Element:
    section = _child(root, "FORM_SECTION")
    forms = [f for f in section if isinstance(f.tag, str)] if section is not None else []
    # NOTICE_UUID (2020+) sits beside the forms; a form is what carries a FORM/CATEGORY.
    forms = [f for f in forms if f.get("CATEGORY") or f.get("FORM") or len(f)]
    if not forms:
        raise NormaliseError("no_form", "TED_EXPORT without a form")
    originals = [f for f in forms if f.get("CATEGORY") == "ORIGINAL"] or forms
    for f in originals:
        if (f.get("LG") or "").upper() == "FR":
            return f
    return originals[0]


def _form_code(form: etree._Element) -> str:
    code = form.get("FORM")
    if code:
        return code.strip()
    m = re.match(r"(F\d\d)_", _ln(form.tag))
    return m.group(1) if m else _ln(form.tag)


def _nature(code: str, form: etree._Element) -> str:
    notice_type = _code(_child(form, "NOTICE"), "TYPE").upper()
    if code in ("F01", "F04", "F21", "F22", "F23") and notice_type:
        if "AWARD" in notice_type:
            return AWARD
        if "CALL_COMPETITION" in notice_type or notice_type == "CONTRACT":
            return CALL_FOR_TENDERS
        if notice_type.startswith("QSU"):
            return CALL_FOR_TENDERS  # qualification system, like F07
        return OTHER  # PRI_ONLY, PER_ONLY, ...: information only
    if code in ("F21", "F22", "F23") and _child(form, "AWARD_CONTRACT") is not None:
        return AWARD
    return _FORM_NATURE.get(code, OTHER)


def _weight(text: str) -> float | None:
    m = _NUMBER_RE.search(text)
    return parse_amount(m.group(0)) if m else None


def _criteria(ac: etree._Element | None) -> list[AwardCriterion]:
    out: list[AwardCriterion] = []
    for item in ac if ac is not None else []:
        name = _ln(item.tag)
        if name in _CRITERION_TYPE:
            label = _text(_child(item, "AC_CRITERION"))
            weighting = _text(_child(item, "AC_WEIGHTING"))
            weight = _weight(weighting)
            out.append(
                AwardCriterion(
                    type=_CRITERION_TYPE[name],
                    name=label or None,
                    # A weighting in words ("par ordre décroissant") is kept as text.
                    description=weighting if weighting and weight is None else None,
                    weight=weight,
                )
            )
        elif name == "AC_CRITERION":  # concessions: criteria listed in order, no weight
            label = _text(item)
            if label:
                out.append(AwardCriterion(name=label))
    return out


def _lefti_signals(lefti: etree._Element | None) -> Signals:
    sig = Signals()
    if lefti is None:
        return sig
    names = {_ln(c.tag) for c in lefti}
    if "RESTRICTED_SHELTERED_WORKSHOP" in names:
        sig.reserved_codes.append("res-ws")
    if "RESERVED_ORGANISATIONS_SERVICE_MISSION" in names:
        sig.reserved_codes.append("res-pub-ser")
    if sig.reserved_codes:
        sig.reserved = True
    if "RESTRICTED_SHELTERED_PROGRAM" in names:
        sig.reserved_execution = "yes"
    conditions = _child(lefti, "PERFORMANCE_CONDITIONS")
    if conditions is not None:
        sig.codes["conditions"] = ["performance"]
        text = _ptext(conditions)
        if text:
            sig.execution_conditions.append(text)
    return sig


def _copy_signals(base: Signals, criteria: list[AwardCriterion]) -> Signals:
    return Signals(
        reserved=base.reserved,
        reserved_codes=list(base.reserved_codes),
        reserved_execution=base.reserved_execution,
        execution_conditions=list(base.execution_conditions),
        award_criteria=criteria,
        codes={k: list(v) for k, v in base.codes.items()},
    )


def _links(code: str, notice_data: etree._Element | None, form: etree._Element) -> list[NoticeLink]:
    kind = "corrects" if code == "F14" else "follows"
    refs = [_text(e) for e in _all(notice_data, "REF_NOTICE/NO_DOC_OJS")]
    refs += [_text(e) for e in _all(form, "PROCEDURE/NOTICE_NUMBER_OJ")]
    refs += [_text(e) for e in _all(form, "COMPLEMENTARY_INFO/NOTICE_NUMBER_OJ")]
    targets = unique([p for p in (publication_number(r) for r in refs) if p])
    return [NoticeLink(kind=kind, target=f"ted:{t}") for t in targets]


def _changes_text(form: etree._Element) -> str:
    """F14 CHANGES as readable lines: where, old value, new value, then the free text."""
    changes = _child(form, "CHANGES")
    if changes is None:
        return ""
    lines: list[str] = []
    for change in _children(changes, "CHANGE"):
        where = _child(change, "WHERE")
        lot_no = _text(_child(where, "LOT_NO"))
        place = " ".join(
            t
            for t in (
                _text(_child(where, "SECTION")),
                f"lot {lot_no}" if lot_no else "",
                _ptext(_child(where, "LABEL")),
            )
            if t
        )
        old = _ptext(_child(change, "OLD_VALUE"))
        new = _ptext(_child(change, "NEW_VALUE"))
        if place:
            lines.append(f"Section {place}")
        if old:
            lines.append(f"Ancienne valeur : {old}")
        if new:
            lines.append(f"Nouvelle valeur : {new}")
    lines.append(_ptext(_child(changes, "INFO_ADD")))
    return "\n".join(line for line in lines if line)


def _contractor_names(el: etree._Element | None) -> list[str]:
    return unique(
        [_text(e) for e in _all(el, "CONTRACTORS/CONTRACTOR/ADDRESS_CONTRACTOR/OFFICIALNAME")]
    )


def _modification_sections(
    modification: etree._Element | None, seen: dict[str, set[str]]
) -> list[tuple[str, str]]:
    """F20 section VII: the contract after modification and the modification itself.

    VII.1 repeats the contract (description, place, duration, value, contractors) as it stands
    after the change; VII.2 says what changed and why (VII.2.2: ``ADDITIONAL_NEED`` for
    additional works or services, ``UNFORESEEN_CIRCUMSTANCE`` for unforeseeable circumstances)
    and the value before and after. A line already written for the original contract is not
    repeated.
    """
    if modification is None:
        return []
    modified = _child(modification, "DESCRIPTION_PROCUREMENT")
    info = _child(modification, "INFO_MODIFICATIONS")
    already = seen.get("", set())
    after = [
        t
        for t in (
            _ptext(_child(modified, "SHORT_DESCR")),
            _ptext(_child(modified, "MAIN_SITE")),
        )
        if t and t not in already
    ]
    contractors = _contractor_names(modified)
    value = _child(_child(modified, "VALUES"), "VAL_TOTAL")
    total = parse_amount(_text(value))
    if value is not None and total is not None:
        after.append(f"Valeur totale : {format_money(total, value.get('CURRENCY'))}")
    values = _child(info, "VALUES")
    before_after = []
    for name, label in (("VAL_TOTAL_BEFORE", "avant"), ("VAL_TOTAL_AFTER", "après")):
        el = _child(values, name)
        amount = parse_amount(_text(el))
        if amount is not None:
            before_after.append(
                f"Valeur {label} la modification : {format_money(amount, el.get('CURRENCY'))}"
            )
    reasons = [
        (
            "Besoin de travaux, services ou fournitures supplémentaires",
            _ptext(_child(info, "ADDITIONAL_NEED")),
        ),
        ("Circonstances imprévisibles", _ptext(_child(info, "UNFORESEEN_CIRCUMSTANCE"))),
    ]
    return [
        ("Marché après modification", "\n".join(after)),
        ("Titulaire(s) après modification", "\n".join(contractors)),
        ("Description de la modification", _ptext(_child(info, "SHORT_DESCR"))),
        (
            "Raisons de la modification",
            "\n".join(
                f"{label} : {text}" if "\n" not in text else f"{label} :\n{text}"
                for label, text in reasons
                if text
            ),
        ),
        ("Valeur de la modification", "\n".join(before_after)),
    ]


def _award_facts(form: etree._Element) -> dict[str, tuple[list[str], str | None, float | None]]:
    """Lot id → (winners' SIRET aligned with their names, or [] when none is given; the
    earliest DATE_CONCLUSION_CONTRACT; VAL_TOTAL when the lot has one awarded contract)."""
    out: dict[str, tuple[list[str], str | None, float | None]] = {}
    contracts: dict[str, list[etree._Element]] = {}
    for award in _children(form, "AWARD_CONTRACT"):
        awarded = _child(award, "AWARDED_CONTRACT")
        if awarded is not None:
            lot_id = normalise_lot_id(_text(_child(award, "LOT_NO")))
            contracts.setdefault(lot_id, []).append(awarded)
    for lot_id, blocks in contracts.items():
        ids = [
            re.sub(r"[\s.]", "", _text(_child(c, "NATIONALID")))
            for b in blocks
            for c in _all(b, "CONTRACTORS/CONTRACTOR/ADDRESS_CONTRACTOR")
            if _text(_child(c, "OFFICIALNAME"))
        ]
        ids = [i if re.fullmatch(r"\d{14}", i) else "" for i in ids]
        dates = sorted(
            d
            for d in (parse_date(_text(_child(b, "DATE_CONCLUSION_CONTRACT"))) for b in blocks)
            if d
        )
        value = (
            parse_amount(_text(_first(blocks[0], "VALUES/VAL_TOTAL"))) if len(blocks) == 1 else None
        )
        out[lot_id] = (ids if any(ids) else [], dates[0] if dates else None, value)
    return out


def _awards(form: etree._Element) -> dict[str, tuple[str, list[str]]]:
    """Lot id → (result, winner names) from AWARD_CONTRACT blocks ("" = no LOT_NO given)."""
    out: dict[str, tuple[str, list[str]]] = {}
    for award in _children(form, "AWARD_CONTRACT"):
        lot_id = normalise_lot_id(_text(_child(award, "LOT_NO")))
        result, winners = out.get(lot_id, ("", []))
        awarded = _child(award, "AWARDED_CONTRACT")
        if awarded is not None:
            result = "awarded"
            winners = winners + [
                _text(e)
                for e in _all(awarded, "CONTRACTORS/CONTRACTOR/ADDRESS_CONTRACTOR/OFFICIALNAME")
            ]
        elif _child(award, "NO_AWARDED_CONTRACT") is not None and result != "awarded":
            result = "not_awarded"
        out[lot_id] = (result, unique(winners))
    return out


def export_header(
    root: etree._Element, source_id: str | None
) -> tuple[etree._Element, etree._Element, str | None, str, etree._Element]:
    """``CODED_DATA_SECTION``, ``NOTICE_DATA``, the publication number, the source id and the
    form of a ``TED_EXPORT`` document (R2.0.8 and R2.0.9 alike); NormaliseError when it is
    not one or has no number."""
    if _ln(root.tag) != "TED_EXPORT":
        raise NormaliseError("unknown_root", _ln(root.tag) or "no element")
    coded = _child(root, "CODED_DATA_SECTION")
    notice_data = _child(coded, "NOTICE_DATA")
    pubno = publication_number(_text(_child(notice_data, "NO_DOC_OJS"))) or _doc_id(
        root.get("DOC_ID")
    )
    source_id = source_id or pubno
    if not source_id:
        raise NormaliseError("missing_identifier", "no NO_DOC_OJS nor DOC_ID")

    form = _pick_form(root)
    return coded, notice_data, pubno, source_id, form


def normalise_ted_r209(
    root: etree._Element, *, source_id: str | None = None, url: str | None = None
) -> Notice:
    """Normalise a parsed ``TED_EXPORT`` document (see :func:`normalise_ted_r209_bytes`)."""
    coded, notice_data, pubno, source_id, form = export_header(root, source_id)
    code = _form_code(form)
    body = _child(form, "CONTRACTING_BODY")
    buyer = _child(body, "ADDRESS_CONTRACTING_BODY")
    national_id = re.sub(r"[\s.\u00a0]", "", _text(_child(buyer, "NATIONALID")))

    objects = _children(form, "OBJECT_CONTRACT")
    procedure_el = _child(form, "PROCEDURE")
    lefti = _child(form, "LEFTI")
    base = _lefti_signals(lefti)
    deadline = parse_datetime(
        _text(_child(procedure_el, "DATE_RECEIPT_TENDERS")),
        _text(_child(procedure_el, "TIME_RECEIPT_TENDERS")),
    )
    awards = _awards(form)
    facts_by_lot = _award_facts(form)

    title = ""
    cpv: list[str] = []
    nuts: list[str] = []
    estimated_value = None
    currency = None
    lots: list[Lot] = []
    rules = LotRules()
    sections: list[tuple[str, str]] = []
    seen: dict[str, set[str]] = {}
    for obj in objects:
        obj_title = " ".join(_ptext(_child(obj, "TITLE")).split("\n"))
        title = title or obj_title
        short = _ptext(_child(obj, "SHORT_DESCR"))
        sections += [("Titre", obj_title), ("Description", short)]
        seen.setdefault("", set()).update({obj_title, short})
        cpv.append(_code(_first(obj, "CPV_MAIN/CPV_CODE")))
        value = _child(obj, "VAL_ESTIMATED_TOTAL")
        if estimated_value is None and value is not None:
            estimated_value = parse_amount(_text(value))
            currency = value.get("CURRENCY")
        division = _child(obj, "LOT_DIVISION")
        if division is not None:
            max_number = _text(_child(division, "LOT_MAX_NUMBER"))
            max_awarded = _text(_child(division, "LOT_MAX_ONE_TENDERER"))
            if _child(division, "LOT_ONE_ONLY") is not None:
                rules.max_lots_submitted = 1
            elif max_number:
                rules.max_lots_submitted = int(parse_amount(max_number) or 0) or None
            if max_awarded:
                rules.max_lots_awarded = int(parse_amount(max_awarded) or 0) or None
            if _child(division, "LOT_ALL") is not None:
                rules.all_lots_required = True
            elif max_number or _child(division, "LOT_ONE_ONLY") is not None:
                rules.all_lots_required = False
        descrs = _children(obj, "OBJECT_DESCR")
        for n, descr in enumerate(descrs, start=1):
            lot_id = normalise_lot_id(_text(_child(descr, "LOT_NO")) or descr.get("ITEM") or n)
            lot_nuts = [_code(e) for e in _children(descr, "NUTS")]
            nuts += lot_nuts
            lot_cpv = unique([_code(e) for e in _all(descr, "CPV_ADDITIONAL/CPV_CODE")])
            cpv += lot_cpv
            # Award criteria sit in AC, or in DIRECTIVE_20xx/AC for utilities/defence forms.
            ac = _child(descr, "AC")
            if ac is None:
                ac = next((a for d in descr for a in _children(d, "AC")), None)
            value = _child(descr, "VAL_OBJECT")
            if currency is None and value is not None:
                currency = value.get("CURRENCY")
            result, winners = awards.get(lot_id, ("", []))
            facts = facts_by_lot.get(lot_id, ([], None, None))
            if not result and len(descrs) == 1 and "" in awards:
                result, winners = awards[""]
                facts = facts_by_lot.get("", facts)
            winner_ids = facts[0] if len(facts[0]) == len(winners) else []
            lot = Lot(
                lot_id=lot_id,
                title=clean_lot_title(_ptext(_child(descr, "TITLE")), lot_id),
                description=_ptext(_child(descr, "SHORT_DESCR")) or None,
                cpv=lot_cpv,
                estimated_value=parse_amount(_text(value)),
                deadline=deadline,
                departements=unique([d for d in map(departement_from_nuts, lot_nuts) if d]),
                signals=_copy_signals(base, _criteria(ac)),
                result=result or None,
                winners=winners,
                winner_ids=winner_ids,
                award_date=facts[1],
                awarded_value=facts[2],
            )
            lots.append(lot)
            sections += _lot_sections(lot, descr, seen)
    if not lots:
        # Forms without OBJECT_DESCR (F14, some F20) still get their award results.
        for lot_id, (result, winners) in awards.items():
            if lot_id:
                lots.append(Lot(lot_id=lot_id, result=result or None, winners=winners))

    lefti_texts = [
        _ptext(c)
        for c in (lefti if lefti is not None else [])
        if _ln(c.tag) not in ("PERFORMANCE_CONDITIONS",) and len(c)
    ]
    sections += [
        ("Conditions d'exécution", "\n".join(base.execution_conditions)),
        ("Conditions de participation", "\n".join(t for t in lefti_texts if t)),
        ("Caractéristiques de la procédure", _ptext(_child(procedure_el, "MAIN_FEATURES_AWARD"))),
        # Design contests (F12/F13) state their evaluation criteria here, not in AC.
        ("Critères d'évaluation", _ptext(_child(procedure_el, "CRITERIA_EVALUATION"))),
        (
            "Justification de l'attribution sans mise en concurrence",
            "\n".join(_ptext(e) for e in procedure_el.iter() if _ln(e.tag) == "D_JUSTIFICATION")
            if procedure_el is not None
            else "",
        ),
        ("Informations complémentaires", _ptext(_first(form, "COMPLEMENTARY_INFO/INFO_ADD"))),
        ("Modifications", _changes_text(form)),
    ]
    modification = _child(form, "MODIFICATIONS_CONTRACT")
    modified = _child(modification, "DESCRIPTION_PROCUREMENT")
    sections += _modification_sections(modification, seen)
    nuts += [_code(e) for e in _children(modified, "NUTS")]
    cpv += [_code(e) for e in _all(modified, "CPV_MAIN/CPV_CODE")]
    cpv += [_code(e) for e in _all(modified, "CPV_ADDITIONAL/CPV_CODE")]

    departements = unique([d for d in map(departement_from_nuts, nuts) if d])
    if not departements:
        performance = [_code(e) for e in _children(notice_data, "PERFORMANCE_NUTS")]
        departements = unique([d for d in map(departement_from_nuts, performance) if d])
    if not departements and _code(_child(buyer, "COUNTRY"), "VALUE") == "FR":
        dep = departement_from_postcode(_text(_child(buyer, "POSTAL_CODE")))
        dep = dep or departement_from_nuts(_code(_child(buyer, "NUTS")))
        departements = [dep] if dep else []

    procedure = None
    for child in procedure_el if procedure_el is not None else []:
        name = _ln(child.tag)
        if name.startswith("DIRECTIVE_"):  # F15: PROCEDURE/DIRECTIVE_2014_24_EU/PT_...
            name = next((_ln(c.tag) for c in child if _ln(c.tag).startswith("PT_")), "")
        if name.startswith("PT_"):
            procedure = _PROCEDURE.get(name, name[3:].lower())
            break

    uuid = _text(_child(_child(root, "FORM_SECTION"), "NOTICE_UUID")) or None
    winners = unique([w for lot in lots for w in lot.winners])
    if not winners:
        winners = unique([w for _, names in awards.values() for w in names])
    # F20: the contractors after the modification (section VII.1.6), who may differ from
    # those of the award (a member of the group replaced, a new holder after a takeover).
    winners = unique([*winners, *_contractor_names(modified)])
    return Notice(
        id=f"ted:{source_id}",
        source="ted",
        source_id=source_id,
        form=f"ted-r209/{code}",
        title=title,
        nature=_nature(code, form),
        published=parse_date(_text(_first(coded, "REF_OJS/DATE_PUB"))),
        deadline=deadline,
        buyer_name=_text(_child(buyer, "OFFICIALNAME")) or None,
        buyer_siret=national_id if re.fullmatch(r"\d{14}", national_id) else None,
        departements=departements,
        cpv=unique(cpv),
        procedure=procedure,
        estimated_value=estimated_value,
        currency=currency,
        url=ted_notice_url(pubno) if pubno else url,
        language=iso639_1(form.get("LG")),
        text=join_sections(sections),
        lots=lots,
        lot_rules=rules,
        signals=merge_signals([base, *(lot.signals for lot in lots)]),
        links=_links(code, notice_data, form),
        notice_uuid=uuid,
        ted_publication_number=pubno,
        winners=winners,
    )


def _lot_sections(
    lot: Lot, descr: etree._Element, seen: dict[str, set[str]]
) -> list[tuple[str, str]]:
    """Sections of one OBJECT_DESCR; lines repeated from earlier lots are written once."""
    kinds: list[tuple[str, list[str]]] = [
        ("", [t for t in (lot.title, lot.description) if t]),
        ("Lieu d'exécution", [_ptext(_child(descr, "MAIN_SITE"))]),
        ("Critères de limitation des candidats", [_ptext(_child(descr, "CRITERIA_CANDIDATE"))]),
        ("Critères d'attribution", [format_criterion(c) for c in lot.signals.award_criteria]),
        ("Informations complémentaires", [_ptext(_child(descr, "INFO_ADD"))]),
    ]
    label = f"Lot {lot.lot_id}"
    return fresh_sections(label, kinds, seen)


def normalise_ted_r209_bytes(
    body: bytes, *, source_id: str | None = None, url: str | None = None
) -> Notice:
    """Parse TED R2.0.9 XML bytes safely and normalise them.

    ``source_id`` defaults to the publication number of ``NO_DOC_OJS`` (``130148-2019``). Raises
    :class:`NormaliseError` on empty, malformed or hostile input and on a non-``TED_EXPORT``
    root.
    """
    if not body or not body.strip():
        raise NormaliseError("empty_payload")
    return normalise_ted_r209(parse_xml(body), source_id=source_id, url=url)
