"""Scrapy settings for tenderwatch's spiders.

Every value that differs from Scrapy's default says the default and why. Values that depend
on the tenderwatch configuration (User-Agent contact, timeouts, retries, database) are set by
:func:`tenderwatch.crawler.run.scrapy_settings` on top of these.
"""

BOT_NAME = "tenderwatch"
SPIDER_MODULES = ["tenderwatch.crawler.spiders"]
NEWSPIDER_MODULE = "tenderwatch.crawler.spiders"

# Default: True. The open-data APIs we call are documented for reuse by their publishers
# (data.gouv.fr "API BOAMP", TED developers' corner) while the portals' robots.txt disallow
# /api/ for generic crawlers; see docs/decisions/0002-robots-txt.md.
ROBOTSTXT_OBEY = False

# Default: 16 / 8. Two open-data APIs, polite by design: one request at a time per host
# plus AutoThrottle's adaptation is enough for ~1,000 notices a day.
CONCURRENT_REQUESTS = 4
CONCURRENT_REQUESTS_PER_DOMAIN = 2

# Default: False. Adapt the pace to the source's latency instead of a fixed delay.
AUTOTHROTTLE_ENABLED = True
# Default: 5.0. The APIs answer quickly; 1 s is polite without making a day's crawl slow.
AUTOTHROTTLE_START_DELAY = 1.0
# Default: 60.0. Cap the back-off AutoThrottle may choose.
AUTOTHROTTLE_MAX_DELAY = 30.0
# Default: 1.0 (kept explicit: one request in flight per host on average).
AUTOTHROTTLE_TARGET_CONCURRENCY = 1.0

# Default: 180. A page that does not come in a minute is retried rather than waited for.
DOWNLOAD_TIMEOUT = 60

# Default: 2. Retries with exponential back-off (crawler.middlewares.BackoffRetryMiddleware)
# replace the built-in immediate retry.
RETRY_TIMES = 4
DOWNLOADER_MIDDLEWARES = {
    "scrapy.downloadermiddlewares.retry.RetryMiddleware": None,
    "tenderwatch.crawler.middlewares.BackoffRetryMiddleware": 550,
}

# Default: {}. The single place that writes to the store.
ITEM_PIPELINES = {"tenderwatch.crawler.pipelines.StorePipeline": 300}

# Default: {}. Pages and notices received while a crawl runs (a counter on a terminal, a log
# line every TENDERWATCH_PROGRESS_EVERY notices otherwise).
EXTENSIONS = {"tenderwatch.crawler.progress.CrawlProgress": 500}
TENDERWATCH_PROGRESS_EVERY = 500

# Default: True. Pages are never cached nor deduplicated by URL: the same URL is asked again
# on purpose (retries, incremental windows); the store deduplicates by content hash.
HTTPCACHE_ENABLED = False

# Default: "DEBUG". Scrapy's per-request debug lines drown the crawl's own progress.
LOG_LEVEL = "INFO"

# Default: 0 (the telnet console listens on a port). Not wanted on a server.
TELNETCONSOLE_ENABLED = False

# Default: 1 MiB warn / 1 GiB max. A BOAMP page of 100 eForms records can reach ~30 MB; a
# single notice above 20 MB is refused by the normaliser anyway.
DOWNLOAD_WARNSIZE = 64 * 1024 * 1024
DOWNLOAD_MAXSIZE = 256 * 1024 * 1024

FEED_EXPORT_ENCODING = "utf-8"

# Default: True (an HTTP control server on a local port per crawl). A scheduled service must
# not open ports it does not need; crawls are controlled by the scheduler's subprocesses.
REMOTE_CONTROL_ENABLED = False
