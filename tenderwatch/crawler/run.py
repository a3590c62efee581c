"""Run spiders in this process and collect their crawl reports.

The Twisted reactor cannot be restarted in one process, so :func:`run_crawls` is meant to be
called once per process (the CLI does; the scheduler starts a subprocess per crawl).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from scrapy.crawler import CrawlerProcess
from scrapy.settings import Settings as ScrapySettings

from tenderwatch import __version__
from tenderwatch.core.records import CrawlReport
from tenderwatch.core.settings import Settings
from tenderwatch.crawler.spiders.base import NoticeSpider
from tenderwatch.crawler.spiders.europe_ted import EuropeTedSpider
from tenderwatch.crawler.spiders.france_boamp import FranceBoampSpider
from tenderwatch.crawler.spiders.france_decp import FranceDecpSpider

SPIDERS: dict[str, type[NoticeSpider]] = {
    "boamp": FranceBoampSpider,
    "ted": EuropeTedSpider,
    "decp": FranceDecpSpider,
}
PROJECT_URL = "https://github.com/tenderwatch/tenderwatch"
QUIET_LOGGERS = (
    "scrapy.utils.log",
    "scrapy.crawler",
    "scrapy.statscollectors",
    "scrapy.middleware",
    "scrapy.addons",
    "scrapy.extensions.telnet",
    "scrapy.core.engine",
)


def user_agent(settings: Settings) -> str:
    """A User-Agent naming the project, its version and who to contact."""
    contact = f"; {settings.contact}" if settings.contact else ""
    return f"tenderwatch/{__version__} (+{PROJECT_URL}{contact})"


def scrapy_settings(settings: Settings) -> ScrapySettings:
    """Scrapy settings from ``tenderwatch.crawler.settings`` plus the tenderwatch configuration."""
    s = ScrapySettings()
    s.setmodule("tenderwatch.crawler.settings", priority="project")
    c = settings.crawl
    s.setdict(
        {
            "USER_AGENT": user_agent(settings),
            "DOWNLOAD_TIMEOUT": c.download_timeout,
            "RETRY_TIMES": c.retry_times,
            "CONCURRENT_REQUESTS_PER_DOMAIN": c.concurrent_requests_per_domain,
            "AUTOTHROTTLE_TARGET_CONCURRENCY": c.autothrottle_target_concurrency,
            "AUTOTHROTTLE_START_DELAY": c.autothrottle_start_delay,
            "TENDERWATCH_BACKOFF_BASE": c.backoff_base,
            "TENDERWATCH_BACKOFF_MAX": c.backoff_max,
            "TENDERWATCH_DB": settings.db,
            "LOG_LEVEL": settings.log_level,
        },
        priority="cmdline",
    )
    for name in SPIDERS:
        src = settings.source(name)
        prefix = f"TENDERWATCH_{name.upper()}_"
        s.setdict(
            {
                prefix + "BASE_URL": src.base_url,
                prefix + "XML_BASE_URL": src.xml_base_url,
                prefix + "OVERLAP_DAYS": src.overlap_days,
                prefix + "FIRST_RUN_DAYS": src.first_run_days,
                prefix + "PAGE_SIZE": src.page_size,
                prefix + "MAX_OFFSET": src.max_offset,
                prefix + "COUNTRIES": src.countries,
            },
            priority="cmdline",
        )
    return s


def _quiet_scrapy(record: logging.LogRecord) -> bool:
    return record.levelno >= logging.WARNING or not record.name.startswith(QUIET_LOGGERS)


@dataclass
class CrawlRequest:
    """One spider to run and its arguments (``None`` values fall back to the defaults)."""

    source: str
    from_date: str | None = None
    until_date: str | None = None
    sample: int | None = None
    base_url: str | None = None

    def spider_kwargs(self) -> dict[str, Any]:
        kwargs = {
            "from_date": self.from_date,
            "until_date": self.until_date,
            "sample": self.sample,
            "base_url": self.base_url,
        }
        return {k: v for k, v in kwargs.items() if v is not None}


def run_crawls(settings: Settings, requests: list[CrawlRequest]) -> list[CrawlReport]:
    """Run the spiders (concurrently) and return their reports, in the order asked."""
    # Scrapy's start-up banners and the end-of-crawl stats dump are long and say less than
    # the crawl report printed afterwards; warnings from them still show. Scrapy resets its
    # loggers' levels when it starts, so a filter on our handlers is what holds.
    for handler in logging.getLogger().handlers:
        handler.setLevel(settings.log_level)
        handler.addFilter(_quiet_scrapy)
    scrapy_conf = scrapy_settings(settings)
    # The CLI configures logging once (stderr); Scrapy must not add a second root handler.
    scrapy_conf.set("LOG_INSTALL_ROOT_HANDLER", False, priority="cmdline")
    process = CrawlerProcess(scrapy_conf)
    crawlers = []
    for req in requests:
        crawler = process.create_crawler(SPIDERS[req.source])
        process.crawl(crawler, **req.spider_kwargs())
        crawlers.append((req, crawler))
    process.start()
    reports = []
    for req, crawler in crawlers:
        report = getattr(crawler, "tenderwatch_report", None)
        if report is None:
            # The spider did not even open (bad argument, unreachable store): say so.
            report = CrawlReport(
                source=req.source,
                started_at="",
                errors=1,
                error_messages=["le robot n'a pas pu démarrer (voir le journal)"],
            )
        reports.append(report)
    return reports
