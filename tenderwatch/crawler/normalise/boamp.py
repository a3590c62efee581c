"""BOAMP normaliser: Opendatasoft API records and DILA XML flux → :class:`Notice`.

One code path serves both inputs. An API record carries ~40 flat fields plus two JSON strings,
``gestion`` (management block) and ``donnees`` (the notice); a DILA flux file carries the same
two blocks as XML (``jo:ann`` root in schema 3.2.5, ``ANNONCE`` root in legacy Boamp_v230).
:func:`boamp_xml_to_record` turns the XML into the API-shaped record with
:func:`~crawler.normalise.xmldict.xml_to_dict`, and both entry points end in :func:`_build`.

The ``donnees`` block starts with the form family: ``EFORMS`` (handed to
:mod:`tenderwatch.crawler.normalise.eforms`, then overlaid with what BOAMP knows best),
``FNSimple``,
``MAPA``, ``DSP``, ``DIVERS`` (3.2.5 national forms) or the legacy top-level keys (``IDENTITE``,
``OBJET``…). National forms are read by one walk over the parsed tree in document order: it
writes the readable text (headings from ``boamp_sections.json``) and, through the ``roles``
table of that file, picks up CPV codes, lots, values, reservations, execution conditions, award
criteria and links on the way. Key names come from real notices; see ``_about`` in the JSON
file for the sources.

Deadline: the flat ``datelimitereponse`` is a Paris local time relabelled ``+00:00`` by the API
(26-7298: flat ``12:00:00+00:00``, GESTION ``12:00:00.000+01:00``), so the deadline the form
(``dateReceptionOffres``…) or GESTION ``DATE_LIMITE_REPONSE`` states is kept with its offset (or
none) when the flat field gives the same wall-clock time; see :func:`_deadline`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from importlib import resources
from typing import Any

from lxml import etree

from tenderwatch.core.records import (
    AWARD,
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
    MAX_PAYLOAD_BYTES,
    NormaliseError,
    clean_departement,
    clean_lot_title,
    clean_text,
    departement_from_postcode,
    format_money,
    join_sections,
    local,
    normalise_lot_id,
    parse_amount,
    parse_date,
    parse_datetime,
    parse_xml,
    unique,
)
from tenderwatch.crawler.normalise.xmldict import dict_to_xml, xml_to_dict

try:  # the eForms normaliser is another module of this package, written separately
    from tenderwatch.crawler.normalise.eforms import normalise_eforms as _normalise_eforms
except ImportError:  # pragma: no cover - only while eforms.py does not exist yet
    _normalise_eforms = None

SOURCE = "boamp"
NOTICE_URL = "https://www.boamp.fr/pages/avis/?q=idweb:{idweb}"

_TABLES: dict[str, Any] = json.loads(
    resources.files("tenderwatch.crawler.normalise")
    .joinpath("boamp_sections.json")
    .read_text("utf-8")
)
_FAMILIES: tuple[str, ...] = tuple(_TABLES["families"])
_LEGACY_KEYS = frozenset(_TABLES["legacy_keys"])
_NATURES: dict[str, str] = _TABLES["natures"]
_TITLE_KEYS: tuple[str, ...] = tuple(_TABLES["title_keys"])
_ROLES: dict[str, str] = _TABLES["roles"]
_YES = frozenset(_TABLES["reservation_yes"])
_NO = frozenset(_TABLES["reservation_no"])
_LOT_ID_KEYS: tuple[str, ...] = tuple(_TABLES["lot_id_keys"])
_LOT_TITLE_KEYS: tuple[str, ...] = tuple(_TABLES["lot_title_keys"])
_LOT_DESCRIPTION_KEYS: tuple[str, ...] = tuple(_TABLES["lot_description_keys"])
_SECTIONS: dict[str, str] = _TABLES["sections"]
_SKIP = frozenset(_TABLES["skip"])
_FLAGS: dict[str, str] = _TABLES["flags"]
_LEGACY_LOT_OFFERS: dict[str, int] = _TABLES["legacy_lot_offers"]

# Legacy CRITERES_ATTRIBUTION children holding CRITERE elements, with the eForms BT-539 type
# they mean (None: the form does not say).
_LEGACY_CRITERIA_TYPES: dict[str, str | None] = {
    "CRITERES_PONDERES": None,
    "CRITERES_QUALITE": "quality",
    "CRITERES_COUT": "cost",
    "CRITERES_PRIORITES": None,
}
_NOT_AWARDED = ("INFRUCTUEUX", "SANS_SUITE", "NON_ATTRIBUE", "sansSuite", "infructueux")
_LINKING_NATURES = frozenset({CORRIGENDUM, CANCELLATION, AWARD})

# A notice number: two-digit year, dash, 3-6 digits, not part of a longer token. The
# look-arounds keep ISO dates out (``2014-10-15`` would otherwise give ``10-15``: a real defect
# of naive extractors over ``annonces_anterieures``, which also holds DATE_PUBLICATION values).
_IDWEB_RE = re.compile(r"(?<![\d-])(\d{2}-\d{3,6})(?![\d-])")
_CPV_RE = re.compile(r"(?<!\d)(\d{8})(?!\d)")
_SCRIPT_RE = re.compile(r"<(script|style)\b[^>]*>.*?</\1\s*>", re.IGNORECASE | re.DOTALL)
_ENTITY_RE = re.compile(r"&(#\d+|#x[0-9a-fA-F]+|[a-zA-Z]+);")
_URL_RE = re.compile(r"^(https?://|www\.)\S+$", re.IGNORECASE)
_EMAIL_RE = re.compile(r"^\S+@\S+\.\w+$")
_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}([T ][\d:.]+)?([+-]\d{2}:\d{2}|Z)?$")
_NUMBER_RE = re.compile(r"^[\d\s.,:+()-]+$")
_LOT_PREFIX_RE = re.compile(
    r"^\s*(?:lot\s*(?:n\s*[°ºo]?\.?\s*)?)?(\d{1,3}[A-Za-z]?)\s*(?:[-–:_)]|\.(?!\d)|\s-\s)",
    re.IGNORECASE,
)
_DIGITS_RE = re.compile(r"\D")


# --------------------------------------------------------------------------- small readers


def _as_list(value: Any) -> list[Any]:
    """The API writes one element as a value and several as a list: read both as a list."""
    if value is None or value == "":
        return []
    return value if isinstance(value, list) else [value]


def _as_dict(value: Any) -> dict[str, Any]:
    if isinstance(value, dict):
        return value
    if isinstance(value, list):
        return next((v for v in value if isinstance(v, dict)), {})
    return {}


def _raw_text(value: Any) -> str:
    """Text of a value in the API conventions (``str``, ``{"#text": …}``, list of those)."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        return _raw_text(value.get("#text"))
    if isinstance(value, list):
        return "\n".join(t for t in (_raw_text(v) for v in value) if t)
    if isinstance(value, bool) or value is None:
        return ""
    if isinstance(value, int | float):
        return str(value)
    return ""


