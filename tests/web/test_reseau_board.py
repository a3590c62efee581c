"""Issue #11 on the board, over HTTP: a réseau administrator's dashboard and rights, a group
administrator's settings form (same rules and messages as ``groups check``), the preview
computed with the matcher, and the record of every change. Real database file, real
sign-in links, real CSRF tokens."""

from __future__ import annotations

import re
from datetime import date, timedelta
from html import unescape

import pytest

from tenderwatch.core.board import Board
from tenderwatch.core.groupstore import GroupStore
from tenderwatch.core.store import Store
from tenderwatch.notifier.groups import check_groups, group_settings, load_groups_from
from tenderwatch.notifier.matching import match
from tenderwatch.notifier.models import Group
from tenderwatch.notifier.views import notice_views

from .conftest import ACI, EA, add_notice, csrf, deliver, sign_in


def _days_ago(days: int) -> str:
    return (date.today() - timedelta(days=days)).isoformat()


@pytest.fixture
def reseaux(db_path: str) -> str:
    """Two réseaux on one instance, each with one group stored in the database and one
    coordinator who belongs to no group."""
    store = Store(db_path)
    gs = GroupStore(store)
    gs.add_reseau("aura", "Réseau AURA")
    gs.add_reseau("rhone", "Réseau Rhône")
    gs.import_settings(group_settings(ACI), actor="test", reseau_id="aura")
    gs.import_settings(group_settings(EA), actor="test", reseau_id="rhone")
    gs.add_reseau_admin("aura", gs.ensure_member("coord@aura.example", "Coralie", actor="test"))
    gs.add_reseau_admin("rhone", gs.ensure_member("coord@rhone.example", "Rémi", actor="test"))
    # Reserved lots published lately: one in the Drôme nobody opens, one the ACI opens, one
    # in the Rhône (another réseau's territory).
    add_notice(
        store,
        "boamp:26-50",
        title="Collecte des encombrants réservée SIAE",
        labels=["reserved_siae"],
        published=_days_ago(5),
        departements=["26"],
    )
    add_notice(
        store,
        "boamp:07-51",
        title="Entretien de rivières",
        labels=["insertion_clause"],
        lots=[{"id": "3", "title": "Débroussaillage", "labels": ["reserved_siae"]}],
        published=_days_ago(6),
        departements=["07"],
    )
    add_notice(
        store,
        "boamp:69-52",
        title="Conditionnement réservé EA",
        labels=["reserved_disability"],
        published=_days_ago(4),
        departements=["69"],
    )
    deliver(store, "aci-drome", "boamp:07-51")
    store.close()
    return db_path


def _post(client, path: str, data: dict, form_path: str | None = None):
    token = csrf(client, form_path or path)
    return client.post(path, data={**data, "csrf_token": token})


def _row(html: str, attr: str, value: str) -> list[str]:
    found = re.search(rf'<tr {attr}="{re.escape(value)}">(.*?)</tr>', html, re.S)
    assert found, f"no row {value}"
    return [
        unescape(re.sub(r"<[^>]+>", "", c)).strip()
        for c in re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", found.group(1), re.S)
    ]


SETTINGS_FORM = {
    "name": "ACI Vallée de la Drôme",
    "structure_kinds": ["ACI"],
    "departements": "26, Ardèche",
    "regions": "",
    "cpv_divisions": ["77", "90"],
    "cpv_autres": "",
    "keywords": "",
    "exclude_keywords": "",
    "labels": ["insertion_clause", "reserved_siae"],
    "corrigenda": "1",
    "min_value": "",
    "max_value": "",
    "delivery": "daily",
    "digest_time": "08:30",
    "digest_day": "mon",
    "reminder_days": "7, 2",
    "min_confidence": "probable",
}


# -- settings form ---------------------------------------------------------------------------


def test_group_admin_saves_settings_and_the_change_is_recorded(app, reseaux, alice) -> None:
    page = alice.get("/g/aci-drome/reglages").get_data(as_text=True)
    # CPV divisions with their French names, from the bundled table.
    assert "77 — Services agricoles, sylvicoles, horticoles, aquacoles et apicoles" in unescape(
        page
    )
    response = _post(alice, "/g/aci-drome/reglages", {**SETTINGS_FORM, "action": "enregistrer"})
    assert response.status_code == 302
    store = Store(reseaux)
    saved = GroupStore(store).get("aci-drome")
    assert saved["settings"]["departements"] == ["26", "07"]  # « Ardèche » → 07, as the TOML
    assert saved["settings"]["cpv_prefixes"] == ["77", "90"]
    assert saved["settings"]["delivery"] == "daily"
    assert saved["origin"] == "board"
    (change, *_older) = GroupStore(store).changes(["aci-drome"])
    assert change["action"] == "update" and "alice@aci.example" in change["actor"]
    fields = {f["field"]: (f["before"], f["after"]) for f in change["fields"]}
    assert fields["cpv_prefixes"] == ([], ["77", "90"])
    assert fields["delivery"] == ("immediate", "daily")
    # The notify cycle reads these settings now (the database is the truth).
    (aci, _ea) = load_groups_from(None, store)
    assert aci.cpv_prefixes == ["77", "90"] and aci.delivery == "daily"
    store.close()
    history = unescape(alice.get("/g/aci-drome/reglages").get_data(as_text=True))
    assert "Historique des modifications" in history and "alice@aci.example" in history
    assert "un résumé par jour" in history


