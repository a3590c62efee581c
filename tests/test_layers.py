"""Imports run one way: core ← crawler, classifier ← notifier ← the application (ADR 0009)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "tenderwatch"

# What each layer may import from tenderwatch (besides itself and the package's __version__).
ALLOWED = {
    "core": {"core"},
    "crawler": {"core", "crawler"},
    "classifier": {"core", "classifier"},
    "notifier": {"core", "classifier", "notifier"},
}


def layer_of(path: Path) -> str:
    parts = path.relative_to(PACKAGE).parts
    return parts[0] if len(parts) > 1 and parts[0] in ALLOWED else "app"


def tenderwatch_imports(path: Path) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        else:
            continue
        for name in names:
            if name == "tenderwatch" or name.startswith("tenderwatch."):
                parts = name.split(".")
                found.append((node.lineno, parts[1] if len(parts) > 1 else ""))
    return found


SOURCES = sorted(p for p in PACKAGE.rglob("*.py") if layer_of(p) != "app")


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_lower_layers_never_import_upper_ones(path):
    allowed = ALLOWED[layer_of(path)]
    wrong = [
        f"{path.relative_to(PACKAGE)}:{line} imports tenderwatch.{target}"
        for line, target in tenderwatch_imports(path)
        if target not in allowed and target != ""
    ]
    assert wrong == []


def test_the_old_top_level_names_are_gone():
    # Installed, tenderwatch puts only "tenderwatch" in site-packages.
    root = PACKAGE.parent
    assert not any((root / name / "__init__.py").exists() for name in ("crawler", "classifier", "notifier"))
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                if node.module.split(".")[0] in {"crawler", "classifier", "notifier"}:
                    offenders.append(f"{path}:{node.lineno}")
    assert offenders == []