def _clean(value: Any) -> str:
    """Plain text: tags and scripts dropped, entities decoded (twice when BOAMP double-encoded
    them, e.g. ``a&amp;amp;#768;``, or encoded markup itself, e.g. ``&lt;script&gt;``)."""
    text = _raw_text(value)
    if not text:
        return ""
    if "<" in text:
        text = _SCRIPT_RE.sub(" ", text)
    out = clean_text(text)
    if ("&" in out and _ENTITY_RE.search(out)) or ("<" in out and ">" in out):
        out = clean_text(_SCRIPT_RE.sub(" ", out))
    return out


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _first_key(value: Any) -> str:
    """``{"APPEL_OFFRE": {"STANDARD": ""}}`` → ``APPEL_OFFRE`` (a choice written as a key)."""
    if isinstance(value, dict):
        return next((k for k in value if isinstance(k, str) and k[:1] not in "@#"), "")
    if isinstance(value, list):
        return next((k for k in (_first_key(v) for v in value) if k), "")
    return value.strip() if isinstance(value, str) else ""


def _child_keys(value: Any) -> list[str]:
    return [k for k in _as_dict(value) if isinstance(k, str) and k[:1] not in "@#"]


def _is_flags(value: dict[str, Any]) -> bool:
    """True when every child is a known flag element (``{"non": ""}``, ``{"oui": {"@xsi:type":
    …}}``): such a block reads as a word, not as a tree."""
    keys = _child_keys(value)
    if not keys:
        return False
    for key in keys:
        if key not in _FLAGS:
            return False
        child = value[key]
        if isinstance(child, dict) and any(k[:1] != "@" and k != "#text" for k in child):
            return False
        if isinstance(child, list):
            return False
    return True


def _idwebs(value: Any) -> list[str]:
    """Every notice number in a link field: a string, a JSON string, a list or a nested block
    (``{"REFERENCE": {"IDWEB": …, "DATE_ENVOI": …}}``). Inside blocks only ``IDWEB`` keys are
    read, so that dates never turn into identifiers."""
    out: list[str] = []
    if value is None:
        return out
    if isinstance(value, str | bytes):
        text = value.decode("utf-8", "replace") if isinstance(value, bytes) else value
        stripped = text.strip()
        if stripped[:1] in ("[", "{"):
            try:
                return _idwebs(json.loads(stripped))
            except ValueError:
                pass
        return _IDWEB_RE.findall(text)
    if isinstance(value, list):
        for item in value:
            out.extend(_idwebs(item))
        return out
    if isinstance(value, dict):
        direct = [v for k, v in value.items() if isinstance(k, str) and k.lower() == "idweb"]
        if direct:
            for v in direct:
                out.extend(_IDWEB_RE.findall(_raw_text(v)))
            return out
        for v in value.values():
            if isinstance(v, dict | list):
                out.extend(_idwebs(v))
    return out


def _amount(value: Any) -> tuple[float | None, str | None]:
    """An amount and its currency from ``valeurEstimee`` / ``estimationValeur`` (``valeur`` or
    ``fourchette/{valeurBasse, valeurHaute}``) or a legacy ``<VALEUR DEVISE="EUR">``. Zero is
    BOAMP's filler for "not given" (``"valeur": "0.00"``) and reads as None."""
    data = value if isinstance(value, dict) else {"#text": value}
    currency = _raw_text(data.get("@devise") or data.get("@DEVISE")).strip() or None
    if "valeur" in data:
        amount = parse_amount(_raw_text(data["valeur"]))
    elif "fourchette" in data:
        band = _as_dict(data["fourchette"])
        amount = parse_amount(_raw_text(band.get("valeurHaute")))
        if not amount:
            amount = parse_amount(_raw_text(band.get("valeurBasse")))
    else:
        amount = parse_amount(_raw_text(data.get("#text")))
    return (amount if amount else None), currency


def _money(amount: float, currency: str | None) -> str:
    """``75000.0, "EUR"`` → ``75 000 EUR`` (see :func:`common.format_money`)."""
    return format_money(amount, currency)


def _weight(value: Any) -> float | None:
    return parse_amount(_raw_text(value).replace("%", ""))


def _looks_technical(text: str, heading: str) -> bool:
    """Values of keys missing from the lookup table that are not prose: links, e-mails, dates,
    and bare numbers or codes when no heading says what they are."""
    if _URL_RE.match(text) or _EMAIL_RE.match(text) or _DATE_RE.match(text):
        return True
    return not heading and bool(_NUMBER_RE.match(text))


# --------------------------------------------------------------------------- the walk


