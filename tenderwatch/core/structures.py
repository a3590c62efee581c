"""Member structures of a réseau: the ``structures`` table and its import (issue #11).

Three input shapes:

- ``csv``: what every réseau can export from its spreadsheet — SIRET, name, kind,
  département, e-mail, sectors (CPV prefixes or words). Comma or semicolon separated,
  UTF-8 (with or without BOM) or Windows-1252 (Excel's default).
- ``lemarche``: le marché de l'inclusion's SIAE API (``/api/siae/``), a page
  ``{"count", "next", "results": [...]}`` or a bare list of SIAE objects.
- ``emplois``: les emplois de l'inclusion's ``/api/v1/siaes/`` (same paging).

The import is all or nothing: every record is validated first (SIRET with its check digit,
kind, e-mail, département), duplicates are merged by SIRET, then everything is written in
one transaction. The report says what was created, updated, left unchanged, merged and
skipped, each with its line (CSV) or position (JSON) and the reason, in French.

Quirks of the data (kind aliases, sector words, SIREN exceptions to Luhn) are in
``tenderwatch/data/structures.json``.
"""

from __future__ import annotations

import csv
import io
import json
import re
import unicodedata
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from tenderwatch.core.store import Store

FORMATS = ("csv", "lemarche", "emplois")

# CSV headers accepted for each field (compared without accents, case or spaces).
_CSV_HEADERS = {
    "siret": ("siret",),
    "name": ("nom", "name", "raison sociale", "raison_sociale", "structure"),
    "kind": ("type", "kind", "type de structure"),
    "departement": ("departement", "department", "dept", "dep"),
    "email": ("courriel", "email", "e-mail", "mail", "adresse electronique"),
    "sectors": ("secteurs", "sectors", "secteur", "cpv"),
}


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _fold(text: str) -> str:
    """Lower case, no accents, single spaces, straight apostrophes: the key of a lookup."""
    text = unicodedata.normalize("NFKD", text or "").replace("’", "'")
    text = "".join(c for c in text if not unicodedata.combining(c))
    return " ".join(text.lower().split())


@cache
def tables() -> dict[str, Any]:
    """The lookup tables of ``tenderwatch/data/structures.json``."""
    text = resources.files("tenderwatch.data").joinpath("structures.json").read_text("utf-8")
    return json.loads(text)


@cache
def departement_codes() -> frozenset[str]:
    text = resources.files("tenderwatch.data").joinpath("departements.csv").read_text("utf-8")
    return frozenset(row["code"] for row in csv.DictReader(io.StringIO(text)))


# ---------------------------------------------------------------------------------------------
# SIRET
# ---------------------------------------------------------------------------------------------


def luhn_ok(digits: str) -> bool:
    """The Luhn check (every second digit from the right doubled)."""
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def siret_problem(value: str) -> str | None:
    """Why ``value`` (spaces already removed) is not a valid SIRET; None when it is."""
    if not value:
        return "SIRET manquant"
    if not value.isdigit() or len(value) != 14:
        return f"SIRET « {value} » invalide : 14 chiffres attendus"
    if luhn_ok(value):
        return None
    exception = tables()["siren_exceptions"].get(value[:9])
    if exception and exception["rule"] == "digit_sum_multiple_of_5":
        if sum(int(c) for c in value) % 5 == 0:
            return None
    return f"SIRET « {value} » invalide : clé de contrôle fausse"


def clean_siret(value: Any) -> str:
    """Spaces, dots and non-breaking spaces taken out (``123 456 789 00012``)."""
    return re.sub(r"[\s.\u00a0\u202f]", "", str(value or ""))


# ---------------------------------------------------------------------------------------------
# Records and report
# ---------------------------------------------------------------------------------------------


