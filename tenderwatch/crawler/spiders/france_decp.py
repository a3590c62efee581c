"""DECP — données essentielles de la commande publique (France, DAJ / Bercy).

API: Opendatasoft Explore v2.1 on data.economie.gouv.fr, dataset ``decp-2022-marches-valides``
(contracts of the 2022 schema, consolidated by the DAJ; no key, 50,000 calls a day per IP),
``{base_url}/records``: the same API as BOAMP, so the slicing under the 10,000 offset cap,
the paging to the announced total and the shortfall come from :class:`OpendatasoftSpider`.

Arguments: as BOAMP. The window is on ``datepublicationdonnees`` (when the buyer published
the data, up to two months after notification): a window on ``datenotification`` would miss
every contract published after the crawl that covered its notification day.

Incremental default: the notices store ``dateNotification`` as their publication date (what
alerts show), which says nothing about how far the data publication went; so a DECP crawl
restarts ``overlap_days`` before the end of the last complete DECP crawl, and on a first run
``first_run_days`` before ``until_date``.

Keys: a contract id is only unique for its buyer, so the source id is ``{buyer SIRET}-{id}``.
The consolidation may give one contract on several rows (one per modification): each row is
a distinct payload (counted once per content), the store keeps the last as an update.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

from scrapy.crawler import Crawler
from scrapy.http import Response

from tenderwatch.core.records import RawNotice
from tenderwatch.core.store import Store
from tenderwatch.crawler.normalise.decp import decp_source_id
from tenderwatch.crawler.spiders.opendatasoft import OpendatasoftSpider


class FranceDecpSpider(OpendatasoftSpider):
    """Harvest DECP contracts whose data were published between the two dates."""

    name = "france_decp"
    source = "decp"
    date_field = "datepublicationdonnees"
    order_keys = ("acheteur_id", "id")
    label = "DECP"
    noun = "marchés"

    def default_from_date(self, crawler: Crawler) -> date:
        prefix = f"TENDERWATCH_{self.source.upper()}_"
        overlap = crawler.settings.getint(prefix + "OVERLAP_DAYS", 3)
        store = Store(crawler.settings.get("TENDERWATCH_DB", "tenderwatch.db"))
        try:
            # The crawls table is small (one row per crawl); 200 rows cover months of runs.
            done = [
                c["until_date"]
                for c in store.crawls(200)
                if c.get("source") == self.source and c.get("ok") and c.get("until_date")
            ]
        finally:
            store.close()
        if done:
            start = date.fromisoformat(max(done)[:10]) - timedelta(days=overlap)
        else:
            start = self.until_date - timedelta(
                days=crawler.settings.getint(prefix + "FIRST_RUN_DAYS", 7)
            )
        return min(start, self.until_date)

    def record_notice(
        self, response: Response, record_text: str, record: Any
    ) -> Iterator[RawNotice]:
        # One contract may come as several rows (modifications): a row is received once per
        # content, so the same row on two pages counts once and two rows count twice.
        digest = hashlib.sha256(record_text.encode("utf-8")).hexdigest()[:16]
        source_id = decp_source_id(record) if isinstance(record, dict) else None
        if not source_id:
            # Received (it is no shortfall) but unusable: counted once as skipped.
            if self.received(f"?#{digest}"):
                self.skip(
                    "missing_id",
                    f"enregistrement DECP sans identifiant ou sans acheteur sur {response.url}",
                )
            return
        if not self.received(f"{source_id}#{digest}"):
            return
        yield RawNotice(
            source=self.source,
            source_id=source_id,
            url=response.url,
            content_type="application/json",
            body=record_text.encode("utf-8"),
            fetched_at=datetime.now(UTC).isoformat(timespec="seconds"),
        )


__all__ = ["FranceDecpSpider"]
