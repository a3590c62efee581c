"""Numbered schema migrations, applied in order by ``tenderwatch db migrate`` (and on open).

Tables are created explicitly here, never implicitly by an insert, so that every column has a
type and every relation a foreign key. A migration that has run is never edited: a change to
the schema is a new numbered migration.
"""

from __future__ import annotations

from sqlite_utils import Database, Migrations

migrations = Migrations("tenderwatch")


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
