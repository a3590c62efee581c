"""The observatory's figures against values computed by hand from the fixture's table
(tests/observatory/conftest.py), its filters, its CSV (CLI and HTTP) and its pages."""

from __future__ import annotations

import csv
import io
import re
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest

from tenderwatch.classifier.labels import SOCIAL_LABELS
from tenderwatch.core.observatory import (
    CLAUSE_PREFIXES,
    OBSERVED_LABELS,
    TABLES,
    FilterError,
    Filters,
    compute,
    summary,
)
from tenderwatch.core.store import Store
from tenderwatch.stats import build_filters

from ..conftest import ROOT, cli_env
from .conftest import HOSTILE, LYON, NORD, VALENCE


def _db(path: str):
    return Store(path, migrate=False).db


def test_observed_labels_are_the_classifiers():
    assert OBSERVED_LABELS == SOCIAL_LABELS
    # "has a clause" is read from these prefixes: every social label has one, allotted none.
    assert all(label.startswith(CLAUSE_PREFIXES) for label in SOCIAL_LABELS)
    assert not "allotted".startswith(CLAUSE_PREFIXES)


def test_migration_adds_the_observatory_index(obs_db):
    store = Store(obs_db)
    assert "0500_observatory_indexes" in store.applied_migrations()
    assert "idx_classifications_observatory" in {
        i.name for i in store.db["classifications"].indexes
    }
    assert "idx_notices_observatory" in {i.name for i in store.db["notices"].indexes}


def test_figures_computed_by_hand(obs_db):
    db = _db(obs_db)
    everything = Filters()
    data = summary(db, everything)
    # 11 calls for tenders in scope (the TED copy, the award and the corrigendum are out),
    # n11 unclassified; n1 read through its newest run, n4 through the run before the error.
    assert (data["notices"], data["classified"], data["with_clause"]) == (11, 10, 5)
    assert (data["hours"], data["with_hours"]) == (670, 3)
    by_label = {r["label"]: (r["avis"], r["part"]) for r in compute(db, "clauses", everything)}
    assert by_label == {
        "any": (5, 50.0),
        "insertion_clause": (3, 30.0),
        "insertion_criterion": (1, 10.0),
        "reserved_siae": (1, 10.0),
        "reserved_disability": (1, 10.0),
        "insertion_contract": (0, 0.0),
        "reserved_other": (1, 10.0),
    }
    reserved = {r["type"]: (r["avis"], r["lots"]) for r in compute(db, "reserves", everything)}
    assert reserved == {"SIAE": (1, 1), "EA/ESAT": (1, 2), "ESS/autre": (1, 1)}
    assert compute(db, "heures", everything) == [
        {"heures": 670, "avis_avec_heures": 3, "moyenne": 223}
    ]
    top = compute(db, "acheteurs", everything)
    # Valence: 4 notices (one written in capitals, same SIRET), 3 classified, 3 with a clause.
    assert [(r["siret"], r["avis"], r["avec_clause"], r["part"]) for r in top] == [
        (VALENCE, 4, 3, 100.0),
        (LYON, 3, 1, 33.3),
        (None, 1, 1, 100.0),
    ]
    assert top[2]["acheteur"] == HOSTILE
    assert compute(db, "acheteurs", everything, limit=1)[0]["siret"] == VALENCE
    never = compute(db, "sans_clause", everything, min_notices=3)
    assert [(r["siret"], r["avis_classes"]) for r in never] == [(NORD, 3)]
    assert compute(db, "sans_clause", everything, min_notices=4) == []
    trend = compute(db, "tendance", everything)
    assert [(r["mois"], r["avis"], r["classes"], r["avec_clause"], r["part"]) for r in trend] == [
        ("2026-01", 2, 2, 2, 100.0),
        ("2026-02", 3, 3, 1, 33.3),
        ("2026-03", 6, 5, 2, 40.0),
    ]


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        # Auvergne-Rhône-Alpes: 26, 07, 69 → n1-n5, n9, n10, n11.
        ({"region": "Auvergne-Rhône-Alpes"}, (8, 7, 5)),
        ({"region": "84"}, (8, 7, 5)),
        ({"departement": "59"}, (3, 3, 0)),
        ({"departement": "Drôme"}, (4, 3, 3)),
        ({"region": "ara", "departement": "69"}, (3, 3, 1)),
        ({"cpv": "45"}, (4, 4, 0)),
        ({"cpv": "45000000"}, (4, 4, 0)),
        ({"buyer": "valence"}, (4, 3, 3)),
        ({"buyer": LYON}, (3, 3, 1)),
        # n5 is published 2026-02-28T10:00: the last day is included.
        ({"date_from": "2026-02-01", "date_until": "2026-02-28"}, (3, 3, 1)),
        ({"date_from": "2026-03-20"}, (3, 2, 2)),
    ],
)
def test_filters(obs_db, kwargs, expected):
    data = summary(_db(obs_db), build_filters(**kwargs))
    assert (data["notices"], data["classified"], data["with_clause"]) == expected


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"region": "Atlantide"}, "région inconnue"),
        ({"departement": "999"}, "département inconnu"),
        ({"region": "Bretagne", "departement": "26"}, "n'est pas dans la région"),
        ({"cpv": "4x"}, "division CPV invalide"),
        ({"date_from": "01/02/2026"}, "date de début invalide"),
    ],
)
def test_bad_filters_are_refused_in_french(kwargs, message):
    with pytest.raises(FilterError, match=message):
        build_filters(**kwargs)