class _Walker:
    """One pass over a national form (FNSimple, MAPA, DSP, DIVERS or legacy), in document order.

    Keys listed under ``roles`` in the lookup table go to a handler; other keys are text whose
    heading comes from ``sections`` (a ``parent/key`` entry first, then ``key``, else the nearest
    ancestor's heading), unless ``skip`` lists them.
    """

    def __init__(self) -> None:
        self.sections: list[tuple[str, str]] = []
        self.cpv: list[str] = []
        self.lots: list[Lot] = []
        self.signals = Signals()
        self.reserved_seen: list[bool] = []
        self.firsts: dict[str, str] = {}
        self.deadline_raw = ""
        self.value: float | None = None
        self.currency: str | None = None
        self.decisions: list[dict[str, Any]] = []
        self.initial_ids: list[str] = []
        self.lot_rules = LotRules()
        self.offer_all_lots = False
        self._lot: Lot | None = None
        self._lot_label = ""
        self._lot_ids: set[str] = set()
        self._handlers: dict[str, Callable[[str, Any, str], None]] = {
            key: getattr(self, "_on_" + role) for key, role in _ROLES.items()
        }

    # -- text ------------------------------------------------------------------------------

    def _add(self, heading: str, text: str) -> None:
        if not text:
            return
        if self._lot_label:
            heading = f"{self._lot_label} – {heading}" if heading else self._lot_label
        if self.sections and self.sections[-1][0] == heading:
            previous = self.sections[-1][1]
            if text not in previous.split("\n"):
                self.sections[-1] = (heading, f"{previous}\n{text}")
            return
        self.sections.append((heading, text))

    def _leaf(self, key: str, value: Any, heading: str, own: bool) -> None:
        text = _clean(value)
        if not text or (not own and _looks_technical(text, heading)):
            return
        if (
            self._lot is not None
            and (key in _LOT_TITLE_KEYS or key in _LOT_DESCRIPTION_KEYS)
            and clean_lot_title(text, self._lot.lot_id) == self._lot.title
        ):
            # Already written as the lot's heading line (a description that is only
            # "Lot 2 : Finition" is the title too).
            return
        if key in _TITLE_KEYS and self._lot is None:
            self.firsts.setdefault(key, text)
        self._add(heading, text)

    def walk(self, node: dict[str, Any], parent: str = "", heading: str = "") -> None:
        """Walk the children of ``node`` (whose own key is ``parent``)."""
        for key, value in node.items():
            if not isinstance(key, str) or key[:1] == "@":
                continue
            if key == "#text":
                self._leaf(parent, value, heading, bool(heading))
                continue
            handler = self._handlers.get(f"{parent}/{key}") or self._handlers.get(key)
            if handler is not None:
                handler(key, value, heading)
                continue
            if key in _SKIP or f"{parent}/{key}" in _SKIP:
                continue
            own = _SECTIONS.get(f"{parent}/{key}") or _SECTIONS.get(key)
            current = own or heading
            for item in value if isinstance(value, list) else [value]:
                if isinstance(item, dict):
                    if own and _is_flags(item):
                        labels = [_FLAGS[k] for k in _child_keys(item)]
                        self._add(own, ", ".join(labels))
                    else:
                        self.walk(item, key, current)
                else:
                    self._leaf(key, item, current, bool(own))

    # -- targets -----------------------------------------------------------------------------

    @property
    def _target(self) -> Signals:
        """Signals of the lot being walked, else of the notice."""
        return self._lot.signals if self._lot is not None else self.signals

    def _add_code(self, name: str, values: list[str]) -> None:
        codes = self._target.codes
        codes[name] = unique([*codes.get(name, []), *values])

    # -- reservations --------------------------------------------------------------------------

    def _reserved(self, flag: bool, detail: Any) -> None:
        self.reserved_seen.append(flag)
        target = self._target
        target.reserved = True if (flag or target.reserved) else False
        if not flag:
            # "Marché réservé : non" is left out of the text on purpose: the words would only
            # mislead a keyword reader.
            return
        details: list[str] = []
        for key in _child_keys(detail):
            details.append(key)
            text = _clean(_as_dict(detail)[key])
            if text:
                details.append(text)
        text = _clean(detail)
        if text:
            details.append(text)
        if details:
            self._add_code("reservation", details)
        labels = [_FLAGS.get(d, d) for d in details]
        self._add("Marché réservé", "oui" + (" : " + " ; ".join(labels) if labels else ""))

    def _on_reservation_choice(self, key: str, value: Any, heading: str) -> None:
        if isinstance(value, str):
            word = value.strip()
            if word in _YES or word in _NO:
                self._reserved(word in _YES, "")
            return
        for choice in _child_keys(value):
            if choice in _YES:
                self._reserved(True, _as_dict(value)[choice])
            elif choice in _NO:
                self._reserved(False, "")

    def _on_reserved_yes(self, key: str, value: Any, heading: str) -> None:
        self._reserved(True, value)

    def _on_reserved_no(self, key: str, value: Any, heading: str) -> None:
        self._reserved(False, value)

    def _on_profession_reserved_yes(self, key: str, value: Any, heading: str) -> None:
        # A profession reserved by law (architects, auditors): not a social reservation.
        self._add_code("prestation_reservee", ["oui"])
        self._add("Prestation réservée à une profession particulière", "oui")

    def _on_profession_reserved_no(self, key: str, value: Any, heading: str) -> None:
        self._add_code("prestation_reservee", ["non"])

    # -- conditions and criteria ----------------------------------------------------------------

    def _on_execution_conditions(self, key: str, value: Any, heading: str) -> None:
        for item in _as_list(value):
            text = _clean(item)
            if text:
                self._target.execution_conditions.append(text)
                self._add(_SECTIONS.get(key, "Conditions d'exécution"), text)

    def _criteria(self, criteria: list[AwardCriterion], lines: list[str]) -> None:
        self._target.award_criteria.extend(criteria)
        if lines:
            self._add("Critères d'attribution", "\n".join(lines))

    def _on_legacy_criteria(self, key: str, value: Any, heading: str) -> None:
        criteria: list[AwardCriterion] = []
        lines: list[str] = []
        for sub in _child_keys(value):
            block = _as_dict(value)[sub]
            if sub in _LEGACY_CRITERIA_TYPES:
                for item in _as_list(_as_dict(block).get("CRITERE")):
                    name = _clean(item)
                    if not name:
                        continue
                    attrs = _as_dict(item)
                    weight = _weight(attrs.get("@POIDS"))
                    ctype = _LEGACY_CRITERIA_TYPES[sub]
                    if ctype is None and "prix" in name.lower():
                        ctype = "price"
                    criteria.append(AwardCriterion(type=ctype, name=name, weight=weight))
                    order = _raw_text(attrs.get("@ORDRE")).strip()
                    suffix = f" : {weight:g}" if weight is not None else ""
                    lines.append(f"{order + '. ' if order else ''}{name}{suffix}")
            elif sub == "CRITERES_PRIX":
                weight = _weight(_as_dict(block).get("POIDS"))
                criteria.append(AwardCriterion(type="price", name="Prix", weight=weight))
                lines.append(f"Prix : {weight:g}" if weight is not None else _FLAGS[sub])
            elif sub == "CRITERES_LIBRE":
                text = _clean(block)
                if text:
                    criteria.append(AwardCriterion(description=text))
                    lines.append(text)
            elif sub in _FLAGS:
                lines.append(_FLAGS[sub])
        self._criteria(criteria, lines)

    def _on_criteria_text(self, key: str, value: Any, heading: str) -> None:
        text = _clean(value)
        if text:
            self._criteria([AwardCriterion(description=text)], [text])

    def _on_mapa_criteria(self, key: str, value: Any, heading: str) -> None:
        if not isinstance(value, dict):
            self._on_criteria_text(key, value, heading)
            return
        criteria: list[AwardCriterion] = []
        lines: list[str] = []
        for sub in _child_keys(value):
            block = value[sub]
            if sub == "criterePondere":
                for item in _as_list(block):
                    data = _as_dict(item)
                    name = _clean(data.get("critere"))
                    weight = _weight(data.get("criterePCT"))
                    if name:
                        ctype = "price" if "prix" in name.lower() else None
                        criteria.append(AwardCriterion(type=ctype, name=name, weight=weight))
                        lines.append(f"{name} : {weight:g} %" if weight is not None else name)
            elif sub in _FLAGS:
                lines.append(_FLAGS[sub])
            else:
                text = _clean(block)
                if text:
                    criteria.append(AwardCriterion(description=text))
                    lines.append(text)
        self._criteria(criteria, lines)

    # -- classification, values, dates -------------------------------------------------------

    def _on_cpv(self, key: str, value: Any, heading: str) -> None:
        codes = _CPV_RE.findall(" ".join(_leaf_strings(value)))
        self.cpv.extend(codes)
        if self._lot is not None:
            self._lot.cpv = unique([*self._lot.cpv, *codes])

    def _on_value(self, key: str, value: Any, heading: str) -> None:
        amount, currency = _amount(value)
        if amount is None:
            return
        if self._lot is not None:
            if self._lot.estimated_value is None:
                self._lot.estimated_value = amount
        elif self.value is None:
            self.value, self.currency = amount, currency
        self._add("Valeur estimée (H.T.)", _money(amount, currency))

    def _on_awarded_value(self, key: str, value: Any, heading: str) -> None:
        amount, currency = _amount(value)
        if amount is not None:
            self._add("Valeur totale attribuée (H.T.)", _money(amount, currency))

    def _on_deadline(self, key: str, value: Any, heading: str) -> None:
        if not self.deadline_raw:
            self.deadline_raw = _raw_text(value).strip()

    # -- lots, decisions, links ---------------------------------------------------------------

    def _on_lots(self, key: str, value: Any, heading: str) -> None:
        for position, item in enumerate(_as_list(value), 1):
            if not isinstance(item, dict):
                self._leaf(key, item, heading, False)
                continue
            lot = self._new_lot(item, position)
            saved = (self._lot, self._lot_label)
            # The clean title heads the lot's text ("Lot 1 : Remorquage…"): the form's own
            # title field would read "Lot 1 – Intitulé : …", and whoever reads lot headers
            # in the text (the classifier, an alert) would take the label for the title.
            self._add(f"Lot {lot.lot_id}", lot.title or "")
            self._lot, self._lot_label = lot, f"Lot {lot.lot_id}"
            try:
                self.walk(item, key, "")
            finally:
                self._lot, self._lot_label = saved
            self.lots.append(lot)

    def _new_lot(self, item: dict[str, Any], position: int) -> Lot:
        raw_id = next((_clean(item[k]) for k in _LOT_ID_KEYS if _clean(item.get(k))), "")
        title = next((_clean(item[k]) for k in _LOT_TITLE_KEYS if _clean(item.get(k))), "")
        description = next(
            (_clean(item[k]) for k in _LOT_DESCRIPTION_KEYS if _clean(item.get(k))), ""
        )
        lot_id = normalise_lot_id(raw_id) if raw_id else ""
        if not lot_id:
            # FNSimple lots have no number; buyers write it in front ("1- …", "Lot 2 : …").
            match = _LOT_PREFIX_RE.match(title or description)
            lot_id = normalise_lot_id(match.group(1)) if match else str(position)
        if lot_id in self._lot_ids:
            lot_id = str(position) if str(position) not in self._lot_ids else f"{lot_id}.{position}"
        self._lot_ids.add(lot_id)
        if not title and description:
            # The first line of a lot description is its title ("Lot 2 : Finition") unless it
            # is the start of a paragraph ("… les missions suivantes :").
            first = description.split("\n", 1)[0].strip()
            if len(first) <= 150 and not first.endswith(":"):
                title = first
        return Lot(
            lot_id=lot_id,
            title=clean_lot_title(title, lot_id),
            description=description or None,
        )

    def _on_decisions(self, key: str, value: Any, heading: str) -> None:
        for item in _as_list(value):
            data = _as_dict(item)
            if not data:
                continue
            holders = [_as_dict(t) for t in _as_list(data.get("TITULAIRE"))]
            names = [_clean(t.get("DENOMINATION")) for t in holders]
            # One RENSEIGNEMENT per holder: the award date, and the amount when the form
            # states one (MONTANT; MONTANT_MINI/MAXI are a framework's bounds, not a value).
            facts = [_as_dict(r) for r in _as_list(data.get("RENSEIGNEMENT"))]
            dates = sorted(
                d for d in (parse_date(_raw_text(f.get("DATE_ATTRIBUTION"))) for f in facts) if d
            )
            amounts = [_amount(f["MONTANT"])[0] for f in facts if "MONTANT" in f]
            result = None
            if "ATTRIBUE" in data:
                result = "awarded"
            elif any(k in data for k in _NOT_AWARDED):
                result = "not_awarded"
            self.decisions.append(
                {
                    "num": _clean(data.get("NUM_LOT")),
                    "title": _clean(data.get("INTITULE")),
                    "winners": [n for n in names if n],
                    "winner_ids": [
                        _siret_of(t.get("CODE_IDENT_NATIONAL"))
                        for t, n in zip(holders, names, strict=True)
                        if n
                    ],
                    "award_date": dates[0] if dates else None,
                    "value": amounts[0] if len(amounts) == 1 and amounts[0] else None,
                    "result": result,
                    "description": _clean(data.get("DESCRIPTION")),
                }
            )
            self.walk(data, key, "Attribution")

    def _on_initial_notice(self, key: str, value: Any, heading: str) -> None:
        ids = _idwebs(value)
        self.initial_ids.extend(ids)
        if ids:
            self._add("Référence de l'avis initial", ", ".join(ids))

    def _on_max_lots_awarded(self, key: str, value: Any, heading: str) -> None:
        number = parse_amount(_raw_text(value))
        if number:
            self.lot_rules.max_lots_awarded = int(number)

    def _on_lot_division(self, key: str, value: Any, heading: str) -> None:
        choices = _child_keys(value)
        # The form's own answer goes into the text: published data sometimes lists the same
        # lot twice under "Division en lots : non" (test-pub-8), and the answer decides.
        if "NON" in choices:
            self._add("Division en lots", "non")
            self.signals.codes.setdefault("lot_division", []).append("non")
        elif "OUI" in choices:
            self._add("Division en lots", "oui")
            self.signals.codes.setdefault("lot_division", []).append("oui")
        for choice in choices:
            if choice in _LEGACY_LOT_OFFERS:
                self.lot_rules.max_lots_submitted = _LEGACY_LOT_OFFERS[choice]
            elif choice == "OFFRE_TOUS":
                self.offer_all_lots = True