@dataclass
class StructureRecord:
    """One structure read from a file, before or after validation."""

    where: str  # « ligne 4 » / « enregistrement 2 »: how the report names it
    siret: str
    name: str
    kind: str | None
    departement: str | None
    email: str | None
    cpv_prefixes: list[str] = field(default_factory=list)
    sector_words: list[str] = field(default_factory=list)
    brand: str | None = None
    city: str | None = None
    post_code: str | None = None
    networks: list[str] = field(default_factory=list)
    source_id: str | None = None

    def row(self, source: str) -> dict[str, Any]:
        """The ``structures`` row (without timestamps)."""
        return {
            "siret": self.siret,
            "name": self.name,
            "brand": self.brand,
            "kind": self.kind,
            "departement": self.departement,
            "email": self.email,
            "cpv_prefixes": json.dumps(sorted(set(self.cpv_prefixes))),
            "sector_words": json.dumps(sorted(set(self.sector_words)), ensure_ascii=False),
            "city": self.city,
            "post_code": self.post_code,
            "networks": json.dumps(sorted(set(self.networks)), ensure_ascii=False),
            "source": source,
            "source_id": self.source_id,
        }


@dataclass
class ImportReport:
    """What an import did (or would do), in order of the input."""

    fmt: str
    created: list[tuple[str, str]] = field(default_factory=list)  # (where, siret)
    updated: list[tuple[str, str]] = field(default_factory=list)
    unchanged: list[tuple[str, str]] = field(default_factory=list)
    merged: list[tuple[str, str]] = field(default_factory=list)  # (where, reason)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (where, reason)
    warnings: list[tuple[str, str]] = field(default_factory=list)
    members: int = 0
    written: bool = False

    def lines(self) -> list[str]:
        """The report in French, one line per fact (no e-mail address is printed)."""
        out = [
            f"Import {self.fmt}{'' if self.written else ' (non écrit)'} :"
            f" {len(self.created)} créée(s), {len(self.updated)} mise(s) à"
            f" jour, {len(self.unchanged)} inchangée(s), {len(self.merged)} doublon(s)"
            f" fusionné(s), {len(self.skipped)} ignorée(s)"
        ]
        # Before writing (an error, --dry-run), say what would happen, not what did.
        titles = (
            ("créée", "mise à jour") if self.written else ("serait créée", "serait mise à jour")
        )
        for title, rows in (
            (titles[0], self.created),
            (titles[1], self.updated),
            ("inchangée", self.unchanged),
        ):
            out += [f"  {where} : {siret} {title}" for where, siret in rows]
        out += [f"  {where} : fusionnée — {reason}" for where, reason in self.merged]
        out += [f"  {where} : ignorée — {reason}" for where, reason in self.skipped]
        out += [f"  {where} : avertissement — {reason}" for where, reason in self.warnings]
        if self.members:
            out.append(f"{self.members} membre(s) ajouté(s) ou rattaché(s) au groupe")
        return out


class StructureImportError(ValueError):
    """The file cannot be read at all (not CSV, not JSON, no SIRET column...)."""


# ---------------------------------------------------------------------------------------------
# Reading each format
# ---------------------------------------------------------------------------------------------


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252")  # Excel's « CSV » on French Windows


def _split_words(value: Any) -> list[str]:
    if isinstance(value, list):
        items: Iterable[Any] = value
    else:
        items = re.split(r"[,;|/\n]", str(value or ""))
    out = []
    for item in items:
        if isinstance(item, Mapping):  # le marché: {"name": ..., "slug": ...}
            item = item.get("name") or item.get("slug") or ""
        text = str(item).strip()
        if text:
            out.append(text)
    return out


def sectors(values: Iterable[str]) -> tuple[list[str], list[str], list[str]]:
    """(CPV prefixes, words kept, words not found in the table) of a list of sectors.

    A code is a CPV prefix (``45``, ``909``, ``90910000-9`` → ``9091``); a word is looked
    up in the table (``Nettoyage`` → ``909``). Unknown words are kept as words: the import
    reports them but they never make a row fail."""
    prefixes: list[str] = []
    words: list[str] = []
    unknown: list[str] = []
    table = tables()["sector_words"]
    for value in values:
        code = value.replace(" ", "")
        if re.fullmatch(r"\d{2,8}(-\d)?", code):
            code = code.split("-")[0]
            prefixes.append(code.rstrip("0").ljust(2, "0") if len(code) == 8 else code)
            continue
        folded = _fold(value)
        words.append(value)
        if folded in table:
            prefixes.extend(table[folded])
        else:
            unknown.append(value)
    return prefixes, words, unknown


