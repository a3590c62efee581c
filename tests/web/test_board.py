"""The board's pages: every route, isolation between groups, CSRF on every POST, marks,
claims, outcomes, notes, filters, counts, partner search, members."""

from __future__ import annotations

import re

import pytest

from tenderwatch.core.board import Board
from tenderwatch.core.store import Store

from .conftest import add_notice, csrf

NOTICE = "/g/aci-drome/avis/boamp:26-1"


def _post(client, path: str, data: dict, page: str = NOTICE):
    return client.post(path, data={"csrf_token": csrf(client, page), **data})


def _mark(client, status: str, lot: str = "", **extra):
    response = _post(client, NOTICE + "/marque", {"lot": lot, "statut": status, **extra})
    assert response.status_code == 302
    return response


def _count(page: str, status: str) -> int:
    return int(re.search(rf'data-statut="{status}">(\d+)<', page).group(1))


# -- every route -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/g/aci-drome/",
        "/g/aci-drome/?label=reserved_siae&statut=aucun&lot=libre&echeance=30&dep=26&q=nettoyage&tri=recent",
        NOTICE,
        "/g/aci-drome/recherche",
        "/g/aci-drome/recherche?q=espaces",
        "/g/aci-drome/membres",
        "/static/board.css",
    ],
)
def test_pages_answer_for_a_member(alice, path):
    response = alice.get(path)
    assert response.status_code == 200
    if path != "/static/board.css":
        assert "Content-Security-Policy" in response.headers


def test_home_goes_to_the_only_group(alice):
    response = alice.get("/")
    assert response.headers["Location"] == "/g/aci-drome/"


def test_home_lists_several_groups(app, db_path):
    store = Store(db_path)
    Board(store).upsert_member(email="alice@aci.example", name="Alice Martin", group_id="ea-rhone")
    store.close()
    from .conftest import sign_in

    page = sign_in(app, "alice@aci.example").get("/").get_data(as_text=True)
    assert "ACI Vallée de la Drôme" in page and "EA du Rhône" in page


@pytest.mark.parametrize(
    "path", ["/", "/g/aci-drome/", NOTICE, "/g/aci-drome/membres", "/avis/boamp:26-1"]
)
def test_pages_ask_to_sign_in(app, path):
    response = app.test_client().get(path)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/connexion")


# -- isolation -------------------------------------------------------------------------------


def test_another_groups_board_and_notices_are_404(emma, alice):
    for path in (
        "/g/aci-drome/",
        NOTICE,
        "/g/aci-drome/membres",
        "/g/aci-drome/recherche",
        "/g/inexistant/",
        "/avis/boamp:26-1",
    ):
        assert emma.get(path).status_code == 404, path
    # A notice of the other group's board, through this group: same answer as no notice.
    assert alice.get("/g/aci-drome/avis/boamp:69-9").status_code == 404
    assert alice.get("/g/aci-drome/avis/boamp:00-inexistant").status_code == 404
    assert alice.get("/g/ea-rhone/avis/boamp:69-9").status_code == 404
    assert alice.get("/avis/boamp:69-9").status_code == 404


def test_another_group_cannot_write(emma, alice, db_path):
    token = csrf(emma, "/g/ea-rhone/")
    for path, data in [
        (NOTICE + "/marque", {"statut": "on_repond", "lot": "2"}),
        (NOTICE + "/note", {"texte": "intrusion"}),
        (NOTICE + "/resultat", {"resultat": "gagne", "lot": "2"}),
        ("/g/aci-drome/ajouter", {"avis": "boamp:26-3"}),
        ("/g/aci-drome/membres", {"nom": "X", "courriel": "x@x.example"}),
        ("/g/aci-drome/membres/1/retirer", {}),
        ("/g/ea-rhone/avis/boamp:26-1/marque", {"statut": "vu"}),
    ]:
        assert emma.post(path, data={"csrf_token": token, **data}).status_code == 404, path
    store = Store(db_path)
    assert store.db.execute("SELECT count(*) FROM board_marks").fetchone()[0] == 0
    assert store.db.execute("SELECT count(*) FROM board_notes").fetchone()[0] == 0
    assert store.db.execute("SELECT count(*) FROM board_items").fetchone()[0] == 0
    store.close()


