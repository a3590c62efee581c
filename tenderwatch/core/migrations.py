"""Numbered schema migrations, applied in order by ``tenderwatch db migrate`` (and on open).

Tables are created explicitly here, never implicitly by an insert, so that every column has a
type and every relation a foreign key. A migration that has run is never edited: a change to
the schema is a new numbered migration.
"""

from __future__ import annotations

from sqlite_utils import Database, Migrations

migrations = Migrations("tenderwatch")


class NewerSchemaError(RuntimeError):
    """The database holds migrations this version of tenderwatch does not know."""


class MigrationError(RuntimeError):
    """A migration failed; its transaction was rolled back, so it is still pending."""


def unknown_applied(db: Database) -> list[str]:
    """Names of applied tenderwatch migrations this version does not define: the database
    was created or upgraded by a newer tenderwatch, whose schema this code cannot assume."""
    known = {m.name for m in migrations._migrations}
    return [m.name for m in migrations.applied(db) if m.name not in known]


def check_known(db: Database) -> None:
    """Refuse a database migrated by a newer tenderwatch (see :func:`unknown_applied`)."""
    unknown = unknown_applied(db)
    if unknown:
        raise NewerSchemaError(
            "base créée par une version plus récente de tenderwatch (migration "
            f"{', '.join(unknown)} inconnue) : mettez tenderwatch à jour"
        )


def apply_serialized(db: Database) -> list[str]:
    """Apply the pending migrations one at a time, each in its own ``BEGIN IMMEDIATE``
    transaction together with the record of it; return the names applied by this call.

    Why not ``migrations.apply``: it reads the pending list before taking any lock, so two
    processes opening a new file both try to create the same tables and one fails. Here the
    write lock is taken first (waiting up to the connection's busy timeout) and the applied
    list is read again under it, so the second process finds the work done. One transaction
    per migration means a crash or an error in the middle of one leaves it wholly unapplied
    (SQLite's DDL is transactional) while the ones before it stay applied.
    """
    done: list[str] = []
    while True:
        if db.conn.in_transaction:
            raise RuntimeError("les migrations ne s'appliquent pas dans une transaction ouverte")
        db.conn.execute("BEGIN IMMEDIATE")
        try:
            migrations.ensure_migrations_table(db)
            check_known(db)
            pending = migrations.pending(db)
            if not pending:
                db.conn.execute("COMMIT")
                return done
            step = pending[0]
            try:
                step.fn(db)
            except Exception as exc:
                raise MigrationError(
                    f"la migration {step.name} a échoué et n'a pas été appliquée"
                    f" ({type(exc).__name__} : {exc})"
                ) from exc
            migrations._record_applied(db, step.name)
            db.conn.execute("COMMIT")
        except BaseException:
            if db.conn.in_transaction:
                db.conn.execute("ROLLBACK")
            raise
        done.append(step.name)