def test_wrong_settings_give_the_messages_of_groups_check(app, reseaux, alice, tmp_path) -> None:
    wrong = {
        **SETTINGS_FORM,
        "cpv_autres": "9x",
        "digest_time": "25:00",
        "min_value": "beaucoup",
        "departements": "26, Atlantide",
        "action": "enregistrer",
    }
    response = _post(alice, "/g/aci-drome/reglages", wrong)
    assert response.status_code == 400
    page = unescape(response.get_data(as_text=True))
    # The same values in a TOML file, through `groups check`'s own function.
    toml = tmp_path / "same.toml"
    toml.write_text(
        '[[groups]]\nid = "aci-drome"\nkind = "siae"\nstructure_kinds = ["ACI"]\n'
        'cpv_prefixes = ["77", "90", "9x"]\ndigest_time = "25:00"\nmin_value = "beaucoup"\n'
        'departements = ["26", "Atlantide"]\n',
        encoding="utf-8",
    )
    problems = check_groups(toml)
    assert len(problems) == 4
    for problem in problems:
        said = problem.split("» : ", 1)[1]  # after « champ « x » : »
        assert said in page, said
    store = Store(reseaux)
    assert GroupStore(store).get("aci-drome")["settings"]["digest_time"] == "08:30"
    assert GroupStore(store).changes(["aci-drome"])[0]["action"] == "import"  # nothing saved
    store.close()


def test_preview_counts_what_the_matcher_selects(app, reseaux, alice) -> None:
    store = Store(reseaux)
    # Cleaning (CPV 90) in the Drôme, published lately: three would match, one is too old,
    # one is elsewhere, one in another sector.
    for n, (dep, cpv, days, labels) in enumerate(
        [
            ("26", "90910000", 3, ["insertion_clause"]),
            ("07", "90911200", 10, ["reserved_siae"]),
            ("26", "77310000", 20, ["insertion_clause"]),
            ("26", "90910000", 45, ["insertion_clause"]),  # more than a month ago
            ("69", "90910000", 5, ["insertion_clause"]),  # outside the territory
            ("26", "45000000", 5, ["insertion_clause"]),  # construction
        ]
    ):
        add_notice(
            store,
            f"boamp:pv-{n}",
            title=f"Avis {n}",
            departements=[dep],
            cpv=[cpv],
            published=_days_ago(days),
            labels=labels,
        )
    # Edge cases of the preview's SQL prefilters: a notice without CPV codes (passes every
    # sector filter), a notice placed in the Rhône whose reserved lot is in the Drôme, a
    # notice with only a label the group does not want.
    add_notice(store, "boamp:pv-6", title="Sans CPV", published=_days_ago(2))
    store.db.execute("UPDATE notices SET cpv = '[]' WHERE id = 'boamp:pv-6'")
    add_notice(
        store,
        "boamp:pv-7",
        title="Lot réservé dans la Drôme",
        departements=["69"],
        labels=[],
        published=_days_ago(2),
        lots=[
            {
                "id": "1",
                "title": "Tri",
                "labels": ["reserved_siae"],
                "departements": ["26"],
                "cpv": ["90500000"],
            }
        ],
    )
    add_notice(
        store, "boamp:pv-8", title="EA", labels=["reserved_disability"], published=_days_ago(2)
    )
    store.db.conn.commit()
    ids = [r[0] for r in store.db.execute("SELECT id FROM notices")]
    store.close()
    response = _post(alice, "/g/aci-drome/reglages", {**SETTINGS_FORM, "action": "apercu"})
    assert response.status_code == 200
    page = unescape(response.get_data(as_text=True))
    shown = int(re.search(r'id="apercu">(\d+)<', page).group(1))
    assert "vous auriez reçu" in page
    # The same settings, the matcher's own function, notice by notice, over the stored
    # notices of the last 30 days.
    group = Group(
        id="aci-drome",
        name="x",
        kind="siae",
        structure_kinds=["ACI"],
        departements=["26", "07"],
        cpv_prefixes=["77", "90"],
        labels=["insertion_clause", "reserved_siae"],
        delivery="daily",
        min_confidence="probable",
    )
    store = Store(reseaux)
    month_ago = _days_ago(30)
    views = [v for v in notice_views(store, ids) if (v.published or "") >= month_ago]
    store.close()
    selected = {v.id for v in views if match(group, v) is not None}
    assert {"boamp:pv-0", "boamp:pv-1", "boamp:pv-2", "boamp:pv-6", "boamp:pv-7"} <= selected
    assert not {"boamp:pv-3", "boamp:pv-4", "boamp:pv-5", "boamp:pv-8"} & selected
    assert shown == len(selected)
    # A preview saves nothing.
    store = Store(reseaux)
    assert GroupStore(store).get("aci-drome")["settings"]["cpv_prefixes"] == []
    store.close()


