"""What the pipeline components find in one notice, kept on ``doc._.tw``.

Offsets are character offsets in the *normalised* text (``doc.text``); the classifier maps
them back to the input text with :attr:`Analysis.offsets` when it writes evidence.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tenderwatch.classifier.legal import LegalRef
from tenderwatch.classifier.lots import LotLayout, LotMention
from tenderwatch.classifier.normalise import OffsetMap
from tenderwatch.classifier.quantities import Quantity
from tenderwatch.classifier.structure import Layout

#: A cue of the span ruler: (label, start, end) in the normalised text.
Cue = tuple[str, int, int]


@dataclass
class Finding:
    """One piece of evidence for (or, with ``negated``, against) a label."""

    label: str
    start: int
    end: int
    sentence: int
    #: lots the statement is about; ``None`` for the whole notice
    lots: tuple[str, ...] | None = None
    legal: LegalRef | None = None
    hours: float | None = None
    percent: float | None = None
    fte: float | None = None
    negated: bool = False
    #: sub-type: "ess" / "penitentiary" for reserved_other, "res-ws" for an ambiguous
    #: reservation, "sheltered-programme" for BT-736-like wording
    kind: str | None = None
    #: the clause is named with the word "clause" (kept for insertion contracts)
    clause_word: bool = False
    #: the clause is named by a clause noun ("clause", "action d'insertion", "engagement
    #: d'insertion", "heures d'insertion"), not only inferred from hours and beneficiaries
    named: bool = False
    #: hours per lot when the sentence breaks them down ("lot 1 : 1 200 h ; lot 2 : 700 h")
    lot_hours: dict[str, float] = field(default_factory=dict)
    #: supporting statement only (no clause noun, no quantity): it confirms the label but
    #: does not widen its lots when another statement names them
    weak: bool = False
    #: lots the statement explicitly excludes ("les lots 7 et 8 ne sont pas concernés")
    excluded: tuple[str, ...] = ()
    #: how strongly this statement alone supports the label (0–1; ``labels.confidence_level``)
    score: float = 0.7
    #: a generic social execution condition whose content the notice does not give ("dont le
    #: détail est indiqué dans le CCAP"): the clause is to be checked in the CCAP
    unspecified: bool = False
    #: insertion hours stated as a rate ("5 h par tranche de 10 000 €", "70 h/an")
    rate: dict | None = None
    #: hours of the firm tranche when the statement splits them by tranche
    firm_hours: float | None = None


@dataclass
class Analysis:
    """Everything the components found; filled component by component."""

    offsets: OffsetMap
    #: the normalised text (``doc.text`` rebuilds the string from the tokens at each call)
    text: str = ""
    truncated: bool = False
    layout: Layout | None = None
    legal: list[LegalRef] = field(default_factory=list)
    quantities: list[Quantity] = field(default_factory=list)
    lots: LotLayout = field(default_factory=LotLayout)
    mentions: list[LotMention] = field(default_factory=list)
    #: cue keys (label, start, end) cancelled by a negation / made optional
    negated: set[Cue] = field(default_factory=set)
    optional: set[Cue] = field(default_factory=set)
    findings: list[Finding] = field(default_factory=list)
    allotted: bool = False
    allotment_evidence: tuple[int, int] | None = None
    allotment_negative: tuple[int, int] | None = None
    lot_count: int | None = None
    max_lots_per_bidder: int | None = None
    #: lot id → lot whose criteria it repeats ("identiques à ceux du premier lot")
    criteria_same_as: dict[str, str] = field(default_factory=dict)
