"""``tenderwatch reparse``: read the stored payloads again with the current normalisers.

Every harvest keeps the bytes each source served (``raw_notices``). When a normaliser learns
to read more — the award date and amount of each lot, a form it used to refuse — the notices
harvested before only benefit from it if their payloads are read again. This does that, in
place, without fetching anything:

- each stored notice is normalised again from the payload it was read from; when the
  result differs, the row and its lots are replaced (a field the new reading leaves empty
  keeps its value, as at harvest) and its classifications are marked stale, so the next
  ``classify`` reads it again. Deliveries are not touched: nothing is sent twice;
- payloads that could not be read at harvest (``parse_error``) are tried again, and stored
  as notices when they now can;
- a notice whose payload the current normalisers refuse keeps its stored row: it is
  reported, never deleted.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from tenderwatch.core.records import RawNotice
from tenderwatch.core.store import Store
from tenderwatch.crawler.normalise import NormaliseError, normalise

logger = logging.getLogger(__name__)

PROGRESS_EVERY = 1000


@dataclass
class ReparseReport:
    """What a reparse did; ``failed`` lists ``(notice id, reason)``."""

    read: int = 0
    updated: int = 0
    unchanged: int = 0
    no_payload: int = 0
    recovered: int = 0
    still_unreadable: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failed

    def lines(self) -> list[str]:
        out = [
            f"{self.read} avis relus : {self.updated} mis à jour, {self.unchanged} inchangés.",
        ]
        if self.no_payload:
            out.append(f"{self.no_payload} avis sans charge brute enregistrée (laissés tels quels)")
        if self.recovered or self.still_unreadable:
            out.append(
                f"Charges illisibles à la collecte : {self.recovered} désormais lues et "
                f"enregistrées, {self.still_unreadable} toujours illisibles."
            )
        if self.failed:
            out.append(
                f"{len(self.failed)} avis que les normaliseurs actuels refusent (gardés tels "
                "qu'enregistrés) :"
            )
            out += [f"  {notice_id} : {reason}" for notice_id, reason in self.failed[:20]]
            if len(self.failed) > 20:
                out.append(f"  … et {len(self.failed) - 20} autres")
        if self.updated or self.recovered:
            out.append("Les avis mis à jour seront reclassés au prochain « tenderwatch classify ».")
        return out


def _read(raw: RawNotice):
    """The notice read from ``raw``, or the reason it cannot be (never raises)."""
    try:
        return normalise(raw), None
    except NormaliseError as exc:
        return None, str(exc)
    except Exception as exc:  # a normaliser bug on one payload must not stop the others
        logger.exception("relecture de %s:%s impossible", raw.source, raw.source_id)
        return None, f"erreur du normaliseur : {type(exc).__name__}"


def reparse(
    store: Store,
    *,
    sources: Iterable[str] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> ReparseReport:
    """Read every stored notice (of ``sources``, default all) again from its payload."""
    report = ReparseReport()
    wanted = tuple(sources or ())
    where = f" WHERE source IN ({', '.join('?' for _ in wanted)})" if wanted else ""
    # The ids first: a read cursor left open across the writes below would hold the WAL.
    # The sources are parameters; only the placeholders are formatted in.
    notices = store.db.execute(
        f"SELECT id, source, source_id, content_hash FROM notices{where} ORDER BY id",  # noqa: S608
        list(wanted),
    ).fetchall()
    total = len(notices)
    for position, (notice_id, source, source_id, content_hash) in enumerate(notices, 1):
        report.read += 1
        row = store.db.execute(
            "SELECT url, content_type, body, fetched_at FROM raw_notices"
            " WHERE source = ? AND source_id = ? AND content_hash = ?",
            [source, source_id, content_hash],
        ).fetchone()
        if row is None:
            report.no_payload += 1
        else:
            raw = RawNotice(source, source_id, row[0] or "", row[1] or "", row[2], row[3] or "")
            notice, reason = _read(raw)
            if notice is None:
                report.failed.append((notice_id, reason or "illisible"))
            elif notice.id != notice_id:
                report.failed.append((notice_id, f"lu désormais comme {notice.id}"))
            elif store.renormalise(notice, content_hash):
                report.updated += 1
            else:
                report.unchanged += 1
        if progress is not None and (position % PROGRESS_EVERY == 0 or position == total):
            progress(position, total)
    _retry_unreadable(store, wanted, report)
    return report


def _retry_unreadable(store: Store, sources: tuple[str, ...], report: ReparseReport) -> None:
    where = f" AND r.source IN ({', '.join('?' for _ in sources)})" if sources else ""
    # Only placeholders are formatted in; the sources go as parameters.
    sql = (
        "SELECT r.source, r.source_id, r.url, r.content_type, r.body, r.fetched_at,"  # noqa: S608
        " r.content_hash FROM raw_notices r WHERE r.parse_error IS NOT NULL"
        " AND NOT EXISTS (SELECT 1 FROM notices n"
        " WHERE n.source = r.source AND n.source_id = r.source_id)"
        f"{where} ORDER BY r.source, r.source_id, r.fetched_at"
    )
    rows = store.db.execute(sql, list(sources)).fetchall()
    for source, source_id, url, content_type, body, fetched_at, content_hash in rows:
        raw = RawNotice(source, source_id, url or "", content_type or "", body, fetched_at or "")
        notice, _reason = _read(raw)
        if notice is None:
            report.still_unreadable += 1
            continue
        with store.db.atomic():
            store.save(raw, notice)
            store.db.execute(
                "UPDATE raw_notices SET parse_error = NULL"
                " WHERE source = ? AND source_id = ? AND content_hash = ?",
                [source, source_id, content_hash],
            )
        report.recovered += 1
