"""The notifier's data model: groups (who subscribed to what), the view of a classified notice
that matching reads, and a match with its reasons.

These are plain dataclasses shared by ``groups.py`` (loading and validation), ``matching.py``
(pure matching and the index), ``render.py`` (templates) and ``delivery.py`` (sending).
"""

from __future__ import annotations

from dataclasses import dataclass, field

# The classifier's social labels (``allotted`` is not one: it describes the notice's shape).
from tenderwatch.classifier.labels import CONFIDENCE_LEVELS, SOCIAL_LABELS

#: Kinds of structure a group's members can be (le marché de l'inclusion's lists).
SIAE_KINDS = ("EI", "ETTI", "AI", "ACI", "EITI")
DISABILITY_KINDS = ("EA", "ESAT", "EATT")
OTHER_KINDS = ("GEIQ",)
STRUCTURE_KINDS = SIAE_KINDS + DISABILITY_KINDS + OTHER_KINDS
GROUP_KINDS = ("siae", "ea_esat", "network", "consortium")
DELIVERY_MODES = ("immediate", "daily", "weekly")


@dataclass
class Group:
    """A group that subscribed to alerts (an SIAE, an EA/ESAT, a network, a consortium).

    Empty filters admit everything: no territory means all of France, no CPV prefix every
    sector, no keyword every notice. ``tags`` are the apprise tags of its channels.
    """

    id: str
    name: str
    kind: str
    structure_kinds: list[str] = field(default_factory=list)
    departements: list[str] = field(default_factory=list)
    regions: list[str] = field(default_factory=list)  # INSEE region codes, e.g. "84"
    cpv_prefixes: list[str] = field(default_factory=list)
    keywords: list[str] = field(default_factory=list)
    exclude_keywords: list[str] = field(default_factory=list)
    labels: list[str] = field(default_factory=lambda: list(SOCIAL_LABELS))
    awards: bool = False
    # « Attributaire à démarcher » alerts (issue #12): the winner of a lot with an
    # insertion clause, for groups whose structures can provide staff or sub-contract.
    awards_indirect: bool = True
    corrigenda: bool = True
    min_value: float | None = None
    max_value: float | None = None
    delivery: str = "immediate"
    digest_time: str = "08:30"  # HH:MM, Europe/Paris, for daily and weekly digests
    digest_day: str = "mon"  # mon..sun, for weekly digests
    reminder_days: list[int] = field(default_factory=lambda: [7, 2])
    tags: list[str] = field(default_factory=list)  # default: [id]
    # The least confidence a label needs to count for the group: "probable" (every label)
    # or "sûr" (only labels the classifier is sure of; see classifier/labels.py).
    min_confidence: str = CONFIDENCE_LEVELS[-1]
    # The board's members declared with the group (``members = [{name, email, role, ...}]``),
    # normalised by groups.py; synced into the database by tenderwatch.core.board.
    members: list[dict] = field(default_factory=list)

    @property
    def has_siae(self) -> bool:
        return any(k in SIAE_KINDS for k in self.structure_kinds)

    @property
    def has_disability(self) -> bool:
        return any(k in DISABILITY_KINDS for k in self.structure_kinds)


@dataclass
class LotView:
    """A lot as matching sees it: its classified social labels and its own filters' fields."""

    id: str
    title: str | None = None
    labels: list[str] = field(default_factory=list)  # social labels of this lot
    cpv: list[str] = field(default_factory=list)
    departements: list[str] = field(default_factory=list)
    estimated_value: float | None = None
    status: str | None = None  # from the procedure state: open, cancelled, awarded...


@dataclass
class NoticeView:
    """A harvested and classified notice, as the notifier reads it (built by
    ``tenderwatch.notifier.views.notice_views`` from the store)."""

    id: str
    title: str
    nature: str  # call_for_tenders, corrigendum, award, cancellation, other
    published: str | None = None
    deadline: str | None = None
    buyer_name: str | None = None
    url: str | None = None
    text: str = ""
    departements: list[str] = field(default_factory=list)
    cpv: list[str] = field(default_factory=list)
    estimated_value: float | None = None
    labels: dict[str, bool] = field(default_factory=dict)  # the classifier's 7 labels
    lots: list[LotView] = field(default_factory=list)  # [] when not allotted
    evidence: list[dict] = field(default_factory=list)  # classifier evidence records
    insertion_hours: int | None = None
    explanations: list[str] = field(default_factory=list)  # classifier.explain(), French
    procedure_id: str | None = None
    canonical_id: str | None = None  # alerts go to the canonical record only
    corrects: list[str] = field(default_factory=list)  # ids of earlier notices it changes
    # The classifier's confidence per true label: {"insertion_clause": {"score", "level"}};
    # a label missing here (older classifications) counts as « probable ».
    confidence: dict[str, dict] = field(default_factory=dict)
    truncated: bool = False  # the text was cut at the classifier's hard limit
    # The clause facilitator quoted from the notice (issue #12): {"organisation", "kind",
    # "name", "phone", "email", "quote", "start", "end"}; None when the notice names none.
    facilitator: dict | None = None
    # The notice on the shared board (``[web] base_url``), set by the deliverer: personal
    # (sign-in form pre-filled) for a message to one member, plain for a channel.
    board_url: str | None = None

    def confidence_level(self, label: str) -> str:
        """« sûr » or « probable » (the latter when the classification says nothing)."""
        level = (self.confidence.get(label) or {}).get("level")
        return level if level in CONFIDENCE_LEVELS else CONFIDENCE_LEVELS[-1]

    @property
    def social_labels(self) -> list[str]:
        return [label for label in SOCIAL_LABELS if self.labels.get(label)]


@dataclass
class Match:
    """Why a notice goes to a group: the labels and lots that concern it, in French reasons."""

    group_id: str
    notice_id: str
    labels: list[str]
    # Lot ids that concern the group; [] means the whole notice.
    lots: list[str] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)