def test_stats_command_prints_and_writes_csv(obs_db, tmp_path):
    out = tmp_path / "csv"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "tenderwatch",
            "stats",
            "--db",
            obs_db,
            "--csv",
            str(out),
            "--min-notices",
            "3",
            "--region",
            "ARA",
        ],
        env=cli_env(tmp_path),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    text = result.stdout
    assert "région Auvergne-Rhône-Alpes" in text
    assert "Avis de marché : 8 ; classés : 7" in text
    assert re.search(r"Au moins une clause sociale\s+5\s+71,4", text)
    assert re.search(r"EA/ESAT\s+1\s+2", text)
    # Round trip: every CSV read back equals the figures, the hostile name kept as text.
    db = _db(obs_db)
    filters = build_filters(region="ARA")
    for name, table in TABLES.items():
        with (out / f"{name}.csv").open(encoding="utf-8", newline="") as stream:
            rows = list(csv.reader(stream))
        assert rows[0] == [header for _k, header in table.columns]
        expected = compute(db, name, filters, min_notices=3)
        assert len(rows) - 1 == len(expected), name
        for got, want in zip(rows[1:], expected, strict=True):
            for cell, (key, _h) in zip(got, table.columns, strict=True):
                value = want[key]
                if value is None:
                    assert cell == ""
                elif isinstance(value, str) and value.startswith("="):
                    assert cell == "'" + value  # never run as a formula by a spreadsheet
                else:
                    assert cell == str(value), (name, key)
    never = list(csv.reader((out / "sans_clause.csv").open(encoding="utf-8")))
    assert never[1:] == []  # Nord is not in the région


def test_stats_command_refuses_an_unknown_region(obs_db, tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "tenderwatch", "stats", "--db", obs_db, "--region", "Atlantide"],
        env=cli_env(tmp_path),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert "région inconnue : « Atlantide »" in result.stderr


# -- the pages ------------------------------------------------------------------------------


def test_pages_need_a_signed_in_member(obs_app):
    client = obs_app.test_client()
    for path in (
        "/observatoire/",
        "/observatoire/acheteurs",
        "/observatoire/?format=csv&tableau=clauses",
    ):
        response = client.get(path)
        assert response.status_code == 302
        assert "/connexion" in response.headers["Location"]