def test_marks_and_notes_stay_in_their_group(app, alice, emma, db_path):
    # Both groups hold the same notice; one group's marks and notes never show in the other.
    store = Store(db_path)
    store.db["deliveries"].insert(
        {
            "group_id": "ea-rhone",
            "notice_id": "boamp:26-1",
            "kind": "alert",
            "channel": "x",
            "status": "sent",
            "attempts": 1,
            "created_at": "2026-01-01",
        }
    )
    store.db.conn.commit()
    store.close()
    _mark(alice, "on_repond", lot="2", texte="secret-aci-strategie")
    _post(alice, NOTICE + "/note", {"texte": "note-interne-aci"})
    page = emma.get("/g/ea-rhone/avis/boamp:26-1").get_data(as_text=True)
    assert "secret-aci-strategie" not in page and "note-interne-aci" not in page
    assert "Alice Martin" not in page
    board = emma.get("/g/ea-rhone/").get_data(as_text=True)
    assert _count(board, "on_repond") == 0


# -- CSRF ------------------------------------------------------------------------------------

POSTS = [
    ("/connexion", {"courriel": "alice@aci.example"}),
    ("/deconnexion", {}),
    (NOTICE + "/marque", {"statut": "vu", "lot": ""}),
    (NOTICE + "/resultat", {"resultat": "gagne", "lot": ""}),
    (NOTICE + "/note", {"texte": "x"}),
    ("/g/aci-drome/ajouter", {"avis": "boamp:26-3"}),
    ("/g/aci-drome/membres", {"nom": "X", "courriel": "x@x.example"}),
    ("/g/aci-drome/membres/2/retirer", {}),
]


@pytest.mark.parametrize("path,data", POSTS, ids=[p for p, _ in POSTS])
def test_every_post_without_csrf_is_refused(alice, app, path, data, db_path):
    assert alice.post(path, data=data).status_code == 400
    assert alice.post(path, data={**data, "csrf_token": "faux"}).status_code == 400
    # A token from another session does not do either.
    other = app.test_client()
    assert alice.post(path, data={**data, "csrf_token": csrf(other)}).status_code == 400
    store = Store(db_path)
    assert store.db.execute("SELECT count(*) FROM board_marks").fetchone()[0] == 0
    assert store.db.execute("SELECT count(*) FROM board_notes").fetchone()[0] == 0
    assert store.db.execute("SELECT count(*) FROM board_members").fetchone()[0] == 4
    store.close()
    assert alice.get("/g/aci-drome/").status_code == 200  # still signed in


def test_signin_confirm_post_needs_csrf(app):
    from tenderwatch.web import signin_link

    path = signin_link(app, "alice@aci.example")
    client = app.test_client()
    assert client.post(path).status_code == 400
    # The link was not used up by the refused attempt.
    assert client.post(path, data={"csrf_token": csrf(client)}).status_code == 302


# -- marks, claims, outcomes, notes ------------------------------------------------------------


def test_two_claims_on_one_lot_are_shown_as_such(alice, bruno):
    _mark(alice, "on_repond", lot="2")
    page = alice.get(NOTICE).get_data(as_text=True)
    assert "Alice Martin mène la réponse" in page
    _mark(bruno, "on_repond", lot="2")
    page = alice.get(NOTICE).get_data(as_text=True)
    assert "2 revendications sur ce lot : Alice Martin, Bruno Petit" in page
    board = alice.get("/g/aci-drome/").get_data(as_text=True)
    assert (
        "Lot 2 : 2 revendications — Alice Martin (ACI Drôme Nature), Bruno Petit (ETTI Valence) répondent"
        in board
    )
    assert _count(board, "on_repond") == 1