def _leaf_strings(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [s for k, v in value.items() if k[:1] != "@" for s in _leaf_strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _leaf_strings(v)]
    return [value] if isinstance(value, str) else []


# --------------------------------------------------------------------------- records


def _load_record(record: dict[str, Any] | bytes | str) -> dict[str, Any]:
    if isinstance(record, bytes | bytearray):
        try:
            record = bytes(record).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise NormaliseError("malformed_json", "record is not UTF-8") from exc
    if isinstance(record, str):
        if len(record) > MAX_PAYLOAD_BYTES:
            raise NormaliseError("too_large", f"{len(record)} characters")
        try:
            record = json.loads(record)
        except (ValueError, RecursionError) as exc:
            raise NormaliseError("malformed_json", f"record: {exc}"[:200]) from exc
    if not isinstance(record, dict):
        raise NormaliseError("malformed_json", f"record is a {type(record).__name__}")
    # Explore v2.0 wraps the fields: {"record": {"fields": {...}}} or {"fields": {...}}.
    if "idweb" not in record:
        inner = _as_dict(record.get("record")) or record
        if isinstance(inner.get("fields"), dict):
            return inner["fields"]
    return record


def _json_block(value: Any, name: str) -> dict[str, Any]:
    """``gestion`` / ``donnees``: a JSON string (parsed here, once) or an already parsed dict."""
    if value is None or value == "":
        return {}
    if isinstance(value, dict):
        return value
    if isinstance(value, str | bytes | bytearray):
        try:
            parsed = json.loads(value)
        except (ValueError, RecursionError) as exc:
            raise NormaliseError("malformed_json", f"{name}: {exc}"[:200]) from exc
        if isinstance(parsed, dict):
            return parsed
    raise NormaliseError("malformed_json", f"{name} is not a JSON object")


def _family(donnees: dict[str, Any]) -> str:
    for family in _FAMILIES:
        if family in donnees:
            return family
    if any(key in _LEGACY_KEYS for key in donnees):
        return "legacy"
    if not donnees:
        return ""
    raise NormaliseError("unknown_form_family", str(next(iter(donnees)))[:100])


def _legacy_form(record: dict[str, Any], published: str | None) -> str:
    match = re.search(r"Boamp_v(\d+)", _raw_text(record.get("source_schema")), re.IGNORECASE)
    if match:
        return f"legacy-v{match.group(1)}"
    # Undeclared schema: DILA used V230 from 03/2015 to 12/2021 and V240 from 01/2022.
    if published and published[:4] >= "2022":
        return "legacy-v240"
    return "legacy-v230"


def _buyer(organisme: dict[str, Any], identite: dict[str, Any]) -> tuple[str, str | None, str]:
    """Name, SIRET and postcode of the buyer from a 3.2.5 ``organisme`` or a legacy
    ``IDENTITE`` block."""
    name = _clean(organisme.get("nomOfficiel") or organisme.get("acheteurPublic"))
    name = name or _clean(identite.get("DENOMINATION"))
    siret = None
    if organisme:
        kind = organisme.get("typeIdentificationNational")
        is_siret = "siret" in _child_keys(kind) or _raw_text(kind).strip().lower() == "siret"
        code = _DIGITS_RE.sub("", _raw_text(organisme.get("codeIdentificationNational")))
        if is_siret and len(code) == 14:
            siret = code
    else:
        # Boamp_v230 CODE_IDENT_NATIONAL has no type: only a 14-digit value can be a SIRET.
        code = _DIGITS_RE.sub("", _raw_text(identite.get("CODE_IDENT_NATIONAL")))
        siret = code if len(code) == 14 else None
    postcode = _raw_text(
        organisme.get("cp") or _as_dict(organisme.get("adr")).get("cp") or identite.get("CP")
    )
    return name, siret, postcode


def _winners(record: dict[str, Any]) -> list[str]:
    """Flat ``titulaire`` (award notices; names only, no SIREN)."""
    return unique([_one_line(_clean(v)) for v in _as_list(record.get("titulaire"))])


def _departements(values: Any) -> list[str]:
    return unique([d for d in (clean_departement(_raw_text(v)) for v in _as_list(values)) if d])


def _social_flag(record: dict[str, Any], index: dict[str, Any]) -> tuple[bool | None, list[str]]:
    """``criteres`` (flat) and ``CRITERES_SOCIAUX_ENV`` (GESTION): True when either says
    ``sociaux``, False when they are present without it, None when both are absent."""
    words = [_raw_text(v).strip().lower() for v in _as_list(record.get("criteres"))]
    words = [w for text in words for w in re.split(r"[\s,;/]+", text) if w]
    block = index.get("CRITERES_SOCIAUX_ENV")
    words += [k.lower() for k in _child_keys(block)]
    words = unique(words)
    if "sociaux" in words:
        return True, words
    if words or "CRITERES_SOCIAUX_ENV" in index:
        return False, words
    return None, words


def _deadline(stated: str | None, record: dict[str, Any]) -> str | None:
    """The deadline the notice states, unless the flat ``datelimitereponse`` says another time.

    The API writes the Paris wall-clock time with ``+00:00`` (26-7298: ``12:00+00:00`` for a
    stated ``12:00+01:00``): when both give the same wall-clock time the stated offset is kept.
    A flat value with another time is newer information or a true UTC conversion: it wins.
    """
    flat = parse_datetime(_raw_text(record.get("datelimitereponse")).strip())
    if stated and flat and stated[:16] != flat[:16]:
        return flat
    return stated or flat


def _siret_of(value: Any) -> str:
    """A holder's ``CODE_IDENT_NATIONAL`` as 14 digits when it is a SIRET, else ""."""
    digits = re.sub(r"\s", "", _raw_text(value))
    return digits if re.fullmatch(r"\d{14}", digits) else ""


def _links(idwebs: list[str], own: str, nature: str) -> list[NoticeLink]:
    kind = "corrects" if nature in _LINKING_NATURES else "follows"
    return [NoticeLink(kind=kind, target=f"{SOURCE}:{i}") for i in unique(idwebs) if i != own]


def _apply_decisions(walker: _Walker) -> list[str]:
    """Attach legacy ``DECISION`` blocks to the lots they name; return every winner."""
    winners: list[str] = []
    by_id = {lot.lot_id: lot for lot in walker.lots}
    several = len(walker.decisions) > 1
    for decision in walker.decisions:
        winners.extend(decision["winners"])
        lot_id = normalise_lot_id(decision["num"]) if decision["num"] else ""
        lot = by_id.get(lot_id)
        if lot is None and several and lot_id:
            # An award notice without OBJET/LOTS names its lots in DECISION only. A single
            # DECISION is the whole contract: its NUM_LOT is often a contract number.
            lot = Lot(
                lot_id=lot_id,
                title=clean_lot_title(decision["title"], lot_id),
                description=decision["description"] or None,
            )
            walker.lots.append(lot)
            by_id[lot_id] = lot
        if lot is not None:
            lot.result = lot.result or decision["result"]
            if not lot.winners:
                lot.winners = decision["winners"]
                lot.winner_ids = decision["winner_ids"] if any(decision["winner_ids"]) else []
            else:
                lot.winners = unique([*lot.winners, *decision["winners"]])
            lot.award_date = lot.award_date or decision["award_date"]
            lot.awarded_value = lot.awarded_value or decision["value"]
            lot.title = lot.title or clean_lot_title(decision["title"], lot.lot_id)
    return unique(winners)


def _national(
    record: dict[str, Any], family: str, body: dict[str, Any], notice: Notice
) -> tuple[_Walker, str, str | None, str]:
    """Fill ``notice`` from a national or legacy form; return the walk and buyer facts."""
    walker = _Walker()
    walker.walk(body, family)
    organisme = _as_dict(body.get("organisme")) if family != "legacy" else {}
    identite = _as_dict(body.get("IDENTITE")) if family == "legacy" else {}
    name, siret, postcode = _buyer(organisme, identite)

    notice.text = join_sections(walker.sections)
    notice.cpv = unique(walker.cpv)
    notice.estimated_value = walker.value
    notice.currency = walker.currency
    from_decisions = _apply_decisions(walker)
    notice.winners = _winners(record) or from_decisions
    notice.lots = walker.lots
    if walker.offer_all_lots and walker.lots:
        walker.lot_rules.max_lots_submitted = len(walker.lots)
    notice.lot_rules = walker.lot_rules
    signals = walker.signals
    if walker.reserved_seen:
        signals.reserved = any(walker.reserved_seen)
    notice.signals = signals

    title = _one_line(_clean(record.get("objet")))
    form_title = next((walker.firsts[k] for k in _TITLE_KEYS if walker.firsts.get(k)), "")
    # ``objet`` is GESTION's RESUME_OBJET, cut at 200 characters: use the form's own title
    # when the summary looks cut.
    if not title or (len(title) >= 190 and len(_one_line(form_title)) > len(title)):
        title = _one_line(form_title) or title
    notice.title = title
    notice.buyer_name = _one_line(_clean(record.get("nomacheteur"))) or name or None
    notice.buyer_siret = siret
    return walker, walker.deadline_raw, postcode or None, name


# --------------------------------------------------------------------------- eForms


def _from_eforms(
    body: dict[str, Any], element: etree._Element | None, idweb: str, url: str
) -> tuple[Notice, str]:
    if element is None:
        root_key = next((k for k in body if isinstance(k, str) and k[:1] not in "@#"), None)
        if root_key is None:
            raise NormaliseError("missing_field", "EFORMS notice")
        element = dict_to_xml(root_key, body[root_key])
    if _normalise_eforms is None:  # pragma: no cover - depends on the sibling module
        raise NormaliseError("eforms_unavailable", "the eForms normaliser is missing")
    notice = _normalise_eforms(element, source=SOURCE, source_id=idweb, url=url)
    return notice, local(element.tag)


# --------------------------------------------------------------------------- assembly


def _build(
    record: dict[str, Any],
    gestion: dict[str, Any],
    donnees: dict[str, Any],
    eforms_element: etree._Element | None,
    url: str | None,
) -> Notice:
    idweb = _one_line(_clean(record.get("idweb")))
    if not idweb:
        raise NormaliseError("missing_field", "idweb")
    family = _family(donnees)
    reference = _as_dict(gestion.get("REFERENCE"))
    index = _as_dict(gestion.get("INDEXATION"))
    type_avis = _as_dict(reference.get("TYPE_AVIS"))
    nature_code = _one_line(_clean(record.get("nature"))) or _first_key(type_avis.get("NATURE"))
    nature = _NATURES.get(nature_code, OTHER)
    notice_url = _one_line(_clean(record.get("url_avis"))) or url or NOTICE_URL.format(idweb=idweb)
    published = parse_date(_raw_text(record.get("dateparution"))) or parse_date(
        _raw_text(index.get("DATE_PUBLICATION"))
    )
    procedure = (
        _one_line(_clean(record.get("type_procedure")))
        or _one_line(_clean(record.get("procedure_libelle")))
        or _first_key(index.get("TYPE_PROCEDURE"))
        or _first_key(_as_dict(donnees.get("PROCEDURE")).get("TYPE_PROCEDURE"))
    )
    deadline = parse_datetime(_raw_text(index.get("DATE_LIMITE_REPONSE")).strip())
    links_from_form: list[str] = []
    postcode: str | None = None

    if family == "EFORMS":
        notice, root_name = _from_eforms(
            _as_dict(donnees.get("EFORMS")), eforms_element, idweb, notice_url
        )
        form = f"EFORMS/{root_name}"
        # BOAMP's nature wins, except that an eForms change notice may say "cancelled".
        if notice.nature != CANCELLATION:
            notice.nature = nature
        notice.title = notice.title or _one_line(_clean(record.get("objet")))
        notice.buyer_name = (
            notice.buyer_name or _one_line(_clean(record.get("nomacheteur"))) or None
        )
        notice.deadline = notice.deadline or _deadline(deadline, record)
        notice.procedure = notice.procedure or procedure or None
        notice.winners = notice.winners or _winners(record)
    else:
        notice = Notice(id="", source=SOURCE, source_id=idweb, form="")
        if family:
            body = donnees if family == "legacy" else _as_dict(donnees.get(family))
            walker, form_deadline, postcode, _ = _national(record, family, body, notice)
            links_from_form = walker.initial_ids
            # The form's own date first: a corrigendum may move it while GESTION stays.
            deadline = parse_datetime(form_deadline) or deadline
            form = _legacy_form(record, published) if family == "legacy" else family
        else:
            # No donnees at all: the flat fields still make a usable notice.
            notice.title = _one_line(_clean(record.get("objet")))
            notice.buyer_name = _one_line(_clean(record.get("nomacheteur"))) or None
            form = "flat"
        notice.title = notice.title or _one_line(_clean(index.get("RESUME_OBJET")))
        notice.buyer_name = (
            notice.buyer_name or _one_line(_clean(index.get("NOMORGANISME"))) or None
        )
        notice.nature = nature
        notice.deadline = _deadline(deadline, record)
        notice.procedure = procedure or None

    notice.id = f"{SOURCE}:{idweb}"
    notice.source = SOURCE
    notice.source_id = idweb
    notice.form = f"{SOURCE}/{form}"
    notice.url = notice_url
    notice.published = published or notice.published
    notice.language = "fr"

    departements = _departements(record.get("code_departement"))
    departements = departements or _departements(index.get("DEP_PUBLICATION"))
    if not departements and postcode:
        from_postcode = departement_from_postcode(postcode)
        departements = [from_postcode] if from_postcode else []
    notice.departements = departements or notice.departements

    flag, words = _social_flag(record, index)
    notice.signals.social_criteria_flag = flag
    if words:
        notice.signals.codes["criteres_sociaux_env"] = words

    ids = [
        *_idwebs(record.get("annonce_lie")),
        *_idwebs(record.get("annonces_anterieures")),
        *_idwebs(reference.get("ANNONCE_ANTERIEUR")),
        *_idwebs(_as_dict(gestion.get("MARCHE")).get("ANNONCE_ANTERIEUR")),
        *links_from_form,
    ]
    known = {link.target for link in notice.links}
    notice.links.extend(link for link in _links(ids, idweb, nature) if link.target not in known)
    return notice


# --------------------------------------------------------------------------- XML flux


def _record_from_root(
    root: etree._Element, *, convert_eforms: bool
) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any], etree._Element | None]:
    """Flat fields, ``gestion``, ``donnees`` and (EFORMS family) the eForms notice element."""
    blocks = {local(c.tag): c for c in root if isinstance(c.tag, str)}
    donnees_el = blocks.get("DONNEES")
    if donnees_el is None:
        raise NormaliseError("missing_field", "DONNEES")
    gestion_el = blocks.get("GESTION")
    gestion = xml_to_dict(gestion_el) if gestion_el is not None else {}
    family_el = next((c for c in donnees_el if isinstance(c.tag, str)), None)
    eforms_el = None
    if family_el is not None and local(family_el.tag) == "EFORMS":
        eforms_el = next((c for c in family_el if isinstance(c.tag, str)), None)
    if eforms_el is not None and not convert_eforms:
        donnees: dict[str, Any] = {"EFORMS": {}}  # the element is read directly, not via JSON
    else:
        donnees = xml_to_dict(donnees_el)

    reference = _as_dict(gestion.get("REFERENCE"))
    index = _as_dict(gestion.get("INDEXATION"))
    type_avis = _as_dict(reference.get("TYPE_AVIS"))
    idweb = _raw_text(reference.get("IDWEB")).strip()
    if not idweb:
        raise NormaliseError("missing_field", "idweb")

    def text(value: Any) -> str | None:
        return _raw_text(value) or None

    def keys(value: Any) -> list[str] | None:
        return [k for v in _as_list(value) for k in _child_keys(v)] or None

    legacy = local(root.tag) != "ann" and "SCHEMA" not in index
    if legacy:
        location = root.get("{http://www.w3.org/2001/XMLSchema-instance}noNamespaceSchemaLocation")
        schema = location.rsplit("/", 1)[-1] if location else None
    else:
        schema = text(index.get("SCHEMA")) or "3.2.5"
    buyer = text(index.get("NOMORGANISME"))
    if buyer is None and legacy:
        buyer = text(_as_dict(donnees.get("IDENTITE")).get("DENOMINATION"))
    procedure = _first_key(index.get("TYPE_PROCEDURE")) or _first_key(
        _as_dict(donnees.get("PROCEDURE")).get("TYPE_PROCEDURE")
    )
    previous = _as_dict(gestion.get("MARCHE")).get("ANNONCE_ANTERIEUR")
    linked = _idwebs(reference.get("ANNONCE_ANTERIEUR"))
    folder = None
    if eforms_el is not None:
        folder = next(
            (
                c.text
                for c in eforms_el
                if isinstance(c.tag, str) and local(c.tag) == "ContractFolderID"
            ),
            None,
        )

    record: dict[str, Any] = {
        "idweb": idweb,
        "id": idweb.replace("-", "_"),
        "contractfolderid": folder,
        "objet": text(index.get("RESUME_OBJET")),
        "filename": idweb,
        "famille": _first_key(type_avis.get("FAMILLE")) or None,
        "code_departement": [_raw_text(v) for v in _as_list(index.get("DEP_PUBLICATION"))] or None,
        "dateparution": text(index.get("DATE_PUBLICATION")),
        "datefindiffusion": text(index.get("DATE_FIN_DIFFUSION")),
        "datelimitereponse": text(index.get("DATE_LIMITE_REPONSE")),
        "nomacheteur": buyer,
        "perimetre": _first_key(type_avis.get("PERIMETRE")) or None,
        "type_procedure": procedure or None,
        "nature": _first_key(type_avis.get("NATURE")) or None,
        "etat": _first_key(type_avis.get("STATUT")) or None,
        "criteres": [k.lower() for k in _child_keys(index.get("CRITERES_SOCIAUX_ENV"))] or None,
        "type_marche": keys(index.get("NATURE_MARCHE"))
        or keys(_as_dict(donnees.get("OBJET")).get("TYPE_MARCHE")),
        "annonce_lie": linked or None,
        "annonces_anterieures": json.dumps(previous, ensure_ascii=False) if previous else None,
        "source_schema": schema,
        "url_avis": NOTICE_URL.format(idweb=idweb),
    }
    return record, gestion, donnees, eforms_el