def test_saved_settings_survive_a_restart(app, reseaux, alice) -> None:
    assert (
        _post(
            alice, "/g/aci-drome/reglages", {**SETTINGS_FORM, "action": "enregistrer"}
        ).status_code
        == 302
    )
    from tenderwatch.core.board import WebSettings
    from tenderwatch.web import create_app
    from tenderwatch.web.mail import ConsoleMailer

    from .conftest import SECRET

    # A new process: the app is built again from the database, the TOML groups of before.
    again = create_app(
        reseaux,
        WebSettings(),
        secret_key=SECRET,
        groups=[ACI, EA],
        mailer=ConsoleMailer(),
        testing=True,
    )
    client = sign_in(again, "alice@aci.example")
    page = client.get("/g/aci-drome/reglages").get_data(as_text=True)
    assert 'value="77" checked' in page and 'value="90" checked' in page
    assert 'value="daily" selected' in page


# -- rights ----------------------------------------------------------------------------------


def test_settings_rights(app, reseaux, bruno, emma) -> None:
    assert bruno.get("/g/aci-drome/reglages").status_code == 403  # a plain member
    assert emma.get("/g/aci-drome/reglages").status_code == 404  # another group
    assert emma.get("/g/ea-rhone/reglages").status_code == 403  # a plain member there too
    token = csrf(emma, "/connexion")
    response = emma.post(
        "/g/aci-drome/reglages",
        data={**SETTINGS_FORM, "action": "enregistrer", "csrf_token": token},
    )
    assert response.status_code == 404
    store = Store(reseaux)
    assert GroupStore(store).get("aci-drome")["settings"]["delivery"] == "immediate"
    store.close()


def test_reseau_admin_sees_only_its_reseau(app, reseaux) -> None:
    coord = sign_in(app, "coord@aura.example")  # in no group: signs in as a réseau admin
    assert coord.get("/").headers["Location"].endswith("/reseau/")
    page = coord.get("/reseau/aura/").get_data(as_text=True)
    assert 'data-group="aci-drome"' in page and "ea-rhone" not in page
    assert coord.get("/reseau/rhone/").status_code == 404
    assert coord.get("/g/ea-rhone/reglages").status_code == 404
    assert coord.get("/g/aci-drome/reglages").status_code == 200  # its réseau's group
    assert coord.get("/g/aci-drome/").status_code == 404  # not a member of the board itself
    token = csrf(coord, "/reseau/aura/")
    invite = {
        "nom": "Intrus",
        "courriel": "intrus@example.org",
        "role": "admin",
        "csrf_token": token,
    }
    invite["groupe"] = "ea-rhone"
    assert coord.post("/reseau/rhone/membres", data=invite).status_code == 404
    assert coord.post("/reseau/aura/membres", data=invite).status_code == 404  # not its group
    created = {"id": "x", "name": "X", "kind": "network", "csrf_token": token}
    assert coord.post("/reseau/rhone/groupes", data=created).status_code == 404
    store = Store(reseaux)
    assert Board(store).member_by_email("intrus@example.org") is None
    assert GroupStore(store).get("x") is None
    store.close()


def test_group_admin_is_not_a_reseau_admin(app, reseaux, alice) -> None:
    assert alice.get("/reseau/aura/").status_code == 404
    assert alice.get("/reseau/").status_code == 404


def test_every_form_needs_its_csrf_token(app, reseaux, alice) -> None:
    coord = sign_in(app, "coord@aura.example")
    assert (
        alice.post(
            "/g/aci-drome/reglages", data={**SETTINGS_FORM, "action": "enregistrer"}
        ).status_code
        == 400
    )
    assert (
        coord.post(
            "/reseau/aura/groupes", data={"id": "y", "name": "Y", "kind": "network"}
        ).status_code
        == 400
    )
    assert (
        coord.post(
            "/reseau/aura/membres",
            data={"groupe": "aci-drome", "nom": "Z", "courriel": "z@example.org"},
        ).status_code
        == 400
    )
    store = Store(reseaux)
    assert GroupStore(store).get("y") is None
    assert Board(store).member_by_email("z@example.org") is None
    store.close()