def test_counts_and_status_filter(alice, bruno):
    _mark(alice, "interesse")
    _mark(bruno, "pas_pour_nous", raison="territoire")
    board = alice.get("/g/aci-drome/").get_data(as_text=True)
    assert _count(board, "interesse") == 1
    assert _count(board, "pas_pour_nous") == 1
    assert _count(board, "aucun") == 1  # boamp:26-2
    only = alice.get("/g/aci-drome/?statut=interesse").get_data(as_text=True)
    assert 'data-avis="boamp:26-1"' in only and 'data-avis="boamp:26-2"' not in only
    none = alice.get("/g/aci-drome/?statut=aucun").get_data(as_text=True)
    assert 'data-avis="boamp:26-2"' in none and 'data-avis="boamp:26-1"' not in none


def test_pas_pour_nous_needs_a_reason_and_keeps_label_and_text(alice, db_path):
    _mark(alice, "pas_pour_nous")  # no reason: refused
    store = Store(db_path)
    assert store.db.execute("SELECT count(*) FROM board_marks").fetchone()[0] == 0
    store.close()
    _mark(
        alice,
        "pas_pour_nous",
        raison="clause_mal_detectee",
        label="insertion_clause",
        texte="la clause vise le sous-traitant",
    )
    page = alice.get(NOTICE).get_data(as_text=True)
    assert (
        "pas pour nous</strong> — clause mal détectée (Clause d&#39;insertion) — la clause vise le sous-traitant"
        in page
    )
    rows = Board(Store(db_path)).feedback()
    assert rows == [
        {
            "group": "aci-drome",
            "notice_id": "boamp:26-1",
            "lot": None,
            "label": "insertion_clause",
            "reason": "clause_mal_detectee",
            "text": "la clause vise le sous-traitant",
            "at": rows[0]["at"],
        }
    ]


def test_cherche_partenaire_needs_a_role(alice, db_path):
    _mark(alice, "cherche_partenaire", lot="2")
    _mark(alice, "cherche_partenaire", lot="2", role="cotraitance")
    page = alice.get(NOTICE).get_data(as_text=True)
    assert "cherche partenaire</strong> — co-traitance" in page


def test_outcome_only_on_a_claim(alice, db_path):
    _post(alice, NOTICE + "/resultat", {"lot": "2", "resultat": "gagne"})
    assert "Un résultat s&#39;indique sur un lot marqué" in alice.get(NOTICE).get_data(as_text=True)
    _mark(alice, "on_repond", lot="2")
    _post(
        alice,
        NOTICE + "/resultat",
        {"lot": "2", "resultat": "perdu", "titulaire": "Entreprise Dupont"},
    )
    page = alice.get(NOTICE).get_data(as_text=True)
    assert "résultat : perdu (titulaire : Entreprise Dupont)" in page
    assert "a indiqué le résultat « perdu » (lot 2)" in page  # activity


def test_notes_with_author(alice, bruno):
    _post(alice, NOTICE + "/note", {"texte": "Visite obligatoire le 12"})
    _post(bruno, NOTICE + "/note", {"texte": "Je peux y aller"})
    page = alice.get(NOTICE).get_data(as_text=True)
    assert "<strong>Alice Martin</strong>" in page and "Visite obligatoire le 12" in page
    assert page.index("Visite obligatoire") < page.index("Je peux y aller")
    assert "a écrit une note" in page


def test_relevance_counts(alice, bruno):
    _mark(alice, "interesse")
    board = alice.get("/g/aci-drome/").get_data(as_text=True)
    assert (
        "Alertes reçues : 2 · jugées : 1 · pertinentes : <strong data-pertinentes>1</strong>"
        in board
    )


# -- filters and order ---------------------------------------------------------------------


