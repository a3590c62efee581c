"""What a person reads on the command line: `notices list` and `notices show` in French
words (natures, labels, dates), finding a notice by its number alone, the --json contracts
unchanged, and the global -v/-q options and log level errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from tenderwatch.cli import main
from tenderwatch.core.records import CALL_FOR_TENDERS, CORRIGENDUM, Notice, RawNotice
from tenderwatch.core.store import Store

CODES = ("call_for_tenders", "corrigendum", "reserved_disability", "allotted", "None")


def _save(store: Store, source: str, source_id: str, **kw: object) -> None:
    fields: dict[str, object] = dict(
        id=f"{source}:{source_id}",
        source=source,
        source_id=source_id,
        form="test",
        title="Nettoyage des locaux administratifs",
        nature=CALL_FOR_TENDERS,
        published="2026-01-10",
        deadline="2026-02-10T12:00:00+01:00",
        text="Le lot 3 est réservé aux entreprises adaptées et aux ESAT.",
        buyer_name="Métropole de Lyon",
        url=f"https://www.boamp.fr/pages/avis/?q=idweb:{source_id}",
    )
    fields.update(kw)
    notice = Notice(**fields)  # type: ignore[arg-type]
    raw = RawNotice(
        source=source,
        source_id=source_id,
        url="http://x",
        content_type="application/json",
        body=json.dumps(notice.to_dict()).encode(),
    )
    store.save(raw, notice)


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "t.db"
    store = Store(path)
    _save(store, "boamp", "99-0002")
    _save(
        store,
        "boamp",
        "26-9100",
        nature=CORRIGENDUM,
        title="Rectificatif : travaux",
        published="2026-01-12",
        deadline=None,
    )
    labels = dict.fromkeys(
        (
            "insertion_clause",
            "insertion_criterion",
            "reserved_siae",
            "reserved_disability",
            "insertion_contract",
            "reserved_other",
            "allotted",
        ),
        False,
    )
    store.save_classifications(
        [
            {
                "id": "boamp:99-0002",
                "model_version": "test-1",
                "labels": {**labels, "reserved_disability": True, "allotted": True},
            }
        ]
    )
    store.close()
    return path


def run(*args: str, env: dict[str, str] | None = None) -> object:
    return CliRunner().invoke(main, list(args), env=env)


def test_notices_list_has_a_header_and_french_words(db: Path) -> None:
    result = run("notices", "list", "--db", str(db))
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    header = lines[0]
    for column in ("AVIS", "PUBLIÉ LE", "DATE LIMITE", "NATURE", "CLAUSES", "TITRE"):
        assert column in header
    row = next(line for line in lines if line.startswith("boamp:99-0002"))
    assert "avis de marché" in row
    assert "Réservé EA/ESAT, Alloti" in row  # social labels first, short French
    assert "10/02/2026" in row  # the deadline, as a French date
    corrigendum = next(line for line in lines if line.startswith("boamp:26-9100"))
    assert "rectificatif" in corrigendum and "non classé" in corrigendum
    assert "—" in corrigendum  # no deadline: a dash, not "None"
    for code in CODES:
        assert code not in result.output


def test_notices_list_json_is_unchanged(db: Path) -> None:
    result = run("notices", "list", "--db", str(db), "--json")
    rows = [json.loads(line) for line in result.output.splitlines()]
    assert [r["id"] for r in rows] == ["boamp:26-9100", "boamp:99-0002"]
    assert rows[1]["nature"] == "call_for_tenders"  # codes stay codes in the contract
    assert set(rows[1]) == {
        "id",
        "published",
        "nature",
        "deadline",
        "buyer_name",
        "title",
        "departements",
        "procedure_id",
        "canonical_id",
    }


def test_notices_show_finds_a_notice_by_its_number(db: Path) -> None:
    result = run("notices", "show", "99-0002", "--db", str(db))
    assert result.exit_code == 0, result.output
    assert result.output.startswith("boamp:99-0002 — Nettoyage des locaux administratifs")
    assert "avis de marché" in result.output
    assert "mardi 10 février 2026 à 12:00" in result.output
    assert "samedi 10 janvier 2026" in result.output
    assert "Classement (test-1) : Réservé EA/ESAT, Alloti" in result.output
    assert "https://www.boamp.fr/pages/avis/?q=idweb:99-0002" in result.output
    for code in ("call_for_tenders", "reserved_disability", "allotted"):
        assert code not in result.output


def test_notices_show_json_by_number_is_the_same_document(db: Path) -> None:
    by_number = run("notices", "show", "99-0002", "--json", "--db", str(db))
    by_id = run("notices", "show", "boamp:99-0002", "--json", "--db", str(db))
    assert json.loads(by_number.output) == json.loads(by_id.output)
    assert json.loads(by_id.output)["nature"] == "call_for_tenders"


def test_an_ambiguous_number_says_what_to_type(db: Path) -> None:
    store = Store(db)
    _save(store, "ted", "99-0002")
    store.close()
    result = run("notices", "show", "99-0002", "--db", str(db))
    assert result.exit_code == 1
    assert "avis introuvable : 99-0002 ; essayez boamp:99-0002 ou ted:99-0002" in result.output


def test_an_unknown_notice_is_one_french_sentence(db: Path) -> None:
    result = run("notices", "show", "99-9999", "--db", str(db))
    assert result.exit_code == 1
    assert "avis introuvable : 99-9999" in result.output
    assert "Traceback" not in result.output
    # "%" and "_" are not wildcards: "99_0002" is not "99-0002".
    assert run("notices", "show", "99_0002", "--db", str(db)).exit_code == 1
    assert run("notices", "show", "%0002", "--db", str(db)).exit_code == 1


def test_an_unknown_log_level_is_a_french_sentence_and_exit_2(db: Path) -> None:
    result = run("notices", "list", "--db", str(db), env={"TENDERWATCH_LOG_LEVEL": "BAVARD"})
    assert result.exit_code == 2
    assert "niveau de journalisation inconnu : « BAVARD »" in result.output
    assert "Traceback" not in result.output
    assert not isinstance(result.exception, ValueError)


def test_an_unknown_log_level_in_the_toml_too(db: Path, tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text('log_level = "bruyant"\n', encoding="utf-8")
    result = run("notices", "list", "--db", str(db), "--config", str(config))
    assert result.exit_code == 2
    assert "« bruyant »" in result.output


def test_verbose_and_quiet_are_global_and_exclusive(db: Path) -> None:
    assert run("-q", "notices", "list", "--db", str(db)).exit_code == 0
    assert run("--verbose", "notices", "list", "--db", str(db)).exit_code == 0
    both = run("-v", "-q", "notices", "list", "--db", str(db))
    assert both.exit_code == 2
    assert "s'excluent" in both.output
    help_text = run("--help").output
    assert "--verbose" in help_text and "--quiet" in help_text


# -- progress of a crawl (real `tenderwatch crawl --replay` processes) -------------------------


def test_crawl_progress_is_a_line_every_n_notices_off_a_terminal(tmp_path: Path) -> None:
    from tests.conftest import cli_env, run_cli

    env = cli_env(tmp_path, TENDERWATCH_PROGRESS_EVERY="10")
    proc = run_cli(["crawl", "--replay"], env)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "Collecte BOAMP : 10 avis reçus" in proc.stderr
    assert "Collecte BOAMP : 20 avis reçus" in proc.stderr
    assert "\r" not in proc.stderr  # no counter line rewritten in place in a log
    assert "Collecte BOAMP — OK" in proc.stdout  # the summary at the end
    assert "CrawlReport(" not in proc.stderr  # no Python repr for a person


def test_quiet_crawl_prints_nothing_when_all_went_well(tmp_path: Path) -> None:
    from tests.conftest import cli_env, run_cli

    env = cli_env(tmp_path, TENDERWATCH_PROGRESS_EVERY="10")
    proc = run_cli(["-q", "crawl", "--replay"], env)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout == "" and proc.stderr == ""
