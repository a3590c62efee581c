"""The SQLite store (through sqlite-utils): raw payloads, notices, lots, procedures, crawls.

One place writes notices: :meth:`Store.save`. It keeps the raw bytes first, then the
normalised notice, in one transaction, and recomputes the current state of the procedure the
notice belongs to. A payload already stored (same source id, same content hash) is not
normalised again, so a second crawl of the same data adds nothing.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import sqlite3
from collections.abc import Iterator
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from tenderwatch.core.migrations import (
    MigrationError,
    NewerSchemaError,
    apply_serialized,
    check_known,
    migrations,
)
from tenderwatch.core.records import (
    AWARD,
    CALL_FOR_TENDERS,
    CANCELLATION,
    CORRIGENDUM,
    CrawlReport,
    Notice,
    RawNotice,
)

NEW, UPDATED, UNCHANGED = "new", "updated", "unchanged"

# Sources in order of preference for the canonical record of a notice published on both:
# BOAMP carries the French form (and the national fields) and is published first.
_SOURCE_PREFERENCE = {"boamp": 0, "ted": 1}


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {} or value == "[]"


_TO_CLASSIFY = (
    "SELECT n.id, n.title, n.text, n.published, n.signals, n.content_hash FROM notices n"
    " WHERE NOT EXISTS (SELECT 1 FROM classifications c"
    " WHERE c.notice_id = n.id AND c.model_version = ?"
    " AND c.content_hash IS n.content_hash)"
    " ORDER BY n.published, n.id LIMIT ?"
)
_TO_RECLASSIFY = (
    "SELECT n.id, n.title, n.text, n.published, n.signals, n.content_hash FROM notices n"
    " ORDER BY n.published, n.id LIMIT ?"
)
# ``{marks}``: one "?" per id (the ids themselves go as parameters).
_FOR_CLASSIFIER = (
    "SELECT n.id, n.title, n.text, n.published, n.signals, n.content_hash FROM notices n"
    " WHERE n.id IN ({marks})"
)
_LOTS_FOR_CLASSIFIER = (
    "SELECT notice_id, lot_id, title, signals FROM lots WHERE notice_id IN ({marks})"
    " ORDER BY notice_id, position"
)


# How long a statement waits for another process's write lock before SQLITE_BUSY. Writes
# are short transactions (one notice, one batch of classifications, one delivery claim), so
# a wait this long only runs out when another process is stuck.
BUSY_TIMEOUT_S = 30.0

# What to tell the user for each SQLite primary result code (``sqlite_errorcode & 0xFF``);
# ``{path}`` is the database file. Codes not listed fall back to SQLite's own words.
_SQLITE_MESSAGES: dict[int, str] = {
    sqlite3.SQLITE_FULL: (
        "disque plein : la base {path} ne peut plus grandir ; libérez de la place puis relancez"
        " (rien de ce qui était déjà enregistré n'est perdu)"
    ),
    sqlite3.SQLITE_READONLY: (
        "base en lecture seule : {path} (vérifiez les droits du fichier et de son dossier)"
    ),
    sqlite3.SQLITE_NOTADB: "base de données illisible : {path} n'est pas une base SQLite",
    sqlite3.SQLITE_CORRUPT: "base de données illisible : {path} est endommagée",
    sqlite3.SQLITE_CANTOPEN: "impossible d'ouvrir la base {path} (dossier absent ou interdit)",
    sqlite3.SQLITE_BUSY: (
        "base occupée : un autre processus tenderwatch écrit dans {path} depuis plus de"
        f" {BUSY_TIMEOUT_S:.0f} s ; réessayez plus tard"
    ),
    sqlite3.SQLITE_LOCKED: "base verrouillée : {path} ; réessayez plus tard",
    sqlite3.SQLITE_IOERR: "erreur d'entrée-sortie sur la base {path} (disque plein ou abîmé ?)",
    sqlite3.SQLITE_PERM: "accès refusé à la base {path}",
}


def _read_only(path: str | None) -> bool:
    """Whether an existing database file, or its folder, cannot be written."""
    if not path or path == ":memory:":
        return False
    file = Path(path).expanduser()
    return file.exists() and not (os.access(file, os.W_OK) and os.access(file.parent, os.W_OK))


def describe_sqlite_error(exc: sqlite3.Error, path: str | None) -> str:
    """One French sentence for a SQLite error, naming the database file."""
    code = getattr(exc, "sqlite_errorcode", None)
    where = path or "tenderwatch"
    if code is not None and code & 0xFF == sqlite3.SQLITE_CANTOPEN and _read_only(path):
        # A WAL base needs its -shm/-wal files beside it: on a read-only disk or folder
        # SQLite cannot open it at all and only says CANTOPEN.
        code = sqlite3.SQLITE_READONLY
    if code is not None and (code & 0xFF) in _SQLITE_MESSAGES:
        return _SQLITE_MESSAGES[code & 0xFF].format(path=where)
    return f"erreur de la base de données ({where}) : {exc}"


class StoreError(RuntimeError):
    """The database cannot be opened or is not a tenderwatch database."""


class TenderwatchDatabase(Database):
    """sqlite-utils' Database whose transactions take the write lock when they begin.

    ``Database.atomic()`` opens a DEFERRED transaction: it starts as a reader and upgrades to
    a writer at its first write. When another process holds or has just released the write
    lock, that upgrade fails at once with SQLITE_BUSY — the busy timeout is not applied,
    because waiting could deadlock and, in WAL mode, the reader's snapshot is already stale.
    ``BEGIN IMMEDIATE`` takes the write lock up front, where the busy timeout does apply, so
    two processes writing at the same time queue instead of failing. Every write path of
    sqlite-utils (insert, upsert, create ...) and of tenderwatch goes through ``atomic()``.
    """

    @contextlib.contextmanager
    def atomic(self) -> Iterator[TenderwatchDatabase]:
        if self.conn.in_transaction:
            # Nested: a savepoint inside the caller's transaction, as sqlite-utils does.
            savepoint = f"tw_{secrets.token_hex(8)}"
            self.conn.execute(f"SAVEPOINT {savepoint}")
            try:
                yield self
            except BaseException:
                if self.conn.in_transaction:  # SQLITE_FULL may have rolled it all back
                    self.conn.execute(f"ROLLBACK TO SAVEPOINT {savepoint}")
                    self.conn.execute(f"RELEASE SAVEPOINT {savepoint}")
                raise
            else:
                self.conn.execute(f"RELEASE SAVEPOINT {savepoint}")
            return
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield self
        except BaseException:
            if self.conn.in_transaction:
                self.conn.execute("ROLLBACK")
            raise
        try:
            self.conn.execute("COMMIT")
        except BaseException:
            if self.conn.in_transaction:
                self.conn.execute("ROLLBACK")
            raise


class Store:
    """A tenderwatch database. Open it with a path (or ``":memory:"``).

    ``must_exist`` (read commands) refuses a missing file instead of creating an empty base.
    """

    def __init__(self, path: str | Path, *, migrate: bool = True, must_exist: bool = False) -> None:
        self.path = str(path)
        if must_exist and self.path != ":memory:" and not Path(self.path).expanduser().exists():
            raise StoreError(
                f"base introuvable : {self.path} — lancez d'abord `tenderwatch crawl`"
                " ou `tenderwatch demo`"
            )
        try:
            if self.path == ":memory:":
                self.db = TenderwatchDatabase(memory=True)
            else:
                file = Path(self.path).expanduser()
                file.parent.mkdir(parents=True, exist_ok=True)
                # The timeout is the busy handler for every statement, enable_wal included.
                self.db = TenderwatchDatabase(sqlite3.connect(str(file), timeout=BUSY_TIMEOUT_S))
                # WAL lets the scheduler write while the CLI reads.
                self.db.enable_wal()
            self.db.execute("PRAGMA foreign_keys = ON")
            self.db.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
            if migrate:
                self.migrate()
        except sqlite3.Error as exc:
            raise StoreError(describe_sqlite_error(exc, self.path)) from exc
        except OSError as exc:  # the parent folder cannot be created
            raise StoreError(f"impossible de créer la base {self.path} : {exc.strerror}") from exc

    # -- schema -----------------------------------------------------------------------------

    def migrate(self) -> list[str]:
        """Apply pending migrations (serialized between processes); return their names.

        An up-to-date database is only read here, so a read-only file still opens."""
        try:
            check_known(self.db)
            if not migrations.pending(self.db):
                return []
            return apply_serialized(self.db)
        except (NewerSchemaError, MigrationError) as exc:
            raise StoreError(f"{self.path} : {exc}") from exc
        except sqlite3.Error as exc:
            raise StoreError(describe_sqlite_error(exc, self.path)) from exc

    def applied_migrations(self) -> list[str]:
        return [m.name for m in migrations.applied(self.db)]

    def close(self) -> None:
        self.db.close()

    # -- raw payloads -----------------------------------------------------------------------

    def has_raw(self, raw: RawNotice) -> bool:
        row = self.db.execute(
            "SELECT 1 FROM raw_notices WHERE source = ? AND source_id = ? AND content_hash = ?",
            [raw.source, raw.source_id, raw.content_hash],
        ).fetchone()
        return row is not None

    def _insert_raw(self, raw: RawNotice, parse_error: str | None) -> None:
        self.db["raw_notices"].insert(
            {
                "source": raw.source,
                "source_id": raw.source_id,
                "content_hash": raw.content_hash,
                "content_type": raw.content_type,
                "url": raw.url,
                "body": raw.body,
                "fetched_at": raw.fetched_at or _now(),
                "parse_error": parse_error,
            },
            ignore=True,
        )

    def save_unparsed(self, raw: RawNotice, error: str) -> None:
        """Keep the bytes of a payload that could not be normalised, with the reason."""
        with self.db.atomic():
            self._insert_raw(raw, error)

    def raw_bodies(self, notice_id: str) -> list[dict[str, Any]]:
        source, _, source_id = notice_id.partition(":")
        return list(
            self.db.query(
                "SELECT content_hash, content_type, url, fetched_at, parse_error,"
                " length(body) AS size FROM raw_notices"
                " WHERE source = ? AND source_id = ? ORDER BY fetched_at",
                [source, source_id],
            )
        )

    # -- notices ----------------------------------------------------------------------------

    def save(self, raw: RawNotice, notice: Notice) -> str:
        """Store a raw payload and its normalised notice; return ``new``, ``updated`` or
        ``unchanged``. Fields the new version leaves empty keep their stored value, so a
        thinner re-publication never erases what was known."""
        with self.db.atomic():
            existed = self.has_raw(raw)
            self._insert_raw(raw, None)
            if existed and self.db["notices"].count_where("id = ?", [notice.id]):
                return UNCHANGED
            status = self._upsert_notice(notice, raw.content_hash)
            proc_id = self._attach_procedure(notice)
            self.recompute_procedure(proc_id)
        return status

    def _notice_row(self, notice: Notice, content_hash: str) -> dict[str, Any]:
        return {
            "id": notice.id,
            "source": notice.source,
            "source_id": notice.source_id,
            "form": notice.form,
            "title": notice.title,
            "nature": notice.nature,
            "published": notice.published,
            "deadline": notice.deadline,
            "buyer_name": notice.buyer_name,
            "buyer_siret": notice.buyer_siret,
            "departements": _json(notice.departements),
            "cpv": _json(notice.cpv),
            "procedure": notice.procedure,
            "estimated_value": notice.estimated_value,
            "currency": notice.currency,
            "url": notice.url,
            "language": notice.language,
            "text": notice.text,
            "signals": _json(asdict(notice.signals)),
            "lot_rules": _json(asdict(notice.lot_rules)),
            "procedure_uuid": notice.procedure_uuid,
            "notice_uuid": notice.notice_uuid,
            "ted_publication_number": notice.ted_publication_number,
            "winners": _json(notice.winners),
            "content_hash": content_hash,
        }

    @staticmethod
    def _lot_rows(notice: Notice) -> list[dict[str, Any]]:
        return [
            {
                "notice_id": notice.id,
                "lot_id": lot.lot_id or str(i + 1),
                "position": i,
                "title": lot.title,
                "description": lot.description,
                "cpv": _json(lot.cpv),
                "estimated_value": lot.estimated_value,
                "deadline": lot.deadline,
                "departements": _json(lot.departements),
                "signals": _json(asdict(lot.signals)),
                "result": lot.result,
                "winners": _json(lot.winners),
                "winner_ids": _json(lot.winner_ids),
                "award_date": lot.award_date,
                "awarded_value": lot.awarded_value,
            }
            for i, lot in enumerate(notice.lots)
        ]

    def renormalise(self, notice: Notice, content_hash: str) -> bool:
        """Store ``notice`` — a stored payload read again by the current normalisers — in
        place of the row read from it before, when they differ (same rules as :meth:`save`:
        a field the new reading leaves empty keeps its value). A changed notice's
        classifications are marked stale (their ``content_hash`` cleared, their labels kept
        until then) so that the next ``classify`` reads it again; deliveries are untouched,
        so nothing is sent twice. Returns whether anything changed."""
        with self.db.atomic():
            try:
                old = self.db["notices"].get(notice.id)
            except Exception:  # sqlite_utils.db.NotFoundError
                return False
            if old.get("content_hash") != content_hash:
                # A crawl stored a newer version meanwhile: it is already read by the
                # current normalisers, and this older payload must not overwrite it.
                return False
            row = self._notice_row(notice, content_hash)
            same_row = all(_empty(value) or value == old.get(key) for key, value in row.items())
            # As the lots table keeps them: one row per lot id (the last one), by position.
            new_lots = sorted(
                {lot["lot_id"]: lot for lot in self._lot_rows(notice)}.values(),
                key=lambda lot: lot["position"],
            )
            stored_lots = (
                [
                    {key: lot.get(key) for key in new_lots[0]}
                    for lot in self.db.query(
                        "SELECT * FROM lots WHERE notice_id = ? ORDER BY position", [notice.id]
                    )
                ]
                if new_lots
                else []
            )
            same_lots = not new_lots or stored_lots == new_lots
            if same_row and same_lots:
                return False
            self._upsert_notice(notice, content_hash)
            self.recompute_procedure(self._attach_procedure(notice))
            self.db.execute(
                "UPDATE classifications SET content_hash = NULL WHERE notice_id = ?", [notice.id]
            )
        return True

    def _upsert_notice(self, notice: Notice, content_hash: str) -> str:
        row = self._notice_row(notice, content_hash)
        now = _now()
        try:
            old = self.db["notices"].get(notice.id)
        except Exception:  # sqlite_utils.db.NotFoundError
            old = None
        if old is None:
            row.update(first_seen=now, updated_at=now, canonical_id=notice.id)
            self.db["notices"].insert(row)
            status = NEW
        else:
            for key, value in list(row.items()):
                if _empty(value) and not _empty(old.get(key)):
                    row[key] = old[key]
            row["updated_at"] = now
            self.db["notices"].update(notice.id, row)
            status = UPDATED
        if notice.lots or old is None:
            self.db.execute("DELETE FROM lots WHERE notice_id = ?", [notice.id])
            self.db["lots"].insert_all(
                self._lot_rows(notice),
                replace=True,  # a form that repeats a lot id keeps its last description
            )
        self.db["notice_links"].insert_all(
            (
                {
                    "notice_id": notice.id,
                    "kind": link.kind,
                    "target": link.target or "",
                    "target_uuid": link.target_uuid or "",
                }
                for link in notice.links
            ),
            ignore=True,
        )
        return status

    # -- procedures -------------------------------------------------------------------------

    def _procedure_candidates(self, notice: Notice) -> set[str]:
        """Procedure ids of every stored notice this one is linked to, in either direction."""
        q = self.db.execute
        ids: set[str] = set()

        def add(rows: list[tuple[Any, ...]]) -> None:
            ids.update(r[0] for r in rows if r[0])

        if notice.procedure_uuid:
            add(
                q(
                    "SELECT procedure_id FROM notices WHERE procedure_uuid = ? AND id != ?",
                    [notice.procedure_uuid, notice.id],
                ).fetchall()
            )
        if notice.notice_uuid:
            add(
                q(
                    "SELECT procedure_id FROM notices WHERE notice_uuid = ? AND id != ?",
                    [notice.notice_uuid, notice.id],
                ).fetchall()
            )
            add(
                q(
                    "SELECT n.procedure_id FROM notice_links l JOIN notices n ON n.id = l.notice_id"
                    " WHERE l.target_uuid = ?",
                    [notice.notice_uuid],
                ).fetchall()
            )
        if notice.ted_publication_number:
            add(
                q(
                    "SELECT procedure_id FROM notices WHERE ted_publication_number = ? AND id != ?",
                    [notice.ted_publication_number, notice.id],
                ).fetchall()
            )
        for link in notice.links:
            if link.target:
                add(q("SELECT procedure_id FROM notices WHERE id = ?", [link.target]).fetchall())
            if link.target_uuid:
                add(
                    q(
                        "SELECT procedure_id FROM notices WHERE notice_uuid = ?", [link.target_uuid]
                    ).fetchall()
                )
        add(
            q(
                "SELECT n.procedure_id FROM notice_links l JOIN notices n ON n.id = l.notice_id"
                " WHERE l.target = ?",
                [notice.id],
            ).fetchall()
        )
        return ids

    def _attach_procedure(self, notice: Notice) -> str:
        """Give the notice its procedure, merging procedures the notice proves are one."""
        current = self.db.execute(
            "SELECT procedure_id FROM notices WHERE id = ?", [notice.id]
        ).fetchone()[0]
        candidates = self._procedure_candidates(notice)
        if current:
            candidates.add(current)
        if candidates:
            proc_id = min(candidates)
        else:
            proc_id = f"proc:{notice.procedure_uuid or notice.id}"
        if not self.db["procedures"].count_where("id = ?", [proc_id]):
            self.db["procedures"].insert({"id": proc_id, "status": "open", "updated_at": _now()})
        self.db.execute("UPDATE notices SET procedure_id = ? WHERE id = ?", [proc_id, notice.id])
        for other in candidates - {proc_id}:
            self.db.execute(
                "UPDATE notices SET procedure_id = ? WHERE procedure_id = ?", [proc_id, other]
            )
            self.db.execute("DELETE FROM procedures WHERE id = ?", [other])
        self._link_same_notice(notice)
        return proc_id

    def _link_same_notice(self, notice: Notice) -> None:
        """A notice published on BOAMP and TED is one: link both and elect a canonical record."""
        if not notice.notice_uuid and not notice.ted_publication_number:
            return
        rows = list(
            self.db.query(
                "SELECT id, source FROM notices WHERE id != ? AND source != ? AND ("
                " (notice_uuid IS NOT NULL AND notice_uuid = ?)"
                " OR (ted_publication_number IS NOT NULL AND ted_publication_number = ?))",
                [notice.id, notice.source, notice.notice_uuid, notice.ted_publication_number],
            )
        )
        if not rows:
            return
        group = [{"id": notice.id, "source": notice.source}, *rows]
        canonical = min(group, key=lambda r: (_SOURCE_PREFERENCE.get(r["source"], 9), r["id"]))
        for member in group:
            self.db.execute(
                "UPDATE notices SET canonical_id = ? WHERE id = ?", [canonical["id"], member["id"]]
            )
            for other in group:
                if other["id"] != member["id"]:
                    self.db["notice_links"].insert(
                        {
                            "notice_id": member["id"],
                            "kind": "same_as",
                            "target": other["id"],
                            "target_uuid": "",
                        },
                        ignore=True,
                    )

    def recompute_procedure(self, proc_id: str) -> dict[str, Any]:
        """Current state of a procedure from all its notices, in publication order: the
        latest deadline, whether it was cancelled or awarded, and each lot's state."""
        rows = list(
            self.db.query(
                "SELECT id, nature, title, buyer_name, deadline, published, canonical_id"
                " FROM notices WHERE procedure_id = ? ORDER BY published, id",
                [proc_id],
            )
        )
        # Duplicates on another source repeat, they do not change the state.
        rows = [r for r in rows if r["canonical_id"] in (None, r["id"])] or rows
        state: dict[str, Any] = {"id": proc_id, "status": "open", "deadline": None}
        history: list[dict[str, str]] = []
        lots: dict[str, dict[str, Any]] = {}
        for r in rows:
            if (r["title"] and r["nature"] in (CALL_FOR_TENDERS, CORRIGENDUM)) or not state.get(
                "title"
            ):
                state["title"] = r["title"] or state.get("title")
            state["buyer_name"] = r["buyer_name"] or state.get("buyer_name")
            notice_lots = list(
                self.db.query(
                    "SELECT lot_id, title, deadline, result, winners FROM lots"
                    " WHERE notice_id = ? ORDER BY position",
                    [r["id"]],
                )
            )
            if r["nature"] in (CALL_FOR_TENDERS, CORRIGENDUM):
                if r["deadline"] and r["deadline"] != state["deadline"]:
                    state["deadline"] = r["deadline"]
                    history.append({"notice_id": r["id"], "deadline": r["deadline"]})
                for lot in notice_lots:
                    entry = lots.setdefault(lot["lot_id"], {"status": "open"})
                    entry["title"] = lot["title"] or entry.get("title")
                    entry["deadline"] = lot["deadline"] or entry.get("deadline")
            elif r["nature"] == CANCELLATION:
                if notice_lots and len(notice_lots) < max(len(lots), 2):
                    for lot in notice_lots:
                        lots.setdefault(lot["lot_id"], {})["status"] = "cancelled"
                else:
                    state["status"] = "cancelled"
                    for entry in lots.values():
                        entry["status"] = "cancelled"
            elif r["nature"] == AWARD:
                state["status"] = "awarded" if state["status"] != "cancelled" else "cancelled"
                for lot in notice_lots:
                    entry = lots.setdefault(lot["lot_id"], {"title": lot["title"]})
                    if lot["result"] == "not_awarded":
                        entry["status"] = "not_awarded"
                    else:
                        entry["status"] = "awarded"
                        entry["winners"] = json.loads(lot["winners"] or "[]")
        state.update(
            deadline_history=_json(history),
            first_published=rows[0]["published"] if rows else None,
            last_published=rows[-1]["published"] if rows else None,
            current_notice_id=rows[-1]["id"] if rows else None,
            notice_ids=_json([r["id"] for r in rows]),
            lots_state=_json(lots),
            updated_at=_now(),
        )
        self.db["procedures"].upsert(state, pk="id")
        return state

    # -- reading ----------------------------------------------------------------------------

    def newest_published(self, source: str) -> str | None:
        row = self.db.execute(
            "SELECT max(published) FROM notices WHERE source = ?", [source]
        ).fetchone()
        return row[0] if row else None

    def get_notice(self, notice_id: str) -> dict[str, Any] | None:
        rows = list(self.db.query("SELECT * FROM notices WHERE id = ?", [notice_id]))
        if not rows:
            return None
        notice = rows[0]
        notice["lots"] = list(
            self.db.query("SELECT * FROM lots WHERE notice_id = ? ORDER BY position", [notice_id])
        )
        notice["links"] = list(
            self.db.query(
                "SELECT kind, target, target_uuid FROM notice_links WHERE notice_id = ?",
                [notice_id],
            )
        )
        if notice["procedure_id"]:
            procs = list(
                self.db.query("SELECT * FROM procedures WHERE id = ?", [notice["procedure_id"]])
            )
            notice["procedure_state"] = procs[0] if procs else None
        return notice

    def list_notices(
        self,
        *,
        source: str | None = None,
        nature: str | None = None,
        since: str | None = None,
        limit: int = 50,
    ) -> list[dict[str, Any]]:
        where, params = ["1 = 1"], []
        if source:
            where.append("source = ?")
            params.append(source)
        if nature:
            where.append("nature = ?")
            params.append(nature)
        if since:
            where.append("published >= ?")
            params.append(since)
        # Only fixed clauses with "?" placeholders are joined here: no user text in the SQL.
        sql = (
            "SELECT id, published, nature, deadline, buyer_name, title, departements,"  # noqa: S608
            " procedure_id, canonical_id FROM notices WHERE "
            + " AND ".join(where)
            + " ORDER BY published DESC, id DESC LIMIT ?"
        )
        return list(self.db.query(sql, [*params, limit]))

    def search(self, query: str, *, limit: int = 50) -> list[dict[str, Any]]:
        """Full-text search on title and text; every word must appear (accents ignored)."""
        words = [w for w in query.replace('"', " ").split() if w]
        if not words:
            return []
        fts_query = " ".join(f'"{w}"' for w in words)
        sql = (
            "SELECT n.id, n.published, n.nature, n.buyer_name, n.title,"
            " snippet(notices_fts, 1, '[', ']', '…', 12) AS extrait"
            " FROM notices_fts JOIN notices n ON n.rowid = notices_fts.rowid"
            " WHERE notices_fts MATCH ? ORDER BY rank LIMIT ?"
        )
        return list(self.db.query(sql, [fts_query, limit]))

    # -- classifications --------------------------------------------------------------------

    def notices_to_classify(
        self, model_version: str, *, limit: int | None = None, reclassify: bool = False
    ) -> list[dict[str, Any]]:
        """Notices without a classification by ``model_version`` (all with ``reclassify``),
        with what the classifier reads: title, text, publication date, signals, lots."""
        if reclassify:
            sql = _TO_RECLASSIFY
            params: list[Any] = [limit or -1]
        else:
            sql = _TO_CLASSIFY
            params = [model_version, limit or -1]
        rows = list(self.db.query(sql, params))
        for row in rows:
            row["signals"] = json.loads(row["signals"] or "{}")
            row["lots"] = [
                {
                    "lot_id": lot["lot_id"],
                    "title": lot["title"],
                    "signals": json.loads(lot["signals"] or "{}"),
                }
                for lot in self.db.query(
                    "SELECT lot_id, title, signals FROM lots WHERE notice_id = ? ORDER BY position",
                    [row["id"]],
                )
            ]
        return rows

    def notice_ids_to_classify(
        self, model_version: str, *, limit: int | None = None, reclassify: bool = False
    ) -> list[str]:
        """The ids :meth:`notices_to_classify` would return, in the same order, without the
        texts: a year of notices is gigabytes of text, read in pages with
        :meth:`notices_for_classifier` while the classifier works."""
        if reclassify:
            sql, params = _TO_RECLASSIFY, [limit or -1]
        else:
            sql, params = _TO_CLASSIFY, [model_version, limit or -1]
        # Both queries are constants of this module; the values go as parameters.
        rows = self.db.execute(f"SELECT id FROM ({sql})", params)  # noqa: S608
        return [row[0] for row in rows]

    def notices_for_classifier(self, ids: list[str]) -> list[dict[str, Any]]:
        """What the classifier reads of these notices (as :meth:`notices_to_classify`), in
        the order of ``ids``; ids no longer stored are left out."""
        marks = ",".join("?" * len(ids))  # placeholders only: the ids go as parameters
        found = {
            row["id"]: row
            for row in self.db.query(
                _FOR_CLASSIFIER.format(marks=marks),
                ids,
            )
        }
        lots: dict[str, list[dict[str, Any]]] = {}
        for lot in self.db.query(_LOTS_FOR_CLASSIFIER.format(marks=marks), ids):
            lots.setdefault(lot["notice_id"], []).append(
                {
                    "lot_id": lot["lot_id"],
                    "title": lot["title"],
                    "signals": json.loads(lot["signals"] or "{}"),
                }
            )
        rows = []
        for notice_id in ids:
            row = found.get(notice_id)
            if row is not None:
                row["signals"] = json.loads(row["signals"] or "{}")
                row["lots"] = lots.get(notice_id, [])
                rows.append(row)
        return rows

    def save_classifications(self, results: list[dict[str, Any]]) -> None:
        """Store classifier results (one transaction for the batch), each with the content
        hash of the notice version it read."""
        now = _now()
        rows = []
        for r in results:
            labels = r.get("labels") or {}
            found = self.db.execute(
                "SELECT content_hash FROM notices WHERE id = ?", [r["id"]]
            ).fetchone()
            rows.append(
                {
                    "notice_id": r["id"],
                    "model_version": r["model_version"],
                    "labels": _json(labels),
                    "positive": ",".join(k for k, v in labels.items() if v),
                    "lots": _json(r.get("lots") or []),
                    "insertion_hours": r.get("insertion_hours"),
                    "evidence": _json(r.get("evidence") or []),
                    "conflicts": _json(r.get("conflicts") or []),
                    "max_lots_per_bidder": r.get("max_lots_per_bidder"),
                    "error": r.get("error"),
                    "confidence": _json(r["confidence"]) if "confidence" in r else None,
                    "truncated": int(bool(r.get("truncated"))),
                    "warnings": _json(r.get("warnings") or []),
                    # the clause facilitator (issue #12), JSON or NULL
                    "facilitator": _json(r["facilitator"]) if r.get("facilitator") else None,
                    "classified_at": now,
                    "content_hash": found[0] if found else None,
                }
            )
        with self.db.atomic():
            self.db["classifications"].upsert_all(rows, pk=("notice_id", "model_version"))

    def classification(
        self, notice_id: str, model_version: str | None = None
    ) -> dict[str, Any] | None:
        """The classification of a notice by ``model_version`` (default: the latest one)."""
        if model_version:
            rows = self.db.query(
                "SELECT * FROM classifications WHERE notice_id = ? AND model_version = ?",
                [notice_id, model_version],
            )
        else:
            rows = self.db.query(
                "SELECT * FROM classifications WHERE notice_id = ?"
                " ORDER BY classified_at DESC LIMIT 1",
                [notice_id],
            )
        for row in rows:
            for key in (
                "labels",
                "lots",
                "evidence",
                "conflicts",
                "confidence",
                "warnings",
                "facilitator",
            ):
                row[key] = json.loads(row.get(key) or "null")
            return row
        return None

    # -- state ------------------------------------------------------------------------------

    def get_state(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM state WHERE key = ?", [key]).fetchone()
        return row[0] if row else None

    def set_state(self, key: str, value: str) -> None:
        self.db["state"].upsert({"key": key, "value": value, "updated_at": _now()}, pk="key")

    def classified_since(
        self, model_version: str, since: str | None
    ) -> tuple[list[str], str | None]:
        """Ids of canonical calls for tenders and awards classified by ``model_version`` at or
        after ``since`` (all when None), and the newest classification time seen."""
        rows = self.db.execute(
            "SELECT n.id, c.classified_at FROM classifications c"
            " JOIN notices n ON n.id = c.notice_id"
            " WHERE c.model_version = ? AND c.classified_at >= ? AND c.error IS NULL"
            " AND n.nature IN ('call_for_tenders', 'award') AND n.canonical_id = n.id"
            " ORDER BY c.classified_at",
            [model_version, since or ""],
        ).fetchall()
        return [r[0] for r in rows], (rows[-1][1] if rows else since)

    # -- crawls -----------------------------------------------------------------------------

    def save_crawl(self, report: CrawlReport) -> int:
        row = asdict(report)
        row["skip_reasons"] = _json(report.skip_reasons)
        row["error_messages"] = _json(report.error_messages)
        row["ok"] = int(report.ok)
        return self.db["crawls"].insert(row).last_pk

    def crawls(self, limit: int = 20) -> list[dict[str, Any]]:
        return list(self.db.query("SELECT * FROM crawls ORDER BY id DESC LIMIT ?", [limit]))
