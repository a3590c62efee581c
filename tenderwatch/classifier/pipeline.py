"""The spaCy pipeline: ``spacy.blank("fr")`` with a normalising tokenizer and registered
components.

Order (each component reads what the previous ones left on ``doc._.tw``):

1. tokenizer — :class:`NormalisingTokenizer` normalises the text first (reference §4.10),
   keeping the offset map back to the input;
2. ``tw_cues`` and ``tw_acronyms`` (two ``span_ruler``, key ``tw_cues``) — the JSONL
   patterns of ``classifier/patterns``, matched on LOWER and on ORTH (acronyms);
3. ``tw_layout`` — lines, sentence boundaries (not after "art.", "n°", "cf.", "L."),
   award-criteria zones and headings;
4. ``tw_lots`` — lot headers and sections, lot mentions ("lots 1 à 3"), lots per bidder;
5. ``tw_legal`` — article references (regex on the text → ``doc.spans["tw_legal"]``);
6. ``tw_quantities`` — hours, % of hours, FTEs (→ ``doc.spans["tw_qty"]``);
7. ``tw_context`` — confusers remove the cues they overlap, negations cancel the cues of
   their clause, optional wording is marked;
8. ``tw_decision`` — sentence-level rules, lot scope, allotment, hours (→ findings).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from typing import Any

import numpy as np
import spacy
from spacy.attrs import SENT_START
from spacy.language import Language
from spacy.tokens import Doc

from tenderwatch.classifier import decision
from tenderwatch.classifier.analysis import Analysis
from tenderwatch.classifier.legal import find_references
from tenderwatch.classifier.lots import find_headers, find_mentions, max_lots_per_bidder
from tenderwatch.classifier.normalise import fold, normalise
from tenderwatch.classifier.quantities import find_quantities
from tenderwatch.classifier.resources import pattern_files, patterns
from tenderwatch.classifier.structure import analyse_layout

CUES_KEY = "tw_cues"

if not Doc.has_extension("tw"):
    Doc.set_extension("tw", default=None)


class NormalisingTokenizer:
    """Wraps the French tokenizer: normalise, tokenise, keep the offset map on ``doc._.tw``."""

    def __init__(self, tokenizer: Any) -> None:
        self.tokenizer = tokenizer

    def __call__(self, text: str) -> Doc:
        norm, offsets = normalise(text)
        doc = self.tokenizer(norm)
        doc._.tw = Analysis(offsets=offsets, text=norm)
        return doc

    def __getattr__(self, name: str) -> Any:  # vocab, add_special_case, ...
        return getattr(self.tokenizer, name)


def _analysis(doc: Doc) -> Analysis:
    if doc._.tw is None:  # a Doc made without our tokenizer (e.g. Doc(vocab, words))
        doc._.tw = Analysis(offsets=normalise("")[1], text=doc.text)
    return doc._.tw


class LayoutComponent:
    """Lines, sentences (set as sentence starts on the tokens), criteria zones."""

    def __call__(self, doc: Doc) -> Doc:
        analysis = _analysis(doc)
        layout = analyse_layout(analysis.text)
        analysis.layout = layout
        if len(doc) > 1 and layout.sent_starts:
            # One bulk write: setting Token.is_sent_start one by one re-scans the doc each time.
            idx = doc.to_array("IDX")
            starts = np.searchsorted(idx, layout.sent_starts, side="left")
            values = np.full(len(doc), -1, dtype="int64")  # -1: explicitly not a start
            values[starts[starts < len(doc)]] = 1
            values[0] = 1
            doc.from_array([SENT_START], values.astype("uint64"))
        return doc


class LotsComponent:
    """Lot headers, sections and mentions; lots per bidder."""

    def __call__(self, doc: Doc) -> Doc:
        analysis = _analysis(doc)
        text = analysis.text
        analysis.lots = find_headers(text)
        analysis.mentions = find_mentions(text)
        analysis.max_lots_per_bidder = max_lots_per_bidder(text) if "lots" in text else None
        return doc


class LegalComponent:
    """Article references, as spans labelled with their norm (``CCP:L2113-13``)."""

    def __call__(self, doc: Doc) -> Doc:
        analysis = _analysis(doc)
        analysis.legal = find_references(analysis.text)
        spans = []
        for ref in analysis.legal:
            span = doc.char_span(ref.start, ref.end, label=ref.norm, alignment_mode="expand")
            if span is not None:
                spans.append(span)
        doc.spans["tw_legal"] = spans
        return doc


class QuantitiesComponent:
    """Hours, percentages and FTEs, as spans labelled ``HOURS``/``PERCENT``/``FTE``."""

    def __call__(self, doc: Doc) -> Doc:
        analysis = _analysis(doc)
        blocked = [(m.start, m.end) for m in analysis.mentions]
        analysis.quantities = find_quantities(analysis.text, blocked)
        spans = []
        for q in analysis.quantities:
            span = doc.char_span(q.start, q.end, label=q.kind.upper(), alignment_mode="expand")
            if span is not None:
                spans.append(span)
        doc.spans["tw_qty"] = spans
        return doc


class ContextComponent:
    """Confusers, RES_WS wording, negation and optional wording (reference §4.9)."""

    def __call__(self, doc: Doc) -> Doc:
        analysis = _analysis(doc)
        group = doc.spans[CUES_KEY] if CUES_KEY in doc.spans else []
        cues = [(s.label_, s.start_char, s.end_char) for s in group]
        kept_idx = decision.filter_cues(cues)
        if len(kept_idx) != len(cues):
            doc.spans[CUES_KEY] = [group[i] for i in kept_idx]
        kept = [cues[i] for i in kept_idx]
        if analysis.layout is not None:
            analysis.negated, analysis.optional = decision.negation(
                analysis.text, analysis.layout, kept
            )
        return doc


class DecisionComponent:
    """Sentence rules, lot scope, allotment and hours: ``doc._.tw.findings``."""

    def __call__(self, doc: Doc) -> Doc:
        analysis = _analysis(doc)
        group = doc.spans[CUES_KEY] if CUES_KEY in doc.spans else []
        cues = [(s.label_, s.start_char, s.end_char) for s in group]
        decision.decide(analysis.text, analysis, cues)
        return doc


@Language.factory("tw_layout")
def make_layout(nlp: Language, name: str) -> LayoutComponent:
    return LayoutComponent()


@Language.factory("tw_lots")
def make_lots(nlp: Language, name: str) -> LotsComponent:
    return LotsComponent()


@Language.factory("tw_legal")
def make_legal(nlp: Language, name: str) -> LegalComponent:
    return LegalComponent()


@Language.factory("tw_quantities")
def make_quantities(nlp: Language, name: str) -> QuantitiesComponent:
    return QuantitiesComponent()


@Language.factory("tw_context")
def make_context(nlp: Language, name: str) -> ContextComponent:
    return ContextComponent()


@Language.factory("tw_decision")
def make_decision(nlp: Language, name: str) -> DecisionComponent:
    return DecisionComponent()


def _fold_token_pattern(pattern: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Token patterns are written with plain words; fold LOWER values like the text."""
    folded = []
    for token in pattern:
        token = dict(token)
        value = token.get("LOWER")
        if isinstance(value, str):
            token["LOWER"] = fold(value).lower()
        elif isinstance(value, dict):
            token["LOWER"] = {
                op: [fold(v).lower() for v in vs] if isinstance(vs, list) else vs
                for op, vs in value.items()
            }
        folded.append(token)
    return folded


