"""The label names (architecture.md, contract 1): one place for the classifier, the notifier
and the tests."""

#: The six social labels.
SOCIAL_LABELS: tuple[str, ...] = (
    "insertion_clause",
    "insertion_criterion",
    "reserved_siae",
    "reserved_disability",
    "insertion_contract",
    "reserved_other",
)
#: Every label, in the contract's order: the social ones, then ``allotted``.
LABELS: tuple[str, ...] = (*SOCIAL_LABELS, "allotted")

#: The two confidence levels of a true label, most certain first (user-facing, French).
CONFIDENCE_LEVELS: tuple[str, ...] = ("sûr", "probable")
#: A label whose score reaches this threshold is « sûr », else « probable ». Scores come from
#: the evidence (``classifier.README.md`` §Confidence): an article that supports the label, a
#: structured form flag, a figure (hours, %) or a strong clause noun give 0.85 and more;
#: generic or unspecified wording, or a single weak cue, stays below.
CONFIDENCE_THRESHOLD: float = 0.8


def confidence_level(score: float) -> str:
    """« sûr » when ``score`` reaches :data:`CONFIDENCE_THRESHOLD`, else « probable »."""
    return CONFIDENCE_LEVELS[0] if score >= CONFIDENCE_THRESHOLD else CONFIDENCE_LEVELS[1]
