"""End-to-end DECP crawls: ``tenderwatch crawl decp`` (real spider, pipeline and store, in a
subprocess) against the local replay of the Opendatasoft ``decp-2022-marches-valides`` API.

The replay serves tests/fixtures/decp (see its PROVENANCE.md): contracts written in the
dataset's tabular shape, the schema's fictitious examples and two real files; the malformed
records below are written here and say so.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from urllib.parse import parse_qs, urlparse

from tenderwatch.replay import ReplayData, ReplayFaults, ReplayServer
from tenderwatch.replay.server import DECP_PATH
from tests.conftest import FIXTURES, cli_env, run_cli

# Written for these tests: a row without id nor buyer (the spider cannot key it) and a row
# without object (the normaliser refuses it).
NO_ID = '{"objet":"Ligne sans identifiant","datepublicationdonnees":"2026-11-25"}'
NO_OBJECT = (
    '{"id":"BAD-1","acheteur_id":"21690123100011","datepublicationdonnees":"2026-11-25",'
    '"titulaire_id_1":"CDL"}'
)


def data(*extra: str) -> ReplayData:
    loaded = ReplayData.load(FIXTURES)
    loaded.decp_records.extend(extra)
    return loaded


def rows(tmp_path: Path, sql: str) -> list[tuple]:
    with sqlite3.connect(tmp_path / "cli.db") as conn:
        return conn.execute(sql).fetchall()


def crawl(tmp_path: Path, server: ReplayServer, *args: str, env: dict[str, str] | None = None):
    return run_cli(
        ["crawl", "decp", "--base-url", server.decp_base_url, *args], env or cli_env(tmp_path)
    )


def test_paged_sliced_with_malformed_records_skipped_and_counted(tmp_path: Path) -> None:
    served = data(NO_ID, NO_OBJECT)  # 8 contracts of 2026-11-23…27 + 2 malformed rows
    env = cli_env(tmp_path, TENDERWATCH_DECP_PAGE_SIZE="2", TENDERWATCH_DECP_MAX_OFFSET="4")
    with ReplayServer(served, max_offset=4) as server:
        result = crawl(
            tmp_path, server, "--from-date", "2026-01-01", "--until-date", "2026-11-30", env=env
        )
        pages = [r["path"] for r in server.requests if r["path"].startswith(DECP_PATH)]
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Collecte DECP — OK" in result.stdout
    # Paging: never more than 2 a page, never past the 4-offset cap; slicing: the window
    # was cut into sub-ranges until each fits.
    queries = [parse_qs(urlparse(p).query) for p in pages]
    assert all(int(q["limit"][0]) <= 2 for q in queries)
    assert all(int(q["offset"][0]) + int(q["limit"][0]) <= 4 for q in queries)
    assert all(q["order_by"] == ["datepublicationdonnees, acheteur_id, id"] for q in queries)
    assert len({q["where"][0] for q in queries}) > 3
    assert any(int(q["offset"][0]) == 2 for q in queries)  # a second page of a slice
    (announced, fetched, new, skipped, shortfall, errors, reasons) = rows(
        tmp_path,
        "SELECT announced, fetched, new, skipped, shortfall, errors, skip_reasons FROM crawls",
    )[0]
    # The row without id never reaches the pipeline; the one without object is kept raw.
    assert (announced, fetched, new, skipped, shortfall, errors) == (10, 9, 8, 2, 0, 0)
    assert json.loads(reasons) == {"missing_id": 1, "missing_field": 1}
    assert rows(
        tmp_path, "SELECT source_id, parse_error FROM raw_notices WHERE parse_error IS NOT NULL"
    ) == [("21690123100011-BAD-1", "missing_field: missing_field: objet")]


def test_a_day_beyond_the_cap_is_an_error_and_a_shortfall(tmp_path: Path) -> None:
    """17 real contracts share 2024-10-06: a single day cannot be sliced further."""
    env = cli_env(tmp_path, TENDERWATCH_DECP_PAGE_SIZE="2", TENDERWATCH_DECP_MAX_OFFSET="4")
    with ReplayServer(data(), max_offset=4) as server:
        result = crawl(
            tmp_path, server, "--from-date", "2024-10-01", "--until-date", "2024-10-31", env=env
        )
    assert result.returncode == 1
    assert "17 marchés le 2024-10-06, au-delà des 4" in result.stdout
    assert rows(tmp_path, "SELECT announced, fetched, shortfall, errors FROM crawls") == [
        (17, 4, 13, 1)
    ]


def test_everything_harvested_when_no_day_exceeds_the_cap(tmp_path: Path) -> None:
    served = data(NO_ID, NO_OBJECT)
    env = cli_env(tmp_path, TENDERWATCH_DECP_PAGE_SIZE="2", TENDERWATCH_DECP_MAX_OFFSET="20")
    with ReplayServer(served, max_offset=20) as server:
        result = crawl(
            tmp_path, server, "--from-date", "2024-01-01", "--until-date", "2026-11-30", env=env
        )
    assert result.returncode == 0, result.stdout + result.stderr
    assert rows(tmp_path, "SELECT announced, fetched, new, skipped, shortfall FROM crawls") == [
        (30, 29, 28, 2, 0)
    ]
    # What L3 links awards with: buyer SIRET, CPV, winners with SIRET, date and value per lot.
    notice = rows(
        tmp_path,
        "SELECT n.nature, n.buyer_siret, n.cpv, n.published, l.lot_id, l.winners, l.winner_ids,"
        " l.award_date, l.awarded_value FROM notices n JOIN lots l ON l.notice_id = n.id"
        " WHERE n.id = 'decp:21690123100011-2026-0042-LOT2'",
    )
    assert notice == [
        (
            "award",
            "21690123100011",
            '["45421000"]',
            "2026-10-02",
            "2",
            '["MENUISERIES DU RHONE"]',
            '["38012986600047"]',
            "2026-10-02",
            184500.0,
        )
    ]


def test_shortfall_is_reported_and_fails_the_command(tmp_path: Path) -> None:
    with ReplayServer(data(), faults=ReplayFaults(decp_extra_total=3)) as server:
        result = crawl(tmp_path, server, "--from-date", "2026-11-01", "--until-date", "2026-11-30")
    assert result.returncode == 1
    assert "INCOMPLET" in result.stdout and "3 avis annoncés manquent" in result.stdout
    assert rows(tmp_path, "SELECT announced, fetched, shortfall, ok FROM crawls") == [(11, 8, 3, 0)]


def test_second_run_is_incremental_without_duplicates(tmp_path: Path) -> None:
    with ReplayServer(data()) as server:
        first = crawl(tmp_path, server, "--from-date", "2026-11-01", "--until-date", "2026-11-30")
        assert first.returncode == 0, first.stdout + first.stderr
        before = rows(tmp_path, "SELECT count(*), count(DISTINCT id) FROM notices")
        # No --from-date: restart 3 days (overlap) before the end of the last complete crawl.
        second = crawl(tmp_path, server, "--until-date", "2026-12-02")
        assert second.returncode == 0, second.stdout + second.stderr
    assert before == [(8, 8)]
    assert rows(tmp_path, "SELECT count(*), count(DISTINCT id) FROM notices") == before
    assert rows(
        tmp_path, "SELECT from_date, until_date, fetched, new, unchanged FROM crawls ORDER BY id"
    ) == [
        ("2026-11-01", "2026-11-30", 8, 8, 0),
        ("2026-11-27", "2026-12-02", 1, 0, 1),
    ]


def test_decp_is_off_by_default_but_crawlable_by_name(tmp_path: Path) -> None:
    from tenderwatch.core.settings import load_settings

    settings = load_settings(env={})
    assert settings.decp.enabled is False
    assert "decp-2022-marches-valides" in settings.decp.base_url
    env = cli_env(tmp_path, TENDERWATCH_DECP_ENABLED="true")
    assert load_settings(env=env).decp.enabled is True
    toml = tmp_path / "tw.toml"
    toml.write_text("[sources.decp]\nenabled = true\npage_size = 50\n", encoding="utf-8")
    from_file = load_settings(toml, env={})
    assert (from_file.decp.enabled, from_file.decp.page_size) == (True, 50)
    # `crawl decp` is a documented choice of the command.
    result = run_cli(["crawl", "--help"], cli_env(tmp_path))
    assert "decp" in result.stdout


def test_two_rows_of_one_contract_are_both_received_and_the_last_kept(tmp_path: Path) -> None:
    """The consolidation may give a contract on several rows (one per modification): each row
    is a distinct payload, not a duplicate page item; the notice keeps the last."""
    served = data()
    first = json.loads(served.decp_records[0])
    assert first["id"] == "2026-0042-LOT2"
    later = dict(first, montant=199000.0, id="2026-0042-LOT2")
    served.decp_records.append(json.dumps(later, ensure_ascii=False, separators=(",", ":")))
    with ReplayServer(served) as server:
        result = crawl(tmp_path, server, "--from-date", "2026-11-23", "--until-date", "2026-11-23")
    assert result.returncode == 0, result.stdout + result.stderr
    assert rows(tmp_path, "SELECT announced, fetched, new, updated, shortfall FROM crawls") == [
        (3, 3, 2, 1, 0)
    ]
    assert rows(
        tmp_path,
        "SELECT count(*) FROM raw_notices WHERE source_id = '21690123100011-2026-0042-LOT2'",
    ) == [(2,)]
