"""A small observatory database built by hand: 11 calls for tenders in scope (and three rows
that must not count), with known labels, départements, CPV, buyers, months and hours. The
expected figures in the tests are computed by hand from the table below, not by the code.

    id   published   dep cpv       buyer         labels (newest classification)      hours lots
    n1   2026-01-10  26  90910000  Valence       insertion_clause                    350
    n2   2026-01-20  26  77310000  Valence       insertion_clause, reserved_siae     200   L2 SIAE
    n3   2026-02-05  69  90910000  Lyon          reserved_disability                 0     L1, L2 EA
    n4   2026-02-15  69  45000000  Lyon          — (newer classification: error)
    n5   2026-02-28T10  69 45000000 Lyon         —
    n6   2026-03-03  59  45000000  Nord          —
    n7   2026-03-10  59  90910000  Nord          —
    n8   2026-03-12  59  45000000  Nord          —
    n9   2026-03-20  07  79000000  HOSTILE       insertion_criterion, reserved_other 120   L1 ESS
    n10  2026-03-25  26  90910000  Valence       insertion_clause                    0
    n11  2026-03-28  26  90910000  Valence       (not classified)
    out: ted:n1 (same notice on TED, canonical n1), n12 (award), n13 (corrigendum)
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tenderwatch.core.store import Store

VALENCE = "21260362000015"
LYON = "20004697700019"
NORD = "22590001700018"
#: A buyer name as hostile as a source could send: markup, a quote, a spreadsheet formula.
HOSTILE = '=HYPERLINK("http://x")<script>alert("x")</script> & <b>Cie</b>'


def _notice(
    store: Store,
    nid: str,
    published: str,
    dep: str,
    cpv: str,
    buyer: str,
    siret: str | None,
    *,
    nature: str = "call_for_tenders",
    canonical: str | None = None,
) -> None:
    source, source_id = nid.split(":", 1)
    store.db["notices"].insert(
        {
            "id": nid,
            "source": source,
            "source_id": source_id,
            "form": "test",
            "title": f"Avis {nid}",
            "nature": nature,
            "published": published,
            "buyer_name": buyer,
            "buyer_siret": siret,
            "departements": json.dumps([dep]),
            "cpv": json.dumps([cpv]),
            "canonical_id": canonical or nid,
        }
    )


def _classify(
    store: Store,
    nid: str,
    labels: list[str],
    *,
    hours: int = 0,
    lots: list[dict[str, Any]] | None = None,
    at: str = "2026-04-01T00:00:00+00:00",
    version: str = "v2",
    error: str | None = None,
    facilitator: dict[str, Any] | None = None,
) -> None:
    store.db["classifications"].insert(
        {
            "notice_id": nid,
            "model_version": version,
            "labels": json.dumps({lb: True for lb in labels}),
            "positive": ",".join(labels),
            "lots": json.dumps(lots or []),
            "insertion_hours": hours,
            "evidence": "[]",
            "conflicts": "[]",
            "error": error,
            "facilitator": json.dumps(facilitator) if facilitator else None,
            "classified_at": at,
        }
    )


def build(path: Path) -> str:
    store = Store(str(path))
    rows = [
        ("boamp:n1", "2026-01-10", "26", "90910000", "Ville de Valence", VALENCE),
        ("boamp:n2", "2026-01-20", "26", "77310000", "Ville de Valence", VALENCE),
        ("boamp:n3", "2026-02-05", "69", "90910000", "Métropole de Lyon", LYON),
        ("boamp:n4", "2026-02-15", "69", "45000000", "Métropole de Lyon", LYON),
        ("boamp:n5", "2026-02-28T10:00:00+01:00", "69", "45000000", "Métropole de Lyon", LYON),
        ("boamp:n6", "2026-03-03", "59", "45000000", "Département du Nord", NORD),
        ("boamp:n7", "2026-03-10", "59", "90910000", "Département du Nord", NORD),
        ("boamp:n8", "2026-03-12", "59", "45000000", "Département du Nord", NORD),
        ("boamp:n9", "2026-03-20", "07", "79000000", HOSTILE, None),
        ("boamp:n10", "2026-03-25", "26", "90910000", "VILLE DE VALENCE", VALENCE),
        ("boamp:n11", "2026-03-28", "26", "90910000", "Ville de Valence", VALENCE),
    ]
    for row in rows:
        _notice(store, *row)
    # Out of scope: the TED copy of n1, an award, a corrigendum — all with a clause.
    _notice(
        store,
        "ted:n1",
        "2026-01-11",
        "26",
        "90910000",
        "Ville de Valence",
        VALENCE,
        canonical="boamp:n1",
    )
    _notice(
        store,
        "boamp:n12",
        "2026-03-01",
        "26",
        "90910000",
        "Ville de Valence",
        VALENCE,
        nature="award",
    )
    _notice(
        store,
        "boamp:n13",
        "2026-03-02",
        "26",
        "90910000",
        "Ville de Valence",
        VALENCE,
        nature="corrigendum",
    )
    for nid in ("ted:n1", "boamp:n12", "boamp:n13"):
        _classify(store, nid, ["insertion_clause"], hours=999)

    # n1: an older model saw nothing; the newest classification counts.
    _classify(store, "boamp:n1", [], version="v1", at="2026-01-11T00:00:00+00:00")
    _classify(store, "boamp:n1", ["insertion_clause", "allotted"], hours=350)
    _classify(
        store,
        "boamp:n2",
        ["insertion_clause", "reserved_siae", "allotted"],
        hours=200,
        lots=[
            {"id": "1", "title": "Vitrerie", "labels": ["insertion_clause"]},
            {"id": "2", "title": "Espaces verts", "labels": ["insertion_clause", "reserved_siae"]},
        ],
    )
    _classify(
        store,
        "boamp:n3",
        ["reserved_disability", "allotted"],
        lots=[
            {"id": "1", "title": "Blanchisserie", "labels": ["reserved_disability"]},
            {"id": "2", "title": "Repassage", "labels": ["reserved_disability"]},
            {"id": "3", "title": "Livraison", "labels": []},
        ],
    )
    # n4: the newest run failed: the one before it (no clause) is the one read.
    _classify(store, "boamp:n4", [], version="v1", at="2026-02-16T00:00:00+00:00")
    _classify(store, "boamp:n4", [], error="boom", at="2026-05-01T00:00:00+00:00")
    for nid in ("boamp:n5", "boamp:n6", "boamp:n7", "boamp:n8"):
        _classify(store, nid, [])
    _classify(
        store,
        "boamp:n9",
        ["insertion_criterion", "reserved_other", "allotted"],
        hours=120,
        lots=[
            {"id": "1", "title": "Restauration", "labels": ["reserved_other"]},
            {"id": "2", "title": "Nettoyage", "labels": ["insertion_criterion"]},
        ],
    )
    _classify(store, "boamp:n10", ["insertion_clause"])
    store.close()
    return str(path)


@pytest.fixture
def obs_db(tmp_path: Path) -> str:
    return build(tmp_path / "observatoire.db")


SECRET = "clé-de-test-observatoire-0123456789abcdef"
MEMBER = "membre@reseau.example"


@pytest.fixture
def obs_app(obs_db: str):
    """The board on the observatory database, with one member in one group."""
    from tenderwatch.core.board import Board, WebSettings
    from tenderwatch.web import create_app
    from tenderwatch.web.mail import ConsoleMailer

    store = Store(obs_db)
    Board(store).upsert_member(email=MEMBER, name="Marie Réseau", group_id="reseau-ara")
    store.close()
    return create_app(
        obs_db, WebSettings(), secret_key=SECRET, mailer=ConsoleMailer(), testing=True
    )


@pytest.fixture
def member(obs_app):
    from ..web.conftest import sign_in

    return sign_in(obs_app, MEMBER)
