"""Crawl progress: pages and notices received, while a crawl runs.

A Scrapy extension (enabled in :mod:`tenderwatch.crawler.settings`). On a terminal it keeps
one counter line on stderr, rewritten in place; in a log or a pipe (cron, the scheduler) it
logs one line every ``TENDERWATCH_PROGRESS_EVERY`` notices (the setting or the environment
variable; default 500), at INFO on
``tenderwatch.crawler.progress`` so that ``-q`` silences it like the rest. The summary is
the crawl report printed at the end; this only says that work is going on.
"""

from __future__ import annotations

import logging
import os
import sys
from typing import Any

from scrapy import signals
from scrapy.crawler import Crawler

from tenderwatch.core.logs import clear_status, show_status

logger = logging.getLogger(__name__)

#: Notices between two progress lines when stderr is not a terminal.
DEFAULT_EVERY = 500
#: The spiders running in this process (BOAMP and TED crawl at the same time): a terminal
#: shows them on one shared line.
_RUNNING: list[CrawlProgress] = []


class CrawlProgress:
    """Counts the pages (responses) and notices (items) of one spider."""

    def __init__(self, every: int, enabled: bool, tty: bool) -> None:
        self.every = max(1, every)
        self.enabled = enabled
        self.tty = tty
        self.pages = 0
        self.notices = 0
        self.source = ""

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> CrawlProgress:
        level = logging.getLevelName(str(crawler.settings.get("LOG_LEVEL", "INFO")).upper())
        ext = cls(
            every=int(
                os.environ.get("TENDERWATCH_PROGRESS_EVERY")
                or crawler.settings.getint("TENDERWATCH_PROGRESS_EVERY", DEFAULT_EVERY)
            ),
            # -q (ERROR) or a WARNING log level: no progress at all.
            enabled=not isinstance(level, int) or level <= logging.INFO,
            tty=sys.stderr.isatty(),
        )
        crawler.signals.connect(ext.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(ext.response_received, signal=signals.response_received)
        crawler.signals.connect(ext.item_scraped, signal=signals.item_scraped)
        crawler.signals.connect(ext.spider_closed, signal=signals.spider_closed)
        return ext

    def spider_opened(self, spider: Any) -> None:
        self.source = (getattr(spider, "source", "") or spider.name).upper()
        _RUNNING.append(self)

    def response_received(self, **_: Any) -> None:
        self.pages += 1
        if self.tty:
            self._show()

    def item_scraped(self, **_: Any) -> None:
        self.notices += 1
        if self.tty:
            self._show()
        elif self.enabled and self.notices % self.every == 0:
            logger.info("%s", self.line())

    def spider_closed(self, **_: Any) -> None:
        if self in _RUNNING:
            _RUNNING.remove(self)
        if self.tty and not _RUNNING:
            clear_status()  # the report printed next says it all

    def counts(self) -> str:
        """« BOAMP : 1 200 avis reçus, 13 page(s) »."""
        notices = f"{self.notices:,}".replace(",", "\u202f")
        return f"{self.source} : {notices} avis reçus, {self.pages} page(s)"

    def line(self) -> str:
        return f"Collecte {self.counts()}"

    def _show(self) -> None:
        if not self.enabled:
            return
        show_status("Collecte " + " · ".join(p.counts() for p in (_RUNNING or [self])))
