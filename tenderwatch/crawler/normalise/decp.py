"""DECP (données essentielles de la commande publique, schema 2022) → :class:`Notice`.

A DECP record is one contract already awarded: the notice is of nature ``award``, its
publication date is ``dateNotification``, its title the contract's object (its only text),
and its single lot carries the winners (``titulaires``: identifier, and name when the
consolidation adds one), the notification date and the amount. One contract is one lot unless
its id names a lot (``…-LOT2``).

Three shapes are read, with their quirks in ``decp_fields.json`` rather than in code:

* the schema's wrapped objects (``"titulaires": [{"titulaire": {...}}]``,
  ``"considerationsSociales": {"considerationSociale": [...]}``);
* the flat-array variant real files use (``"titulaires": [{...}]``,
  ``"considerationsSociales": []``);
* the Opendatasoft tabular rows of ``decp-2022-marches-valides`` (lower-case names,
  ``titulaire_id_1..3``, multi-values joined with ``,``/``;``, ``CDL`` as a filler).

``considerationsSociales`` becomes structured signals, weighed in the classifier like a form
flag but never alone « sûr » (ADR 0013): ``Clause sociale`` → ``codes["decp_social"]``
``clause``; ``Critère social`` → ``criterion``; ``Marché réservé`` → ``reserved=True`` (a
reservation of unknown kind); ``Pas de considération sociale`` → ``reserved=False`` and no
clause. The values never enter the text, so that the text rules do not count them twice.
``modifications`` are kept in the text, with their dates, amounts and new holders; the
holders a modification names replace the initial ones on the lot (the schema's
``modifications[].titulaires`` is the list *after* the modification, e.g. a transfer of the
contract): whoever holds the contract now is whom an SIAE calls about its insertion hours.
The lot's ``awarded_value`` stays the initial amount; the latest amount is in the text.
"""

from __future__ import annotations

import json
import re
from functools import cache
from importlib import resources
from typing import Any

from tenderwatch.core.records import AWARD, Lot, Notice, Signals
from tenderwatch.crawler.normalise.common import (
    MAX_PAYLOAD_BYTES,
    NormaliseError,
    clean_departement,
    clean_text,
    departement_from_postcode,
    format_money,
    join_sections,
    parse_amount,
    parse_date,
    unique,
)

SOURCE = "decp"


@cache
def quirks() -> dict[str, Any]:
    """The lookup table ``decp_fields.json``."""
    path = resources.files("tenderwatch.crawler.normalise") / "decp_fields.json"
    return json.loads(path.read_text(encoding="utf-8"))


# -- reading any shape ----------------------------------------------------------------------


def _lower_keys(obj: dict[str, Any]) -> dict[str, Any]:
    return {str(k).lower(): v for k, v in obj.items()}


def _is_filler(value: Any) -> bool:
    return value is None or (
        isinstance(value, str) and value.strip().lower() in quirks()["fillers"]
    )


def _get(record: dict[str, Any], names: list[str]) -> Any:
    """The first non-filler value among ``names`` (case-insensitive; dotted = nested)."""
    for name in names:
        node: Any = record
        for part in name.split("."):
            node = _lower_keys(node).get(part.lower()) if isinstance(node, dict) else None
            if node is None:
                break
        if not _is_filler(node) and node != [] and node != {}:
            return node
    return None


def field(record: dict[str, Any], key: str) -> Any:
    """The value of the logical field ``key`` (see ``decp_fields.json`` → ``fields``)."""
    return _get(record, quirks()["fields"][key])


