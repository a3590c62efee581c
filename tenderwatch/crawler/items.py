"""Items the spiders yield. A spider yields only :class:`RawNotice` (the source's bytes and
its id); the pipeline normalises and stores. Scrapy accepts dataclasses as items."""

from tenderwatch.core.records import RawNotice

__all__ = ["RawNotice"]
