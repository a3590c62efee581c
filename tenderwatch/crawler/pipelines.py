"""Item pipeline: the one place where harvested notices are written to the store.

For every :class:`RawNotice` a spider yields, :class:`StorePipeline` skips a payload already
stored (same source id and content hash), normalises the rest, and saves raw bytes and notice
together. A payload that cannot be normalised is kept raw with its reason and counted as
skipped: the crawl goes on. At the end it writes the crawl report.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from datetime import UTC, datetime
from typing import Any

from itemadapter import ItemAdapter
from scrapy import Spider
from scrapy.crawler import Crawler

from tenderwatch.core.records import CrawlReport, RawNotice
from tenderwatch.core.store import NEW, UNCHANGED, UPDATED, Store
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
        self.started = time.monotonic()
        self.started_at = datetime.now(UTC).isoformat(timespec="seconds")

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> StorePipeline:
        return cls(crawler)

    def open_spider(self, spider: Spider | None = None) -> None:
        self.store = Store(self.db_path)

    def process_item(self, item: Any, spider: Spider | None = None) -> Any:
        assert self.store is not None
        adapter = ItemAdapter(item)
        raw = RawNotice(**adapter.asdict())
        self.counts["fetched"] += 1
        if self.store.has_raw(raw):
            self.counts[UNCHANGED] += 1
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
        status = self.store.save(raw, notice)
        self.counts[status] += 1
        return item

    def _skip(self, raw: RawNotice, reason: str, detail: str) -> None:
        assert self.store is not None
        logger.warning("notice %s skipped (%s): %s", raw.notice_id, reason, detail[:300])
        self.store.save_unparsed(raw, f"{reason}: {detail[:500]}")
        self.counts["skipped"] += 1
        self.skip_reasons[reason] += 1

    def close_spider(self, spider: Spider | None = None) -> None:
        spider = spider or self.crawler.spider
        stats = self.crawler.stats
        assert stats is not None and self.store is not None
        extra_skips = getattr(spider, "skip_reasons", Counter())
        self.skip_reasons.update(extra_skips)
        expected = int(stats.get_value(STAT_EXPECTED, 0))
        received = int(stats.get_value(STAT_RECEIVED, 0))
        errors = list(getattr(spider, "error_messages", []))
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
            errors=len(errors),
            shortfall=max(0, expected - received),
            skip_reasons=dict(self.skip_reasons),
            error_messages=errors[:50],
            duration_s=round(time.monotonic() - self.started, 2),
        )
        report_id = self.store.save_crawl(report)
        self.crawler.tenderwatch_report = report  # type: ignore[attr-defined]
        logger.info("crawl report %s saved: %s", report_id, report)
        self.store.close()