def _csv_rows(data: bytes) -> Iterator[tuple[str, dict[str, str]]]:
    text = _decode(data)
    first = text.splitlines()[0] if text.strip() else ""
    delimiter = ";" if first.count(";") > first.count(",") else ","
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    try:
        header = next(reader)
    except StopIteration:
        raise StructureImportError("fichier CSV vide") from None
    columns: dict[int, str] = {}
    for index, name in enumerate(header):
        key = _fold(name)
        for field_name, aliases in _CSV_HEADERS.items():
            if key in aliases:
                columns[index] = field_name
    if "siret" not in columns.values():
        raise StructureImportError(
            "colonne SIRET introuvable dans l'en-tête (colonnes attendues : siret, nom, type,"
            " departement, courriel, secteurs)"
        )
    for cells in reader:
        if not any(c.strip() for c in cells):
            continue
        row = {name: (cells[i].strip() if i < len(cells) else "") for i, name in columns.items()}
        yield f"ligne {reader.line_num}", row


def _json_results(data: bytes) -> list[Any]:
    try:
        payload = json.loads(_decode(data))
    except ValueError as exc:
        raise StructureImportError(f"JSON invalide ({exc})") from None
    if isinstance(payload, Mapping) and isinstance(payload.get("results"), list):
        return payload["results"]
    if isinstance(payload, list):
        return payload
    raise StructureImportError('JSON inattendu : une liste ou une page {"results": [...]}')


def _lemarche_rows(data: bytes) -> Iterator[tuple[str, dict[str, Any]]]:
    for index, item in enumerate(_json_results(data), start=1):
        item = item if isinstance(item, Mapping) else {}
        yield (
            f"enregistrement {index}",
            {
                "siret": item.get("siret"),
                "name": item.get("name"),
                "brand": item.get("brand"),
                "kind": item.get("kind"),
                "departement": item.get("department"),
                "email": item.get("contact_email"),
                "sectors": item.get("sectors") or [],
                "city": item.get("city"),
                "post_code": item.get("post_code"),
                "networks": _split_words(item.get("networks") or []),
                "source_id": None if item.get("id") is None else str(item.get("id")),
            },
        )


def _emplois_rows(data: bytes) -> Iterator[tuple[str, dict[str, Any]]]:
    for index, item in enumerate(_json_results(data), start=1):
        item = item if isinstance(item, Mapping) else {}
        yield (
            f"enregistrement {index}",
            {
                "siret": item.get("siret"),
                "name": item.get("raison_sociale"),
                "brand": item.get("enseigne"),
                "kind": item.get("type"),
                "departement": item.get("departement"),
                "email": None,  # the public API carries no contact address
                "sectors": [],
                "city": item.get("ville"),
                "post_code": item.get("code_postal"),
                "networks": [],
                "source_id": None,
            },
        )


_READERS = {"csv": _csv_rows, "lemarche": _lemarche_rows, "emplois": _emplois_rows}
#: Where the e-mail is required: the CSV is the réseau's list of its members (the address is
#: how a member signs in); the directories publish no contact address for most structures.
_EMAIL_REQUIRED = {"csv": True, "lemarche": False, "emplois": False}


def _kind(value: Any) -> str | None:
    text = str(value or "").strip()
    if not text:
        return None
    if text.upper() in tables()["kinds"]:
        return text.upper()
    return tables()["kind_aliases"].get(_fold(text))


def _departement(value: Any, post_code: Any) -> tuple[str | None, str | None]:
    """(code, problem). Leading zeros restored (``1`` → ``01``); from the post code when
    the record has none (``26000`` → ``26``, ``97400`` → ``974``, ``20000`` Corsica unknown)."""
    text = str(value or "").strip().upper()
    if not text and post_code:
        code = str(post_code).strip()
        text = code[:3] if code.startswith("97") else code[:2]
        if text == "20":
            return None, None  # 2A or 2B: the post code does not say
    if not text:
        return None, None
    if text.isdigit() and len(text) == 1:
        text = "0" + text
    if text not in departement_codes():
        return None, f"département « {text} » inconnu"
    return text, None


