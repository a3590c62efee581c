"""Groups kept in the database, réseaux and their administrators (issue #11, ADR 0012).

Once ``tenderwatch groups import`` has copied the TOML ``[[groups]]`` here, the database is
the truth for ``notify``, ``schedule`` and ``serve``; the board edits it and every change is
recorded (who, when, before, after) in ``group_changes``.

This module is in ``core``: it stores and returns the settings as plain dicts (the fields of
a validated :class:`tenderwatch.notifier.models.Group`) and never validates them —
validation lives in ``tenderwatch.notifier.groups``, which calls this store. It also holds
the queries of the réseau dashboard (per-group figures, reserved lots nobody looked at).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from tenderwatch.core.board import normalise_email
from tenderwatch.core.store import Store

#: How a group row came to be as it is: imported from the file as written, or changed on
#: the board (then an import refuses to overwrite it unless forced).
ORIGIN_FILE, ORIGIN_BOARD = "file", "board"
#: Labels that make a lot reserved (to SIAE, to EA/ESAT) for the réseau dashboard.
RESERVED_LABELS = ("reserved_siae", "reserved_disability")
# A réseau identifier doubles as a URL segment: short, lower-case, no space.
_RESEAU_ID_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")


class GroupStoreError(ValueError):
    """A request the store refuses (French message)."""


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _dump(settings: Mapping[str, Any]) -> str:
    # Sorted keys: two equal settings give the same text, so « unchanged » is a string test.
    return json.dumps(dict(settings), ensure_ascii=False, sort_keys=True)


class GroupStore:
    """Réseaux, stored groups and their history on one store."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.db = store.db

    # -- réseaux ----------------------------------------------------------------------------

    def add_reseau(self, reseau_id: str, name: str) -> bool:
        """Create a réseau; False when it exists (its name is then updated)."""
        if not _RESEAU_ID_RE.match(reseau_id or ""):
            raise GroupStoreError(
                f"identifiant de réseau invalide « {reseau_id[:40]} » (minuscules, chiffres, "
                "« - », « _ »)"
            )
        name = (name or "").strip() or reseau_id
        with self.db.conn:
            exists = self.db.execute("SELECT 1 FROM reseaux WHERE id = ?", [reseau_id]).fetchone()
            self.db.execute(
                "INSERT INTO reseaux (id, name, created_at) VALUES (?, ?, ?)"
                " ON CONFLICT (id) DO UPDATE SET name = excluded.name",
                [reseau_id, name, _now()],
            )
        return exists is None

    def reseau(self, reseau_id: str) -> dict[str, Any] | None:
        rows = list(self.db.query("SELECT * FROM reseaux WHERE id = ?", [reseau_id]))
        return rows[0] if rows else None

    def reseaux(self) -> list[dict[str, Any]]:
        """Every réseau with its number of groups and administrators."""
        return list(
            self.db.query(
                "SELECT r.id, r.name, r.created_at,"
                " (SELECT count(*) FROM group_settings g WHERE g.reseau_id = r.id) AS groups,"
                " (SELECT count(*) FROM reseau_admins a WHERE a.reseau_id = r.id) AS admins"
                " FROM reseaux r ORDER BY r.id"
            )
        )

    def add_reseau_admin(self, reseau_id: str, member_id: int) -> None:
        if self.reseau(reseau_id) is None:
            raise GroupStoreError(f"réseau inconnu « {reseau_id} »")
        with self.db.conn:
            self.db.execute(
                "INSERT OR IGNORE INTO reseau_admins (reseau_id, member_id, created_at)"
                " VALUES (?, ?, ?)",
                [reseau_id, member_id, _now()],
            )

    def ensure_member(self, email: str, name: str = "", *, actor: str) -> int:
        """The member with this address, created without any group when new (a réseau
        administrator need not belong to a group); returns its id."""
        email = normalise_email(email)
        if "@" not in email or len(email) > 254:
            raise GroupStoreError("adresse électronique invalide")
        with self.db.conn:
            row = self.db.execute(
                "SELECT id FROM board_members WHERE email = ?", [email]
            ).fetchone()
            if row:
                return int(row[0])
            now = _now()
            cur = self.db.execute(
                "INSERT INTO board_members (email, name, departements, cpv_prefixes, source,"
                " created_at, updated_at) VALUES (?, ?, '[]', '[]', ?, ?, ?)",
                [email, (name or "").strip() or email, actor, now, now],
            )
        return int(cur.lastrowid)

    def reseaux_of(self, member_id: int) -> list[str]:
        """The réseaux a member administers."""
        return [
            r[0]
            for r in self.db.execute(
                "SELECT reseau_id FROM reseau_admins WHERE member_id = ? ORDER BY reseau_id",
                [member_id],
            )
        ]

    # -- stored groups ----------------------------------------------------------------------

    def has_groups(self) -> bool:
        """True once groups are in the database: they are then the truth (ADR 0012)."""
        return self.db.execute("SELECT 1 FROM group_settings LIMIT 1").fetchone() is not None

    def _row(self, row: Mapping[str, Any]) -> dict[str, Any]:
        out = dict(row)
        out["settings"] = json.loads(out["settings"])
        return out

    def get(self, group_id: str) -> dict[str, Any] | None:
        """The row of a group (``settings`` as a dict), None when not stored."""
        rows = list(self.db.query("SELECT * FROM group_settings WHERE id = ?", [group_id]))
        return self._row(rows[0]) if rows else None

    def all(self, reseau_id: str | None = None) -> list[dict[str, Any]]:
        """Every stored group (or a réseau's), by id."""
        if reseau_id is None:
            rows = self.db.query("SELECT * FROM group_settings ORDER BY id")
        else:
            rows = self.db.query(
                "SELECT * FROM group_settings WHERE reseau_id = ? ORDER BY id", [reseau_id]
            )
        return [self._row(r) for r in rows]

    def _record(
        self,
        group_id: str,
        actor: str,
        action: str,
        before: Mapping[str, Any] | None,
        after: Mapping[str, Any],
    ) -> None:
        self.db.execute(
            "INSERT INTO group_changes (group_id, at, actor, action, before, after)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            [
                group_id,
                _now(),
                actor,
                action,
                None if before is None else _dump(before),
                _dump(after),
            ],
        )

    def import_settings(
        self,
        settings: Mapping[str, Any],
        *,
        actor: str,
        reseau_id: str | None = None,
        force: bool = False,
    ) -> str:
        """Copy one validated group from the file: ``created``, ``updated``, ``unchanged``
        or ``refused`` (changed on the board since, and the file differs: never overwritten
        silently; ``force`` overwrites, and the change is recorded with what was lost)."""
        group_id = settings["id"]
        text = _dump(settings)
        now = _now()
        with self.db.conn:
            row = self.db.execute(
                "SELECT settings, origin, reseau_id FROM group_settings WHERE id = ?", [group_id]
            ).fetchone()
            if row is None:
                self.db.execute(
                    "INSERT INTO group_settings (id, reseau_id, settings, origin, created_at,"
                    " updated_at, updated_by) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    [group_id, reseau_id, text, ORIGIN_FILE, now, now, actor],
                )
                self._record(group_id, actor, "import", None, settings)
                return "created"
            before, origin, current_reseau = json.loads(row[0]), row[1], row[2]
            new_reseau = reseau_id if reseau_id is not None else current_reseau
            if row[0] == text and new_reseau == current_reseau:
                return "unchanged"
            if origin == ORIGIN_BOARD and row[0] != text and not force:
                return "refused"
            self.db.execute(
                "UPDATE group_settings SET settings = ?, reseau_id = ?, origin = ?,"
                " updated_at = ?, updated_by = ? WHERE id = ?",
                [text, new_reseau, ORIGIN_FILE, now, actor, group_id],
            )
            self._record(group_id, actor, "import-force" if force else "import", before, settings)
        return "updated"

    def create(self, settings: Mapping[str, Any], *, reseau_id: str | None, actor: str) -> None:
        """A new group made on the board (a réseau administrator)."""
        now = _now()
        with self.db.conn:
            if self.db.execute(
                "SELECT 1 FROM group_settings WHERE id = ?", [settings["id"]]
            ).fetchone():
                raise GroupStoreError(f"le groupe « {settings['id']} » existe déjà")
            self.db.execute(
                "INSERT INTO group_settings (id, reseau_id, settings, origin, created_at,"
                " updated_at, updated_by) VALUES (?, ?, ?, ?, ?, ?, ?)",
                [settings["id"], reseau_id, _dump(settings), ORIGIN_BOARD, now, now, actor],
            )
            self._record(settings["id"], actor, "create", None, settings)

    def save(self, settings: Mapping[str, Any], *, actor: str) -> bool:
        """Settings changed on the board (the group must be stored); False when equal."""
        group_id = settings["id"]
        text = _dump(settings)
        with self.db.conn:
            row = self.db.execute(
                "SELECT settings FROM group_settings WHERE id = ?", [group_id]
            ).fetchone()
            if row is None:
                raise GroupStoreError(f"groupe inconnu « {group_id} »")
            if row[0] == text:
                return False
            self.db.execute(
                "UPDATE group_settings SET settings = ?, origin = ?, updated_at = ?,"
                " updated_by = ? WHERE id = ?",
                [text, ORIGIN_BOARD, _now(), actor, group_id],
            )
            self._record(group_id, actor, "update", json.loads(row[0]), settings)
        return True

    def changes(self, group_ids: Iterable[str], limit: int = 200) -> list[dict[str, Any]]:
        """The recorded changes of these groups, newest first, with the fields that changed."""
        ids = list(group_ids)
        if not ids:
            return []
        marks = ",".join("?" for _ in ids)
        rows = list(
            self.db.query(
                f"SELECT * FROM group_changes WHERE group_id IN ({marks})"  # noqa: S608
                " ORDER BY id DESC LIMIT ?",
                [*ids, limit],
            )
        )
        for row in rows:
            before = json.loads(row["before"]) if row["before"] else {}
            after = json.loads(row["after"])
            row["fields"] = [
                {"field": key, "before": before.get(key), "after": after.get(key)}
                for key in sorted(set(before) | set(after))
                if before.get(key) != after.get(key) and key != "members"
            ]
        return rows

    # -- what members opened ----------------------------------------------------------------

    def record_opened(self, group_id: str, notice_id: str, member_id: int) -> None:
        """The first time a member opened a notice of its group's board (the réseau
        dashboard counts opened notices and lists reserved lots nobody looked at)."""
        with self.db.conn:
            self.db.execute(
                "INSERT OR IGNORE INTO board_opened (group_id, notice_id, member_id, first_at)"
                " VALUES (?, ?, ?, ?)",
                [group_id, notice_id, member_id, _now()],
            )

    # -- réseau dashboard -------------------------------------------------------------------

    def group_figures(self, group_ids: Iterable[str]) -> dict[str, dict[str, int]]:
        """Each group's figures: alerts sent (distinct notices), notices opened by a member,
        marks « intéressé » and « on répond », outcomes (déposé, gagné, perdu). A few grouped
        queries for all the groups: a réseau has hundreds of them."""
        ids = list(group_ids)
        keys = ("alerts", "opened", "interesse", "on_repond", "depose", "gagne", "perdu")
        out = {gid: dict.fromkeys(keys, 0) for gid in ids}
        if not ids:
            return out
        marks = ",".join("?" for _ in ids)
        queries = [
            (
                "SELECT group_id, 'alerts', count(DISTINCT notice_id) FROM deliveries"  # noqa: S608
                f" WHERE group_id IN ({marks}) AND kind IN ('alert', 'award')"
                " AND status = 'sent' GROUP BY group_id"
            ),
            (
                "SELECT group_id, 'opened', count(DISTINCT notice_id) FROM board_opened"  # noqa: S608
                f" WHERE group_id IN ({marks}) GROUP BY group_id"
            ),
            (
                "SELECT group_id, status, count(*) FROM board_marks"  # noqa: S608
                f" WHERE group_id IN ({marks}) AND status IN ('interesse', 'on_repond')"
                " GROUP BY group_id, status"
            ),
            (
                "SELECT group_id, outcome, count(*) FROM board_marks"  # noqa: S608
                f" WHERE group_id IN ({marks}) AND outcome IN ('depose', 'gagne', 'perdu')"
                " GROUP BY group_id, outcome"
            ),
        ]
        for sql in queries:
            for group_id, key, count in self.db.execute(sql, ids):
                out[group_id][key] = int(count)
        return out

    def unseen_reserved(
        self,
        group_ids: Iterable[str],
        departements: Iterable[str] | None,
        *,
        since: str,
        today: str,
        limit: int = 200,
    ) -> list[dict[str, Any]]:
        """Notices published since ``since``, still open on ``today``, with a lot (or the
        whole notice) reserved to SIAE or EA/ESAT, in ``departements`` (None: all France),
        that no member of ``group_ids`` opened or marked. Each row lists its reserved lots."""
        ids = list(group_ids)
        territory = None if departements is None else set(departements)
        seen: set[str] = set()
        if ids:
            marks = ",".join("?" for _ in ids)
            seen = {
                r[0]
                for r in self.db.execute(
                    f"SELECT notice_id FROM board_opened WHERE group_id IN ({marks})"  # noqa: S608
                    f" UNION SELECT notice_id FROM board_marks WHERE group_id IN ({marks})",
                    [*ids, *ids],
                )
            }
        # The latest classification of each candidate notice; the LIKE is only a prefilter,
        # the labels are read from the JSON below.
        rows = self.db.query(
            "SELECT n.id, n.title, n.buyer_name, n.published, n.departements,"
            " coalesce(p.deadline, n.deadline) AS deadline, c.positive, c.lots"
            " FROM notices n LEFT JOIN procedures p ON p.id = n.procedure_id"
            " JOIN classifications c ON c.rowid = (SELECT c2.rowid FROM classifications c2"
            "  WHERE c2.notice_id = n.id ORDER BY c2.classified_at DESC LIMIT 1)"
            " WHERE n.published >= ? AND (n.canonical_id IS NULL OR n.canonical_id = n.id)"
            " AND (c.positive LIKE '%reserved_%' OR c.lots LIKE '%reserved_%')"
            " ORDER BY n.published DESC, n.id",
            [since],
        )
        out: list[dict[str, Any]] = []
        for row in rows:
            if row["id"] in seen:
                continue
            if row["deadline"] and row["deadline"][:10] < today:
                continue
            deps = json.loads(row["departements"] or "[]")
            if territory is not None and not territory & set(deps):
                continue
            whole = [x for x in (row["positive"] or "").split(",") if x in RESERVED_LABELS]
            lots = [
                {"id": lot.get("id"), "title": lot.get("title"), "labels": reserved}
                for lot in json.loads(row["lots"] or "[]")
                if (reserved := [x for x in lot.get("labels") or [] if x in RESERVED_LABELS])
            ]
            if not whole and not lots:
                continue
            out.append({**row, "departements": deps, "reserved": whole, "reserved_lots": lots})
            if len(out) >= limit:
                break
        return out