@migrations(name="0001_initial")
def m0001_initial(db: Database) -> None:
    """Raw payloads, notices, lots, links, procedures, crawl reports, full-text search."""
    db["raw_notices"].create(
        {
            "source": str,
            "source_id": str,
            "content_hash": str,
            "content_type": str,
            "url": str,
            "body": bytes,
            "fetched_at": str,
            "parse_error": str,
        },
        pk=("source", "source_id", "content_hash"),
        not_null={"source", "source_id", "content_hash", "body"},
    )
    db["procedures"].create(
        {
            "id": str,
            "title": str,
            "buyer_name": str,
            "status": str,  # open | cancelled | awarded
            "deadline": str,
            "deadline_history": str,  # JSON [{notice_id, deadline}]
            "first_published": str,
            "last_published": str,
            "current_notice_id": str,
            "notice_ids": str,  # JSON, in publication order
            "lots_state": str,  # JSON {lot_id: {title, status, deadline, winners}}
            "updated_at": str,
        },
        pk="id",
    )
    db["notices"].create(
        {
            "id": str,
            "source": str,
            "source_id": str,
            "form": str,
            "title": str,
            "nature": str,
            "published": str,
            "deadline": str,
            "buyer_name": str,
            "buyer_siret": str,
            "departements": str,  # JSON list
            "cpv": str,  # JSON list
            "procedure": str,
            "estimated_value": float,
            "currency": str,
            "url": str,
            "language": str,
            "text": str,
            "signals": str,  # JSON
            "lot_rules": str,  # JSON
            "procedure_uuid": str,
            "notice_uuid": str,
            "ted_publication_number": str,
            "winners": str,  # JSON list
            "content_hash": str,  # raw payload this row was normalised from
            "procedure_id": str,
            "canonical_id": str,  # the record to alert on when the notice is on two sources
            "first_seen": str,
            "updated_at": str,
        },
        pk="id",
        not_null={"source", "source_id", "form"},
        foreign_keys=[("procedure_id", "procedures", "id")],
    )
    db["lots"].create(
        {
            "notice_id": str,
            "lot_id": str,
            "position": int,
            "title": str,
            "description": str,
            "cpv": str,
            "estimated_value": float,
            "deadline": str,
            "departements": str,
            "signals": str,
            "result": str,
            "winners": str,
        },
        pk=("notice_id", "lot_id"),
        foreign_keys=[("notice_id", "notices", "id")],
    )
    db["notice_links"].create(
        {"notice_id": str, "kind": str, "target": str, "target_uuid": str},
        pk=("notice_id", "kind", "target", "target_uuid"),
        foreign_keys=[("notice_id", "notices", "id")],
    )
    db["crawls"].create(
        {
            "id": int,
            "source": str,
            "started_at": str,
            "finished_at": str,
            "from_date": str,
            "until_date": str,
            "announced": int,
            "fetched": int,
            "new": int,
            "updated": int,
            "unchanged": int,
            "skipped": int,
            "errors": int,
            "shortfall": int,
            "skip_reasons": str,
            "error_messages": str,
            "duration_s": float,
            "ok": int,
        },
        pk="id",
    )
    db["notices"].create_index(["source", "published"])
    db["notices"].create_index(["procedure_id"])
    db["notices"].create_index(["notice_uuid"])
    db["notices"].create_index(["procedure_uuid"])
    db["notice_links"].create_index(["target"])
    db["notice_links"].create_index(["target_uuid"])
    db["notices"].enable_fts(
        ["title", "text"], create_triggers=True, tokenize="unicode61 remove_diacritics 2"
    )


@migrations(name="0002_classifications")
def m0002_classifications(db: Database) -> None:
    """One classification per notice and model version: a new version re-classifies."""
    db["classifications"].create(
        {
            "notice_id": str,
            "model_version": str,
            "labels": str,  # JSON {label: bool}
            "positive": str,  # comma-separated positive labels, for quick filtering
            "lots": str,  # JSON [{id, title, labels}]
            "insertion_hours": int,
            "evidence": str,  # JSON list
            "conflicts": str,  # JSON list
            "max_lots_per_bidder": int,
            "error": str,
            "classified_at": str,
        },
        pk=("notice_id", "model_version"),
        foreign_keys=[("notice_id", "notices", "id")],
    )
    db["classifications"].create_index(["model_version"])


@migrations(name="0003_deliveries")
def m0003_deliveries(db: Database) -> None:
    """One row per (group, notice, kind, channel): what the notifier owes each channel and
    how far it got. The unique key is what makes a delivery happen at most once across runs;
    ``channel`` is a short hash of the apprise URL, never the URL (it may hold a secret)."""
    db["deliveries"].create(
        {
            "id": int,
            "group_id": str,
            "notice_id": str,
            "kind": str,  # alert | award | update | cancellation | reminder-J7 ...
            "channel": str,  # sha256 of the apprise URL, truncated; "notag:<tag>" if none
            "status": str,  # pending | sending | sent | failed | unknown | skipped
            "attempts": int,
            "next_attempt_at": str,  # ISO UTC; NULL = as soon as possible
            "last_error": str,  # secret-free: plugin name, channel hash, reason
            "created_at": str,
            "attempted_at": str,  # when the last intent was recorded
            "sent_at": str,
            "digest_id": str,  # the digest that carried it (daily/weekly groups)
            "details": str,  # JSON: match labels/lots/reasons, changes, days left
        },
        pk="id",
        not_null={"group_id", "notice_id", "kind", "channel", "status", "attempts", "created_at"},
        defaults={"status": "pending", "attempts": 0, "details": "{}"},
        foreign_keys=[("notice_id", "notices", "id")],
    )
    db["deliveries"].create_index(["group_id", "notice_id", "kind", "channel"], unique=True)
    db["deliveries"].create_index(["status", "next_attempt_at"])
    db["deliveries"].create_index(["notice_id"])


@migrations(name="0004_state")
def m0004_state(db: Database) -> None:
    """Small key/value state, e.g. how far matching has gone through the classifications."""
    db["state"].create({"key": str, "value": str, "updated_at": str}, pk="key")


@migrations(name="0005_classification_content")
def m0005_classification_content(db: Database) -> None:
    """Which version of a notice's content a classification read: a notice whose content
    changed in place (same id, new payload) is classified again."""
    db["classifications"].add_column("content_hash", str)


