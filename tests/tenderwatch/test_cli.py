"""Every command has help text, takes --db and --config, and is documented in the README."""

from __future__ import annotations

from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from tenderwatch.cli import main

README = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")


def commands(group: click.Group, prefix: str = "") -> list[tuple[str, click.Command]]:
    found = []
    for name, command in group.commands.items():
        path = f"{prefix}{name}"
        if isinstance(command, click.Group):
            found += commands(command, path + " ")
        else:
            found.append((path, command))
    return found


ALL = commands(main)


def test_there_are_commands() -> None:
    assert {"db migrate", "crawl", "notices list", "notices show", "notices search"} <= {
        name for name, _ in ALL
    }


@pytest.mark.parametrize(("name", "command"), ALL, ids=[n for n, _ in ALL])
def test_command_has_help_db_and_config(name: str, command: click.Command) -> None:
    assert command.help and len(command.help) > 20
    options = {opt for p in command.params for opt in getattr(p, "opts", [])}
    assert {"--db", "--config"} <= options


@pytest.mark.parametrize("name", [n for n, _ in ALL])
def test_command_is_documented_in_readme(name: str) -> None:
    assert f"tenderwatch {name}" in README


def test_show_unknown_notice_is_a_clear_error(tmp_path: Path) -> None:
    # The base must exist: a missing file is its own error (tests/faults/test_missing_db.py).
    CliRunner().invoke(main, ["db", "migrate", "--db", str(tmp_path / "t.db")])
    result = CliRunner().invoke(
        main, ["notices", "show", "boamp:00-0", "--db", str(tmp_path / "t.db")]
    )
    assert result.exit_code == 1
    assert "avis introuvable" in result.output


def test_db_migrate_then_again(tmp_path: Path) -> None:
    db = str(tmp_path / "t.db")
    first = CliRunner().invoke(main, ["db", "migrate", "--db", db])
    second = CliRunner().invoke(main, ["db", "migrate", "--db", db])
    assert "0001_initial" in first.output
    assert "à jour" in second.output


def test_unreadable_database_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "not-a-db.db"
    bad.write_bytes(b"this is not sqlite" * 100)
    result = CliRunner().invoke(main, ["notices", "list", "--db", str(bad)])
    assert result.exit_code == 1
    assert "illisible" in result.output