def _unwrap_list(value: Any) -> list[Any]:
    """A list from the three shapes: a list, ``{"wrapper": [...]}`` or a joined string."""
    if value is None:
        return []
    if isinstance(value, str):
        text = value.strip()
        if text.startswith(("[", "{")):
            try:
                return _unwrap_list(json.loads(text))
            except ValueError:
                pass
        parts = re.split(quirks()["list_separators"], text)
        return [p.strip() for p in parts if not _is_filler(p)]
    if isinstance(value, dict):
        # {"considerationSociale": [...]} / {"titulaire": {...}}: one key holding the items.
        if len(value) == 1:
            return _unwrap_list(next(iter(value.values())))
        return [value]
    if isinstance(value, list):
        out: list[Any] = []
        for item in value:
            if isinstance(item, list):
                out.extend(_unwrap_list(item))
            else:
                out.append(_unwrap_item(item))
        return [v for v in out if not _is_filler(v)]
    return [value]


def _unwrap_item(item: Any) -> Any:
    """``{"titulaire": {...}}`` → ``{...}`` (the schema wraps each item in its own name)."""
    if isinstance(item, dict) and len(item) == 1:
        inner = next(iter(item.values()))
        if isinstance(inner, dict):
            return inner
    return item


def _text(value: Any) -> str:
    return clean_text(value) if value is not None else ""


def decp_source_id(record: dict[str, Any]) -> str | None:
    """``{buyer id}-{contract id}``: a contract id is only unique for its buyer. ``None``
    when either is missing (the record cannot be keyed)."""
    contract = field(record, "id")
    buyer = field(record, "buyer_id")
    if contract is None or buyer is None or isinstance(contract, (dict, list)):
        return None
    contract_text = str(contract).strip()
    buyer_text = re.sub(r"\s", "", str(buyer))
    if not contract_text or not buyer_text:
        return None
    return f"{buyer_text}-{contract_text}"


# -- fields ---------------------------------------------------------------------------------


def _siret(value: Any) -> str | None:
    digits = re.sub(r"\s", "", str(value or ""))
    return digits if re.fullmatch(r"\d{14}", digits) else None


def _cpv(value: Any) -> list[str]:
    out = []
    for code in _unwrap_list(value):
        digits = re.sub(r"\D", "", str(code).split("-")[0])
        # Tabular exports stored the code as a number: a leading 0 was lost (9310000).
        if len(digits) == 7:
            digits = "0" + digits
        if len(digits) == 8:
            out.append(digits)
    return unique(out)


def _departements(code: Any, type_code: Any) -> list[str]:
    kind = quirks()["place_types"].get(_text(type_code).lower())
    text = re.sub(r"\s", "", str(code or "")).upper()
    if not text or not kind:
        return []  # a region, a country or no place: no département to say
    if kind == "departement":
        dept = clean_departement(text)
    elif kind == "postcode":
        dept = departement_from_postcode(text)
    else:  # INSEE commune code: 75056, 2A004, 97411
        dept = clean_departement(text[:3] if text.startswith("97") else text[:2])
    return [dept] if dept else []


def _winner_id(identifier: Any, id_type: Any) -> str:
    """A 14-digit SIRET as is; any other identifier prefixed with its type (``TVA FR…``)."""
    value = re.sub(r"\s", "", str(identifier or ""))
    kind = _text(id_type).upper() or "SIRET"
    if kind == "SIRET" and _siret(value):
        return value
    return f"{kind} {value}" if value else ""


def _winners(record: dict[str, Any]) -> list[tuple[str, str]]:
    """``(name, identifier)`` of each holder, from the nested list or the tabular columns."""
    keys = quirks()["winner_keys"]
    out: list[tuple[str, str]] = []
    for item in _unwrap_list(field(record, "winners")):
        if not isinstance(item, dict):
            continue
        ident = _winner_id(_get(item, keys["id"]), _get(item, keys["type"]))
        out.append((_text(_get(item, keys["name"])), ident))
    if not out:
        tab = quirks()["tabular_winner"]
        for n in range(1, tab["max"] + 1):
            ident = _get(record, [k.format(n=n) for k in tab["id"]])
            if ident is None:
                continue
            id_type = _get(record, [k.format(n=n) for k in tab["type"]])
            name = _get(record, [k.format(n=n) for k in tab["name"]])
            out.append((_text(name), _winner_id(ident, id_type)))
    seen: set[tuple[str, str]] = set()
    return [w for w in out if (w[0] or w[1]) and not (w in seen or seen.add(w))]


