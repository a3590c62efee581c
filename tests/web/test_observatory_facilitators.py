"""The clause facilitators in the observatory (issue #12): which facilitator covers which
buyers, on the page, in its CSV, on the buyers page and in ``tenderwatch stats``.

The database is built by hand; every expected figure below is computed by hand from it.

    id   published   dep  buyer                 labels               hours  facilitator
    f1   2026-01-10  26   Ville de Valence      insertion_clause     350    PLIE du Valentinois
    f2   2026-02-05  26   Valence Romans Agglo  insertion_clause     0      PLIE DU VALENTINOIS
    f3   2026-03-12  26   Ville de Valence      insertion_clause     120    PLIE du Valentinois
    f4   2026-02-20  69   Métropole de Lyon     insertion_criterion  200    Maison de l’emploi de Lyon
    f5   2026-03-01  07   Commune d'Annonay     insertion_clause     0      —
    f6   2026-03-15  26   Ville de Valence      — (no clause)        0      PLIE du Valentinois
    f7   2026-03-20  26   Commune de Crest      insertion_clause     0      a role, no organisation
    f8   2026-04-02  59   Département du Nord   insertion_clause     90     PLIE du Valentinois
    f9   2026-04-03  59   Ville de Lille        reserved_siae        0      PLIE de la Métropole lilloise
    ted  (TED copy of f1, canonical f1: not counted)

In Auvergne-Rhône-Alpes (26, 07, 69): 6 notices with a clause (f1-f5, f7), 5 name a
facilitator (f7 without organisation), f6 has no clause, f8 and f9 are in the Nord.
"""

from __future__ import annotations

import csv
import io
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tenderwatch.core.board import Board, WebSettings
from tenderwatch.core.observatory import Filters, compute, facilitators
from tenderwatch.core.store import Store
from tenderwatch.core.wording import FACILITATOR_KIND_FR
from tenderwatch.web import create_app
from tenderwatch.web.mail import ConsoleMailer

from ..conftest import ROOT, cli_env
from ..observatory.conftest import _classify as classify
from ..observatory.conftest import _notice as add_notice
from .conftest import sign_in

SECRET = "clé-de-test-facilitateurs-0123456789abcdef"
MEMBER = "membre@reseau.example"
VALENCE = "21260362000015"
AGGLO = "20001783500016"
LYON = "20004697700019"
PLIE = {"organisation": "PLIE du Valentinois", "kind": "plie", "name": "Mme Sophie Bernard"}
HOSTILE_ORG = '<script>alert("x")</script> PLIE'


def _notice(
    store: Store,
    nid: str,
    published: str,
    dep: str,
    buyer: str,
    siret: str | None,
    *,
    canonical: str | None = None,
) -> None:
    add_notice(store, nid, published, dep, "45000000", buyer, siret, canonical=canonical)


def _classify(
    store: Store,
    nid: str,
    labels: list[str],
    facilitator: dict[str, Any] | None,
    *,
    hours: int = 0,
    at: str = "2026-04-10T00:00:00+00:00",
) -> None:
    classify(store, nid, labels, hours=hours, at=at, facilitator=facilitator)


def _fac(organisation: str | None, kind: str | None) -> dict[str, Any]:
    return {
        "organisation": organisation,
        "kind": kind,
        "name": None,
        "phone": "04 75 00 00 00",
        "email": None,
        "quote": "…",
        "start": 0,
        "end": 1,
    }


def build(path: Path) -> str:
    store = Store(str(path))
    clause = ["insertion_clause"]
    rows = [
        ("boamp:f1", "2026-01-10", "26", "Ville de Valence", VALENCE, clause, PLIE, 350),
        (
            "boamp:f2",
            "2026-02-05",
            "26",
            "Valence Romans Agglo",
            AGGLO,
            clause,
            _fac("PLIE DU VALENTINOIS", "plie"),
            0,
        ),
        ("boamp:f3", "2026-03-12", "26", "Ville de Valence", VALENCE, clause, PLIE, 120),
        (
            "boamp:f4",
            "2026-02-20",
            "69",
            "Métropole de Lyon",
            LYON,
            ["insertion_criterion", "allotted"],
            _fac("Maison de l’emploi de Lyon", "maison_emploi"),
            200,
        ),
        ("boamp:f5", "2026-03-01", "07", "Commune d'Annonay", None, clause, None, 0),
        ("boamp:f6", "2026-03-15", "26", "Ville de Valence", VALENCE, [], PLIE, 0),
        ("boamp:f7", "2026-03-20", "26", "Commune de Crest", None, clause, _fac(None, None), 0),
        ("boamp:f8", "2026-04-02", "59", "Département du Nord", None, clause, PLIE, 90),
        (
            "boamp:f9",
            "2026-04-03",
            "59",
            "Ville de Lille",
            None,
            ["reserved_siae"],
            _fac("PLIE de la Métropole lilloise", "plie"),
            0,
        ),
    ]
    for nid, published, dep, buyer, siret, labels, facilitator, hours in rows:
        _notice(store, nid, published, dep, buyer, siret)
        _classify(store, nid, labels, facilitator, hours=hours)
    # The TED copy of f1 is the same notice: never counted twice.
    _notice(store, "ted:f1", "2026-01-11", "26", "Ville de Valence", VALENCE, canonical="boamp:f1")
    _classify(store, "ted:f1", clause, PLIE, hours=999)
    Board(store).upsert_member(email=MEMBER, name="Marie Réseau", group_id="reseau-ara")
    store.close()
    return str(path)