def validate(
    rows: Iterable[tuple[str, Mapping[str, Any]]], fmt: str, report: ImportReport
) -> list[StructureRecord]:
    """Check every row; the valid ones, duplicates merged by SIRET (first position kept)."""
    by_siret: dict[str, StructureRecord] = {}
    for where, row in rows:
        siret = clean_siret(row.get("siret"))
        problems = []
        if (problem := siret_problem(siret)) is not None:
            problems.append(problem)
        name = " ".join(str(row.get("name") or "").split())
        if not name:
            problems.append("nom manquant")
        raw_kind = str(row.get("kind") or "").strip()
        kind = _kind(raw_kind)
        if raw_kind and kind is None:
            problems.append(
                f"type « {raw_kind} » inconnu (attendu : {', '.join(tables()['kinds'])})"
            )
        elif not raw_kind:
            problems.append("type de structure manquant")
        email = str(row.get("email") or "").strip().lower() or None
        if email is None and _EMAIL_REQUIRED[fmt]:
            problems.append("courriel manquant")
        elif email is not None and not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", email):
            problems.append("courriel invalide")
        departement, problem = _departement(row.get("departement"), row.get("post_code"))
        if problem:
            problems.append(problem)
        if problems:
            report.skipped.append((where, " ; ".join(problems)))
            continue
        prefixes, words, unknown = sectors(_split_words(row.get("sectors")))
        if unknown:
            report.warnings.append(
                (
                    where,
                    "secteur(s) sans code CPV connu, gardé(s) comme mots : " + ", ".join(unknown),
                )
            )
        record = StructureRecord(
            where=where,
            siret=siret,
            name=name,
            kind=kind,
            departement=departement,
            email=email,
            cpv_prefixes=prefixes,
            sector_words=words,
            brand=(str(row.get("brand") or "").strip() or None),
            city=(str(row.get("city") or "").strip() or None),
            post_code=(str(row.get("post_code") or "").strip() or None),
            networks=list(row.get("networks") or []),
            source_id=row.get("source_id"),
        )
        first = by_siret.get(siret)
        if first is None:
            by_siret[siret] = record
            continue
        # Merge: the later row completes and corrects the first; sectors are united.
        for name_ in ("name", "kind", "departement", "email", "brand", "city", "post_code"):
            value = getattr(record, name_)
            if value:
                setattr(first, name_, value)
        first.cpv_prefixes += record.cpv_prefixes
        first.sector_words += record.sector_words
        first.networks += record.networks
        report.merged.append((where, f"même SIRET {siret} que la {first.where}"))
    return list(by_siret.values())


# ---------------------------------------------------------------------------------------------
# Writing
# ---------------------------------------------------------------------------------------------

_COMPARED = (
    "name",
    "brand",
    "kind",
    "departement",
    "email",
    "cpv_prefixes",
    "sector_words",
    "city",
    "post_code",
    "networks",
)


def import_structures(
    store: Store,
    data: bytes,
    fmt: str,
    *,
    skip_invalid: bool = False,
    dry_run: bool = False,
    group_id: str | None = None,
    actor: str = "cli",
) -> ImportReport:
    """Validate every record of ``data`` then, unless one is invalid (and not
    ``skip_invalid``) or ``dry_run``, write them all in one transaction.

    With ``group_id``, each structure's e-mail becomes a board member of that group (role
    « member », an existing role is kept), linked to the structure by its SIRET."""
    if fmt not in _READERS:
        raise StructureImportError(f"format inconnu « {fmt} » (attendu : {', '.join(FORMATS)})")
    report = ImportReport(fmt=fmt)
    records = validate(_READERS[fmt](data), fmt, report)
    if (report.skipped and not skip_invalid) or dry_run:
        _classify(store, records, report)
        return report
    db = store.db
    now = _now()
    with db.atomic():
        _classify(store, records, report)
        for record in records:
            existing = _existing(store, record.siret)
            if existing is not None:
                row = _merged(existing, record.row(fmt))
                sets = ", ".join(f"{k} = ?" for k in row if k != "siret")
                db.execute(
                    f"UPDATE structures SET {sets}, updated_at = ? WHERE siret = ?",  # noqa: S608
                    [*(v for k, v in row.items() if k != "siret"), now, record.siret],
                )
            else:
                row = record.row(fmt)
                db.execute(
                    f"INSERT INTO structures ({', '.join(row)}, created_at, updated_at)"  # noqa: S608
                    f" VALUES ({', '.join('?' for _ in row)}, ?, ?)",
                    [*row.values(), now, now],
                )
            # Members who declared this SIRET follow the directory's name and kind.
            db.execute(
                "UPDATE board_members SET structure_name = ?, structure_kind = ?"
                " WHERE structure_siret = ?",
                [record.name, record.kind, record.siret],
            )
            if group_id and record.email:
                report.members += _attach_member(db, record, group_id, fmt, now)
        db.execute(
            "INSERT INTO board_audit (at, actor, action, target, details)"
            " VALUES (?, ?, 'structures-import', ?, ?)",
            [
                now,
                actor,
                fmt,
                json.dumps(
                    {
                        "created": len(report.created),
                        "updated": len(report.updated),
                        "skipped": len(report.skipped),
                        "group": group_id,
                    }
                ),
            ],
        )
    report.written = True
    return report