# -- réseau administration ----------------------------------------------------------------------


def test_reseau_admin_creates_a_group_and_invites_a_member(app, reseaux) -> None:
    coord = sign_in(app, "coord@aura.example")
    bad = _post(
        coord,
        "/reseau/aura/groupes",
        {"id": "all", "name": "Tous", "kind": "siae"},
        "/reseau/aura/",
    )
    assert bad.status_code == 303
    page = unescape(coord.get("/reseau/aura/").get_data(as_text=True))
    assert "« all » est réservé par apprise" in page  # the parser's own message
    made = _post(
        coord,
        "/reseau/aura/groupes",
        {
            "id": "siae-ardeche",
            "name": "SIAE d'Ardèche",
            "kind": "siae",
            "structure_kinds": ["AI"],
            "departements": "Ardèche",
        },
        "/reseau/aura/",
    )
    assert made.status_code == 302
    invited = _post(
        coord,
        "/reseau/aura/membres",
        {"groupe": "siae-ardeche", "nom": "Inès", "courriel": "ines@ai07.example", "role": "admin"},
        "/reseau/aura/",
    )
    assert invited.status_code == 302
    store = Store(reseaux)
    row = GroupStore(store).get("siae-ardeche")
    assert row["reseau_id"] == "aura" and row["settings"]["departements"] == ["07"]
    assert Board(store).member_by_email("ines@ai07.example").groups == {"siae-ardeche": "admin"}
    store.close()
    ines = sign_in(app, "ines@ai07.example")
    assert ines.get("/g/siae-ardeche/reglages").status_code == 200
    assert ines.get("/g/aci-drome/reglages").status_code == 404
    journal = unescape(coord.get("/reseau/aura/").get_data(as_text=True))
    assert "siae-ardeche" in journal and "create" in journal


def test_dashboard_figures_and_reserved_lots_nobody_opened(app, reseaux, alice) -> None:
    coord = sign_in(app, "coord@aura.example")
    page = coord.get("/reseau/aura/").get_data(as_text=True)
    unseen = set(re.findall(r'data-notice="([^"]+)"', page))
    # Drôme and Ardèche reserved lots; the Rhône's belongs to the other réseau's territory.
    assert {"boamp:26-50", "boamp:07-51", "boamp:26-1"} <= unseen
    assert "boamp:69-52" not in unseen
    # Alice opens one and marks another: they leave the list; the figures count them.
    assert alice.get("/g/aci-drome/avis/boamp:07-51").status_code == 200
    store = Store(reseaux)
    board = Board(store)
    member = board.member_by_email("alice@aci.example")
    board.set_mark("aci-drome", "boamp:26-1", "2", member.id, "on_repond")
    board.set_outcome("aci-drome", "boamp:26-1", "2", member.id, "gagne")
    bruno = board.member_by_email("bruno@aci.example")
    board.set_mark("aci-drome", "boamp:26-2", "", bruno.id, "interesse")
    store.close()
    page = coord.get("/reseau/aura/").get_data(as_text=True)
    unseen = set(re.findall(r'data-notice="([^"]+)"', page))
    assert "boamp:07-51" not in unseen and "boamp:26-1" not in unseen
    assert "boamp:26-50" in unseen
    cells = _row(page, "data-group", "aci-drome")
    # group, members, alerts sent, opened, intéressé, on répond, déposé, gagné, perdu, relevant
    # members, alerts sent, opened, intéressé, on répond, déposé, gagné, perdu
    assert cells[1:9] == ["3", "3", "1", "1", "1", "0", "1", "0"]
    assert cells[9] == "2 / 3"
    other = sign_in(app, "coord@rhone.example").get("/reseau/rhone/").get_data(as_text=True)
    assert 'data-notice="boamp:69-52"' in other and "boamp:26-50" not in other


def test_groups_in_file_only_cannot_be_saved_from_the_board(app, db_path, alice) -> None:
    """Before `groups import`, the board must not make the database the truth for one group
    alone (the others would stop receiving alerts)."""
    page = alice.get("/g/aci-drome/reglages").get_data(as_text=True)
    assert "tenderwatch groups import" in unescape(page)
    response = _post(alice, "/g/aci-drome/reglages", {**SETTINGS_FORM, "action": "enregistrer"})
    assert response.status_code == 409
    store = Store(db_path)
    assert not GroupStore(store).has_groups()
    store.close()
