"""The board shows the outcome of a lot the group answered once its award is linked
(issue #12): « perdu — attributaire : X » on the notice page and on the card."""

from __future__ import annotations

import json

import pytest

from tenderwatch.core.store import Store

from .conftest import add_notice, csrf

NOTICE = "/g/aci-drome/avis/boamp:26-1"


@pytest.fixture
def awarded(db_path: str) -> str:
    """Lot 2 of boamp:26-1 awarded to « Jardins du Sud », as the award linking writes it."""
    store = Store(db_path)
    add_notice(store, "boamp:26-9", title="Attribution", nature="award", deadline_days=None)
    store.db["awards"].insert(
        {
            "award_notice_id": "boamp:26-9",
            "lot_id": "2",
            "procedure_id": "proc:boamp:26-1",
            "call_notice_id": "boamp:26-1",
            "link": "procedure",
            "winner_name": "Jardins du Sud",
            "winners": json.dumps([{"name": "Jardins du Sud", "siret": None}]),
            "labels": json.dumps(["insertion_clause"]),
            "departements": "[]",
            "cpv": "[]",
            "source": "boamp",
            "created_at": "2026-11-30T10:00:00+00:00",
        }
    )
    store.close()
    return db_path


def test_lost_lot_shows_the_winner_on_the_notice_and_the_card(awarded, alice):
    response = alice.post(
        NOTICE + "/marque",
        data={"csrf_token": csrf(alice, NOTICE), "lot": "2", "statut": "on_repond"},
    )
    assert response.status_code == 302
    page = alice.get(NOTICE).get_data(as_text=True)
    assert "résultat : perdu — attributaire : Jardins du Sud (d'après l'avis d'attribution)" in page
    board = alice.get("/g/aci-drome/").get_data(as_text=True)
    assert "mène — perdu — attributaire : Jardins du Sud" in board


def test_no_outcome_without_a_claim_or_on_another_lot(awarded, alice):
    alice.post(
        NOTICE + "/marque",
        data={"csrf_token": csrf(alice, NOTICE), "lot": "1", "statut": "on_repond"},
    )
    page = alice.get(NOTICE).get_data(as_text=True)
    assert "attributaire : Jardins du Sud" not in page