@pytest.fixture
def fac_db(tmp_path: Path) -> str:
    return build(tmp_path / "facilitateurs.db")


@pytest.fixture
def member(fac_db: str):
    app = create_app(fac_db, WebSettings(), secret_key=SECRET, mailer=ConsoleMailer(), testing=True)
    return sign_in(app, MEMBER)


def _csv(client, query: str) -> list[list[str]]:
    response = client.get(f"/observatoire/?format=csv&tableau=facilitateurs&{query}")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert 'filename="observatoire-facilitateurs.csv"' in response.headers["Content-Disposition"]
    return list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))


def _section(page: str) -> str:
    start = page.index('id="h-facilitateurs"')
    return page[start : page.index("</section>", start)]


HEADER = [
    "Organisation",
    "Type",
    "Avis avec clause",
    "Acheteurs",
    "Acheteurs couverts",
    "Heures d'insertion annoncées",
    "Dernier avis publié",
]


def test_kind_names_are_the_classifiers():
    from tenderwatch.classifier.facilitator import kind_label

    for kind, name in FACILITATOR_KIND_FR.items():
        assert kind_label(kind) == name


def test_figures_in_the_region(fac_db):
    db = Store(fac_db, migrate=False).db
    result = facilitators(db, Filters(departements=("26", "07", "69")))
    assert (result["avec_clause"], result["avec_facilitateur"], result["sans_organisation"]) == (
        6,
        5,
        1,
    )
    assert result["part"] == 83.3
    rows = [{**r, "acheteurs": str(r["acheteurs"])} for r in result["facilitateurs"]]
    assert rows == [
        {
            # written « PLIE du Valentinois » twice, « PLIE DU VALENTINOIS » once: one PLIE
            "organisation": "PLIE du Valentinois",
            "type": "PLIE",
            "avis": 3,
            "nb_acheteurs": 2,
            "acheteurs": "Ville de Valence, Valence Romans Agglo",
            "heures": 470,
            "dernier_avis": "2026-03-12",
        },
        {
            "organisation": "Maison de l’emploi de Lyon",
            "type": "Maison de l'emploi",
            "avis": 1,
            "nb_acheteurs": 1,
            "acheteurs": "Métropole de Lyon",
            "heures": 200,
            "dernier_avis": "2026-02-20",
        },
    ]


def test_overview_page_shows_the_facilitators_of_the_region(member):
    response = member.get("/observatoire/?region=84")
    assert response.status_code == 200
    section = _section(response.get_data(as_text=True))
    assert (
        "Sur 6 avis avec au moins une clause sociale, 5 nomment un facilitateur (83,3 %),"
        " dont 1 sans nommer son organisation." in section
    )
    assert '<table id="table-facilitateurs">' in section
    assert "<caption>Facilitateurs des clauses et acheteurs couverts" in section
    for header in HEADER:
        assert '<th scope="col">' + header.replace("'", "&#39;") + "</th>" in section
    body = section[section.index("<tbody>") :]
    cells = [
        re.findall(r"<td[^>]*>(.*?)</td>", tr, re.S)
        for tr in re.findall(r"<tr>.*?</tr>", body, re.S)
    ]
    assert cells == [
        [
            "PLIE du Valentinois",
            "PLIE",
            "3",
            "2",
            "Ville de Valence<br>Valence Romans Agglo",
            "470",
            "2026-03-12",
        ],
        [
            "Maison de l’emploi de Lyon",
            "Maison de l&#39;emploi",
            "1",
            "1",
            "Métropole de Lyon",
            "200",
            "2026-02-20",
        ],
    ]
    # The Nord's PLIE is outside the région; f6 names the PLIE but has no clause.
    assert "lilloise" not in section and "Nord" not in section


