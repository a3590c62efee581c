"""Normalisers: one module per source format, each turning raw bytes into a :class:`Notice`.

Entry point: :func:`crawler.normalise.normalise` picks the parser from the raw notice's source
and content. Every parser raises :class:`NormaliseError` (with a short reason) on input it
cannot read; it never returns a half-empty notice silently.
"""

from crawler.normalise.common import NormaliseError

__all__ = ["NormaliseError"]
