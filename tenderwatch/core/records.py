"""Records shared by every part of tenderwatch.

A :class:`RawNotice` is what a spider collected, byte for byte. A :class:`Notice` (with its
:class:`Lot` list) is the one schema every source is normalised into. A :class:`CrawlReport`
sums up one crawl. These are plain dataclasses: Scrapy accepts them as items and the store
turns them into rows.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field
from typing import Any

# Natures of a notice: what the document does in the life of a procedure.
CALL_FOR_TENDERS = "call_for_tenders"
CORRIGENDUM = "corrigendum"
AWARD = "award"
CANCELLATION = "cancellation"
OTHER = "other"
NATURES = (CALL_FOR_TENDERS, CORRIGENDUM, AWARD, CANCELLATION, OTHER)


def content_hash(body: bytes) -> str:
    """Return the SHA-256 hex digest that keys a raw payload."""
    return hashlib.sha256(body).hexdigest()


@dataclass
class RawNotice:
    """One notice's payload exactly as the source served it.

    ``body`` holds the bytes untouched (a BOAMP record's JSON text sliced out of the page, a
    TED eForms XML document). ``source_id`` is the source's own key (BOAMP ``idweb``, TED
    publication number), never a page number.
    """

    source: str
    source_id: str
    url: str
    content_type: str
    body: bytes
    fetched_at: str = ""

    @property
    def content_hash(self) -> str:
        return content_hash(self.body)

    @property
    def notice_id(self) -> str:
        return f"{self.source}:{self.source_id}"


@dataclass
class AwardCriterion:
    """One award criterion (eForms BT-539 type, BT-734 name, BT-540 description, BT-541 weight)."""

    type: str | None = None
    name: str | None = None
    description: str | None = None
    weight: float | None = None


@dataclass
class Signals:
    """Structured social signals carried by a form, for a lot or for the whole notice.

    Every field is ``None`` / empty when the form says nothing, so that "not said" and "said no"
    stay distinct (``reserved=False`` means the form explicitly says "marché réservé : non").
    """

    #: BOAMP "marché réservé" yes/no (``reservationMarche``, ``MARCHE_RESERVE_OUI/NON``).
    reserved: bool | None = None
    #: eForms BT-71 codes other than ``none`` (``res-ws``, ``res-pub-ser``); R2.0.9 mapped.
    reserved_codes: list[str] = field(default_factory=list)
    #: eForms BT-736 reserved execution: ``yes`` / ``no`` / ``not-known``.
    reserved_execution: str | None = None
    #: eForms BT-775 social objective codes (``opp``, ``work-cond``, ...).
    social_objectives: list[str] = field(default_factory=list)
    #: eForms BT-06 strategic procurement codes (``soc-obj``, ``env-imp``, ...), ``none`` dropped.
    strategic_procurement: list[str] = field(default_factory=list)
    #: BT-777 strategic procurement description texts.
    strategic_descriptions: list[str] = field(default_factory=list)
    #: BT-70 / ``CONDITION_PARTICULIERE_EXECUTION`` / ``PERFORMANCE_CONDITIONS`` texts.
    execution_conditions: list[str] = field(default_factory=list)
    #: Award criteria with type, name, description and weight.
    award_criteria: list[AwardCriterion] = field(default_factory=list)
    #: BOAMP index flag ``CRITERES_SOCIAUX_ENV/SOCIAUX`` or ``criteres`` containing "sociaux".
    social_criteria_flag: bool | None = None
    #: Any other raw code worth keeping, e.g. ``{"conditions": ["performance"]}``.
    codes: dict[str, list[str]] = field(default_factory=dict)

    def is_empty(self) -> bool:
        return self == Signals()


@dataclass
class Lot:
    """A lot of a notice. ``lot_id`` is normalised: ``LOT-0001`` and ``Lot n° 1`` become ``"1"``."""

    lot_id: str
    title: str | None = None
    description: str | None = None
    cpv: list[str] = field(default_factory=list)
    estimated_value: float | None = None
    deadline: str | None = None
    departements: list[str] = field(default_factory=list)
    signals: Signals = field(default_factory=Signals)
    #: For result notices: ``awarded``, ``not_awarded`` (no winner, lot closed), ``open``.
    result: str | None = None
    winners: list[str] = field(default_factory=list)
    #: Winners' identifiers, in the order of ``winners``: a SIRET as its 14 digits, any other
    #: identifier prefixed with its type (``TVA FR…``). Filled by sources that give them (DECP).
    winner_ids: list[str] = field(default_factory=list)
    #: Award (notification) date of this lot, ``YYYY-MM-DD``, when the source gives it.
    award_date: str | None = None
    #: Value awarded for this lot (initial amount, excl. VAT), when the source gives it.
    awarded_value: float | None = None


@dataclass
class LotRules:
    """Procedure-level lot rules (eForms BT-31, BT-33, BT-763; R2.0.9 LOT_DIVISION)."""

    max_lots_submitted: int | None = None
    max_lots_awarded: int | None = None
    all_lots_required: bool | None = None


@dataclass
class NoticeLink:
    """A link from this notice to another one.

    ``kind`` is ``corrects`` (corrigendum/cancellation/award of an earlier notice), ``follows``
    (any earlier notice of the same procedure named by the form) or ``same_as`` (the same
    notice published on another source). ``target`` is a notice id (``boamp:26-7298``) when the
    source says which notice; ``target_uuid`` is an eForms notice UUID (BT-758) otherwise.
    """

    kind: str
    target: str | None = None
    target_uuid: str | None = None


@dataclass
class Notice:
    """One notice in the normalised schema shared by every source."""

    id: str  # "<source>:<source_id>", e.g. "boamp:26-7298", "ted:619320-2026"
    source: str
    source_id: str
    form: str  # e.g. "boamp/FNSimple", "boamp/EFORMS/ContractNotice", "eforms/16", "ted-r209/F21"
    title: str = ""
    nature: str = OTHER
    published: str | None = None  # YYYY-MM-DD
    deadline: str | None = None  # ISO 8601 datetime (or date) of the tender deadline
    buyer_name: str | None = None
    buyer_siret: str | None = None
    departements: list[str] = field(default_factory=list)
    cpv: list[str] = field(default_factory=list)
    procedure: str | None = None  # procedure type as the form says it (open, MAPA, ...)
    estimated_value: float | None = None
    currency: str | None = None
    url: str | None = None
    language: str | None = None  # ISO 639-1 of the text when known ("fr")
    text: str = ""  # every readable section, in order, separated by blank lines
    lots: list[Lot] = field(default_factory=list)
    lot_rules: LotRules = field(default_factory=LotRules)
    signals: Signals = field(default_factory=Signals)
    links: list[NoticeLink] = field(default_factory=list)
    #: eForms identifiers: BT-04 procedure (ContractFolderID) and BT-701 notice UUID. A BOAMP
    #: "famille JOUE" notice and its TED publication share them: that is how they are linked.
    procedure_uuid: str | None = None
    notice_uuid: str | None = None
    #: TED publication number when known (on TED records, and in BOAMP JOUE forms that cite it).
    ted_publication_number: str | None = None
    winners: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class CrawlReport:
    """What one crawl did, written to the ``crawls`` table and printed."""

    source: str
    started_at: str
    finished_at: str | None = None
    from_date: str | None = None
    until_date: str | None = None
    announced: int = 0  # sum of the totals the source announced for every slice
    fetched: int = 0  # notices received
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: int = 0
    errors: int = 0
    shortfall: int = 0  # announced minus fetched when positive: notices the crawl missed
    skip_reasons: dict[str, int] = field(default_factory=dict)
    error_messages: list[str] = field(default_factory=list)
    duration_s: float = 0.0

    @property
    def ok(self) -> bool:
        return self.shortfall == 0 and self.errors == 0