def _display(name: str, ident: str) -> str:
    """What alerts show for a winner: its name, else its identifier (``SIRET …``)."""
    if name:
        return name
    return f"SIRET {ident}" if _siret(ident) else ident


def social_considerations(record: dict[str, Any]) -> tuple[list[str], list[str]]:
    """``(raw values, kinds)``: kinds among ``clause``, ``criterion``, ``reserved``, ``none``;
    an unknown value is kept raw and has no kind."""
    raw = [_text(v) for v in _unwrap_list(field(record, "social")) if isinstance(v, str)]
    table = quirks()["social_values"]
    kinds = unique([table.get(v.lower(), "") for v in raw])
    return [v for v in raw if v], kinds


def _signals(record: dict[str, Any]) -> Signals:
    raw, kinds = social_considerations(record)
    signals = Signals()
    if not raw:
        return signals  # not said (an empty list in the flat shape) is not "said no"
    signals.codes["decp_considerations_sociales"] = raw
    positive = [k for k in kinds if k in ("clause", "criterion", "reserved")]
    signals.codes["decp_social"] = positive or (["none"] if "none" in kinds else [])
    if "reserved" in positive:
        signals.reserved = True
    elif positive == [] and "none" in kinds:
        # « Pas de considération sociale » says no reservation either: a text that claims
        # one is then reported as a conflict, never silenced.
        signals.reserved = False
    return signals


def _modifications(record: dict[str, Any]) -> list[str]:
    keys = quirks()["modification_keys"]
    lines = []
    for item in _unwrap_list(field(record, "modifications")):
        if not isinstance(item, dict):
            continue
        parts = []
        day = parse_date(_get(item, keys["date"]))
        if day:
            parts.append(f"notifiée le {day}")
        amount = parse_amount(_get(item, keys["amount"]))
        if amount is not None:
            parts.append(f"montant {format_money(amount, 'EUR')}")
        duration = _get(item, keys["duration"])
        if duration is not None:
            parts.append(f"durée {_text(duration)} mois")
        holders = [_display(n, i) for n, i in _winners(item)]
        if holders:
            parts.append("titulaires : " + ", ".join(holders))
        what = _text(_get(item, keys["object"]))
        if what:
            parts.append(what)
        number = _text(_get(item, keys["id"]))
        head = f"Modification n° {number}" if number else "Modification"
        lines.append(f"{head} : " + " ; ".join(parts) if parts else head)
    return lines


def _holders_after_modifications(record: dict[str, Any]) -> list[tuple[str, str]] | None:
    """Holders named by the latest modification that names any (by notification date, then
    order of publication in the list), or None when no modification changes them."""
    keys = quirks()["modification_keys"]
    latest: tuple[str, int, list[tuple[str, str]]] | None = None
    for position, item in enumerate(_unwrap_list(field(record, "modifications"))):
        if not isinstance(item, dict):
            continue
        holders = _winners(item)
        if not holders:
            continue
        key = (parse_date(_get(item, keys["date"])) or "", position, holders)
        if latest is None or key[:2] >= latest[:2]:
            latest = key
    return latest[2] if latest else None


def _lot_id(contract_id: str) -> str:
    for pattern in quirks()["lot_in_id"]:
        m = re.search(pattern, contract_id)
        if m:
            return str(int(m.group(1)))
    return "1"


# -- entry point ----------------------------------------------------------------------------


