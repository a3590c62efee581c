"""Normalisers: one module per source format, each turning raw bytes into a :class:`Notice`.

:func:`normalise` picks the parser from the raw notice's source and content. Every parser
raises :class:`NormaliseError` (with a short reason) on input it cannot read; it never
returns a half-empty notice silently.
"""

from __future__ import annotations

from tenderwatch.core.records import Notice, RawNotice
from tenderwatch.crawler.normalise.common import NormaliseError, local, parse_xml

__all__ = ["NormaliseError", "normalise"]


def normalise(raw: RawNotice) -> Notice:
    """Normalise one raw payload, whatever its source and format."""
    # Imported here so that a spider process only loads the parsers it needs.
    body = raw.body
    if not body or not body.strip():
        raise NormaliseError("empty_payload")
    if raw.source == "boamp":
        from tenderwatch.crawler.normalise.boamp import normalise_boamp_record, normalise_boamp_xml

        if body.lstrip()[:1] in (b"{", b"["):
            return normalise_boamp_record(body, url=raw.url)
        return normalise_boamp_xml(body, url=raw.url)
    if raw.source == "ted":
        root = parse_xml(body)
        if local(root.tag) == "TED_EXPORT":
            from tenderwatch.crawler.normalise.ted_r209 import normalise_ted_r209_bytes

            return normalise_ted_r209_bytes(body, source_id=raw.source_id, url=raw.url)
        from tenderwatch.crawler.normalise.eforms import normalise_eforms

        return normalise_eforms(root, source="ted", source_id=raw.source_id, url=raw.url)
    raise NormaliseError("unknown_source", raw.source)