#: Above this many phrases a token pattern stays a Matcher pattern.
_MAX_EXPANSION = 6000


#: What ``{"LIKE_NUM": true}`` stands for when a pattern is expanded into phrases.
_NUMBERS = [str(i) for i in range(1, 101)] + [
    "deux",
    "trois",
    "quatre",
    "cinq",
    "six",
    "sept",
    "huit",
    "neuf",
    "dix",
    "onze",
    "douze",
]


def _expand(pattern: list[dict[str, Any]], attr: str) -> list[str] | None:
    """The phrases a token pattern on ``attr`` (LOWER or ORTH) matches, or ``None``.

    spaCy's Matcher evaluates every ``IN`` predicate at every token; the PhraseMatcher looks
    tokens up in a hash table. Expanding ``[{"LOWER": {"IN": ["lot", "lots"]}}, {"LOWER":
    "reserve"}]`` into "lot reserve" and "lots reserve" keeps the JSONL readable and the
    matching fast (the Matcher took 60 % of the run time before). ``LIKE_NUM`` stands for
    1 to 100 and the small number words.
    """
    choices: list[list[str]] = []
    for token in pattern:
        op = token.get("OP")
        if op not in (None, "?"):
            return None
        keys = set(token) - {"OP"}
        if keys == {"LIKE_NUM"} and token["LIKE_NUM"] is True:
            words = list(_NUMBERS)
        elif keys == {attr}:
            value = token[attr]
            if isinstance(value, str):
                words = [value]
            elif isinstance(value, dict) and set(value) == {"IN"}:
                words = list(value["IN"])
            else:
                return None
        else:
            return None
        choices.append([*words, ""] if op == "?" else words)
    total = 1
    for words in choices:
        total *= len(words)
    if total > _MAX_EXPANSION:
        return None
    phrases = {_join(w for w in combo if w) for combo in itertools.product(*choices)}
    return sorted(p for p in phrases if p)


