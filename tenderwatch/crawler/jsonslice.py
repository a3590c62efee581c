"""Cut the items of a JSON array out of a response *as text*, without re-serialising them.

The BOAMP API answers pages of records; tenderwatch keeps each record's payload byte for
byte. ``json.JSONDecoder.raw_decode`` tells where each element ends, so the exact source text
of every record can be sliced out while decoding the page only once.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

_DECODER = json.JSONDecoder()
_WS = re.compile(r"\s*")


def iter_array_items(text: str, key: str) -> Iterator[tuple[str, Any]]:
    """Yield ``(source_text, value)`` for each element of the top-level array ``key``.

    Raises ``ValueError`` when the text is not an object holding that array.
    """
    # A key inside a string value would be written with escaped quotes (\"key\"), so this
    # pattern can only match a real key.
    m = re.search(r'"' + re.escape(key) + r'"\s*:\s*\[', text)
    if not m:
        raise ValueError(f"no array {key!r} in the response")
    pos = m.end()
    while True:
        pos = _WS.match(text, pos).end()
        if pos >= len(text):
            raise ValueError("unterminated array")
        if text[pos] == "]":
            return
        value, end = _DECODER.raw_decode(text, pos)
        yield text[pos:end], value
        pos = _WS.match(text, end).end()
        if pos < len(text) and text[pos] == ",":
            pos += 1
        elif pos < len(text) and text[pos] == "]":
            return
        else:
            raise ValueError(f"unexpected character at {pos}")