def test_csv_of_the_region_and_of_all_france(member):
    rows = _csv(member, "region=84")
    assert rows == [
        HEADER,
        [
            "PLIE du Valentinois",
            "PLIE",
            "3",
            "2",
            "Ville de Valence, Valence Romans Agglo",
            "470",
            "2026-03-12",
        ],
        [
            "Maison de l’emploi de Lyon",
            "Maison de l'emploi",
            "1",
            "1",
            "Métropole de Lyon",
            "200",
            "2026-02-20",
        ],
    ]
    # Without a territory the Nord counts: f8 adds a buyer and 90 hours to the same PLIE.
    rows = _csv(member, "")
    assert rows[1] == [
        "PLIE du Valentinois",
        "PLIE",
        "4",
        "3",
        "Ville de Valence, Département du Nord, Valence Romans Agglo",
        "560",
        "2026-04-02",
    ]
    assert [r[0] for r in rows[2:]] == [
        "Maison de l’emploi de Lyon",
        "PLIE de la Métropole lilloise",
    ]


def test_period_filter_and_unknown_hours(member, fac_db):
    rows = _csv(member, "region=84&du=2026-02-01&au=2026-02-28")
    # February: f2 (PLIE, no hours given: an empty cell, not 0) and f4.
    assert rows[1:] == [
        [
            "Maison de l’emploi de Lyon",
            "Maison de l'emploi",
            "1",
            "1",
            "Métropole de Lyon",
            "200",
            "2026-02-20",
        ],
        # the name as written in the notices counted: f2's capitals
        ["PLIE DU VALENTINOIS", "PLIE", "1", "1", "Valence Romans Agglo", "", "2026-02-05"],
    ]
    page = member.get("/observatoire/?region=84&du=2026-02-01&au=2026-02-28").get_data(as_text=True)
    assert (
        "Sur 2 avis avec au moins une clause sociale, 2 nomment un facilitateur (100,0 %)." in page
    )
    data = compute(
        Store(fac_db, migrate=False).db,
        "facilitateurs",
        Filters(date_from="2026-02-01", date_until="2026-02-28", departements=("26",)),
    )
    assert [(r["organisation"], r["heures"]) for r in data] == [("PLIE DU VALENTINOIS", None)]


def test_empty_state_sentence(member):
    page = member.get("/observatoire/?departement=07").get_data(as_text=True)
    section = _section(page)
    # Ardèche: f5 has a clause and names nobody.
    assert (
        "Sur 1 avis avec au moins une clause sociale, 0 nomme un facilitateur (0,0 %)." in section
    )
    assert "Aucun avis avec clause sociale ne nomme d'organisation facilitatrice" in section
    assert "<table" not in section
    assert _csv(member, "departement=07") == [HEADER]


def test_buyers_page_shows_each_buyers_facilitator(member):
    page = member.get("/observatoire/acheteurs?region=84").get_data(as_text=True)
    table = page[
        page.index('id="table-acheteurs"') : page.index(
            "</table>", page.index('id="table-acheteurs"')
        )
    ]
    assert '<th scope="col">Facilitateurs nommés</th>' in table
    rows = {
        cells[0]: cells[-1]
        for tr in re.findall(r"<tr>.*?</tr>", table, re.S)
        if (cells := re.findall(r"<td[^>]*>(.*?)</td>", tr, re.S))
    }
    assert rows == {
        "Ville de Valence": "PLIE du Valentinois",
        "Valence Romans Agglo": "PLIE du Valentinois",
        "Métropole de Lyon": "Maison de l’emploi de Lyon",
        "Commune d&#39;Annonay": "—",  # a clause, no facilitator: nothing is guessed
        "Commune de Crest": "—",  # a facilitator without organisation
    }
    response = member.get("/observatoire/acheteurs?format=csv&tableau=acheteurs&region=84")
    got = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    assert got[0][-1] == "Facilitateurs nommés"
    assert {r[0]: r[-1] for r in got[1:]}["Ville de Valence"] == "PLIE du Valentinois"


