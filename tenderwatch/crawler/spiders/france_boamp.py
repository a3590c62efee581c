"""BOAMP — Bulletin officiel des annonces des marchés publics (France, DILA).

Portal: https://www.boamp.fr. API: Opendatasoft Explore v2.1, dataset ``boamp``,
``{base_url}/records`` (no key, JSON, updated twice a day), documented on data.gouv.fr
("API BOAMP"). Each record carries the full notice as a JSON string in ``donnees``.

Arguments: ``from_date`` / ``until_date`` (``YYYY-MM-DD``, on ``dateparution``; default: the
newest date stored minus ``overlap_days``, until today), ``sample`` (stop after N notices),
``base_url``.

Caveats: ``offset + limit`` may not pass 10,000 (HTTP 400 beyond), so the date range is
sliced in halves, down to a single day, until every slice fits; each slice is paged until its
announced ``total_count`` is reached, and what is missing is recorded as a shortfall. The
default order is oldest first and unstable, so every page asks ``order_by=dateparution,idweb``.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import scrapy
from scrapy.http import Response

from tenderwatch.core.records import RawNotice
from tenderwatch.crawler.jsonslice import iter_array_items
from tenderwatch.crawler.spiders.base import NoticeSpider


class FranceBoampSpider(NoticeSpider):
    """Harvest BOAMP notices published between ``from_date`` and ``until_date``."""

    name = "france_boamp"
    source = "boamp"

    def __init__(
        self, *args: Any, page_size: int | str = 100, max_offset: int | str = 10000, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.page_size = int(page_size)
        self.max_offset = int(max_offset)

    @classmethod
    def from_crawler(cls, crawler: Any, *args: Any, **kwargs: Any) -> FranceBoampSpider:
        kwargs.setdefault("page_size", crawler.settings.getint("TENDERWATCH_BOAMP_PAGE_SIZE", 100))
        kwargs.setdefault(
            "max_offset", crawler.settings.getint("TENDERWATCH_BOAMP_MAX_OFFSET", 10000)
        )
        return super().from_crawler(crawler, *args, **kwargs)  # type: ignore[return-value]

    # -- requests ---------------------------------------------------------------------------

    def _url(self, first: date, last: date, offset: int, limit: int) -> str:
        params = {
            "where": (
                f"dateparution >= date'{first.isoformat()}'"
                f" AND dateparution <= date'{last.isoformat()}'"
            ),
            # Newest first for a sample, oldest first otherwise; idweb breaks ties so that
            # offsets are stable between pages.
            "order_by": "dateparution DESC, idweb DESC" if self.sample else "dateparution, idweb",
            "limit": limit,
            "offset": offset,
            "timezone": "Europe/Paris",
        }
        return f"{self.base_url}/records?{urlencode(params)}"

    def _page(self, first: date, last: date, offset: int) -> scrapy.Request:
        limit = min(self.page_size, self.max_offset - offset)
        if self.sample:
            limit = min(limit, max(1, self.sample - len(self.seen_ids)))
        what = f"la page BOAMP {first}…{last} offset {offset}"
        return scrapy.Request(
            self._url(first, last, offset, limit),
            callback=self.parse_page,
            errback=self.on_error,
            cb_kwargs={"first": first, "last": last, "offset": offset, "what": what},
            dont_filter=True,
        )

    async def start(self) -> AsyncIterator[scrapy.Request]:
        assert self.from_date is not None
        self.logger.info("BOAMP : annonces publiées du %s au %s", self.from_date, self.until_date)
        yield self._page(self.from_date, self.until_date, 0)

    # -- responses --------------------------------------------------------------------------

    def parse_page(
        self, response: Response, first: date, last: date, offset: int, what: str
    ) -> Iterator[Any]:
        try:
            text = response.text
            total = json.loads(text)["total_count"]
            if not isinstance(total, int) or total < 0:
                raise ValueError(f"total_count invalide : {total!r}")
            items = list(iter_array_items(text, "results"))
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            self.error(f"réponse illisible pour {what} : {exc}")
            return
        if offset == 0:
            yield from self._first_page(first, last, total)
            if self._must_split(first, last, total):
                return  # the halves are requested instead
        for record_text, record in items:
            if self.sample_reached:
                return
            yield from self._record(response, record_text, record)
        if self.sample and not self.sample_reached and items:
            next_offset = offset + len(items)
            if next_offset < min(total, self.max_offset):
                yield self._page(first, last, next_offset)

    def _must_split(self, first: date, last: date, total: int) -> bool:
        # A sample reads only the newest notices of the window: it never goes deep.
        return total > self.max_offset and first < last and not self.sample

    def _first_page(self, first: date, last: date, total: int) -> Iterator[scrapy.Request]:
        if self._must_split(first, last, total):
            middle = first + timedelta(days=(last - first).days // 2)
            self.logger.info(
                "BOAMP : %s annonces du %s au %s, plus que %s : découpage",
                total,
                first,
                last,
                self.max_offset,
            )
            yield self._page(first, middle, 0)
            yield self._page(middle + timedelta(days=1), last, 0)
            return
        if total > self.max_offset:
            self.error(
                f"BOAMP : {total} annonces le {first}, au-delà des {self.max_offset} que l'API "
                "laisse parcourir ; les suivantes manqueront"
            )
        if self.sample:
            self.announce(total, min(total, self.sample))
            return
        self.announce(total, total)
        self.logger.info("BOAMP : %s annonces du %s au %s", total, first, last)
        reachable = min(total, self.max_offset)
        for offset in range(self.page_size, reachable, self.page_size):
            yield self._page(first, last, offset)

    def _record(self, response: Response, record_text: str, record: Any) -> Iterator[RawNotice]:
        idweb = record.get("idweb") if isinstance(record, dict) else None
        if not idweb or not isinstance(idweb, str):
            self.skip("missing_idweb", f"enregistrement BOAMP sans idweb sur {response.url}")
            return
        if not self.received(idweb):
            return  # the same notice on two pages (the source moved under us): once is enough
        yield RawNotice(
            source=self.source,
            source_id=idweb,
            url=response.url,
            content_type="application/json",
            body=record_text.encode("utf-8"),
            fetched_at=datetime.now(UTC).isoformat(timespec="seconds"),
        )