def test_overview_page_shows_the_figures_with_charts_and_tables(member):
    page = member.get("/observatoire/?region=84").get_data(as_text=True)
    assert "8 avis de marché (région Auvergne-Rhône-Alpes), dont 7 classés et 5 avec" in page
    table = page[page.index('id="table-clauses"') :]
    assert re.search(
        r"<td>Au moins une clause sociale</td><td class=\"num\">5</td>"
        r"<td class=\"num\">71,4</td>",
        table,
    )
    svgs = re.findall(r"<svg .*?</svg>", page, re.S)
    assert len(svgs) == 3
    for svg in svgs:
        root = ET.fromstring(svg)  # well-formed XML
        ns = "{http://www.w3.org/2000/svg}"
        assert root.get("role") == "img"
        assert root.find(f"{ns}title").text
    clauses = ET.fromstring(svgs[0])
    widths = [float(r.get("width")) for r in clauses.iter("{http://www.w3.org/2000/svg}rect")]
    # The longest bar (71.4 %) fills the 330 px bar area; 42.9 % and 14.3 % in proportion.
    assert widths == [330.0, 198.3, 66.1, 66.1, 66.1, 0.0, 66.1]
    trend = ET.fromstring(svgs[2])
    assert len(list(trend.iter("{http://www.w3.org/2000/svg}circle"))) == 3


def test_csv_of_every_table_over_http_round_trips(member, obs_db):
    db = _db(obs_db)
    filters = build_filters(cpv="90")
    for page, names in (
        ("/observatoire/", ("clauses", "reserves", "heures", "tendance")),
        ("/observatoire/acheteurs", ("acheteurs", "sans_clause")),
    ):
        for name in names:
            response = member.get(f"{page}?format=csv&tableau={name}&cpv=90&min=1")
            assert response.status_code == 200
            assert response.mimetype == "text/csv"
            assert f"observatoire-{name}.csv" in response.headers["Content-Disposition"]
            rows = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
            expected = compute(db, name, filters, min_notices=1)
            assert rows[0] == [h for _k, h in TABLES[name].columns]
            assert len(rows) - 1 == len(expected)
    sans = member.get("/observatoire/acheteurs?format=csv&tableau=sans_clause&min=1&cpv=90")
    rows = list(csv.reader(io.StringIO(sans.get_data(as_text=True).lstrip("\ufeff"))))
    # CPV 90: Lyon's n3 has a clause; Nord's n7 has none.
    assert rows[1:] == [["Département du Nord", NORD, "1"]]
    assert member.get("/observatoire/?format=csv&tableau=acheteurs").status_code == 404


def test_hostile_buyer_names_are_escaped(member):
    page = member.get("/observatoire/acheteurs").get_data(as_text=True)
    assert "<script>alert" not in page and "<b>Cie</b>" not in page
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in page
    for svg in re.findall(r"<svg .*?</svg>", page, re.S):
        ET.fromstring(svg)
    csv_text = member.get("/observatoire/acheteurs?format=csv&tableau=acheteurs").get_data(
        as_text=True
    )
    assert "'=HYPERLINK" in csv_text


def test_bad_filter_is_a_french_400(member):
    response = member.get("/observatoire/?region=Atlantide")
    assert response.status_code == 400
    assert "région inconnue : « Atlantide »" in response.get_data(as_text=True)


def test_facts_follow_new_notices_and_reclassifications(obs_db):
    """The facts table is rebuilt when a notice is added or a classification rewritten in
    place, and only then."""
    from tenderwatch.core.observatory import refresh

    from .conftest import _classify, _notice

    store = Store(obs_db)
    db = store.db
    assert summary(db, Filters())["with_clause"] == 5
    assert refresh(db) is False  # nothing changed since
    _notice(store, "boamp:n14", "2026-03-29", "26", "90910000", "Ville de Valence", VALENCE)
    _classify(store, "boamp:n14", ["reserved_siae"], at="2026-04-02T00:00:00+00:00")
    data = summary(db, Filters())
    assert (data["notices"], data["with_clause"], data["reserved_siae"]) == (12, 6, 2)
    # n11 classified, then n10's classification rewritten in place (same key) without clause.
    _classify(store, "boamp:n11", ["insertion_clause"], hours=40, at="2026-04-03T00:00:00+00:00")
    db.execute(
        "UPDATE classifications SET positive = '', labels = '{}',"
        " classified_at = '2026-04-04T00:00:00+00:00' WHERE notice_id = 'boamp:n10'"
    )
    db.conn.commit()
    data = summary(db, Filters())
    assert (data["classified"], data["with_clause"], data["hours"]) == (12, 6, 710)
