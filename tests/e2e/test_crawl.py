"""End-to-end crawls: the real spiders, pipeline and store against the local replay server.

Each crawl runs ``tenderwatch crawl`` in a subprocess. The replay server serves real recorded
notices (tests/fixtures); where a test needs more days or a corrigendum, the records are
derived from the real ones in the test itself and say so.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from tenderwatch.replay import ReplayData, ReplayFaults, ReplayServer
from tenderwatch.replay.derive import derive_corrigendum, ted_form_of_boamp_eforms
from tests.conftest import FIXTURES, cli_env, run_cli

API_PAGE = FIXTURES / "boamp-api" / "boamp-where-date.json"
TED_FR = [
    FIXTURES / "ted-eforms" / "ted-rdf-mapping-eforms" / "2024-OJS017-00047522.xml",
    FIXTURES / "ted-eforms" / "ted-rdf-mapping-eforms" / "2024-OJS044-00129266.xml",
    FIXTURES / "ted-r209" / "19-090974-001-EXP.xml",
]
TED_ES = FIXTURES / "ted-eforms" / "ted-rdf-conversion-pipeline" / "262891-2023.xml"


def real_records() -> list[dict]:
    return json.loads(API_PAGE.read_text(encoding="utf-8"))["data"]["results"]


def dumps(record: dict) -> str:
    return json.dumps(record, ensure_ascii=False, separators=(",", ":"))


def spread_records(days: int, per_day: int) -> list[str]:
    """Real records re-dated over several days with new idwebs (derived for slicing tests)."""
    base = real_records()
    out = []
    for d in range(days):
        for k in range(per_day):
            record = dict(base[(d * per_day + k) % len(base)])
            record["idweb"] = f"26-9{d:02d}{k:02d}"
            record["dateparution"] = f"2026-03-{d + 1:02d}"
            out.append(dumps(record))
    return out


def db_rows(tmp_path: Path, sql: str) -> list[tuple]:
    with sqlite3.connect(tmp_path / "cli.db") as conn:
        return conn.execute(sql).fetchall()


def crawl(
    tmp_path: Path,
    server: ReplayServer,
    source: str,
    *extra: str,
    env: dict[str, str] | None = None,
    window: tuple[str, str] = ("2026-01-01", "2026-12-31"),
):
    base = server.boamp_base_url if source == "boamp" else server.ted_base_url
    args = [
        "crawl",
        source,
        "--base-url",
        base,
        "--from-date",
        window[0],
        "--until-date",
        window[1],
        *extra,
    ]
    return run_cli(args, env or cli_env(tmp_path))


def test_boamp_records_are_stored_byte_for_byte(tmp_path: Path) -> None:
    texts = [dumps(r) for r in real_records()]
    with ReplayServer(ReplayData(boamp_records=texts)) as server:
        result = crawl(tmp_path, server, "boamp")
    assert result.returncode == 0, result.stderr
    bodies = {row[0] for row in db_rows(tmp_path, "SELECT body FROM raw_notices")}
    assert bodies == {t.encode("utf-8") for t in texts}
    ids = {row[0] for row in db_rows(tmp_path, "SELECT id FROM notices")}
    assert ids == {f"boamp:{r['idweb']}" for r in real_records()}


def test_second_run_adds_nothing(tmp_path: Path) -> None:
    texts = [dumps(r) for r in real_records()]
    with ReplayServer(ReplayData(boamp_records=texts)) as server:
        first = crawl(tmp_path, server, "boamp")
        second = crawl(tmp_path, server, "boamp")
    assert first.returncode == second.returncode == 0
    reports = db_rows(tmp_path, "SELECT new, unchanged, fetched FROM crawls ORDER BY id")
    assert reports == [(5, 0, 5), (0, 5, 5)]
    assert db_rows(tmp_path, "SELECT count(*) FROM raw_notices") == [(5,)]
    assert db_rows(tmp_path, "SELECT count(*) FROM notices") == [(5,)]


def test_date_range_is_sliced_under_the_offset_cap(tmp_path: Path) -> None:
    texts = spread_records(days=6, per_day=2)
    env = cli_env(tmp_path, TENDERWATCH_BOAMP_MAX_OFFSET="4", TENDERWATCH_BOAMP_PAGE_SIZE="2")
    with ReplayServer(ReplayData(boamp_records=texts), max_offset=4) as server:
        result = crawl(tmp_path, server, "boamp", env=env, window=("2026-03-01", "2026-03-06"))
        wheres = [r["path"] for r in server.requests]
    assert result.returncode == 0, result.stdout + result.stderr
    assert db_rows(tmp_path, "SELECT count(*) FROM notices") == [(12,)]
    # The whole window (12 > 4) was refused for paging and cut into smaller slices.
    assert any("2026-03-01%27+AND+dateparution+%3C%3D+date%272026-03-03" in w for w in wheres)
    assert db_rows(tmp_path, "SELECT announced, shortfall FROM crawls") == [(12, 0)]


def test_page_failing_once_is_retried(tmp_path: Path) -> None:
    texts = [dumps(r) for r in real_records()]
    env = cli_env(tmp_path, TENDERWATCH_BOAMP_PAGE_SIZE="2")
    faults = ReplayFaults(fail_once=["offset=2"])
    with ReplayServer(ReplayData(boamp_records=texts), faults=faults) as server:
        result = crawl(tmp_path, server, "boamp", env=env)
        offset2 = [r for r in server.requests if "offset=2&" in r["path"]]
    assert result.returncode == 0, result.stdout + result.stderr
    assert len(offset2) == 2  # the failure, then the retry
    assert db_rows(tmp_path, "SELECT count(*) FROM notices") == [(5,)]


def test_shortfall_is_recorded_and_fails_the_command(tmp_path: Path) -> None:
    texts = [dumps(r) for r in real_records()]
    faults = ReplayFaults(boamp_extra_total=3)
    with ReplayServer(ReplayData(boamp_records=texts), faults=faults) as server:
        result = crawl(tmp_path, server, "boamp")
    assert result.returncode == 1
    assert "manquants                3" in result.stdout
    assert db_rows(tmp_path, "SELECT announced, fetched, shortfall, ok FROM crawls") == [
        (8, 5, 3, 0)
    ]
    assert db_rows(tmp_path, "SELECT count(*) FROM notices") == [(5,)]


def test_page_failing_for_good_is_reported_and_the_rest_kept(tmp_path: Path) -> None:
    texts = [dumps(r) for r in real_records()]
    env = cli_env(tmp_path, TENDERWATCH_BOAMP_PAGE_SIZE="2", TENDERWATCH_CRAWL_RETRY_TIMES="1")
    faults = ReplayFaults(always_fail=["offset=2"])
    with ReplayServer(ReplayData(boamp_records=texts), faults=faults) as server:
        result = crawl(tmp_path, server, "boamp", env=env)
    assert result.returncode == 1
    assert db_rows(tmp_path, "SELECT errors, shortfall FROM crawls") == [(1, 2)]
    assert db_rows(tmp_path, "SELECT count(*) FROM notices") == [(3,)]
    assert "HTTP 500" in result.stdout


def test_malformed_page_is_an_error_not_a_crash(tmp_path: Path) -> None:
    texts = [dumps(r) for r in real_records()]
    env = cli_env(tmp_path, TENDERWATCH_BOAMP_PAGE_SIZE="2")
    faults = ReplayFaults(malformed=["offset=4"])
    with ReplayServer(ReplayData(boamp_records=texts), faults=faults) as server:
        result = crawl(tmp_path, server, "boamp", env=env)
    assert result.returncode == 1
    assert db_rows(tmp_path, "SELECT count(*) FROM notices") == [(4,)]
    assert "illisible" in result.stdout


def test_malformed_notice_is_skipped_and_kept_raw(tmp_path: Path) -> None:
    records = real_records()
    broken = dict(records[0], idweb="26-9999", donnees="{pas du json")
    texts = [dumps(r) for r in records] + [dumps(broken)]
    with ReplayServer(ReplayData(boamp_records=texts)) as server:
        result = crawl(tmp_path, server, "boamp")
    assert result.returncode == 0, result.stdout + result.stderr
    assert db_rows(tmp_path, "SELECT count(*) FROM notices") == [(5,)]
    errors = db_rows(
        tmp_path, "SELECT source_id, parse_error FROM raw_notices WHERE parse_error IS NOT NULL"
    )
    assert errors[0][0] == "26-9999" and errors[0][1].startswith("malformed_json")
    assert db_rows(tmp_path, "SELECT skipped FROM crawls") == [(1,)]


def test_a_failed_crawl_loses_nothing_already_stored(tmp_path: Path) -> None:
    texts = [dumps(r) for r in real_records()]
    with ReplayServer(ReplayData(boamp_records=texts)) as server:
        assert crawl(tmp_path, server, "boamp").returncode == 0
    before = db_rows(tmp_path, "SELECT id, title, text FROM notices ORDER BY id")
    env = cli_env(tmp_path, TENDERWATCH_CRAWL_RETRY_TIMES="1")
    with ReplayServer(
        ReplayData(boamp_records=texts), faults=ReplayFaults(always_fail=["/records"])
    ) as server:
        assert crawl(tmp_path, server, "boamp", env=env).returncode == 1
    assert db_rows(tmp_path, "SELECT id, title, text FROM notices ORDER BY id") == before


def test_user_agent_names_the_project_and_the_contact(tmp_path: Path) -> None:
    with ReplayServer(ReplayData(boamp_records=[dumps(real_records()[0])])) as server:
        crawl(tmp_path, server, "boamp")
        agents = {r["user_agent"] for r in server.requests}
    assert len(agents) == 1
    agent = agents.pop()
    assert agent.startswith("tenderwatch/") and "veille-tests@example.org" in agent


def ted_data(paths: list[Path], country: str = "FRA") -> ReplayData:
    data = ReplayData()
    for i, path in enumerate(paths):
        number = f"{100000 + i}-2024"
        data.ted_index.append(
            {
                "publication-number": number,
                "publication-date": f"2024-01-{i + 10:02d}+01:00",
                "notice-type": "cn-standard",
                "buyer-country": [country],
            }
        )
        data.ted_xml[number] = path.read_bytes()
    return data


def test_ted_crawl_pages_with_tokens_and_keeps_xml_bytes(tmp_path: Path) -> None:
    data = ted_data(TED_FR)
    spanish = ted_data([TED_ES], country="ESP")
    data.ted_index += [dict(e, **{"publication-number": "999999-2024"}) for e in spanish.ted_index]
    data.ted_xml["999999-2024"] = TED_ES.read_bytes()
    env = cli_env(tmp_path, TENDERWATCH_TED_PAGE_SIZE="2")
    faults = ReplayFaults(throttle_once=["/en/notice/100001-2024/xml"])
    with ReplayServer(data, faults=faults) as server:
        result = crawl(tmp_path, server, "ted", env=env, window=("2024-01-01", "2024-01-31"))
        searches = [r for r in server.requests if r["path"] == "/v3/notices/search"]
    assert result.returncode == 0, result.stdout + result.stderr
    assert len(searches) == 2  # 3 French notices, 2 per page
    assert json.loads(searches[1]["body"])["iterationNextToken"]
    stored = dict(db_rows(tmp_path, "SELECT source_id, body FROM raw_notices"))
    assert set(stored) == {"100000-2024", "100001-2024", "100002-2024"}  # no Spanish buyer
    assert stored["100002-2024"] == TED_FR[2].read_bytes()


def test_hostile_xml_is_skipped_with_its_reason(tmp_path: Path) -> None:
    bomb = (
        b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]>'
        b"<ContractNotice>&b;</ContractNotice>"
    )
    data = ted_data(TED_FR[:1])
    data.ted_index.append(
        {
            "publication-number": "666666-2024",
            "publication-date": "2024-01-20+01:00",
            "buyer-country": ["FRA"],
        }
    )
    data.ted_xml["666666-2024"] = bomb
    with ReplayServer(data) as server:
        result = crawl(tmp_path, server, "ted", window=("2024-01-01", "2024-01-31"))
    assert result.returncode == 0, result.stdout + result.stderr
    assert db_rows(tmp_path, "SELECT count(*) FROM notices") == [(1,)]
    reasons = json.loads(db_rows(tmp_path, "SELECT skip_reasons FROM crawls")[0][0])
    assert reasons == {"xml_entities": 1}


def test_corrigendum_moves_the_procedure_deadline(tmp_path: Path) -> None:
    initial = next(r for r in real_records() if r["idweb"] == "26-7298")
    corrigendum = derive_corrigendum(
        initial, idweb="26-9100", published="2026-01-28", deadline="2026-02-23T12:00:00+01:00"
    )
    texts = [dumps(initial), dumps(corrigendum)]
    with ReplayServer(ReplayData(boamp_records=texts)) as server:
        result = crawl(tmp_path, server, "boamp")
    assert result.returncode == 0, result.stdout + result.stderr
    procs = db_rows(
        tmp_path, "SELECT procedure_id FROM notices WHERE id IN ('boamp:26-7298', 'boamp:26-9100')"
    )
    assert len({p[0] for p in procs}) == 1
    deadline, history = db_rows(tmp_path, "SELECT deadline, deadline_history FROM procedures")[0]
    assert deadline.startswith("2026-02-23")
    assert len(json.loads(history)) == 2


def test_notice_on_boamp_and_ted_is_linked_as_one(tmp_path: Path) -> None:
    from tenderwatch.crawler.normalise.boamp import boamp_xml_to_record

    boamp_xml = (FIXTURES / "boamp-xml-v3" / "26-87466.xml").read_bytes()
    record = boamp_xml_to_record(boamp_xml)
    # The TED publication of the same eForms notice (derived for this test).
    ted_xml = ted_form_of_boamp_eforms(boamp_xml)
    data = ReplayData(boamp_records=[dumps(record)])
    data.ted_index.append(
        {
            "publication-number": "700001-2026",
            "buyer-country": ["FRA"],
            "publication-date": record["dateparution"] + "+02:00",
        }
    )
    data.ted_xml["700001-2026"] = ted_xml
    day = record["dateparution"]
    with ReplayServer(data) as server:
        for source in ("ted", "boamp"):
            result = crawl(tmp_path, server, source, window=(day, day))
            assert result.returncode == 0, result.stdout + result.stderr
    rows = dict(db_rows(tmp_path, "SELECT id, canonical_id FROM notices"))
    boamp_id = f"boamp:{record['idweb']}"
    assert rows == {boamp_id: boamp_id, "ted:700001-2026": boamp_id}
    assert len(db_rows(tmp_path, "SELECT DISTINCT procedure_id FROM notices")) == 1


def test_bundled_replay_harvests_both_sources_once(tmp_path: Path) -> None:
    env = cli_env(tmp_path)
    first = run_cli(["crawl", "--replay"], env)
    assert first.returncode == 0, first.stdout + first.stderr
    second = run_cli(["crawl", "--replay"], env)
    assert second.returncode == 0, second.stdout + second.stderr
    per_source = dict(db_rows(tmp_path, "SELECT source, count(*) FROM notices GROUP BY source"))
    bundled = ReplayData.load()
    assert per_source["boamp"] == len(bundled.boamp_records)
    assert per_source["ted"] == len(bundled.ted_index)
    assert db_rows(tmp_path, "SELECT sum(new) FROM crawls WHERE id > 2") == [(0,)]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["crawl", "boamp", "--from-date", "2026-02-01", "--until-date", "2026-01-01"],
            "--from-date est après",
        ),
        (["crawl", "boamp", "--from-date", "01/02/2026"], "--from-date"),
        (["crawl", "--base-url", "http://127.0.0.1:9"], "une seule source"),
    ],
)
def test_bad_arguments_are_usage_errors(tmp_path: Path, args: list[str], message: str) -> None:
    result = run_cli(args, cli_env(tmp_path))
    assert result.returncode == 2
    assert message in result.stderr


def test_broken_config_is_a_clear_error(tmp_path: Path) -> None:
    config = tmp_path / "bad.toml"
    config.write_text("[sources.boamp]\npage_size = 'cent'\n", encoding="utf-8")
    result = run_cli(["crawl", "--config", str(config)], cli_env(tmp_path))
    assert result.returncode == 1
    assert "page_size" in result.stderr and "bad.toml" in result.stderr


def test_a_page_that_times_out_once_is_retried(tmp_path: Path) -> None:
    texts = [dumps(r) for r in real_records()]
    env = cli_env(tmp_path, TENDERWATCH_CRAWL_DOWNLOAD_TIMEOUT="1")
    faults = ReplayFaults(slow_once=["offset=0"], slow_seconds=3)
    with ReplayServer(ReplayData(boamp_records=texts), faults=faults) as server:
        result = crawl(tmp_path, server, "boamp", env=env)
        first_pages = [r for r in server.requests if "offset=0&" in r["path"]]
    assert result.returncode == 0, result.stdout + result.stderr
    assert len(first_pages) == 2
    assert db_rows(tmp_path, "SELECT count(*) FROM notices") == [(5,)]


def test_default_window_restarts_two_days_before_the_newest_stored_notice(tmp_path: Path) -> None:
    texts = [dumps(r) for r in real_records()]  # all published 2026-01-21
    with ReplayServer(ReplayData(boamp_records=texts)) as server:
        assert crawl(tmp_path, server, "boamp").returncode == 0
        result = run_cli(
            ["crawl", "boamp", "--base-url", server.boamp_base_url, "--until-date", "2026-01-31"],
            cli_env(tmp_path),
        )
        last = server.requests[-1]["path"]
    assert result.returncode == 0, result.stdout + result.stderr
    assert "date%272026-01-19%27" in last  # 2026-01-21 minus the 2-day overlap
    assert db_rows(
        tmp_path, "SELECT from_date, unchanged FROM crawls ORDER BY id DESC LIMIT 1"
    ) == [("2026-01-19", 5)]


def test_sample_stops_after_n_notices(tmp_path: Path) -> None:
    texts = spread_records(days=3, per_day=2)
    with ReplayServer(ReplayData(boamp_records=texts)) as server:
        result = crawl(
            tmp_path, server, "boamp", "--sample", "2", window=("2026-03-01", "2026-03-03")
        )
    assert result.returncode == 0, result.stdout + result.stderr
    # The newest two: a sample reads the end of the window.
    assert db_rows(tmp_path, "SELECT published FROM notices ORDER BY id") == [("2026-03-03",)] * 2
    assert db_rows(tmp_path, "SELECT announced, fetched, shortfall FROM crawls") == [(6, 2, 0)]


def test_unknown_form_family_is_skipped_with_its_reason(tmp_path: Path) -> None:
    records = real_records()
    odd = dict(records[0], idweb="26-9998", donnees=json.dumps({"NOUVEAU_FORMULAIRE": {"x": "y"}}))
    texts = [dumps(r) for r in records] + [dumps(odd)]
    with ReplayServer(ReplayData(boamp_records=texts)) as server:
        result = crawl(tmp_path, server, "boamp")
    assert result.returncode == 0, result.stdout + result.stderr
    assert json.loads(db_rows(tmp_path, "SELECT skip_reasons FROM crawls")[0][0]) == {
        "unknown_form_family": 1
    }
    assert db_rows(tmp_path, "SELECT count(*) FROM notices") == [(5,)]
