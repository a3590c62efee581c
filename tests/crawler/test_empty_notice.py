"""A notice from which nothing could be read is a counted, reasoned skip, never an empty row.

Until R2.0.8 defence forms had a reader, they were stored with no title and no text as if they
had been read; any form the readers do not know would be stored the same way. ``normalise``
now refuses such a notice (``empty_notice``) and the pipeline keeps its bytes with the reason.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from tenderwatch.core.records import Notice, RawNotice
from tenderwatch.crawler.normalise import NormaliseError, check_readable, normalise
from tenderwatch.replay import ReplayData, ReplayServer
from tests.conftest import FIXTURES, cli_env, run_cli

# Well-formed TED_EXPORT documents with a publication number and a form nobody reads: an
# R2.0.9-style form with an unknown number, and an R2.0.8-style (FD_*) body holding only codes.
UNKNOWN_R209_FORM = (
    b'<?xml version="1.0" encoding="UTF-8"?>'
    b'<TED_EXPORT xmlns="http://publications.europa.eu/resource/schema/ted/R2.0.9/publication"'
    b' DOC_ID="000777-2021"><CODED_DATA_SECTION><REF_OJS><DATE_PUB>20210705</DATE_PUB></REF_OJS>'
    b"<NOTICE_DATA><NO_DOC_OJS>2021/S 127-000777</NO_DOC_OJS></NOTICE_DATA></CODED_DATA_SECTION>"
    b'<FORM_SECTION><F99_2014 CATEGORY="ORIGINAL" FORM="F99" LG="FR">'
    b'<LEGAL_BASIS VALUE="32014L0024"/><NEW_BLOCK><CODE VALUE="X"/></NEW_BLOCK>'
    b"</F99_2014></FORM_SECTION></TED_EXPORT>"
)
UNKNOWN_R208_FORM = (
    b'<TED_EXPORT DOC_ID="000778-2021"><CODED_DATA_SECTION><NOTICE_DATA>'
    b"<NO_DOC_OJS>2021/S 127-000778</NO_DOC_OJS></NOTICE_DATA></CODED_DATA_SECTION>"
    b'<FORM_SECTION><OTHER_DEFENCE CATEGORY="ORIGINAL" FORM="19" LG="FR">'
    b'<FD_OTHER_DEFENCE><TYPE_CONTRACT VALUE="WORKS"/></FD_OTHER_DEFENCE>'
    b"</OTHER_DEFENCE></FORM_SECTION></TED_EXPORT>"
)


def raw(body: bytes, source: str = "ted", source_id: str = "777-2021") -> RawNotice:
    return RawNotice(source, source_id, "http://127.0.0.1/", "application/xml", body)


@pytest.mark.parametrize(
    "body", [UNKNOWN_R209_FORM, UNKNOWN_R208_FORM], ids=["r209-layout", "r208-layout"]
)
def test_unknown_ted_form_with_nothing_readable_is_refused(body: bytes) -> None:
    with pytest.raises(NormaliseError) as exc:
        normalise(raw(body))
    assert exc.value.reason == "empty_notice"


def test_the_reason_names_the_form() -> None:
    with pytest.raises(NormaliseError) as exc:
        normalise(raw(UNKNOWN_R209_FORM))
    assert str(exc.value) == "empty_notice: ted-r209/F99: no title and no text could be read"


def test_a_notice_with_a_title_only_is_kept() -> None:
    notice = Notice(id="ted:1-2021", source="ted", source_id="1-2021", form="x", title="Repas")
    assert check_readable(notice) is notice


def test_a_notice_with_text_only_is_kept() -> None:
    notice = Notice(id="ted:1-2021", source="ted", source_id="1-2021", form="x", text="Lot 1")
    assert check_readable(notice) is notice


def test_a_blank_title_and_text_are_empty() -> None:
    notice = Notice(id="ted:1-2021", source="ted", source_id="1-2021", form="x", title=" \n")
    with pytest.raises(NormaliseError):
        check_readable(notice)


# --- through the real pipeline: `tenderwatch crawl ted` against the local replay server -------


def ted_index_entry(number: str, day: int) -> dict:
    return {
        "publication-number": number,
        "publication-date": f"2021-07-{day:02d}+02:00",
        "notice-type": "cn-standard",
        "buyer-country": ["FRA"],
    }


@pytest.fixture(scope="module")
def crawled(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One crawl of a real defence notice and an unreadable form; returns the database."""
    tmp_path = tmp_path_factory.mktemp("empty-notice")
    data = ReplayData()
    data.ted_index = [ted_index_entry("29213-2021", 5), ted_index_entry("777-2021", 6)]
    data.ted_xml = {
        "29213-2021": (FIXTURES / "ted-r208-defence" / "029213-2021.xml").read_bytes(),
        "777-2021": UNKNOWN_R209_FORM,
    }
    with ReplayServer(data) as server:
        result = run_cli(
            [
                "crawl",
                "ted",
                "--base-url",
                server.ted_base_url,
                "--from-date",
                "2021-07-01",
                "--until-date",
                "2021-07-31",
            ],
            cli_env(tmp_path),
        )
    assert result.returncode == 0, result.stdout + result.stderr
    return tmp_path / "cli.db"


def rows(db: Path, sql: str) -> list[tuple]:
    with sqlite3.connect(db) as conn:
        return conn.execute(sql).fetchall()


def test_crawl_counts_the_empty_notice_as_skipped_with_its_reason(crawled: Path) -> None:
    reasons = json.loads(rows(crawled, "SELECT skip_reasons FROM crawls")[0][0])
    assert reasons == {"empty_notice": 1}


def test_crawl_stores_no_empty_row(crawled: Path) -> None:
    assert rows(crawled, "SELECT id FROM notices ORDER BY id") == [("ted:29213-2021",)]


def test_crawl_keeps_the_bytes_of_the_empty_notice(crawled: Path) -> None:
    kept = rows(crawled, "SELECT body FROM raw_notices WHERE source_id = '777-2021'")
    assert kept == [(UNKNOWN_R209_FORM,)]


def test_crawl_keeps_the_reason_beside_the_bytes(crawled: Path) -> None:
    error = rows(crawled, "SELECT parse_error FROM raw_notices WHERE source_id = '777-2021'")
    assert error[0][0].startswith("empty_notice") and "ted-r209/F99: no title" in error[0][0]


def test_crawl_stores_the_defence_notice_with_its_title(crawled: Path) -> None:
    title = rows(crawled, "SELECT title FROM notices WHERE id = 'ted:29213-2021'")
    assert title == [("Réfection des installations des systèmes de sécurité incendie",)]