@migrations(name="0100_board_tables")
def m0100_board_tables(db: Database) -> None:
    """The shared veille board (ADR 0010): members and their groups, sign-in nonces, the
    notices a member added, marks per member and lot, notes, the activity of a notice, a
    security audit, and the sign-in requests the rate limit counts."""
    db["board_members"].create(
        {
            "id": int,
            "email": str,  # lower-cased; the sign-in identity
            "name": str,
            "structure_name": str,
            "structure_siret": str,
            "structure_kind": str,  # EI, ETTI, AI, ACI, EITI, GEIQ, EA, ESAT, EATT
            "departements": str,  # JSON list: the structure's territory (partner search)
            "cpv_prefixes": str,  # JSON list: the structure's sectors (partner search)
            "source": str,  # config | board | cli
            "created_at": str,
            "updated_at": str,
        },
        pk="id",
        not_null={"email", "name", "created_at"},
    )
    db["board_members"].create_index(["email"], unique=True)
    db["board_memberships"].create(
        {"member_id": int, "group_id": str, "role": str, "source": str, "created_at": str},
        pk=("member_id", "group_id"),
        not_null={"role"},
        foreign_keys=[("member_id", "board_members", "id")],
    )
    db["board_memberships"].create_index(["group_id"])
    db["board_signin"].create(
        {
            "nonce": str,  # random, carried signed in the link; single use
            "member_id": int,
            "next_url": str,
            "created_at": str,
            "expires_at": str,
            "used_at": str,
            "revoked_at": str,
        },
        pk="nonce",
        foreign_keys=[("member_id", "board_members", "id")],
    )
    db["board_signin"].create_index(["member_id"])
    db["board_signin_requests"].create(
        {"id": int, "bucket": str, "at": str}, pk="id", not_null={"bucket", "at"}
    )
    db["board_signin_requests"].create_index(["bucket", "at"])
    db["board_items"].create(
        {"group_id": str, "notice_id": str, "member_id": int, "added_at": str},
        pk=("group_id", "notice_id"),
        foreign_keys=[("notice_id", "notices", "id"), ("member_id", "board_members", "id")],
    )
    db["board_marks"].create(
        {
            "group_id": str,
            "notice_id": str,
            "lot_id": str,  # "" = the whole notice
            "member_id": int,
            "status": str,  # vu | interesse | on_repond | cherche_partenaire | pas_pour_nous
            "reason": str,  # pas_pour_nous: secteur, territoire, montant, delai, ...
            "label": str,  # pas_pour_nous / clause_mal_detectee: the label concerned
            "role_wanted": str,  # cherche_partenaire: cotraitance | sous_traitance
            "text": str,
            "outcome": str,  # on_repond: depose | gagne | perdu | abandonne
            "winner": str,
            "created_at": str,
            "updated_at": str,
        },
        pk=("group_id", "notice_id", "lot_id", "member_id"),
        not_null={"status", "updated_at"},
        foreign_keys=[("notice_id", "notices", "id"), ("member_id", "board_members", "id")],
    )
    db["board_marks"].create_index(["group_id", "notice_id"])
    db["board_notes"].create(
        {
            "id": int,
            "group_id": str,
            "notice_id": str,
            "member_id": int,
            "text": str,
            "created_at": str,
        },
        pk="id",
        not_null={"group_id", "notice_id", "text", "created_at"},
        foreign_keys=[("notice_id", "notices", "id"), ("member_id", "board_members", "id")],
    )
    db["board_notes"].create_index(["group_id", "notice_id"])
    db["board_activity"].create(
        {
            "id": int,
            "group_id": str,
            "notice_id": str,
            "member_id": int,
            "action": str,
            "details": str,  # JSON
            "at": str,
        },
        pk="id",
        not_null={"group_id", "action", "at"},
    )
    db["board_activity"].create_index(["group_id", "notice_id"])
    db["board_audit"].create(
        {"id": int, "at": str, "actor": str, "action": str, "target": str, "details": str},
        pk="id",
        not_null={"at", "action"},
    )


@migrations(name="0200_deliveries_claimed_by")
def m0200_deliveries_claimed_by(db: Database) -> None:
    """Which process recorded a delivery's intent (``host/pid/start-time``): a row left
    ``sending`` by a process that no longer exists was interrupted, and the next run says so
    at once instead of waiting for the intent to age (issue #8)."""
    db["deliveries"].add_column("claimed_by", str)