_LISTS = ("cpv_prefixes", "sector_words", "networks")


def _existing(store: Store, siret: str) -> dict[str, Any] | None:
    rows = list(store.db.query("SELECT * FROM structures WHERE siret = ?", [siret]))
    return rows[0] if rows else None


def _merged(existing: Mapping[str, Any], new: Mapping[str, Any]) -> dict[str, Any]:
    """A stored structure completed by a new record of the same SIRET: the new source's
    values win where it has one, the stored ones stay where it has none (les emplois
    publish no e-mail and no sectors: importing them must not erase the réseau's), and
    lists are united."""
    out = dict(new)
    for key, value in new.items():
        if key in _LISTS:
            union = set(json.loads(existing.get(key) or "[]")) | set(json.loads(value or "[]"))
            out[key] = json.dumps(sorted(union), ensure_ascii=False)
        elif value in (None, "") and existing.get(key) not in (None, ""):
            out[key] = existing[key]
    return out


def _classify(store: Store, records: list[StructureRecord], report: ImportReport) -> None:
    """Sort the valid records into created / updated / unchanged against the table."""
    for record in records:
        existing = _existing(store, record.siret)
        if existing is None:
            report.created.append((record.where, record.siret))
            continue
        merged = _merged(existing, record.row(existing.get("source") or ""))
        if any(existing[k] != merged[k] for k in _COMPARED):
            report.updated.append((record.where, record.siret))
        else:
            report.unchanged.append((record.where, record.siret))


def _attach_member(db: Any, record: StructureRecord, group_id: str, fmt: str, now: str) -> int:
    """The structure's contact as a member of ``group_id`` (inside the import's transaction:
    Board.upsert_member commits on its own, which would break the all-or-nothing rule)."""
    departements = json.dumps([record.departement] if record.departement else [])
    db.execute(
        "INSERT INTO board_members (email, name, structure_name, structure_siret,"
        " structure_kind, departements, cpv_prefixes, source, created_at, updated_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (email) DO UPDATE SET"
        " structure_name = excluded.structure_name, structure_siret = excluded.structure_siret,"
        " structure_kind = excluded.structure_kind, updated_at = excluded.updated_at",
        [
            record.email,
            record.name,
            record.name,
            record.siret,
            record.kind,
            departements,
            json.dumps(sorted(set(record.cpv_prefixes))),
            f"import-{fmt}",
            now,
            now,
        ],
    )
    member_id = db.execute(
        "SELECT id FROM board_members WHERE email = ?", [record.email]
    ).fetchone()[0]
    cur = db.execute(
        "INSERT OR IGNORE INTO board_memberships (member_id, group_id, role, source, created_at)"
        " VALUES (?, ?, 'member', ?, ?)",
        [member_id, group_id, f"import-{fmt}", now],
    )
    return cur.rowcount


def structures(store: Store, departement: str | None = None) -> list[dict[str, Any]]:
    """The stored structures (optionally of one département), with their members' count."""
    sql = (
        "SELECT s.*, (SELECT count(*) FROM board_members m WHERE m.structure_siret = s.siret)"
        " AS members FROM structures s"
    )
    params: list[Any] = []
    if departement:
        sql += " WHERE s.departement = ?"
        params.append(departement)
    rows = list(store.db.query(sql + " ORDER BY s.name, s.siret", params))
    for row in rows:
        for key in ("cpv_prefixes", "sector_words", "networks"):
            row[key] = json.loads(row[key] or "[]")
    return rows


def read_input(path: str | Path) -> bytes:
    """The file's bytes (``-`` is not supported: the report names lines of a file)."""
    return Path(path).read_bytes()
