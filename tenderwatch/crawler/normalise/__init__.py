"""Normalisers: one module per source format, each turning raw bytes into a :class:`Notice`.

:func:`normalise` picks the parser from the raw notice's source and content. Every parser
raises :class:`NormaliseError` (with a short reason) on input it cannot read; it never
returns a half-empty notice silently: a notice from which no title and no text could be read
is refused here (``empty_notice``), whatever the parser, so that the pipeline keeps its bytes
and counts it as skipped instead of storing an empty row as if it had been read.
"""

from __future__ import annotations

from tenderwatch.core.records import Notice, RawNotice
from tenderwatch.crawler.normalise.common import NormaliseError, local, parse_xml

__all__ = ["NormaliseError", "check_readable", "normalise"]


def check_readable(notice: Notice) -> Notice:
    """Return ``notice``; raise ``NormaliseError("empty_notice")`` when it has neither a title
    nor any text: a form the parser does not know (a new TED schema, a form of another layout)
    reads as empty, and an empty row would look like a notice that says nothing."""
    if not notice.title.strip() and not notice.text.strip():
        raise NormaliseError("empty_notice", f"{notice.form}: no title and no text could be read")
    return notice


def normalise(raw: RawNotice) -> Notice:
    """Normalise one raw payload, whatever its source and format."""
    return check_readable(_parse(raw))


def _parse(raw: RawNotice) -> Notice:
    # Imported here so that a spider process only loads the parsers it needs.
    body = raw.body
    if not body or not body.strip():
        raise NormaliseError("empty_payload")
    if raw.source == "boamp":
        from tenderwatch.crawler.normalise.boamp import normalise_boamp_record, normalise_boamp_xml

        if body.lstrip()[:1] in (b"{", b"["):
            return normalise_boamp_record(body, url=raw.url)
        return normalise_boamp_xml(body, url=raw.url)
    if raw.source == "decp":
        from tenderwatch.crawler.normalise.decp import normalise_decp_record

        return normalise_decp_record(body, url=raw.url)
    if raw.source == "ted":
        root = parse_xml(body)
        if local(root.tag) == "TED_EXPORT":
            from tenderwatch.crawler.normalise.ted_r208 import is_r208, normalise_ted_r208

            # Defence notices kept the R2.0.8 forms until eForms; everything else is R2.0.9.
            if is_r208(root):
                return normalise_ted_r208(root, source_id=raw.source_id, url=raw.url)
            from tenderwatch.crawler.normalise.ted_r209 import normalise_ted_r209

            return normalise_ted_r209(root, source_id=raw.source_id, url=raw.url)
        from tenderwatch.crawler.normalise.eforms import normalise_eforms

        return normalise_eforms(root, source="ted", source_id=raw.source_id, url=raw.url)
    raise NormaliseError("unknown_source", raw.source)
