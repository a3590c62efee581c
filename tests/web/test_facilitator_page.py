"""The board's notice page shows the clause facilitator the classifier found (issue #12)."""

from __future__ import annotations

import json

from tenderwatch.core.store import Store

NOTICE = "/g/aci-drome/avis/boamp:26-1"
FACILITATOR = {
    "organisation": "PLIE de l'agglomération de Valence",
    "kind": "plie",
    "name": "Mme Sophie Bernard",
    "phone": "04 75 12 34 56",
    "email": "s.bernard@plie-valence.fr",
    "quote": "contactez Mme Sophie Bernard, facilitatrice du PLIE <de Valence>",
    "start": 0,
    "end": 10,
}


def test_notice_page_shows_the_clause_contact(alice, db_path: str) -> None:
    page = alice.get(NOTICE).get_data(as_text=True)
    assert "Contact clause" not in page  # the classification names none yet
    store = Store(db_path)
    store.db["classifications"].update(
        ("boamp:26-1", "test-1"), {"facilitator": json.dumps(FACILITATOR)}
    )
    store.close()
    page = alice.get(NOTICE).get_data(as_text=True)
    assert "<dt>Contact clause</dt>" in page
    assert (
        "Mme Sophie Bernard, PLIE de l&#39;agglomération de Valence, 04 75 12 34 56,"
        " s.bernard@plie-valence.fr"
    ) in page
    # the quote comes from the notice: escaped like any notice text
    assert "PLIE &lt;de Valence&gt;" in page
