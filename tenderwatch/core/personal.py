"""Personal data of board members: access (export) and erasure (RGPD articles 15 and 17).

A member's e-mail and name are personal data; so are what they wrote (notes, marks' free
text), when they signed in, and the audit entries about them. ``export`` gathers all of it;
``erase`` deletes the person and keeps the group's work: the marks, notes, activity and
notices the member added are moved to a fresh placeholder author « membre effacé » (one per
erased person, with no address anyone can receive mail at, in no group, so it can never sign
in). Sign-in nonces, memberships and rate-limit entries are deleted.

Tables are found by their columns rather than listed by name, so a table added later with a
``member_id`` column (for instance by the réseau features) is covered without editing this
module: tables in :data:`_DELETED` lose the member's rows, every other one is reassigned.
"""

from __future__ import annotations

import json
import secrets
from datetime import UTC, datetime
from typing import Any

from tenderwatch.core.board import email_bucket, normalise_email
from tenderwatch.core.store import Store

#: The author shown for what an erased member wrote.
ERASED_NAME = "membre effacé"
#: Rows that exist only because of the person: deleted with them.
_DELETED = ("board_memberships", "board_signin", "reseau_admins")
#: Columns that may hold an actor reference (``member:12`` or an address).
_ACTOR_COLUMNS = ("actor", "updated_by", "target")
#: JSON columns that may list members (a group's settings copied from the TOML, and the
#: history of its changes): the person's entries are taken out of their ``members`` lists.
_JSON_WITH_MEMBERS = {"group_settings": ("settings",), "group_changes": ("before", "after")}
#: Never exported: a sign-in nonce not yet used is a live credential.
_SECRET_COLUMNS = {"nonce"}


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _member_tables(store: Store) -> list[str]:
    """Tables with a ``member_id`` column, members' own table excluded."""
    return [
        t.name
        for t in store.db.tables
        if t.name != "board_members" and "member_id" in t.columns_dict
    ]


def _actor_tables(store: Store) -> list[tuple[str, str]]:
    return [
        (t.name, column)
        for t in store.db.tables
        for column in _ACTOR_COLUMNS
        if column in t.columns_dict
    ]


def _member_row(store: Store, email: str) -> dict[str, Any] | None:
    rows = list(
        store.db.query("SELECT * FROM board_members WHERE email = ?", [normalise_email(email)])
    )
    return rows[0] if rows else None


def _references(member: dict[str, Any]) -> list[str]:
    """How other tables name the member: its actor id, its address, its rate-limit key."""
    return [f"member:{member['id']}", member["email"], email_bucket(member["email"])]


def export(store: Store, email: str) -> dict[str, Any] | None:
    """Everything stored about the member with ``email``, as JSON-ready data; None when the
    address is unknown."""
    member = _member_row(store, email)
    if member is None:
        return None
    out: dict[str, Any] = {
        "generated_at": _now(),
        "member": {k: _decode(k, v) for k, v in member.items()},
        "structures": [],
        "tables": {},
        "mentions": {},
    }
    if store.db["structures"].exists():
        # The structure the member belongs to, and any whose contact address is theirs.
        rows = list(
            store.db.query(
                "SELECT * FROM structures WHERE siret = ? OR email = ?",
                [member.get("structure_siret") or "", member["email"]],
            )
        )
        out["structures"] = [{k: _decode(k, v) for k, v in r.items()} for r in rows]
    for table in _member_tables(store):
        rows = [
            {k: _decode(k, v) for k, v in row.items() if k not in _SECRET_COLUMNS}
            for row in store.db.query(
                f"SELECT * FROM [{table}] WHERE member_id = ?",  # noqa: S608
                [member["id"]],
            )
        ]
        out["tables"][table] = rows
    references = _references(member)
    for table, column in _actor_tables(store):
        marks = ",".join("?" for _ in references)
        rows = list(
            store.db.query(
                f"SELECT * FROM [{table}] WHERE [{column}] IN ({marks})",  # noqa: S608
                references,
            )
        )
        if rows:
            # A row the person acted on may list other members: of those JSON columns, only
            # the person's own entries are given.
            listed = _JSON_WITH_MEMBERS.get(table, ())
            out["mentions"][f"{table}.{column}"] = [
                {
                    k: _entries(_decode(k, v), member["email"]) if k in listed else _decode(k, v)
                    for k, v in r.items()
                }
                for r in rows
            ]
    for table, columns in _JSON_WITH_MEMBERS.items():
        if not store.db[table].exists():
            continue
        for column in columns:
            found = []
            for row in store.db.query(
                f"SELECT * FROM [{table}] WHERE [{column}] LIKE ?",  # noqa: S608
                [f"%{member['email']}%"],
            ):
                # Only the person's own entries: the rest of the row (other members'
                # addresses) is not theirs to receive.
                entries = _entries(_decode(column, row[column]), member["email"])
                if entries:
                    key = row.get("group_id") or row.get("id")
                    found.append({"group": key, "at": row.get("at"), "entries": entries})
            if found:
                out["mentions"][f"{table}.{column}"] = found
    if store.db["board_signin_requests"].exists():
        count = store.db.execute(
            "SELECT count(*) FROM board_signin_requests WHERE bucket = ?",
            [email_bucket(member["email"])],
        ).fetchone()[0]
        out["signin_requests_last_hour_window"] = count
    return out