def _parse(body: bytes | str) -> etree._Element:
    if isinstance(body, str):
        body = body.encode("utf-8")
    return parse_xml(body)


# --------------------------------------------------------------------------- public API


def normalise_boamp_record(record: dict | bytes | str, *, url: str | None = None) -> Notice:
    """Normalise one record of the Explore v2.1 ``/records`` response (a dict, or its JSON text).

    ``url`` is used as the notice URL only when the record has no ``url_avis``. Raises
    :class:`NormaliseError` (``malformed_json``, ``unknown_form_family``, ``missing_field``).
    """
    data = _load_record(record)
    gestion = _json_block(data.get("gestion"), "gestion")
    donnees = _json_block(data.get("donnees"), "donnees")
    try:
        return _build(data, gestion, donnees, None, url)
    except RecursionError as exc:  # a hostile nesting depth, not a notice
        raise NormaliseError("too_deep", "donnees nesting") from exc


def normalise_boamp_xml(body: bytes, *, url: str | None = None) -> Notice:
    """Normalise one DILA flux XML file (schema 3.2.5 ``jo:ann`` or legacy ``ANNONCE``).

    Goes through the same code as :func:`normalise_boamp_record` on the record that
    :func:`boamp_xml_to_record` builds; an eForms notice element is handed over as is.
    """
    record, gestion, donnees, eforms_el = _record_from_root(_parse(body), convert_eforms=False)
    return _build(record, gestion, donnees, eforms_el, url)


def boamp_xml_to_record(body: bytes) -> dict:
    """The API-shaped record of one DILA flux XML file: the flat fields the API derives
    (``idweb``, ``id``, ``objet``, ``famille``, ``nature``, dates, ``nomacheteur``,
    ``code_departement``, ``type_marche``, ``url_avis``, links, ``source_schema``, ``criteres``…)
    plus ``gestion`` and ``donnees`` as JSON strings in the API's XML→JSON conventions."""
    record, gestion, donnees, _ = _record_from_root(_parse(body), convert_eforms=True)
    record["gestion"] = json.dumps(gestion, ensure_ascii=False)
    record["donnees"] = json.dumps(donnees, ensure_ascii=False)
    return record


__all__ = ["boamp_xml_to_record", "normalise_boamp_record", "normalise_boamp_xml"]