def _ids(page: str) -> list[str]:
    return re.findall(r'data-avis="([^"]+)"', page)


def test_filters(alice):
    get = lambda q: _ids(alice.get("/g/aci-drome/?" + q).get_data(as_text=True))  # noqa: E731
    assert get("") == ["boamp:26-2", "boamp:26-1"]  # closest deadline first (3 then 10 days)
    assert get("label=reserved_siae") == ["boamp:26-1"]
    assert get("dep=07") == ["boamp:26-2"]
    assert get("echeance=7") == ["boamp:26-2"]
    assert get("echeance=passee") == []
    assert get("q=espaces+verts") == ["boamp:26-2"]
    assert get("q=MUNICIPAUX+nettoyage") == ["boamp:26-1"]  # case and accents ignored
    assert get("lot=revendique") == []
    _mark(alice, "on_repond", lot="2")
    assert get("lot=revendique") == ["boamp:26-1"]
    assert get("lot=libre") == ["boamp:26-2"]


def test_countdown_and_corrigendum_on_the_card(alice, db_path):
    store = Store(db_path)
    store.db["deliveries"].insert(
        {
            "group_id": "aci-drome",
            "notice_id": "boamp:26-1",
            "kind": "update",
            "channel": "x",
            "status": "sent",
            "attempts": 1,
            "created_at": "2026-01-01",
        }
    )
    store.db["deliveries"].insert(
        {
            "group_id": "aci-drome",
            "notice_id": "boamp:26-2",
            "kind": "cancellation",
            "channel": "x",
            "status": "sent",
            "attempts": 1,
            "created_at": "2026-01-01",
        }
    )
    store.db.conn.commit()
    store.close()
    page = alice.get("/g/aci-drome/").get_data(as_text=True)
    assert ">J-3<" in page and ">J-10<" in page
    assert "Rectificatif publié" in page and "Procédure annulée" in page


# -- adding notices, partner search, members -------------------------------------------------


def test_add_a_notice_by_id_and_by_search(alice):
    results = alice.get("/g/aci-drome/recherche?q=ajoutable").get_data(as_text=True)
    assert "boamp:26-3" in results
    response = _post(
        alice, "/g/aci-drome/ajouter", {"avis": "boamp:26-3"}, page="/g/aci-drome/recherche"
    )
    assert response.headers["Location"] == "/g/aci-drome/avis/boamp:26-3"
    assert "boamp:26-3" in _ids(alice.get("/g/aci-drome/").get_data(as_text=True))
    assert "a ajouté l&#39;avis au tableau" in alice.get("/g/aci-drome/avis/boamp:26-3").get_data(
        as_text=True
    )
    missing = _post(
        alice, "/g/aci-drome/ajouter", {"avis": "boamp:nope"}, page="/g/aci-drome/recherche"
    )
    assert missing.status_code == 302 and "recherche" in missing.headers["Location"]


def test_partner_search_uses_eligibility_and_flags_interest(alice, bruno):
    page = alice.get(NOTICE).get_data(as_text=True)
    lot2 = page[page.index("Lot 2 : Espaces verts") :]
    lot2 = lot2[: lot2.index("</details>")]
    # Lot 2 is reserved to SIAE: the ESAT member is not proposed; the ACI and the ETTI are.
    assert "Éric Esat" not in lot2
    assert "Alice Martin" in lot2 and "Bruno Petit" in lot2
    lot1 = page[page.index("Lot 1 : Vitrerie") : page.index("Lot 2 : Espaces verts")]
    assert "Éric Esat" in lot1  # lot 1 is not reserved: every kind may answer
    _mark(bruno, "interesse", lot="2")
    page = alice.get(NOTICE).get_data(as_text=True)
    lot2 = page[page.index("Lot 2 : Espaces verts") :]
    lot2 = lot2[: lot2.index("</details>")]
    assert 'Bruno Petit — ETTI Valence (ETTI) <strong class="flag">déjà intéressé</strong>' in lot2