def test_many_buyers_are_capped_and_names_are_escaped(fac_db, member):
    store = Store(fac_db)
    hostile = _fac(HOSTILE_ORG, "plie")
    for i in range(1, 8):
        nid = f"boamp:i{i}"
        # Commune 7 gets a second notice below: most frequent first, then by name.
        _notice(store, nid, f"2026-03-0{i}", "38", f"Commune {i}", None)
        _classify(store, nid, ["insertion_clause"], hostile)
    _notice(store, "boamp:i8", "2026-03-09", "38", "Commune 7", None)
    _classify(store, "boamp:i8", ["insertion_clause"], _fac("=HYPERLINK(1)", None))
    _notice(store, "boamp:i9", "2026-03-09", "38", "Commune 7", None)
    _classify(store, "boamp:i9", ["insertion_clause"], hostile)
    store.close()
    page = member.get("/observatoire/?departement=38").get_data(as_text=True)
    section = _section(page)
    assert "<script>alert" not in page
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; PLIE" in section
    assert (
        "Commune 7<br>Commune 1<br>Commune 2<br>Commune 3<br>Commune 4<br>… et 2 autres" in section
    )
    rows = _csv(member, "departement=38")
    assert rows[1] == [
        HOSTILE_ORG,
        "PLIE",
        "8",
        "7",
        "Commune 7, Commune 1, Commune 2, Commune 3, Commune 4 … et 2 autres",
        "",
        "2026-03-09",
    ]
    # an organisation the sources wrote as a formula stays text in a spreadsheet
    assert rows[2][:4] == ["'=HYPERLINK(1)", "", "1", "1"]


def test_facts_follow_a_new_facilitator(fac_db):
    """A classification rewritten in place with a facilitator is counted at once."""
    store = Store(fac_db)
    db = store.db
    ara = Filters(departements=("26", "07", "69"))
    assert facilitators(db, ara)["avec_facilitateur"] == 5
    db.execute(
        "UPDATE classifications SET facilitator = ?, classified_at = '2026-04-11T00:00:00+00:00'"
        " WHERE notice_id = 'boamp:f5'",
        [json.dumps(_fac("Mission locale Nord-Ardèche", "mission_locale"))],
    )
    db.conn.commit()
    result = facilitators(db, ara)
    assert (result["avec_facilitateur"], result["part"]) == (6, 100.0)
    assert result["facilitateurs"][-1]["organisation"] == "Mission locale Nord-Ardèche"
    assert result["facilitateurs"][-1]["type"] == "Mission locale"
    store.close()


def test_stats_prints_the_facilitators(fac_db, tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "tenderwatch", "stats", "--db", fac_db, "--region", "84"],
        env=cli_env(tmp_path),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    text = result.stdout
    assert (
        "Avis avec clause nommant un facilitateur : 5 sur 6 (83,3 %),"
        " dont 1 sans organisation nommée" in text
    )
    block = text[text.index("Facilitateurs des clauses et acheteurs couverts") :]
    assert re.search(
        r"PLIE du Valentinois\s+PLIE\s+3\s+2\s+Ville de Valence, Valence Romans Agglo\s+470"
        r"\s+2026-03-12",
        block,
    )
    assert "lilloise" not in block


def test_page_shows_the_first_organisations_and_the_csv_all(member, monkeypatch):
    from tenderwatch.web import observatory as views

    monkeypatch.setattr(views, "FACILITATORS_SHOWN", 2)
    section = _section(member.get("/observatoire/").get_data(as_text=True))
    assert section.count("<tr>") == 3  # the header and two organisations
    assert "lilloise" not in section
    assert (
        "Les 2 organisations nommées dans le plus d'avis, sur 3 : le fichier CSV les donne"
        " toutes." in section
    )
    assert len(_csv(member, "")) == 1 + 3


def test_an_upgraded_database_rebuilds_its_facts(fac_db):
    """A database whose facts were built before migration 1000: the migration adds the
    columns and drops the fingerprint, so the next read counts the facilitators."""
    store = Store(fac_db)
    assert facilitators(store.db, Filters())["avec_facilitateur"] == 7
    db = store.db
    for column in ("facilitator", "facilitator_org", "facilitator_kind"):
        db.execute(f"ALTER TABLE observatory_facts DROP COLUMN {column}")
    db.execute("DELETE FROM _sqlite_migrations WHERE name = '1000_observatory_facilitator'")
    db.conn.commit()
    store.close()
    store = Store(fac_db)  # applies 1000 again, as on an upgrade
    assert "1000_observatory_facilitator" in store.applied_migrations()
    result = facilitators(store.db, Filters())
    assert (result["avec_clause"], result["avec_facilitateur"]) == (8, 7)
    assert result["facilitateurs"][0]["avis"] == 4
    store.close()
