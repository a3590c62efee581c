"""Small helpers shared by the classifier tests."""

from __future__ import annotations


def labels_of(result: dict) -> set[str]:
    """The positive labels of a result."""
    return {label for label, value in result["labels"].items() if value}


def lots_of(result: dict) -> dict[str, set[str]]:
    """Lot id → its labels."""
    return {lot["id"]: set(lot["labels"]) for lot in result["lots"]}


def evidence_of(result: dict, label: str, negated: bool = False) -> list[dict]:
    return [e for e in result["evidence"] if e["label"] == label and e["negated"] == negated]
