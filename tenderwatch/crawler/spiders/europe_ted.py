"""TED — Tenders Electronic Daily (European Union, Publications Office).

API: Search API v3, ``POST {base_url}/v3/notices/search`` (anonymous), documented at
docs.ted.europa.eu/api. Each notice's eForms XML (or R2.0.9 XML for older notices) is then
fetched from ``{xml_base_url}/en/notice/{publication-number}/xml``.

Arguments: ``from_date`` / ``until_date`` (``YYYY-MM-DD``, on the publication date; default:
the newest date stored minus ``overlap_days``, until today), ``sample`` (stop after N
notices), ``base_url`` (the API; the XML host follows it unless ``xml_base_url`` is set),
``countries`` (buyer countries, ISO alpha-3, comma-separated; default ``FRA``).

Caveats: ITERATION pagination (no 15,000 cap) with ``iterationNextToken``; the notice XML
host sometimes answers a WAF challenge (HTTP 202 with an empty body): such a notice is
counted as missing, not stored empty. TED usage limits: > 666 requests/minute is blocked.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from typing import Any

import scrapy
from scrapy.http import Response

from tenderwatch.core.records import RawNotice
from tenderwatch.crawler.spiders.base import NoticeSpider, SpiderArgumentError

SEARCH_FIELDS = ["publication-number", "publication-date", "notice-type", "buyer-country"]


class EuropeTedSpider(NoticeSpider):
    """Harvest TED notices of buyers in ``countries`` published in the window."""

    name = "europe_ted"
    source = "ted"

    def __init__(
        self,
        *args: Any,
        countries: str | list[str] | None = None,
        xml_base_url: str | None = None,
        page_size: int | str = 100,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        if isinstance(countries, str):
            countries = [c.strip() for c in countries.split(",") if c.strip()]
        self.countries = [c.upper() for c in (countries or ["FRA"])]
        for c in self.countries:
            if len(c) != 3 or not c.isalpha():
                raise SpiderArgumentError(
                    f"countries : code pays ISO à 3 lettres attendu, reçu {c!r}"
                )
        self.xml_base_url = (xml_base_url or "").rstrip("/")
        self.page_size = int(page_size)
        self.pages = 0

    @classmethod
    def from_crawler(cls, crawler: Any, *args: Any, **kwargs: Any) -> EuropeTedSpider:
        settings = crawler.settings
        kwargs.setdefault("page_size", settings.getint("TENDERWATCH_TED_PAGE_SIZE", 100))
        kwargs.setdefault("countries", settings.getlist("TENDERWATCH_TED_COUNTRIES") or None)
        spider = super().from_crawler(crawler, *args, **kwargs)
        if not spider.xml_base_url:
            # A base URL given on the command line (a replay server) serves the XML too.
            configured = settings.get("TENDERWATCH_TED_XML_BASE_URL", "")
            default_api = settings.get("TENDERWATCH_TED_BASE_URL", "").rstrip("/")
            spider.xml_base_url = (
                configured if spider.base_url == default_api and configured else spider.base_url
            ).rstrip("/")
        return spider  # type: ignore[return-value]

    # -- requests ---------------------------------------------------------------------------

    def _query(self) -> str:
        assert self.from_date is not None
        return (
            f"buyer-country IN ({' '.join(self.countries)})"
            f" AND publication-date>={self.from_date:%Y%m%d}"
            f" AND publication-date<={self.until_date:%Y%m%d}"
        )

    def _search(self, token: str | None) -> scrapy.Request:
        body: dict[str, Any] = {
            "query": self._query(),
            "fields": SEARCH_FIELDS,
            "limit": self.page_size,
            "scope": "ALL",
            "paginationMode": "ITERATION",
            "checkQuerySyntax": False,
        }
        if token:
            body["iterationNextToken"] = token
        self.pages += 1
        return scrapy.Request(
            f"{self.base_url}/v3/notices/search",
            method="POST",
            body=json.dumps(body),
            headers={"Content-Type": "application/json", "Accept": "application/json"},
            callback=self.parse_search,
            errback=self.on_error,
            cb_kwargs={"first": token is None, "what": f"la page de recherche TED n° {self.pages}"},
            dont_filter=True,
        )

    async def start(self) -> AsyncIterator[scrapy.Request]:
        self.logger.info(
            "TED : pays %s, publiés du %s au %s",
            ",".join(self.countries),
            self.from_date,
            self.until_date,
        )
        yield self._search(None)

    # -- responses --------------------------------------------------------------------------

    def parse_search(self, response: Response, first: bool, what: str) -> Iterator[scrapy.Request]:
        try:
            data = json.loads(response.text)
            notices = data["notices"]
            total = data.get("totalNoticeCount")
            if not isinstance(notices, list):
                raise ValueError("notices n'est pas une liste")
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            self.error(f"réponse illisible pour {what} : {exc}")
            return
        if first:
            if not isinstance(total, int):
                self.error(f"TED n'annonce pas de totalNoticeCount ({what})")
                total = len(notices)
            expected = min(total, self.sample) if self.sample else total
            self.announce(total, expected)
            self.logger.info("TED : %s avis annoncés", total)
        for entry in notices:
            number = entry.get("publication-number") if isinstance(entry, dict) else None
            if not number or not isinstance(number, str):
                self.skip("missing_publication_number", f"avis TED sans numéro sur {what}")
                continue
            if self.sample and len(self.requested) >= self.sample:
                break
            if number in self.requested:
                continue
            self.requested.add(number)
            yield scrapy.Request(
                f"{self.xml_base_url}/en/notice/{number}/xml",
                callback=self.parse_notice,
                errback=self.on_error,
                cb_kwargs={"number": number, "what": f"l'avis TED {number}"},
                dont_filter=True,
            )
        token = data.get("iterationNextToken")
        if token and notices and not (self.sample and len(self.requested) >= self.sample):
            yield self._search(token)

    @property
    def requested(self) -> set[str]:
        if not hasattr(self, "_requested"):
            self._requested: set[str] = set()
        return self._requested

    def parse_notice(self, response: Response, number: str, what: str) -> Iterator[RawNotice]:
        if response.status == 202 or not response.body.strip():
            self.error(f"{what} : réponse vide (HTTP {response.status}, défi anti-robot ?)")
            return
        if not self.received(number):
            return
        yield RawNotice(
            source=self.source,
            source_id=number,
            url=response.url,
            content_type="application/xml",
            body=response.body,
            fetched_at=datetime.now(UTC).isoformat(timespec="seconds"),
        )
