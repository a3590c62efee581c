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
The slicing and paging live in :class:`OpendatasoftSpider`, shared with DECP.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from scrapy.http import Response

from tenderwatch.core.records import RawNotice
from tenderwatch.crawler.spiders.opendatasoft import OpendatasoftSpider


class FranceBoampSpider(OpendatasoftSpider):
    """Harvest BOAMP notices published between ``from_date`` and ``until_date``."""

    name = "france_boamp"
    source = "boamp"
    date_field = "dateparution"
    order_keys = ("idweb",)
    label = "BOAMP"
    noun = "annonces"

    def record_notice(
        self, response: Response, record_text: str, record: Any
    ) -> Iterator[RawNotice]:
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