@migrations(name="0300_classify_confidence_truncated")
def m0300_classify_confidence_truncated(db: Database) -> None:
    """What a classification says beyond its labels: the confidence of each true label
    (``{"label": {"score", "level"}}``, read by the matcher's ``min_confidence``), whether the
    text was cut at the classifier's hard limit, and the classifier's warnings (issues #8, #9)."""
    db["classifications"].add_column("confidence", str)
    db["classifications"].add_column("truncated", int)
    db["classifications"].add_column("warnings", str)


@migrations(name="0400_reseaux_and_stored_groups")
def m0400_reseaux_and_stored_groups(db: Database) -> None:
    """Réseaux, their administrators, the groups kept in the database (their validated
    settings as JSON, the truth once imported), every change to them, and the first time a
    member opened a notice of its board (issue #11, ADR 0012)."""
    db["reseaux"].create(
        {"id": str, "name": str, "created_at": str}, pk="id", not_null={"name", "created_at"}
    )
    db["reseau_admins"].create(
        {"reseau_id": str, "member_id": int, "created_at": str},
        pk=("reseau_id", "member_id"),
        foreign_keys=[("reseau_id", "reseaux", "id"), ("member_id", "board_members", "id")],
    )
    db["group_settings"].create(
        {
            "id": str,
            "reseau_id": str,
            "settings": str,  # JSON: the fields of a validated notifier Group
            "origin": str,  # "file" (imported as written) | "board" (changed on the board)
            "created_at": str,
            "updated_at": str,
            "updated_by": str,
        },
        pk="id",
        not_null={"settings", "origin", "created_at", "updated_at"},
        foreign_keys=[("reseau_id", "reseaux", "id")],
    )
    db["group_settings"].create_index(["reseau_id"])
    db["group_changes"].create(
        {
            "id": int,
            "group_id": str,
            "at": str,
            "actor": str,
            "action": str,  # create | update | import | import-force
            "before": str,  # JSON or NULL
            "after": str,  # JSON
        },
        pk="id",
        not_null={"group_id", "at", "actor", "action", "after"},
    )
    db["group_changes"].create_index(["group_id", "id"])
    db["board_opened"].create(
        {"group_id": str, "notice_id": str, "member_id": int, "first_at": str},
        pk=("group_id", "notice_id", "member_id"),
        not_null={"first_at"},
    )


@migrations(name="0500_observatory_indexes")
def m0500_observatory_indexes(db: Database) -> None:
    """The observatory of social clauses (issue #11). ``observatory_facts``: one narrow row per
    counted notice (a canonical call for tenders) with what its newest classification says,
    rebuilt by :func:`tenderwatch.core.observatory.refresh` when the notices or the
    classifications changed; every page then scans this small table instead of joining
    300,000 notices to their classifications (a second or more). The covering indexes make
    that rebuild read neither the notices' texts nor the classifications' evidence; the two
    single-column ones make the "did anything change" check two index look-ups."""
    # WITHOUT ROWID, keyed by what the overview groups on: its GROUP BY reads the table in
    # order instead of sorting 300,000 rows; the buyers index does the same for the buyers.
    db.execute(
        "CREATE TABLE observatory_facts ("
        " month TEXT NOT NULL,"  # YYYY-MM of publication, '' when unknown
        " classified INTEGER NOT NULL,"  # 1 when a classification without error exists
        " positive TEXT NOT NULL,"  # the newest classification's positive labels
        " hours INTEGER NOT NULL,"
        " notice_id TEXT NOT NULL,"
        " published TEXT, departements TEXT, cpv TEXT,"  # as in notices (JSON lists)
        " buyer_key TEXT,"  # the SIRET, else the lower-cased name
        " buyer_name TEXT, buyer_siret TEXT,"
        " lots_reserved_siae INTEGER, lots_reserved_disability INTEGER,"
        " lots_reserved_other INTEGER,"
        " PRIMARY KEY (month, classified, positive, hours, notice_id)) WITHOUT ROWID"
    )
    db.execute(
        "CREATE INDEX idx_observatory_facts_buyer ON observatory_facts (buyer_key, buyer_name,"
        " buyer_siret, classified, positive, published, departements, cpv)"
    )
    db.execute(
        "CREATE INDEX idx_notices_observatory ON notices (nature, id, canonical_id, published,"
        " buyer_siret, buyer_name, departements, cpv)"
    )
    db.execute(
        "CREATE INDEX idx_classifications_observatory ON classifications (notice_id,"
        " classified_at, error, positive, insertion_hours)"
    )
    db["notices"].create_index(["updated_at"])
    db["classifications"].create_index(["classified_at"])


