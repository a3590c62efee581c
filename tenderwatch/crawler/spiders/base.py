"""What every tenderwatch spider shares: arguments, the incremental window, bookkeeping."""

from __future__ import annotations

import logging
from collections import Counter
from datetime import date, timedelta
from typing import Any

import scrapy
from scrapy.crawler import Crawler
from twisted.python.failure import Failure

from tenderwatch.core.store import Store
from tenderwatch.crawler.pipelines import STAT_ANNOUNCED, STAT_EXPECTED, STAT_RECEIVED

logger = logging.getLogger(__name__)


class SpiderArgumentError(ValueError):
    """A spider argument that cannot be used (the message is for the user, in French)."""


def parse_day(value: str | date | None, name: str) -> date | None:
    if value is None or value == "":
        return None
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise SpiderArgumentError(f"{name} : date AAAA-MM-JJ attendue, reçu {value!r}") from None


class NoticeSpider(scrapy.Spider):
    """Base class: ``from_date``, ``until_date``, ``sample``, ``base_url`` and the report."""

    source = ""

    def __init__(
        self,
        *args: Any,
        from_date: str | date | None = None,
        until_date: str | date | None = None,
        sample: int | str | None = None,
        base_url: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.from_date = parse_day(from_date, "from_date")
        self.until_date = parse_day(until_date, "until_date") or date.today()
        try:
            self.sample = int(sample) if sample not in (None, "") else None
        except ValueError:
            raise SpiderArgumentError(f"sample : nombre entier attendu, reçu {sample!r}") from None
        if self.sample is not None and self.sample < 1:
            raise SpiderArgumentError("sample : au moins 1")
        self.base_url = (base_url or "").rstrip("/")
        if self.base_url and not self.base_url.startswith(("http://", "https://")):
            raise SpiderArgumentError(f"base_url : URL http(s) attendue, reçu {base_url!r}")
        if self.from_date and self.from_date > self.until_date:
            raise SpiderArgumentError(
                f"from_date ({self.from_date}) est après until_date ({self.until_date})"
            )
        self.error_messages: list[str] = []
        self.skip_reasons: Counter[str] = Counter()
        self.seen_ids: set[str] = set()

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> NoticeSpider:
        spider = super().from_crawler(crawler, *args, **kwargs)
        if not spider.base_url:
            spider.base_url = crawler.settings.get(f"TENDERWATCH_{cls.source.upper()}_BASE_URL", "")
        if spider.from_date is None:
            spider.from_date = spider.default_from_date(crawler)
        return spider

    def default_from_date(self, crawler: Crawler) -> date:
        """Newest publication date stored for this source minus the overlap; on a first run,
        ``first_run_days`` before the end of the window."""
        prefix = f"TENDERWATCH_{self.source.upper()}_"
        overlap = crawler.settings.getint(prefix + "OVERLAP_DAYS", 2)
        store = Store(crawler.settings.get("TENDERWATCH_DB", "tenderwatch.db"))
        try:
            newest = store.newest_published(self.source)
        finally:
            store.close()
        if newest:
            start = date.fromisoformat(newest[:10]) - timedelta(days=overlap)
        else:
            start = self.until_date - timedelta(
                days=crawler.settings.getint(prefix + "FIRST_RUN_DAYS", 2)
            )
        return min(start, self.until_date)

    @property
    def from_date_str(self) -> str | None:
        return self.from_date.isoformat() if self.from_date else None

    @property
    def until_date_str(self) -> str:
        return self.until_date.isoformat()

    # -- bookkeeping ------------------------------------------------------------------------

    def _stat(self, key: str, count: int = 1) -> None:
        assert self.crawler.stats is not None
        self.crawler.stats.inc_value(key, count)

    def announce(self, announced: int, expected: int) -> None:
        """The source announced ``announced`` notices; this crawl must receive ``expected``."""
        self._stat(STAT_ANNOUNCED, announced)
        self._stat(STAT_EXPECTED, expected)

    def received(self, source_id: str) -> bool:
        """Count one notice received; False when it was already received in this crawl."""
        if source_id in self.seen_ids:
            return False
        self.seen_ids.add(source_id)
        self._stat(STAT_RECEIVED)
        return True

    @property
    def sample_reached(self) -> bool:
        return self.sample is not None and len(self.seen_ids) >= self.sample

    def error(self, message: str) -> None:
        logger.error(message)
        self.error_messages.append(message)

    def skip(self, reason: str, message: str) -> None:
        logger.warning("%s (%s)", message, reason)
        self.skip_reasons[reason] += 1

    def on_error(self, failure: Failure) -> None:
        """Errback: a request that failed after its retries (HTTP error, timeout...)."""
        request = failure.request if hasattr(failure, "request") else None
        what = request.cb_kwargs.get("what") if request is not None else None
        detail = failure.getErrorMessage() or failure.type.__name__
        if hasattr(failure.value, "response") and failure.value.response is not None:
            detail = f"HTTP {failure.value.response.status}"
        self.error(f"échec de {what or (request.url if request else '?')} : {detail}")
