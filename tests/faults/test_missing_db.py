"""A read command on a database file that does not exist says so, exits 1, and creates
nothing (issue #8): a typo in --db must not look like an empty veille."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from tenderwatch.cli import main

READ_COMMANDS = [
    ["notices", "list"],
    ["notices", "show", "boamp:26-1"],
    ["notices", "search", "insertion"],
    ["crawls"],
    ["deliveries", "list"],
]


@pytest.mark.parametrize("args", READ_COMMANDS, ids=lambda a: " ".join(a[:2]))
def test_read_command_on_a_missing_base(tmp_path: Path, args: list[str]) -> None:
    db = tmp_path / "typo" / "tenderwatch.db"
    result = CliRunner().invoke(main, [*args, "--db", str(db)])
    assert result.exit_code == 1, result.output
    assert result.output.strip() == (
        f"Erreur : base introuvable : {db} — lancez d'abord `tenderwatch crawl`"
        " ou `tenderwatch demo`"
    )
    assert not db.exists() and not db.parent.exists()


def test_write_command_still_creates_the_base(tmp_path: Path) -> None:
    db = tmp_path / "new" / "tenderwatch.db"
    result = CliRunner().invoke(main, ["db", "migrate", "--db", str(db)])
    assert result.exit_code == 0, result.output
    assert db.exists()
    listed = CliRunner().invoke(main, ["notices", "list", "--db", str(db)])
    assert listed.exit_code == 0 and "Aucun avis." in listed.output
