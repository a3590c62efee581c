"""Loading of the lookup files shipped in ``classifier/data`` and ``classifier/patterns``."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

PACKAGE = "tenderwatch.classifier"


def _read(folder: str, name: str) -> str:
    return resources.files(PACKAGE).joinpath(folder).joinpath(name).read_text(encoding="utf-8")


@cache
def data(name: str) -> Any:
    """A JSON lookup file from ``classifier/data`` (cached: they never change at run time)."""
    return json.loads(_read("data", name))


def patterns(name: str) -> list[dict[str, Any]]:
    """The patterns of a JSONL file of ``classifier/patterns``; blank and ``//`` lines skipped."""
    rows = []
    for number, line in enumerate(_read("patterns", name).splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("//"):
            continue
        try:
            rows.append(json.loads(line))
        except ValueError as exc:  # a broken pattern file is a packaging bug: say where
            raise ValueError(f"patterns/{name}:{number}: {exc}") from None
    return rows


def pattern_files() -> list[str]:
    """Every ``*.jsonl`` file of ``classifier/patterns``, sorted."""
    folder = resources.files(PACKAGE).joinpath("patterns")
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".jsonl"))
