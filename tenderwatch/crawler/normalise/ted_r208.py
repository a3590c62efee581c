"""TED XML schema R2.0.8 (``TED_EXPORT`` with the defence forms 16, 17 and 18) → :class:`Notice`.

TED kept the R2.0.8 defence forms of Directive 2009/81/EC (``PRIOR_INFORMATION_DEFENCE``,
``CONTRACT_DEFENCE``, ``CONTRACT_AWARD_DEFENCE``) until eForms, years after the other forms moved
to R2.0.9. Their layout differs from R2.0.9 throughout (an ``FD_*`` body, ``TITLE_CONTRACT``,
``CA_CE_CONCESSIONAIRE_PROFILE``, ``F17_ANNEX_B`` lots, ``AWARD_OF_CONTRACT_DEFENCE``), so the
R2.0.9 reader found nothing in them and stored French defence notices with no title and no text.

Elements are matched on local names, as in the other TED readers. The text is every readable
section in document order under a French heading (``ted_r208_sections.json``); lots, award
criteria and awards are read into the structured fields and written where the form has them.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from importlib import resources
from typing import Any

from lxml import etree

from tenderwatch.core.records import OTHER, AwardCriterion, Lot, Notice, NoticeLink, Signals
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
    unique,
)
from tenderwatch.crawler.normalise.eforms import (
    _child,
    _children,
    _ln,
    _text,
    departement_from_nuts,
    format_criterion,
    fresh_sections,
    iso639_1,
    ted_notice_url,
)
from tenderwatch.crawler.normalise.ted_r209 import (
    _code,
    _copy_signals,
    _pick_form,
    _ptext,
    export_header,
    publication_number,
)

__all__ = ["is_r208", "normalise_ted_r208"]

_TABLES: dict[str, Any] = json.loads(
    resources.files("tenderwatch.crawler.normalise")
    .joinpath("ted_r208_sections.json")
    .read_text("utf-8")
)
_NATURES: dict[str, str] = _TABLES["natures"]
_SECTIONS: dict[str, str] = _TABLES["sections"]
_SKIP = frozenset(_TABLES["skip"])
_PROCEDURES: dict[str, str] = _TABLES["procedures"]


def is_r208(root: etree._Element) -> bool:
    """True when the ``TED_EXPORT`` original form has the R2.0.8 layout (an ``FD_*`` body)."""
    try:
        form = _pick_form(root)
    except NormaliseError:
        return False
    return any(_ln(c.tag).startswith("FD_") for c in form)


def _descendants(el: etree._Element | None, name: str) -> Iterator[etree._Element]:
    """Elements named ``name`` anywhere under ``el``, in document order."""
    if el is None:
        return iter(())
    return (e for e in el.iter() if _ln(e.tag) == name)


def _first_desc(el: etree._Element | None, name: str) -> etree._Element | None:
    return next(_descendants(el, name), None)


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _day(el: etree._Element | None) -> str | None:
    """``<DAY>26</DAY><MONTH>02</MONTH><YEAR>2021</YEAR><TIME>16:00</TIME>`` → ISO 8601."""
    if el is None:
        return None
    parts = [_text(_child(el, n)) for n in ("YEAR", "MONTH", "DAY")]
    if not all(p.isdigit() for p in parts):
        return None
    year, month, day = (int(p) for p in parts)
    return parse_datetime(f"{year:04d}-{month:02d}-{day:02d}", _text(_child(el, "TIME")) or None)


def _amount(block: etree._Element | None) -> tuple[float | None, str | None]:
    """Amount and currency of a ``COSTS_RANGE_AND_CURRENCY*`` block (``VALUE_COST@FMTVAL``)."""
    if block is None:
        return None, None
    value = _child(block, "VALUE_COST")
    if value is None:
        return None, block.get("CURRENCY")
    amount = parse_amount(value.get("FMTVAL")) or parse_amount(_text(value))
    return amount, block.get("CURRENCY")


def _inside(el: etree._Element, blocks: set[etree._Element]) -> bool:
    return any(a in blocks for a in el.iterancestors())


def _lot_blocks(form: etree._Element) -> list[etree._Element]:
    """Lot descriptions: a ``LOT_NUMBER`` beside a ``LOT_TITLE`` or ``LOT_DESCRIPTION``
    (``F17_ANNEX_B`` and the other forms' annex B)."""
    out = []
    for el in form.iter():
        names = {_ln(c.tag) for c in el}
        if "LOT_NUMBER" in names and names & {"LOT_TITLE", "LOT_DESCRIPTION"}:
            out.append(el)
    return out


def _criteria(form: etree._Element) -> list[AwardCriterion]:
    """``CRITERIA_DEFINITION`` (order, name, weighting): the defence forms give no type."""
    out = []
    for definition in _descendants(form, "CRITERIA_DEFINITION"):
        name = _text(_child(definition, "CRITERIA"))
        weighting = _text(_child(definition, "WEIGHTING"))
        weight = parse_amount(weighting.replace("%", "")) if weighting else None
        if name or weight is not None:
            out.append(
                AwardCriterion(
                    name=name or None,
                    weight=weight,
                    description=weighting if weighting and weight is None else None,
                )
            )
    return out


def _winner_names(award: etree._Element) -> list[str]:
    return unique(
        [
            _text(e)
            for op in _descendants(award, "ECONOMIC_OPERATOR_NAME_ADDRESS")
            for e in _descendants(op, "OFFICIALNAME")
        ]
    )


class _Reader:
    """Reads one R2.0.8 form: the structured fields and the text, in document order."""

    def __init__(self, form: etree._Element) -> None:
        self.form = form
        self.criteria = _criteria(form)
        conditions = [
            _ptext(e) for e in _descendants(form, "EXISTENCE_OTHER_PARTICULAR_CONDITIONS")
        ]
        # III.1.4 "other particular conditions to which the performance of the contract is
        # subject": what eForms calls execution conditions (BT-70), where a French buyer writes
        # a clause sociale. Procedure-level, so every lot carries it (ADR 0005).
        self.base = Signals(
            execution_conditions=[c for c in conditions if c], award_criteria=self.criteria
        )
        self.deadline = _day(_first_desc(form, "RECEIPT_LIMIT_DATE"))
        self.lot_blocks = _lot_blocks(form)
        self.lots: list[Lot] = []
        self.winners: list[str] = []
        self.sections: list[tuple[str, str]] = []
        self._seen_bodies: set[str] = set()
        self._seen_lot_lines: dict[str, set[str]] = {}
        self._read_lots()

    # -- structured ---------------------------------------------------------------------------

    def _read_lots(self) -> None:
        for position, block in enumerate(self.lot_blocks, start=1):
            lot_id = normalise_lot_id(_text(_child(block, "LOT_NUMBER"))) or str(position)
            nuts = [_code(e) for e in _descendants(block, "NUTS")]
            amount, _ = _amount(_first_desc(block, "COSTS_RANGE_AND_CURRENCY"))
            self.lots.append(
                Lot(
                    lot_id=lot_id,
                    title=clean_lot_title(_ptext(_child(block, "LOT_TITLE")), lot_id),
                    description=_ptext(_child(block, "LOT_DESCRIPTION")) or None,
                    cpv=unique([_code(e) for e in _descendants(block, "CPV_CODE")]),
                    estimated_value=amount,
                    deadline=self.deadline,
                    departements=unique([d for d in map(departement_from_nuts, nuts) if d]),
                    signals=_copy_signals(self.base, list(self.criteria)),
                )
            )

    def _award(self, award: etree._Element) -> list[str]:
        """One ``AWARD_OF_CONTRACT_DEFENCE``: winners onto their lot; lines for the text."""
        names = _winner_names(award)
        self.winners = unique([*self.winners, *names])
        lot_id = normalise_lot_id(_text(_child(award, "LOT_NUMBER")))
        title = _one_line(_ptext(_child(award, "CONTRACT_TITLE")))
        if lot_id:
            lot = next((x for x in self.lots if x.lot_id == lot_id), None)
            if lot is None:
                lot = Lot(lot_id=lot_id, title=clean_lot_title(title, lot_id))
                self.lots.append(lot)
            lot.result = "awarded" if names else lot.result
            lot.winners = unique([*lot.winners, *names])
        lines = [title]
        offers = _text(_child(award, "OFFERS_RECEIVED_NUMBER"))
        if offers:
            lines.append(f"Nombre d'offres reçues : {offers}")
        lines += [f"Titulaire : {name}" for name in names]
        amount, currency = _amount(
            _first_desc(
                _child(award, "CONTRACT_VALUE_INFORMATION"),
                "COSTS_RANGE_AND_CURRENCY_WITH_VAT_RATE",
            )
        )
        if amount:
            lines.append(f"Valeur du marché : {format_money(amount, currency)}")
        heading = f"Lot {lot_id} – Attribution" if lot_id else "Attribution"
        self._add(heading, "\n".join(line for line in lines if line))
        return names

    # -- text -----------------------------------------------------------------------------------

    def _add(self, heading: str, body: str) -> None:
        body = body.strip()
        # TED repeats a block word for word (F17: the short description is the scope too).
        if body and body not in self._seen_bodies:
            self._seen_bodies.add(body)
            self.sections.append((heading, body))

    def _lot_sections(self) -> None:
        for lot, block in zip(self.lots, self.lot_blocks, strict=False):
            kinds = [
                ("", [t for t in (lot.title, lot.description) if t]),
                (
                    "Informations complémentaires",
                    [_ptext(_child(block, "ADDITIONAL_INFORMATION_ABOUT_LOTS"))],
                ),
            ]
            self.sections += fresh_sections(f"Lot {lot.lot_id}", kinds, self._seen_lot_lines)

    def walk(self, el: etree._Element, parent: str = "") -> None:
        """Text sections of ``el``'s children, in document order."""
        for child in el:
            name = _ln(child.tag)
            if not name:
                continue
            if name.endswith("_DIVISION_INTO_LOTS"):
                self._lot_sections()
                continue
            if name.startswith("AWARD_CRITERIA_") and self.criteria:
                self._add("Critères d'attribution", "\n".join(map(format_criterion, self.criteria)))
                continue
            if name == "AWARD_OF_CONTRACT_DEFENCE":
                self._award(child)
                continue
            if name == "TOTAL_FINAL_VALUE":
                amount, currency = _amount(
                    _first_desc(child, "COSTS_RANGE_AND_CURRENCY_WITH_VAT_RATE")
                )
                if amount:
                    self._add("Valeur totale finale", format_money(amount, currency))
                continue
            if name in _SKIP:
                continue
            heading = _SECTIONS.get(f"{parent}/{name}") or _SECTIONS.get(name)
            if heading:
                self._add(heading, _ptext(child))
            else:
                self.walk(child, name)


def normalise_ted_r208(
    root: etree._Element, *, source_id: str | None = None, url: str | None = None
) -> Notice:
    """Normalise a parsed ``TED_EXPORT`` whose form has the R2.0.8 layout (see :func:`is_r208`)."""
    coded, notice_data, pubno, source_id, form = export_header(root, source_id)
    number = (form.get("FORM") or "").strip()
    code = f"F{int(number):02d}" if number.isdigit() else _ln(form.tag)
    reader = _Reader(form)
    reader.walk(form)

    buyer = _first_desc(form, "CA_CE_CONCESSIONAIRE_PROFILE")
    organisation = _child(buyer, "ORGANISATION")
    national_id = "".join(_text(_child(organisation, "NATIONALID")).split()).replace(".", "")

    # Place of performance: the object's NUTS (lots included), then TED's coded NUTS, then the
    # buyer's postcode, as for R2.0.9 (ADR 0005).
    nuts = [_code(e) for e in _descendants(form, "NUTS")]
    departements = unique([d for d in map(departement_from_nuts, nuts) if d])
    if not departements:
        coded_nuts = [_code(e) for e in _children(notice_data, "PERFORMANCE_NUTS")]
        departements = unique([d for d in map(departement_from_nuts, coded_nuts) if d])
    if not departements and _code(_child(buyer, "COUNTRY"), "VALUE") == "FR":
        dep = departement_from_postcode(_text(_child(buyer, "POSTAL_CODE")))
        departements = [dep] if dep else []

    lot_blocks = set(reader.lot_blocks)
    cpv_main = [_code(e) for e in _descendants(form, "CPV_CODE") if not _inside(e, lot_blocks)]
    cpv_lots = [c for lot in reader.lots for c in lot.cpv]

    # An estimate of the whole procedure (F17 framework total, II.2.1 total quantity): a value
    # outside the lots and not the final value of an award (that one is in the text).
    estimates = [
        e for e in _descendants(form, "COSTS_RANGE_AND_CURRENCY") if not _inside(e, lot_blocks)
    ]
    estimated_value, currency = _amount(estimates[0]) if estimates else (None, None)

    procedure = None
    for el in form.iter():
        name = _ln(el.tag)
        if name.startswith("PT_"):
            procedure = _PROCEDURES.get(name, name[3:].lower())
            break

    refs = [_text(e) for e in _descendants(form, "NOTICE_NUMBER_OJ")]
    refs += [_text(e) for e in _descendants(_child(notice_data, "REF_NOTICE"), "NO_DOC_OJS")]
    targets = unique([p for p in map(publication_number, refs) if p and p != pubno])

    return Notice(
        id=f"ted:{source_id}",
        source="ted",
        source_id=source_id,
        form=f"ted-r208/{code}",
        title=_one_line(_ptext(_first_desc(form, "TITLE_CONTRACT"))),
        nature=_NATURES.get(_ln(form.tag), OTHER),
        published=parse_date(_text(_child(_child(coded, "REF_OJS"), "DATE_PUB"))),
        deadline=reader.deadline,
        buyer_name=_text(_child(organisation, "OFFICIALNAME")) or None,
        buyer_siret=national_id if len(national_id) == 14 and national_id.isdigit() else None,
        departements=departements,
        cpv=unique(cpv_main + cpv_lots),
        procedure=procedure,
        estimated_value=estimated_value,
        currency=currency if estimated_value is not None else None,
        url=ted_notice_url(pubno) if pubno else url,
        language=iso639_1(form.get("LG")),
        text=join_sections(reader.sections),
        lots=reader.lots,
        signals=reader.base,
        links=[NoticeLink(kind="follows", target=f"ted:{t}") for t in targets],
        ted_publication_number=pubno,
        winners=reader.winners,
    )
