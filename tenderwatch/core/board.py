"""The shared veille board's data: members, group memberships, sign-in nonces, marks, notes,
activity and audit (ADR 0010). Every query of the board lives here; the web layer
(``tenderwatch.web``) only calls these methods.

This module is in ``core`` so that the notifier can read marks (reminder routing) and build
links (:func:`notice_url`) without importing the web application: it imports nothing above
``core``.

Isolation rule: every method that reads or writes a group's data takes the ``group_id`` and
filters on it; the web layer checks that the signed-in member belongs to that group first.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import tomllib
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from tenderwatch.core.settings import ENV_PREFIX, SettingsError
from tenderwatch.core.store import Store

#: What a member can say about a notice or a lot (codes; the French words are in the web layer).
MARK_STATUSES = ("vu", "interesse", "on_repond", "cherche_partenaire", "pas_pour_nous")
#: Why a notice is « pas pour nous » (fixed list, so that the feedback can be counted).
REASONS = (
    "secteur",
    "territoire",
    "montant",
    "delai",
    "capacite",
    "clause_mal_detectee",
    "autre",
)
#: The outcome of an answered lot.
OUTCOMES = ("depose", "gagne", "perdu", "abandonne")
ROLES = ("member", "admin")
ROLES_WANTED = ("cotraitance", "sous_traitance")
#: Marks that tell the group a member is working on the notice (reminders go to them).
ENGAGED = ("interesse", "on_repond")
#: Marks announced once to the group's channel, and the delivery kind announcing each.
ANNOUNCEMENT_KINDS = {"on_repond": "board-claim", "cherche_partenaire": "board-partner"}
ANNOUNCED = tuple(ANNOUNCEMENT_KINDS)
#: Placeholder channel of a row queued for an apprise tag (tenderwatch.notifier.delivery
#: replaces it with the tag's real channels before sending).
_TAG_PLACEHOLDER = "notag:"

# Alerts that put a notice on a group's board (updates and reminders follow it there).
_BOARD_KINDS = ("alert", "award")


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _fold_name(value: str | None) -> str:
    """A company name compared without case, accents or punctuation."""
    text = unicodedata.normalize("NFKD", (value or "").lower())
    text = "".join(c if c.isalnum() else " " for c in text if not unicodedata.combining(c))
    return " ".join(text.split())


def _loads(value: Any, default: Any) -> Any:
    if not value:
        return default
    try:
        return json.loads(value)
    except (TypeError, ValueError):
        return default


def normalise_email(value: str) -> str:
    """The form an address is stored and compared in (case-insensitive, trimmed)."""
    return (value or "").strip().lower()


def email_bucket(value: str) -> str:
    """A rate-limit key for an address that does not store the address itself."""
    return "email:" + hashlib.sha256(normalise_email(value).encode()).hexdigest()[:24]


# ---------------------------------------------------------------------------------------------
# [web] settings
# ---------------------------------------------------------------------------------------------


@dataclass
class WebSettings:
    """The ``[web]`` section of the TOML file (``TENDERWATCH_WEB_<KEY>`` wins over it)."""

    #: Public address of the board, used to build links in e-mails and alerts.
    base_url: str = "http://127.0.0.1:8080"
    #: File holding the secret key that signs sessions and sign-in links (outside git).
    secret_key_file: str | None = None
    #: The key itself (``TENDERWATCH_WEB_SECRET_KEY`` only: never written in the TOML).
    secret_key: str | None = field(default=None, repr=False)
    #: Behind HTTPS: session cookies get the ``Secure`` flag.
    https: bool = False
    #: apprise tag of the e-mail channel used to send sign-in links (its ``to`` is replaced).
    mail_tag: str = "connexion"
    #: How long a sign-in link stays valid.
    link_minutes: int = 30
    #: Sign-in requests allowed per address, and per client address, in an hour.
    signin_per_email_per_hour: int = 5
    signin_per_ip_per_hour: int = 30
    #: How long a session lasts without signing in again.
    session_days: int = 14


_WEB_INT_KEYS = (
    "link_minutes",
    "signin_per_email_per_hour",
    "signin_per_ip_per_hour",
    "session_days",
)


def load_web_settings(
    config_path: str | Path | None, *, env: Mapping[str, str] | None = None
) -> WebSettings:
    """Read ``[web]`` from the TOML file, then ``TENDERWATCH_WEB_*``; raise SettingsError with
    a French message naming the key (never the secret)."""
    env = os.environ if env is None else env
    settings = WebSettings()
    raw: dict[str, Any] = {}
    path = Path(config_path).expanduser() if config_path else None
    if path is not None:
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise SettingsError(f"fichier de configuration introuvable : {path}") from None
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise SettingsError(f"{path} : TOML invalide ({exc})") from None
        raw = dict(data.get("web") or {})
        if "secret_key" in raw:
            raise SettingsError(
                f"{path} : [web] secret_key : la clé ne s'écrit pas dans ce fichier ; "
                "utilisez secret_key_file ou TENDERWATCH_WEB_SECRET_KEY"
            )
    known = {f for f in WebSettings.__dataclass_fields__ if f != "secret_key"}
    for key in raw:
        if key not in known:
            raise SettingsError(f"{path} : [web] clé inconnue « {key} »")
    from_env = set()
    for key in known | {"secret_key"}:
        var = f"{ENV_PREFIX}WEB_{key.upper()}"
        if var in env:
            raw[key] = env[var]
            from_env.add(key)
    for key, value in raw.items():
        where = f"[web] {key}"
        if key in _WEB_INT_KEYS:
            try:
                number = int(value)
            except (TypeError, ValueError):
                raise SettingsError(f"{where} : entier attendu") from None
            if number < 1:
                raise SettingsError(f"{where} : entier ≥ 1 attendu")
            setattr(settings, key, number)
        elif key == "https":
            text = str(value).strip().lower()
            if isinstance(value, bool):
                settings.https = value
            elif text in ("1", "true", "yes", "oui", "on"):
                settings.https = True
            elif text in ("0", "false", "no", "non", "off"):
                settings.https = False
            else:
                raise SettingsError(f"{where} : true ou false attendu")
        elif key == "secret_key_file" and value and path is not None and key not in from_env:
            # Relative to the TOML file that names it (an environment value: to the cwd).
            file = Path(str(value)).expanduser()
            settings.secret_key_file = str(file if file.is_absolute() else path.parent / file)
        else:
            setattr(settings, key, None if value is None else str(value))
    if not settings.base_url.startswith(("http://", "https://")):
        raise SettingsError("[web] base_url : URL http(s) attendue")
    settings.base_url = settings.base_url.rstrip("/")
    return settings


def read_secret_key(settings: WebSettings) -> str | None:
    """The signing key: the environment's, else the file's first line; None when neither."""
    if settings.secret_key:
        return settings.secret_key
    if settings.secret_key_file:
        try:
            key = Path(settings.secret_key_file).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise SettingsError(
                f"[web] secret_key_file : fichier illisible ({exc.strerror})"
            ) from None
        if len(key) < 16:
            raise SettingsError("[web] secret_key_file : clé trop courte (16 caractères au moins)")
        return key
    return None


def notice_url(notice_id: str, *, base_url: str, email: str | None = None) -> str:
    """The board's link to a notice, for e-mails and alerts.

    Without ``email`` (channel alerts), the plain link: it asks whoever opens it to sign in.
    With it (an e-mail to one member), the sign-in form comes pre-filled with that address
    and, once signed in, the member lands on the notice. No secret is carried: a forwarded
    alert gives nobody access.
    """
    url = f"{base_url.rstrip('/')}/avis/{quote(notice_id, safe=':')}"
    if email:
        url += "?" + urlencode({"courriel": normalise_email(email)})
    return url


# ---------------------------------------------------------------------------------------------
# Data access
# ---------------------------------------------------------------------------------------------


@dataclass
class Member:
    id: int
    email: str
    name: str
    structure_name: str | None = None
    structure_siret: str | None = None
    structure_kind: str | None = None
    departements: list[str] = field(default_factory=list)
    cpv_prefixes: list[str] = field(default_factory=list)
    source: str | None = None
    groups: dict[str, str] = field(default_factory=dict)  # group id -> role

    @classmethod
    def from_row(cls, row: Mapping[str, Any], groups: dict[str, str] | None = None) -> Member:
        return cls(
            id=row["id"],
            email=row["email"],
            name=row["name"],
            structure_name=row.get("structure_name"),
            structure_siret=row.get("structure_siret"),
            structure_kind=row.get("structure_kind"),
            departements=_loads(row.get("departements"), []),
            cpv_prefixes=_loads(row.get("cpv_prefixes"), []),
            source=row.get("source"),
            groups=groups or {},
        )


class SignInError(LookupError):
    """A sign-in nonce that is unknown, used, revoked or expired (one message for all)."""


class Board:
    """The board's queries on one store."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.db = store.db

    # -- audit and activity -----------------------------------------------------------------

    def audit(self, actor: str, action: str, target: str = "", **details: Any) -> None:
        """Security-relevant events (sign-in, members). ``target`` is never a secret."""
        self.db["board_audit"].insert(
            {
                "at": _now(),
                "actor": actor,
                "action": action,
                "target": target,
                "details": json.dumps(details, ensure_ascii=False),
            }
        )

    def log(
        self,
        group_id: str,
        notice_id: str | None,
        member_id: int | None,
        action: str,
        **details: Any,
    ) -> None:
        """What a member did on a notice, shown in its activity."""
        self.db["board_activity"].insert(
            {
                "group_id": group_id,
                "notice_id": notice_id,
                "member_id": member_id,
                "action": action,
                "details": json.dumps(details, ensure_ascii=False),
                "at": _now(),
            }
        )

    def activity(self, group_id: str, notice_id: str, limit: int = 100) -> list[dict[str, Any]]:
        rows = list(
            self.db.query(
                "SELECT a.*, m.name AS member_name FROM board_activity a"
                " LEFT JOIN board_members m ON m.id = a.member_id"
                " WHERE a.group_id = ? AND a.notice_id = ? ORDER BY a.id DESC LIMIT ?",
                [group_id, notice_id, limit],
            )
        )
        for row in rows:
            row["details"] = _loads(row["details"], {})
        return rows

    # -- members ----------------------------------------------------------------------------

    def _groups_of(self, member_id: int) -> dict[str, str]:
        return {
            r["group_id"]: r["role"]
            for r in self.db.query(
                "SELECT group_id, role FROM board_memberships WHERE member_id = ?"
                " ORDER BY group_id",
                [member_id],
            )
        }

    def member(self, member_id: int) -> Member | None:
        rows = list(self.db.query("SELECT * FROM board_members WHERE id = ?", [member_id]))
        return Member.from_row(rows[0], self._groups_of(member_id)) if rows else None

    def member_by_email(self, email: str) -> Member | None:
        rows = list(
            self.db.query("SELECT * FROM board_members WHERE email = ?", [normalise_email(email)])
        )
        return Member.from_row(rows[0], self._groups_of(rows[0]["id"])) if rows else None

    def members(self, group_id: str | None = None) -> list[Member]:
        if group_id is None:
            rows = list(self.db.query("SELECT * FROM board_members ORDER BY name, email"))
        else:
            rows = list(
                self.db.query(
                    "SELECT m.* FROM board_members m JOIN board_memberships g"
                    " ON g.member_id = m.id WHERE g.group_id = ? ORDER BY m.name, m.email",
                    [group_id],
                )
            )
        return [Member.from_row(r, self._groups_of(r["id"])) for r in rows]

    def upsert_member(
        self,
        *,
        email: str,
        name: str,
        group_id: str,
        role: str = "member",
        structure_name: str | None = None,
        structure_siret: str | None = None,
        structure_kind: str | None = None,
        departements: Iterable[str] = (),
        cpv_prefixes: Iterable[str] = (),
        source: str = "cli",
        actor: str = "cli",
    ) -> Member:
        """Create or update a member and put it in ``group_id`` with ``role``."""
        if role not in ROLES:
            raise ValueError(f"rôle inconnu « {role} » (attendu : {', '.join(ROLES)})")
        email = normalise_email(email)
        if "@" not in email or len(email) > 254:
            raise ValueError("adresse électronique invalide")
        now = _now()
        values = {
            "email": email,
            "name": name.strip() or email,
            "structure_name": structure_name,
            "structure_siret": structure_siret,
            "structure_kind": structure_kind,
            "departements": json.dumps(list(departements)),
            "cpv_prefixes": json.dumps(list(cpv_prefixes)),
            "source": source,
            "updated_at": now,
        }
        with self.db.conn:
            existing = self.db.execute(
                "SELECT id FROM board_members WHERE email = ?", [email]
            ).fetchone()
            if existing:
                member_id = existing[0]
                self.db["board_members"].update(member_id, values)
            else:
                member_id = self.db["board_members"].insert({**values, "created_at": now}).last_pk
            self.db.execute(
                "INSERT INTO board_memberships (member_id, group_id, role, source, created_at)"
                " VALUES (?, ?, ?, ?, ?) ON CONFLICT (member_id, group_id)"
                " DO UPDATE SET role = excluded.role, source = excluded.source",
                [member_id, group_id, role, source, now],
            )
        self.audit(actor, "member-upsert", f"member:{member_id}", group=group_id, role=role)
        member = self.member(member_id)
        assert member is not None
        return member

    def remove_membership(self, email: str, group_id: str | None, *, actor: str = "cli") -> int:
        """Take a member out of one group (or all); its marks and notes stay, signed with its
        name. Unused sign-in links are revoked. Returns the number of memberships removed."""
        member = self.member_by_email(email)
        if member is None:
            return 0
        with self.db.conn:
            if group_id is None:
                cur = self.db.execute(
                    "DELETE FROM board_memberships WHERE member_id = ?", [member.id]
                )
            else:
                cur = self.db.execute(
                    "DELETE FROM board_memberships WHERE member_id = ? AND group_id = ?",
                    [member.id, group_id],
                )
        removed = cur.rowcount
        if removed:
            self.revoke_signins(member.id)
            self.audit(actor, "member-remove", f"member:{member.id}", group=group_id or "*")
        return removed

    def sync_config_members(self, declared: Mapping[str, list[Mapping[str, Any]]]) -> int:
        """Bring the members declared in the TOML (group id → members) into the database.

        Members added from the board or the CLI are left alone; a member the file declared
        before and no longer declares in a group leaves that group. Returns how many
        declarations were applied.
        """
        applied = 0
        for group_id, members in declared.items():
            wanted = set()
            for spec in members:
                member = self.upsert_member(
                    email=spec["email"],
                    name=spec.get("name") or spec["email"],
                    group_id=group_id,
                    role=spec.get("role") or "member",
                    structure_name=spec.get("structure"),
                    structure_siret=spec.get("siret"),
                    structure_kind=spec.get("kind"),
                    departements=spec.get("departements") or (),
                    cpv_prefixes=spec.get("cpv_prefixes") or (),
                    source="config",
                    actor="config",
                )
                wanted.add(member.id)
                applied += 1
            for row in list(
                self.db.query(
                    "SELECT member_id FROM board_memberships"
                    " WHERE group_id = ? AND source = 'config'",
                    [group_id],
                )
            ):
                if row["member_id"] not in wanted:
                    self.db.execute(
                        "DELETE FROM board_memberships WHERE member_id = ? AND group_id = ?",
                        [row["member_id"], group_id],
                    )
                    self.audit(
                        "config", "member-remove", f"member:{row['member_id']}", group=group_id
                    )
        self.db.conn.commit()
        return applied

    # -- sign-in ----------------------------------------------------------------------------

    def create_signin(self, member_id: int, *, minutes: int, next_url: str | None = None) -> str:
        """A new single-use nonce for ``member_id``, valid ``minutes``; the link carries it
        signed (``tenderwatch.web.auth``)."""
        nonce = secrets.token_urlsafe(24)
        now = datetime.now(UTC)
        self.db["board_signin"].insert(
            {
                "nonce": nonce,
                "member_id": member_id,
                "next_url": next_url,
                "created_at": now.isoformat(timespec="seconds"),
                "expires_at": (now + timedelta(minutes=minutes)).isoformat(timespec="seconds"),
            }
        )
        return nonce

    def consume_signin(self, nonce: str) -> tuple[int, str | None]:
        """Use a nonce once: (member id, where to go next). The UPDATE claims it atomically,
        so two clicks on the same link sign in at most once. Raises :class:`SignInError`."""
        now = _now()
        with self.db.conn:
            cur = self.db.execute(
                "UPDATE board_signin SET used_at = ? WHERE nonce = ? AND used_at IS NULL"
                " AND revoked_at IS NULL AND expires_at > ?",
                [now, nonce, now],
            )
            if cur.rowcount != 1:
                raise SignInError(nonce)
            row = self.db.execute(
                "SELECT member_id, next_url FROM board_signin WHERE nonce = ?", [nonce]
            ).fetchone()
        if not self.has_access(row[0]):
            raise SignInError(nonce)  # removed from every group since the link was sent
        return row[0], row[1]

    def has_access(self, member_id: int) -> bool:
        """A member may sign in while it is in a group or administers a réseau (issue #11:
        a réseau administrator need not belong to any group)."""
        if self._groups_of(member_id):
            return True
        row = self.db.execute(
            "SELECT 1 FROM reseau_admins WHERE member_id = ? LIMIT 1", [member_id]
        ).fetchone()
        return row is not None

    def revoke_signins(self, member_id: int) -> int:
        with self.db.conn:
            cur = self.db.execute(
                "UPDATE board_signin SET revoked_at = ? WHERE member_id = ? AND used_at IS NULL"
                " AND revoked_at IS NULL",
                [_now(), member_id],
            )
        return cur.rowcount

    def rate_allow(self, bucket: str, limit: int, window_s: int = 3600) -> bool:
        """Count one request in ``bucket``; False when ``limit`` were already made in the
        window (the refused request is not counted, so a flood does not extend the ban)."""
        now = datetime.now(UTC)
        since = (now - timedelta(seconds=window_s)).isoformat(timespec="seconds")
        with self.db.conn:
            self.db.execute("DELETE FROM board_signin_requests WHERE at < ?", [since])
            count = self.db.execute(
                "SELECT count(*) FROM board_signin_requests WHERE bucket = ? AND at >= ?",
                [bucket, since],
            ).fetchone()[0]
            if count >= limit:
                return False
            self.db.execute(
                "INSERT INTO board_signin_requests (bucket, at) VALUES (?, ?)",
                [bucket, now.isoformat(timespec="seconds")],
            )
        return True

    # -- what is on a group's board -----------------------------------------------------------

    def notice_ids(self, group_id: str) -> list[str]:
        """The notices the group was alerted about, plus those its members added."""
        rows = self.db.execute(
            "SELECT DISTINCT notice_id FROM deliveries WHERE group_id = ? AND kind IN (?, ?)"
            " AND status != 'skipped'"
            " UNION SELECT notice_id FROM board_items WHERE group_id = ?",
            [group_id, *_BOARD_KINDS, group_id],
        ).fetchall()
        return [r[0] for r in rows]

    def has_notice(self, group_id: str, notice_id: str) -> bool:
        row = self.db.execute(
            "SELECT 1 FROM deliveries WHERE group_id = ? AND notice_id = ? AND kind IN (?, ?)"
            " AND status != 'skipped'"
            " UNION SELECT 1 FROM board_items WHERE group_id = ? AND notice_id = ? LIMIT 1",
            [group_id, notice_id, *_BOARD_KINDS, group_id, notice_id],
        ).fetchone()
        return row is not None

    def add_item(self, group_id: str, notice_id: str, member_id: int) -> bool:
        """Put a stored notice on the board; False when there is no such notice."""
        if self.db.execute("SELECT 1 FROM notices WHERE id = ?", [notice_id]).fetchone() is None:
            return False
        with self.db.conn:
            self.db.execute(
                "INSERT OR IGNORE INTO board_items (group_id, notice_id, member_id, added_at)"
                " VALUES (?, ?, ?, ?)",
                [group_id, notice_id, member_id, _now()],
            )
        self.log(group_id, notice_id, member_id, "added")
        return True

    def cards(self, group_id: str, *, with_text: bool = False) -> list[dict[str, Any]]:
        """One row per notice of the board: the notice, its procedure state, its latest
        classification's labels and lots, and the group's updates about it. The notice text
        (long) only ``with_text``, for a text search."""
        ids = self.notice_ids(group_id)
        if not ids:
            return []
        placeholders = ",".join("?" for _ in ids)
        # Only "?" placeholders are joined into the SQL: no user text.
        sql = (
            "SELECT n.id, n.title, n.nature, n.published, n.buyer_name, n.departements,"  # noqa: S608
            " n.estimated_value, n.url, n.procedure_id,"
            + (" n.text," if with_text else " '' AS text,")
            + " coalesce(p.deadline, n.deadline) AS deadline, p.status AS procedure_status,"  # noqa: S608
            " p.current_notice_id, p.notice_ids AS procedure_notices,"
            " (SELECT c.positive FROM classifications c WHERE c.notice_id = n.id"
            "  ORDER BY c.classified_at DESC LIMIT 1) AS positive,"
            " (SELECT c.lots FROM classifications c WHERE c.notice_id = n.id"
            "  ORDER BY c.classified_at DESC LIMIT 1) AS classified_lots"
            " FROM notices n LEFT JOIN procedures p ON p.id = n.procedure_id"
            f" WHERE n.id IN ({placeholders})"
        )
        rows = list(self.db.query(sql, ids))
        updates: dict[str, set[str]] = {}
        for r in self.db.query(
            "SELECT notice_id, kind FROM deliveries WHERE group_id = ?"  # noqa: S608
            f" AND kind IN ('update', 'cancellation') AND notice_id IN ({placeholders})",
            [group_id, *ids],
        ):
            updates.setdefault(r["notice_id"], set()).add(r["kind"])
        lots = {}
        for r in self.db.query(
            f"SELECT notice_id, lot_id, title FROM lots WHERE notice_id IN ({placeholders})"  # noqa: S608
            " ORDER BY position",
            ids,
        ):
            lots.setdefault(r["notice_id"], []).append(r)
        marks = self.marks_by_notice(group_id)
        for row in rows:
            row["departements"] = _loads(row["departements"], [])
            row["labels"] = [x for x in (row.pop("positive") or "").split(",") if x]
            row["lots"] = lots.get(row["id"], [])
            row["classified_lots"] = _loads(row["classified_lots"], [])
            row["procedure_notices"] = _loads(row["procedure_notices"], [])
            row["updates"] = sorted(updates.get(row["id"], ()))
            row["marks"] = marks.get(row["id"], [])
        return rows

    # -- marks ------------------------------------------------------------------------------

    def marks_by_notice(self, group_id: str) -> dict[str, list[dict[str, Any]]]:
        out: dict[str, list[dict[str, Any]]] = {}
        for row in self.db.query(
            "SELECT k.*, m.name AS member_name, m.structure_name, m.structure_siret"
            " FROM board_marks k"
            " JOIN board_members m ON m.id = k.member_id WHERE k.group_id = ?"
            " ORDER BY k.updated_at",
            [group_id],
        ):
            out.setdefault(row["notice_id"], []).append(row)
        for rows in out.values():
            self._award_outcomes(rows)
        return out

    def marks(self, group_id: str, notice_id: str) -> list[dict[str, Any]]:
        rows = list(
            self.db.query(
                "SELECT k.*, m.name AS member_name, m.structure_name, m.structure_siret"
                " FROM board_marks k"
                " JOIN board_members m ON m.id = k.member_id"
                " WHERE k.group_id = ? AND k.notice_id = ? ORDER BY k.lot_id, k.updated_at",
                [group_id, notice_id],
            )
        )
        return self._award_outcomes(rows)

    def _award_outcomes(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Fill the outcome of « on répond » marks from the awards linked to the call
        (issue #12), when the member did not say it: « perdu — attributaire : X », or
        « gagné » when the winner is the member's structure (same SIRET, or same name).
        ``outcome_auto`` tells the page it was read from the award notice. A mark on the
        whole notice takes every awarded lot with a clause; lots without an insertion
        clause have no awards row, so no automatic outcome."""
        for row in rows:
            if row["status"] != "on_repond" or row.get("outcome"):
                continue
            awards = list(
                self.db.query(
                    "SELECT lot_id, winner_name, winners FROM awards WHERE call_notice_id = ?"
                    " AND (? = '' OR lot_id = ?) ORDER BY lot_id",
                    [row["notice_id"], row["lot_id"], row["lot_id"]],
                )
            )
            if not awards:
                continue
            ours = _fold_name(row.get("structure_name"))
            siret = row.get("structure_siret")
            won = any(
                (siret and w.get("siret") == siret) or (ours and _fold_name(w.get("name")) == ours)
                for a in awards
                for w in _loads(a["winners"], [])
            )
            names = [
                f"{a['winner_name']} (lot {a['lot_id']})"
                if a["lot_id"] and not row["lot_id"] and len(awards) > 1
                else a["winner_name"]
                for a in awards
            ]
            row["outcome"] = "gagne" if won else "perdu"
            row["winner"] = " ; ".join(names)
            row["outcome_auto"] = True
            row["outcome_text"] = ("gagné" if won else "perdu") + " — attributaire : " + row[
                "winner"
            ]
        return rows

    def set_mark(
        self,
        group_id: str,
        notice_id: str,
        lot_id: str,
        member_id: int,
        status: str,
        *,
        reason: str | None = None,
        label: str | None = None,
        role_wanted: str | None = None,
        text: str | None = None,
    ) -> None:
        """A member's mark on a lot ("" = the whole notice); one current mark per member and
        lot, replaced by the next one (the activity keeps the history)."""
        if status not in MARK_STATUSES:
            raise ValueError(f"statut inconnu « {status} »")
        if status == "pas_pour_nous" and reason not in REASONS:
            raise ValueError("une raison de la liste est demandée")
        if status == "cherche_partenaire" and role_wanted not in ROLES_WANTED:
            raise ValueError("précisez co-traitance ou sous-traitance")
        now = _now()
        with self.db.conn:
            self.db.execute(
                "INSERT INTO board_marks (group_id, notice_id, lot_id, member_id, status, reason,"
                " label, role_wanted, text, created_at, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (group_id, notice_id, lot_id, member_id) DO UPDATE SET"
                " status = excluded.status, reason = excluded.reason, label = excluded.label,"
                " role_wanted = excluded.role_wanted, text = excluded.text,"
                " outcome = CASE WHEN excluded.status = 'on_repond' THEN outcome END,"
                " winner = CASE WHEN excluded.status = 'on_repond' THEN winner END,"
                " updated_at = excluded.updated_at",
                [
                    group_id,
                    notice_id,
                    lot_id,
                    member_id,
                    status,
                    reason if status == "pas_pour_nous" else None,
                    label if status == "pas_pour_nous" else None,
                    role_wanted if status == "cherche_partenaire" else None,
                    (text or "").strip()[:2000] or None,
                    now,
                    now,
                ],
            )
        self.log(
            group_id,
            notice_id,
            member_id,
            "mark",
            lot=lot_id,
            status=status,
            reason=reason if status == "pas_pour_nous" else None,
            role_wanted=role_wanted if status == "cherche_partenaire" else None,
        )

    def set_outcome(
        self,
        group_id: str,
        notice_id: str,
        lot_id: str,
        member_id: int,
        outcome: str,
        winner: str | None = None,
    ) -> bool:
        """The outcome of a lot the member answered (its « on répond » mark); False when the
        member has no such claim."""
        if outcome not in OUTCOMES:
            raise ValueError(f"résultat inconnu « {outcome} »")
        with self.db.conn:
            cur = self.db.execute(
                "UPDATE board_marks SET outcome = ?, winner = ?, updated_at = ?"
                " WHERE group_id = ? AND notice_id = ? AND lot_id = ? AND member_id = ?"
                " AND status = 'on_repond'",
                [
                    outcome,
                    (winner or "").strip()[:300] or None,
                    _now(),
                    group_id,
                    notice_id,
                    lot_id,
                    member_id,
                ],
            )
        if cur.rowcount:
            self.log(group_id, notice_id, member_id, "outcome", lot=lot_id, outcome=outcome)
        return bool(cur.rowcount)

    def clear_mark(self, group_id: str, notice_id: str, lot_id: str, member_id: int) -> None:
        with self.db.conn:
            self.db.execute(
                "DELETE FROM board_marks WHERE group_id = ? AND notice_id = ? AND lot_id = ?"
                " AND member_id = ?",
                [group_id, notice_id, lot_id, member_id],
            )
        self.log(group_id, notice_id, member_id, "unmark", lot=lot_id)

    # -- notes ------------------------------------------------------------------------------

    def add_note(self, group_id: str, notice_id: str, member_id: int, text: str) -> None:
        text = (text or "").strip()
        if not text:
            raise ValueError("note vide")
        self.db["board_notes"].insert(
            {
                "group_id": group_id,
                "notice_id": notice_id,
                "member_id": member_id,
                "text": text[:5000],
                "created_at": _now(),
            }
        )
        self.log(group_id, notice_id, member_id, "note")

    def notes(self, group_id: str, notice_id: str) -> list[dict[str, Any]]:
        return list(
            self.db.query(
                "SELECT n.*, m.name AS member_name FROM board_notes n"
                " LEFT JOIN board_members m ON m.id = n.member_id"
                " WHERE n.group_id = ? AND n.notice_id = ? ORDER BY n.id",
                [group_id, notice_id],
            )
        )

    # -- feedback ---------------------------------------------------------------------------

    def feedback(self) -> list[dict[str, Any]]:
        """Every « pas pour nous » mark, for the classifier's authors (JSON Lines export)."""
        return [
            {
                "group": r["group_id"],
                "notice_id": r["notice_id"],
                "lot": r["lot_id"] or None,
                "label": r["label"] or None,
                "reason": r["reason"],
                "text": r["text"] or "",
                "at": r["updated_at"],
            }
            for r in self.db.query(
                "SELECT * FROM board_marks WHERE status = 'pas_pour_nous'"
                " ORDER BY updated_at, group_id, notice_id, lot_id"
            )
        ]

    def relevance(self, group_id: str) -> dict[str, int]:
        """How the group judged its alerts: received, judged, relevant (someone interested,
        answering or looking for a partner), not relevant (only « pas pour nous »)."""
        alerted = set(
            r[0]
            for r in self.db.execute(
                "SELECT DISTINCT notice_id FROM deliveries WHERE group_id = ? AND kind IN (?, ?)"
                " AND status != 'skipped'",
                [group_id, *_BOARD_KINDS],
            )
        )
        statuses: dict[str, set[str]] = {}
        for r in self.db.execute(
            "SELECT notice_id, status FROM board_marks WHERE group_id = ?", [group_id]
        ):
            if r[0] in alerted:
                statuses.setdefault(r[0], set()).add(r[1])
        positive = {"interesse", "on_repond", "cherche_partenaire"}
        relevant = sum(1 for s in statuses.values() if s & positive)
        rejected = sum(1 for s in statuses.values() if "pas_pour_nous" in s and not s & positive)
        return {
            "alerted": len(alerted),
            "judged": relevant + rejected,
            "relevant": relevant,
            "not_relevant": rejected,
        }

    # -- what the notifier reads and sends ---------------------------------------------------

    def announce(
        self,
        group_id: str,
        tags: Iterable[str],
        notice_id: str,
        status: str,
        details: Mapping[str, Any],
    ) -> bool:
        """Queue the group's one announcement of a claim or a partner search on a notice:
        a pending delivery per apprise tag, on the placeholder channel the notifier resolves.
        False when it was already queued or sent (at most once per group, notice, kind)."""
        kind = ANNOUNCEMENT_KINDS[status]
        with self.db.conn:
            if self.db.execute(
                "SELECT 1 FROM deliveries WHERE group_id = ? AND notice_id = ? AND kind = ?",
                [group_id, notice_id, kind],
            ).fetchone():
                return False
            payload = json.dumps(dict(details), ensure_ascii=False, sort_keys=True)
            for tag in tags:
                self.db.execute(
                    "INSERT OR IGNORE INTO deliveries (group_id, notice_id, kind, channel,"
                    " status, attempts, created_at, details)"
                    " VALUES (?, ?, ?, ?, 'pending', 0, ?, ?)",
                    [group_id, notice_id, kind, _TAG_PLACEHOLDER + tag, _now(), payload],
                )
        return True

    def engaged_members(self, group_id: str, notice_id: str) -> list[Member]:
        """Members of the group who said « intéressé » or « on répond » on the notice or one
        of its lots (reminders go to them by personal e-mail)."""
        rows = self.db.execute(
            "SELECT DISTINCT k.member_id FROM board_marks k JOIN board_memberships g"
            " ON g.member_id = k.member_id AND g.group_id = k.group_id"
            " WHERE k.group_id = ? AND k.notice_id = ? AND k.status IN (?, ?)",
            [group_id, notice_id, *ENGAGED],
        ).fetchall()
        return [m for r in rows if (m := self.member(r[0])) is not None]

    def any_mark(self, group_id: str, notice_id: str) -> bool:
        return (
            self.db.execute(
                "SELECT 1 FROM board_marks WHERE group_id = ? AND notice_id = ? LIMIT 1",
                [group_id, notice_id],
            ).fetchone()
            is not None
        )