def _load(record: dict | bytes | str) -> dict[str, Any]:
    if isinstance(record, (bytes, str)):
        if len(record) > MAX_PAYLOAD_BYTES:
            raise NormaliseError("too_large", f"{len(record)} bytes")
        try:
            record = json.loads(record)
        except ValueError as exc:
            raise NormaliseError("malformed_json", str(exc)[:200]) from exc
    if isinstance(record, dict):
        # A whole file with a single contract: {"marches": {"marche": [{...}]}} or the
        # flat {"marches": [{...}]}.
        lowered = _lower_keys(record)
        if "marches" in lowered and "id" not in lowered:
            contracts = (
                [
                    c
                    for value in _lower_keys(lowered["marches"]).values()
                    for c in _unwrap_list(value)
                    if isinstance(c, dict)
                ]
                if isinstance(lowered["marches"], dict)
                else _unwrap_list(lowered["marches"])
            )
            if len(contracts) != 1:
                raise NormaliseError("not_one_contract", f"{len(contracts)} contrats")
            record = contracts[0]
    if not isinstance(record, dict):
        raise NormaliseError("malformed_record", type(record).__name__)
    return record


def normalise_decp_record(record: dict | bytes | str, *, url: str | None = None) -> Notice:
    """Normalise one DECP contract (any of the three shapes, a dict or its JSON text).

    Raises :class:`NormaliseError` (``malformed_json``, ``malformed_record``,
    ``missing_field``, ``not_one_contract``).
    """
    data = _load(record)
    source_id = decp_source_id(data)
    if source_id is None:
        raise NormaliseError("missing_field", "id / acheteur.id")
    title = _text(field(data, "object"))
    if not title:
        raise NormaliseError("missing_field", "objet")
    concession = _get(data, quirks()["concession_markers"]) is not None
    contract_id = str(field(data, "id")).strip()
    buyer_id = re.sub(r"\s", "", str(field(data, "buyer_id")))
    buyer_siret = _siret(buyer_id)
    buyer_name = _text(field(data, "buyer_name")) or None
    notified = parse_date(field(data, "notified"))
    amount = parse_amount(field(data, "amount"))
    cpv = _cpv(field(data, "cpv"))
    departements = _departements(field(data, "place_code"), field(data, "place_type"))
    procedure = _text(field(data, "procedure")) or None
    winners = _winners(data)
    modifications = _modifications(data)
    current = _holders_after_modifications(data)
    duration = field(data, "duration")

    sections: list[tuple[str, str]] = [
        ("Objet du marché" if not concession else "Objet de la concession", title),
        ("Identifiant", contract_id),
        ("Acheteur", " — ".join(x for x in (buyer_name or "", f"SIRET {buyer_id}") if x)),
        ("Nature", _text(field(data, "nature"))),
        ("Procédure", procedure or ""),
        ("Code CPV", ", ".join(cpv)),
        ("Lieu d'exécution", _text(field(data, "place_code"))),
        ("Date de notification", notified or ""),
        ("Durée", f"{_text(duration)} mois" if duration is not None else ""),
        ("Montant", format_money(amount, "EUR") if amount is not None else ""),
        ("Accord-cadre", _text(field(data, "framework_id"))),
        ("Titulaires", "\n".join(_display(n, i) for n, i in winners)),
        ("Modifications", "\n".join(modifications)),
        (
            "Titulaires après modification",
            "\n".join(_display(n, i) for n, i in current) if current else "",
        ),
    ]
    if current:
        winners = current
    lot = Lot(
        lot_id=_lot_id(contract_id),
        title=title,
        cpv=cpv,
        departements=departements,
        result="awarded" if winners else None,
        winners=[_display(n, i) for n, i in winners],
        winner_ids=[i for _, i in winners],
        award_date=notified,
        awarded_value=amount,
    )
    return Notice(
        id=f"{SOURCE}:{source_id}",
        source=SOURCE,
        source_id=source_id,
        form="decp/concession" if concession else "decp/marche",
        title=title,
        nature=AWARD,
        published=notified,
        buyer_name=buyer_name,
        buyer_siret=buyer_siret,
        departements=departements,
        cpv=cpv,
        procedure=procedure,
        estimated_value=amount,
        currency="EUR" if amount is not None else None,
        url=url,
        language="fr",
        text=join_sections(sections),
        lots=[lot],
        signals=_signals(data),
        winners=list(lot.winners),
    )
