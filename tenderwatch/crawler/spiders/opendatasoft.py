"""What the spiders on an Opendatasoft Explore v2.1 API share (BOAMP, DECP).

``GET {base_url}/records?where=...&order_by=...&limit=...&offset=...`` answers
``{"total_count": N, "results": [...]}``. ``offset + limit`` may not pass 10,000 (HTTP 400
beyond), so the date range is sliced in halves, down to a single day, until every slice fits;
each slice is paged until its announced ``total_count`` is reached, and what is missing is
recorded as a shortfall. The default order is unstable, so every page asks an explicit
``order_by`` on the date field and a tie-breaking key.

A subclass names its dataset's date field (:attr:`date_field`), the tie-breaking fields
(:attr:`order_keys`), the words of its log lines (:attr:`label`, :attr:`noun`) and turns one
record into a :class:`RawNotice` in :meth:`record_notice`.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from datetime import date, timedelta
from typing import Any
from urllib.parse import urlencode

import scrapy
from scrapy.http import Response

from tenderwatch.core.records import RawNotice
from tenderwatch.crawler.jsonslice import iter_array_items
from tenderwatch.crawler.spiders.base import NoticeSpider


class OpendatasoftSpider(NoticeSpider):
    """Harvest an Opendatasoft dataset between ``from_date`` and ``until_date``."""

    #: The dataset's date field the window and the slices are taken on.
    date_field = ""
    #: Fields that break ties within a day, so that offsets are stable between pages.
    order_keys: tuple[str, ...] = ()
    #: The source's name in log lines and errors (French).
    label = ""
    #: What the records are, plural, in log lines and errors (French).
    noun = "enregistrements"

    def __init__(
        self, *args: Any, page_size: int | str = 100, max_offset: int | str = 10000, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.page_size = int(page_size)
        self.max_offset = int(max_offset)

    @classmethod
    def from_crawler(cls, crawler: Any, *args: Any, **kwargs: Any) -> OpendatasoftSpider:
        prefix = f"TENDERWATCH_{cls.source.upper()}_"
        kwargs.setdefault("page_size", crawler.settings.getint(prefix + "PAGE_SIZE", 100))
        kwargs.setdefault("max_offset", crawler.settings.getint(prefix + "MAX_OFFSET", 10000))
        return super().from_crawler(crawler, *args, **kwargs)  # type: ignore[return-value]

    # -- requests ---------------------------------------------------------------------------

    def _url(self, first: date, last: date, offset: int, limit: int) -> str:
        keys = (self.date_field, *self.order_keys)
        params = {
            "where": (
                f"{self.date_field} >= date'{first.isoformat()}'"
                f" AND {self.date_field} <= date'{last.isoformat()}'"
            ),
            # Newest first for a sample, oldest first otherwise; the order keys break ties so
            # that offsets are stable between pages.
            "order_by": ", ".join(f"{k} DESC" for k in keys) if self.sample else ", ".join(keys),
            "limit": limit,
            "offset": offset,
            "timezone": "Europe/Paris",
        }
        return f"{self.base_url}/records?{urlencode(params)}"

    def _page(self, first: date, last: date, offset: int) -> scrapy.Request:
        limit = min(self.page_size, self.max_offset - offset)
        if self.sample:
            limit = min(limit, max(1, self.sample - len(self.seen_ids)))
        what = f"la page {self.label} {first}…{last} offset {offset}"
        return scrapy.Request(
            self._url(first, last, offset, limit),
            callback=self.parse_page,
            errback=self.on_error,
            cb_kwargs={"first": first, "last": last, "offset": offset, "what": what},
            dont_filter=True,
        )

    async def start(self) -> AsyncIterator[scrapy.Request]:
        assert self.from_date is not None
        self.logger.info(
            "%s : %s publiés du %s au %s", self.label, self.noun, self.from_date, self.until_date
        )
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
            yield from self.record_notice(response, record_text, record)
        if self.sample and not self.sample_reached and items:
            next_offset = offset + len(items)
            if next_offset < min(total, self.max_offset):
                yield self._page(first, last, next_offset)

    def _must_split(self, first: date, last: date, total: int) -> bool:
        # A sample reads only the newest records of the window: it never goes deep.
        return total > self.max_offset and first < last and not self.sample

    def _first_page(self, first: date, last: date, total: int) -> Iterator[scrapy.Request]:
        if self._must_split(first, last, total):
            middle = first + timedelta(days=(last - first).days // 2)
            self.logger.info(
                "%s : %s %s du %s au %s, plus que %s : découpage",
                self.label,
                total,
                self.noun,
                first,
                last,
                self.max_offset,
            )
            yield self._page(first, middle, 0)
            yield self._page(middle + timedelta(days=1), last, 0)
            return
        if total > self.max_offset:
            self.error(
                f"{self.label} : {total} {self.noun} le {first}, au-delà des {self.max_offset} "
                "que l'API laisse parcourir ; le reste manquera"
            )
        if self.sample:
            self.announce(total, min(total, self.sample))
            return
        self.announce(total, total)
        self.logger.info("%s : %s %s du %s au %s", self.label, total, self.noun, first, last)
        reachable = min(total, self.max_offset)
        for offset in range(self.page_size, reachable, self.page_size):
            yield self._page(first, last, offset)

    def record_notice(
        self, response: Response, record_text: str, record: Any
    ) -> Iterator[RawNotice]:
        """The raw notice of one record (nothing when it is skipped or already received)."""
        raise NotImplementedError
