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