def _decode(key: str, value: Any) -> Any:
    """JSON text columns as data (details, departements...), everything else as stored."""
    if isinstance(value, str) and value[:1] in "[{":
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def erase(store: Store, email: str, *, actor: str = "cli") -> dict[str, int] | None:
    """Delete the member with ``email``; keep its marks, notes and activity under a fresh
    « membre effacé » author. Returns the counts per table; None when the address is unknown.
    All in one transaction: an interrupted erasure leaves the member whole."""
    member = _member_row(store, email)
    if member is None:
        return None
    db = store.db
    counts: dict[str, int] = {}
    now = _now()
    references = _references(member)
    with db.atomic():
        # The placeholder: unroutable address (RFC 2606 .invalid), no group, no structure.
        tombstone = db.execute(
            "INSERT INTO board_members (email, name, departements, cpv_prefixes, source,"
            " created_at, updated_at) VALUES (?, ?, '[]', '[]', 'erased', ?, ?)",
            [f"efface-{secrets.token_hex(8)}@membre-efface.invalid", ERASED_NAME, now, now],
        ).lastrowid
        for table in _member_tables(store):
            if table in _DELETED:
                cur = db.execute(
                    f"DELETE FROM [{table}] WHERE member_id = ?",  # noqa: S608
                    [member["id"]],
                )
            else:
                cur = db.execute(
                    f"UPDATE [{table}] SET member_id = ? WHERE member_id = ?",  # noqa: S608
                    [tombstone, member["id"]],
                )
            counts[table] = cur.rowcount
        for table, column in _actor_tables(store):
            marks = ",".join("?" for _ in references)
            cur = db.execute(
                f"UPDATE [{table}] SET [{column}] = ? WHERE [{column}] IN ({marks})",  # noqa: S608
                [f"member:{tombstone}", *references],
            )
            if cur.rowcount:
                counts[f"{table}.{column}"] = cur.rowcount
        if db["board_signin_requests"].exists():
            cur = db.execute(
                "DELETE FROM board_signin_requests WHERE bucket = ?",
                [email_bucket(member["email"])],
            )
            counts["board_signin_requests"] = cur.rowcount
        scrubbed = _scrub_member_lists(store, member["email"])
        if scrubbed:
            counts["group_settings/group_changes"] = scrubbed
        if db["structures"].exists():
            # The person as a structure's contact: the structure stays, its address goes.
            cur = db.execute(
                "UPDATE structures SET email = NULL WHERE email = ?", [member["email"]]
            )
            counts["structures.email"] = cur.rowcount
        db.execute("DELETE FROM board_members WHERE id = ?", [member["id"]])
        db.execute(
            "INSERT INTO board_audit (at, actor, action, target, details)"
            " VALUES (?, ?, 'member-erase', ?, ?)",
            [now, actor, f"member:{tombstone}", json.dumps(counts, sort_keys=True)],
        )
    return counts


def _entries(value: Any, email: str) -> list[Any]:
    """The ``members`` entries of ``email`` in a JSON document, at any depth."""
    found: list[Any] = []
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "members" and isinstance(item, list):
                found += [
                    m
                    for m in item
                    if isinstance(m, dict) and normalise_email(m.get("email", "")) == email
                ]
            else:
                found += _entries(item, email)
    elif isinstance(value, list):
        for item in value:
            found += _entries(item, email)
    return found


def _without(value: Any, email: str) -> Any:
    """``value`` with every ``members`` entry of ``email`` removed, at any depth."""
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if key == "members" and isinstance(item, list):
                item = [
                    m
                    for m in item
                    if not (isinstance(m, dict) and normalise_email(m.get("email", "")) == email)
                ]
            out[key] = _without(item, email)
        return out
    if isinstance(value, list):
        return [_without(v, email) for v in value]
    return value


def _scrub_member_lists(store: Store, email: str) -> int:
    """Take the person out of the JSON member lists (inside the caller's transaction)."""
    changed = 0
    for table, columns in _JSON_WITH_MEMBERS.items():
        if not store.db[table].exists():
            continue
        for column in columns:
            rows = store.db.execute(
                f"SELECT rowid, [{column}] FROM [{table}] WHERE [{column}] LIKE ?",  # noqa: S608
                [f"%{email}%"],
            ).fetchall()
            for rowid, text in rows:
                try:
                    data = json.loads(text)
                except ValueError:
                    continue
                store.db.execute(
                    f"UPDATE [{table}] SET [{column}] = ? WHERE rowid = ?",  # noqa: S608
                    [json.dumps(_without(data, email), ensure_ascii=False, sort_keys=True), rowid],
                )
                changed += 1
    return changed
