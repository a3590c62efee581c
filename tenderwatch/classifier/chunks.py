"""Long texts in chunks: no clause is lost past a size limit (issue #8).

A notice longer than :data:`SINGLE_DOC_CHARS` is analysed in chunks of about
:data:`CHUNK_CHARS` characters cut at paragraph, line or sentence boundaries, each chunk
overlapping the previous one by about :data:`OVERLAP_CHARS` so that a statement cut by one
boundary is whole in the other chunk. The analyses of the chunks are then merged into one
:class:`~tenderwatch.classifier.analysis.Analysis`, as if the pipeline had read the whole text:

* each chunk *owns* the original characters from the middle of its overlap with the
  previous chunk to the middle of its overlap with the next one; a finding, a lot header or a
  sentence is kept from the chunk that owns its start, so nothing is counted twice;
* a chunk that starts inside a lot's section is preceded by a copy of that lot's header line
  (taken from the original text), so that a clause in the middle of "Lot 57" still belongs to
  lot 57; whatever the pipeline finds in that copy maps back to the real header;
* offsets of the merged analysis live in a *virtual* text (the chunks' normalised texts end to
  end); :class:`ChunkedOffsets` maps them back to the original text like an
  :class:`~tenderwatch.classifier.normalise.OffsetMap`, so evidence quotes are still cut from
  the input (``quote == text[start:end]``).
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, replace

from tenderwatch.classifier.analysis import Analysis
from tenderwatch.classifier.normalise import OffsetMap
from tenderwatch.classifier.structure import Layout

#: Texts up to this length are analysed as one spaCy doc, exactly as before chunking existed
#: (every real notice: the longest eForms notice with 100 lots is about 250 000 characters).
SINGLE_DOC_CHARS = 400_000
#: Target length of a chunk of a longer text (a 200 000-character doc takes about 0.6 s and a
#: few tens of MB).
CHUNK_CHARS = 200_000
#: How much two consecutive chunks share: several paragraphs, far longer than a sentence.
OVERLAP_CHARS = 8_000

# Boundaries, best first: a blank line, a line break, the end of a sentence.
_PARAGRAPH_RE = re.compile(r"\n[ \t]*\n")
_SENTENCE_RE = re.compile(r"[.;!?][ \t]+(?=\S)")


@dataclass
class Chunk:
    """One chunk: the original characters ``start:end``, maybe after a copied lot header."""

    start: int
    end: int
    #: lo, hi: the original offsets whose findings this chunk keeps
    owns: tuple[int, int] = (0, 0)
    #: a lot header line copied from ``prefix_start`` in the original text, plus "\n"
    prefix: str = ""
    prefix_start: int = 0

    def text(self, original: str) -> str:
        return self.prefix + original[self.start : self.end]

    def to_original(self, pos: int) -> int:
        """Original offset of position ``pos`` in :meth:`text`."""
        if pos < len(self.prefix):
            return self.prefix_start + pos
        return self.start + pos - len(self.prefix)


def _boundary_before(text: str, pos: int, lo: int) -> int:
    """The best cut at or before ``pos`` and after ``lo`` (the start of the next piece)."""
    for finder in (_last_match(_PARAGRAPH_RE), _last_newline, _last_match(_SENTENCE_RE)):
        cut = finder(text, lo, pos)
        if cut is not None:
            return cut
    return pos


def _boundary_after(text: str, pos: int, hi: int) -> int:
    """The best cut at or after ``pos`` and before ``hi``."""
    for regex in (_PARAGRAPH_RE, re.compile(r"\n"), _SENTENCE_RE):
        m = regex.search(text, pos, hi)
        if m is not None:
            return m.end()
    return pos


def _last_match(regex: re.Pattern[str]):  # type: ignore[no-untyped-def]
    def find(text: str, lo: int, hi: int) -> int | None:
        # Search only the window's last part first: most cuts are found near ``hi``.
        for window in (4_000, hi - lo):
            last = None
            for last in regex.finditer(text, max(lo, hi - window), hi):  # noqa: B007
                pass
            if last is not None:
                return last.end()
        return None

    return find


def _last_newline(text: str, lo: int, hi: int) -> int | None:
    i = text.rfind("\n", lo, hi)
    return i + 1 if i >= 0 else None


def split(text: str, size: int | None = None, overlap: int | None = None) -> list[Chunk]:
    """Cut ``text`` into overlapping chunks at boundaries; each chunk owns a distinct part
    (``size`` and ``overlap`` default to the module's constants, read at call time)."""
    size = size or CHUNK_CHARS
    overlap = OVERLAP_CHARS if overlap is None else overlap
    chunks: list[Chunk] = []
    start = 0
    while True:
        if len(text) - start <= size:
            chunks.append(Chunk(start, len(text)))
            break
        end = _boundary_before(text, start + size, start + size // 2)
        chunks.append(Chunk(start, end))
        nxt = _boundary_after(text, max(start + 1, end - overlap), end)
        start = nxt if start < nxt < end else max(start + 1, end - overlap)
    for i, chunk in enumerate(chunks):
        lo = 0 if i == 0 else (chunk.start + chunks[i - 1].end) // 2
        hi = len(text) if i == len(chunks) - 1 else (chunks[i + 1].start + chunk.end) // 2
        chunk.owns = (lo, hi)
    return chunks


def carry_lot_header(original: str, chunk: Chunk, analysis: Analysis, following: Chunk) -> None:
    """Give ``following`` a copy of the header of the lot section it starts in, if any."""
    offsets = analysis.offsets
    for s, e, lot_id in analysis.lots.sections:
        so = chunk.to_original(offsets.start(s))
        eo = chunk.to_original(offsets.end(e))
        if so < following.start < eo:
            header = next(
                (h for h in analysis.lots.headers if h.line_start == s and h.lot_id == lot_id),
                None,
            )
            if header is None:
                return
            hs = chunk.to_original(offsets.start(header.line_start))
            he = chunk.to_original(offsets.end(header.line_end))
            if 0 <= hs < he <= following.start and he - hs <= 2_000:
                following.prefix = original[hs:he] + "\n"
                following.prefix_start = hs
            return


class ChunkedOffsets:
    """Maps offsets of the merged (virtual) normalised text back to the original text."""

    def __init__(self) -> None:
        self.bases: list[int] = []
        self.maps: list[OffsetMap] = []
        self.chunks: list[Chunk] = []

    def add(self, base: int, offsets: OffsetMap, chunk: Chunk) -> None:
        self.bases.append(base)
        self.maps.append(offsets)
        self.chunks.append(chunk)

    def _chunk(self, pos: int) -> int:
        return max(0, bisect.bisect_right(self.bases, pos) - 1)

    def start(self, pos: int) -> int:
        k = self._chunk(pos)
        return self.chunks[k].to_original(self.maps[k].start(pos - self.bases[k]))

    def end(self, pos: int) -> int:
        # An end is exclusive: the chunk is the one holding the character before it.
        k = self._chunk(max(0, pos - 1))
        return self.chunks[k].to_original(self.maps[k].end(pos - self.bases[k]))

    def span(self, start: int, end: int) -> tuple[int, int]:
        """Original ``(start, end)`` for a span of the merged text (inside one chunk)."""
        k = self._chunk(start)
        base, chunk, offsets = self.bases[k], self.chunks[k], self.maps[k]
        return (
            chunk.to_original(offsets.start(start - base)),
            chunk.to_original(offsets.end(end - base)),
        )


def merge(analyses: list[Analysis], chunks: list[Chunk]) -> Analysis:
    """One analysis of the whole text from the analyses of its chunks (see the module doc)."""
    offsets = ChunkedOffsets()
    merged = Analysis(offsets=offsets)  # type: ignore[arg-type]  # same interface
    layout = Layout()
    texts: list[str] = []
    base = 0
    for analysis, chunk in zip(analyses, chunks, strict=True):
        lo, hi = chunk.owns
        amap = analysis.offsets

        def owned(
            pos: int, amap: OffsetMap = amap, chunk: Chunk = chunk, lo: int = lo, hi: int = hi
        ) -> bool:
            return lo <= chunk.to_original(amap.start(pos)) < hi

        def shift(span: tuple[int, int] | None, base: int = base) -> tuple[int, int] | None:
            return None if span is None else (span[0] + base, span[1] + base)

        offsets.add(base, amap, chunk)
        texts.append(analysis.text)
        n_sentences = len(layout.sentences)
        if analysis.layout is not None:
            layout.sentences.extend((s + base, e + base) for s, e in analysis.layout.sentences)
            layout.lines.extend((s + base, e + base) for s, e in analysis.layout.lines)
        for f in analysis.findings:
            if not owned(f.start):
                continue
            legal = (
                replace(f.legal, start=f.legal.start + base, end=f.legal.end + base)
                if f.legal is not None
                else None
            )
            merged.findings.append(
                replace(
                    f,
                    start=f.start + base,
                    end=f.end + base,
                    sentence=f.sentence + n_sentences,
                    legal=legal,
                )
            )
        for h in analysis.lots.headers:
            if owned(h.line_start):
                merged.lots.headers.append(
                    replace(
                        h,
                        line_start=h.line_start + base,
                        line_end=h.line_end + base,
                        title=shift(h.title),
                    )
                )
        if analysis.allotted:
            merged.allotted = True
            if merged.allotment_evidence is None:
                merged.allotment_evidence = shift(analysis.allotment_evidence)
        if merged.allotment_negative is None:
            merged.allotment_negative = shift(analysis.allotment_negative)
        if analysis.lot_count is not None:
            merged.lot_count = max(merged.lot_count or 0, analysis.lot_count)
        if merged.max_lots_per_bidder is None:
            merged.max_lots_per_bidder = analysis.max_lots_per_bidder
        for lot, source in analysis.criteria_same_as.items():
            merged.criteria_same_as.setdefault(lot, source)
        base += len(analysis.text)
    layout.sent_starts = [s for s, _ in layout.sentences]
    layout.line_starts = [s for s, _ in layout.lines]
    merged.layout = layout
    merged.text = "".join(texts)
    return merged