def test_admin_manages_members_others_cannot(alice, bruno, db_path):
    assert "Ajouter un membre" in alice.get("/g/aci-drome/membres").get_data(as_text=True)
    assert "Ajouter un membre" not in bruno.get("/g/aci-drome/membres").get_data(as_text=True)
    data = {
        "nom": "Chloé Nouvelle",
        "courriel": "chloe@aci.example",
        "role": "member",
        "structure": "EI Drôme",
        "siret": "12345678901234",
        "type": "EI",
    }
    assert (
        _post(bruno, "/g/aci-drome/membres", data, page="/g/aci-drome/membres").status_code == 403
    )
    assert (
        _post(alice, "/g/aci-drome/membres", data, page="/g/aci-drome/membres").status_code == 302
    )
    store = Store(db_path)
    chloe = Board(store).member_by_email("chloe@aci.example")
    store.close()
    assert chloe.groups == {"aci-drome": "member"} and chloe.structure_kind == "EI"
    path = f"/g/aci-drome/membres/{chloe.id}/retirer"
    assert _post(bruno, path, {}, page="/g/aci-drome/membres").status_code == 403
    assert _post(alice, path, {}, page="/g/aci-drome/membres").status_code == 302
    store = Store(db_path)
    assert Board(store).member_by_email("chloe@aci.example").groups == {}
    audit = [r["action"] for r in store.db.query("SELECT action FROM board_audit")]
    store.close()
    assert "member-remove" in audit


def test_admin_cannot_remove_another_groups_member(alice, db_path):
    store = Store(db_path)
    emma = Board(store).member_by_email("esat@rhone.example")
    store.close()
    path = f"/g/aci-drome/membres/{emma.id}/retirer"
    assert _post(alice, path, {}, page="/g/aci-drome/membres").status_code == 404


def test_versions_of_the_procedure_on_the_notice_and_the_card(alice, db_path):
    store = Store(db_path)
    add_notice(
        store,
        "boamp:26-1c",
        title="Rectificatif nettoyage",
        nature="corrigendum",
        published="2026-11-25",
        labels=[],
    )
    store.db["procedures"].insert(
        {
            "id": "p-1",
            "status": "open",
            "current_notice_id": "boamp:26-1c",
            "notice_ids": '["boamp:26-1", "boamp:26-1c"]',
        }
    )
    store.db.execute(
        "UPDATE notices SET procedure_id = 'p-1' WHERE id IN ('boamp:26-1', 'boamp:26-1c')"
    )
    store.db["notice_links"].insert(
        {"notice_id": "boamp:26-1c", "kind": "corrects", "target": "boamp:26-1", "target_uuid": ""}
    )
    store.db.conn.commit()
    store.close()
    page = alice.get(NOTICE).get_data(as_text=True)
    history = page[page.index("Historique de la procédure") :]
    assert "avis de marché (boamp:26-1) — cet avis" in history
    assert "rectificatif (boamp:26-1c)" in history
    board = alice.get("/g/aci-drome/").get_data(as_text=True)
    card = board[board.index('data-avis="boamp:26-1"') :]
    assert "Rectificatif publié" in card[: card.index("</ol>")]
    other = board[board.index('data-avis="boamp:26-2"') :]
    assert "Rectificatif publié" not in other[: other.index('data-avis="boamp:26-1"')]


def test_alert_link_to_the_other_source_record_finds_the_canonical_one(alice, db_path):
    store = Store(db_path)
    add_notice(store, "ted:1234-2026", title="Même avis sur TED")
    store.db.execute("UPDATE notices SET canonical_id = 'boamp:26-1' WHERE id = 'ted:1234-2026'")
    store.db.conn.commit()
    store.close()
    response = alice.get("/avis/ted:1234-2026")
    assert response.headers["Location"] == "/g/aci-drome/avis/boamp:26-1"