@migrations(name="0600_structures")
def m0600_structures(db: Database) -> None:
    """A réseau's member structures (issue #11), imported from its CSV or from the inclusion
    directories (``tenderwatch structures import``). Keyed by SIRET, the identifier every
    source shares; board members are linked to them by ``board_members.structure_siret``."""
    db["structures"].create(
        {
            "siret": str,  # 14 digits, check digit verified on import
            "name": str,
            "brand": str,  # enseigne
            "kind": str,  # EI, AI, ACI, ETTI, EITI, GEIQ, SEP, EA, EATT, ESAT
            "departement": str,
            "email": str,  # contact address (personal data when it names a person)
            "cpv_prefixes": str,  # JSON list
            "sector_words": str,  # JSON list: the sectors as the source wrote them
            "city": str,
            "post_code": str,
            "networks": str,  # JSON list (le marché's networks)
            "source": str,  # csv | lemarche | emplois
            "source_id": str,
            "created_at": str,
            "updated_at": str,
        },
        pk="siret",
        not_null={"name", "source", "created_at", "updated_at"},
    )
    db["structures"].create_index(["departement"])
    db["board_members"].create_index(["structure_siret"], index_name="idx_members_siret")


@migrations(name="0700_lot_award_fields")
def m0700_lot_award_fields(db: Database) -> None:
    """Per-lot award facts that DECP gives (issue #12): the winners' identifiers (JSON list,
    aligned with ``winners``: ``44090956200041`` for a SIRET, ``TVA FR…`` otherwise), the
    notification date and the value awarded. Read by the award linking (``awards`` table)."""
    db["lots"].add_column("winner_ids", str)
    db["lots"].add_column("award_date", str)
    db["lots"].add_column("awarded_value", float)


@migrations(name="0800_classification_facilitator")
def m0800_classification_facilitator(db: Database) -> None:
    """The clause facilitator the classifier quoted from the notice (issue #12): JSON
    ``{"organisation", "kind", "name", "phone", "email", "quote", "start", "end"}`` or NULL.
    Read by the alerts, the board's notice page and the observatory."""
    db["classifications"].add_column("facilitator", str)


@migrations(name="0900_awards")
def m0900_awards(db: Database) -> None:
    """Awards linked to the insertion clause of their call for tenders (issue #12): one row
    per award notice and lot, with the winner, and the hours and clause quote of that lot as
    the call's classification found them. Written by ``tenderwatch.notifier.awards``."""
    db["awards"].create(
        {
            "award_notice_id": str,  # the award notice (BOAMP, TED or a DECP record)
            "lot_id": str,  # "" when the award is for the whole contract
            "procedure_id": str,
            "call_notice_id": str,  # the call for tenders whose clause this lot carries
            "link": str,  # procedure (same procedure) | decp-match (buyer + CPV + object)
            "match_score": float,  # object similarity of a decp-match, else NULL
            "winner_name": str,  # several winners joined by " ; "
            "winner_siret": str,  # first SIRET given, else NULL
            "winners": str,  # JSON [{"name", "siret"}]
            "award_date": str,
            "value": float,
            "labels": str,  # JSON: insertion labels of the call's lot
            "insertion_hours": float,
            "hours_scope": str,  # lot | marché (a clause written once for every lot)
            "clause": str,  # evidence quote from the call
            "departements": str,  # JSON: the lot's places (call lot, else call, else award)
            "cpv": str,  # JSON
            "source": str,  # source of the award notice
            "created_at": str,
            "updated_at": str,
        },
        pk=("award_notice_id", "lot_id"),
        not_null={"procedure_id", "call_notice_id", "link", "source", "created_at"},
        foreign_keys=[("award_notice_id", "notices", "id"), ("call_notice_id", "notices", "id")],
    )
    db["awards"].create_index(["call_notice_id", "lot_id"])


@migrations(name="1000_observatory_facilitator")
def m1000_observatory_facilitator(db: Database) -> None:
    """The clause facilitator in the observatory (issue #12): ``observatory_facts`` gains,
    for a notice with a clause, whether its classification names a facilitator, and its
    organisation (as written) and kind. The facts are rebuilt on the next page or ``stats``
    (the stored fingerprint is dropped), so they are never read without these columns."""
    db.execute("ALTER TABLE observatory_facts ADD COLUMN facilitator INTEGER NOT NULL DEFAULT 0")
    db.execute("ALTER TABLE observatory_facts ADD COLUMN facilitator_org TEXT")
    db.execute("ALTER TABLE observatory_facts ADD COLUMN facilitator_kind TEXT")
    db.execute("DELETE FROM state WHERE key = 'observatory_fingerprint'")
