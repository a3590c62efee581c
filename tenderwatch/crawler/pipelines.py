"""Item pipeline: the one place where harvested notices are written to the store.

For every :class:`RawNotice` a spider yields, :class:`StorePipeline` skips a payload already
stored (same source id and content hash), normalises the rest, and saves raw bytes and notice
together. A payload that cannot be normalised is kept raw with its reason and counted as
skipped: the crawl goes on. At the end it writes the crawl report.
"""

from __future__ import annotations

import logging
import sqlite3
import time
from collections import Counter
from datetime import UTC, datetime
from typing import Any

from itemadapter import ItemAdapter
from scrapy import Spider
from scrapy.crawler import Crawler

from tenderwatch.core.records import CrawlReport, RawNotice
from tenderwatch.core.store import (
    NEW,
    UNCHANGED,
    UPDATED,
    Store,
    StoreError,
    describe_sqlite_error,
)
from tenderwatch.crawler.normalise import NormaliseError, normalise

logger = logging.getLogger(__name__)

# Stats keys the spiders fill in; the report is built from them.
STAT_ANNOUNCED = "tenderwatch/announced"
STAT_EXPECTED = "tenderwatch/expected"
STAT_RECEIVED = "tenderwatch/received"
STAT_PAGE_ERRORS = "tenderwatch/page_errors"


class StorePipeline:
    """Normalise and store each raw notice; write the crawl report when the spider closes."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.db_path: str = crawler.settings.get("TENDERWATCH_DB", "tenderwatch.db")
        self.store: Store | None = None
        self.counts: Counter[str] = Counter()
        self.skip_reasons: Counter[str] = Counter()
        # Notices received but not stored (disk full, read-only file, lock timeout): each is
        # an error and a missing notice in the report, never a silent success.
        self.store_failures = 0
        self.store_errors: list[str] = []
        self.started = time.monotonic()
        self.started_at = datetime.now(UTC).isoformat(timespec="seconds")

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> StorePipeline:
        return cls(crawler)

    def open_spider(self, spider: Spider | None = None) -> None:
        try:
            self.store = Store(self.db_path)
        except StoreError as exc:
            # The crawl still runs and counts what it could not keep, so the report says
            # how much is missing instead of the spider dying before it.
            logger.error("store cannot be opened: %s", exc)
            self.store_errors.append(f"stockage impossible : {exc}")

    def process_item(self, item: Any, spider: Spider | None = None) -> Any:
        adapter = ItemAdapter(item)
        raw = RawNotice(**adapter.asdict())
        self.counts["fetched"] += 1
        if self.store is None:
            self.store_failures += 1
            return item
        try:
            if self.store.has_raw(raw):
                self.counts[UNCHANGED] += 1
                return item
        except sqlite3.Error as exc:
            self._store_failed(raw, exc)
            return item
        try:
            notice = normalise(raw)
        except NormaliseError as exc:
            self._skip(raw, exc.reason, str(exc))
            return item
        except Exception as exc:  # a parser bug must not stop the crawl; keep the bytes
            logger.exception("normalisation failed for %s", raw.notice_id)
            self._skip(raw, "parser_error", f"{type(exc).__name__}: {exc}")
            return item
        try:
            # One transaction per notice: a failure leaves nothing of it behind.
            status = self.store.save(raw, notice)
        except sqlite3.Error as exc:
            self._store_failed(raw, exc)
            return item
        self.counts[status] += 1
        return item

    def _store_failed(self, raw: RawNotice, exc: sqlite3.Error) -> None:
        """Count a notice the store refused; keep one message per distinct cause."""
        message = "stockage impossible : " + describe_sqlite_error(exc, self.db_path)
        self.store_failures += 1
        if message not in self.store_errors:
            # Once per cause at ERROR: a full disk refuses every notice after the first.
            logger.error("notice %s not stored (further ones: DEBUG): %s", raw.notice_id, exc)
            self.store_errors.append(message)
        else:
            logger.debug("notice %s not stored: %s", raw.notice_id, exc)

    def _skip(self, raw: RawNotice, reason: str, detail: str) -> None:
        assert self.store is not None
        logger.warning("notice %s skipped (%s): %s", raw.notice_id, reason, detail[:300])
        try:
            self.store.save_unparsed(raw, f"{reason}: {detail[:500]}")
        except sqlite3.Error as exc:
            self._store_failed(raw, exc)
            return
        self.counts["skipped"] += 1
        self.skip_reasons[reason] += 1

    def close_spider(self, spider: Spider | None = None) -> None:
        spider = spider or self.crawler.spider
        stats = self.crawler.stats
        assert stats is not None
        extra_skips = getattr(spider, "skip_reasons", Counter())
        self.skip_reasons.update(extra_skips)
        expected = int(stats.get_value(STAT_EXPECTED, 0))
        received = int(stats.get_value(STAT_RECEIVED, 0))
        errors = list(getattr(spider, "error_messages", []))
        # Each notice not stored is an error of its own (at least one if the store failed).
        error_count = len(errors) + max(self.store_failures, bool(self.store_errors))
        if self.store_errors:
            causes = " ; ".join(self.store_errors)
            errors.insert(0, f"{self.store_failures} avis reçus non enregistrés — {causes}")
        report = CrawlReport(
            source=getattr(spider, "source", spider.name if spider else "?"),
            started_at=self.started_at,
            finished_at=datetime.now(UTC).isoformat(timespec="seconds"),
            from_date=getattr(spider, "from_date_str", None),
            until_date=getattr(spider, "until_date_str", None),
            announced=int(stats.get_value(STAT_ANNOUNCED, 0)),
            fetched=self.counts["fetched"],
            new=self.counts[NEW],
            updated=self.counts[UPDATED],
            unchanged=self.counts[UNCHANGED],
            skipped=self.counts["skipped"] + sum(extra_skips.values()),
            errors=error_count,
            shortfall=max(0, expected - received) + self.store_failures,
            skip_reasons=dict(self.skip_reasons),
            error_messages=errors[:50],
            duration_s=round(time.monotonic() - self.started, 2),
        )
        # The report reaches the CLI even when the store cannot keep it (disk still full).
        self.crawler.tenderwatch_report = report  # type: ignore[attr-defined]
        if self.store is None:
            return
        try:
            report_id = self.store.save_crawl(report)
        except sqlite3.Error as exc:
            message = "rapport de collecte non enregistré : " + describe_sqlite_error(
                exc, self.db_path
            )
            logger.error("crawl report not saved: %s", exc)
            report.errors += 1
            report.error_messages.append(message)
        else:
            # DEBUG: the CLI prints the report in French right after; this is for -v.
            logger.debug("crawl report %s saved: %s", report_id, report)
        self.store.close()