def _join(words: Iterable[str]) -> str:
    """Words back into text the tokenizer splits the same way: no space after an elision
    ("l'" + "emploi" → "l'emploi"; "l' emploi" would tokenize as "l", "'", "emploi")."""
    text = ""
    for word in words:
        text += word if not text or text.endswith("'") else " " + word
    return text


def load_patterns() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Every pattern of ``classifier/patterns/*.jsonl``: ``(lower, orth)`` lists.

    Token patterns are folded, then expanded into phrase patterns when they only test LOWER
    (``!`` tokens are dropped: the confuser patterns do that job). Patterns on ``ORTH``
    (case-sensitive acronyms: "ESS", "SIAE") go to the second list.
    """
    lower: list[dict[str, Any]] = []
    orth: list[dict[str, Any]] = []
    for name in pattern_files():
        for row in patterns(name):
            pattern = row["pattern"]
            if isinstance(pattern, str):
                lower.append(row)
                continue
            pattern = [t for t in _fold_token_pattern(pattern) if t.get("OP") != "!"]
            attr = "ORTH" if any("ORTH" in t for t in pattern) else "LOWER"
            target = orth if attr == "ORTH" else lower
            phrases = _expand(pattern, attr)
            if phrases is None:
                target.append({**row, "pattern": pattern})
            else:
                target.extend({**row, "pattern": phrase} for phrase in phrases)
    return lower, orth


def build_nlp() -> Language:
    """``spacy.blank("fr")`` with the normalising tokenizer and the tenderwatch components."""
    nlp = spacy.blank("fr")
    nlp.max_length = 2_000_000
    nlp.tokenizer = NormalisingTokenizer(nlp.tokenizer)
    # The rulers come first: adding phrase patterns runs the components before them on
    # every pattern, and 18 000 patterns through tw_layout would double the start-up time.
    ruler = nlp.add_pipe(
        "span_ruler",
        name="tw_cues",
        config={"spans_key": CUES_KEY, "phrase_matcher_attr": "LOWER", "validate": True},
    )
    acronyms = nlp.add_pipe(
        "span_ruler",
        name="tw_acronyms",
        config={"spans_key": CUES_KEY, "phrase_matcher_attr": "ORTH", "overwrite": False},
    )
    nlp.add_pipe("tw_layout")
    nlp.add_pipe("tw_lots")
    nlp.add_pipe("tw_legal")
    nlp.add_pipe("tw_quantities")
    nlp.add_pipe("tw_context")
    nlp.add_pipe("tw_decision")
    lower, orth = load_patterns()
    ruler.add_patterns(lower)
    acronyms.add_patterns(orth)
    return nlp
