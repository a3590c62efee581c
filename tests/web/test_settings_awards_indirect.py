"""Issue #12 on the board, over HTTP: the self-service settings form sets ``awards_indirect``
(« Recevoir les attributaires à démarcher »). An unchecked box sends nothing, so a form
without it opts the group out; the value is stored in the database (ADR 0012), recorded in
the change history, read back by ``load_groups_from``, honoured by the award-contact matcher
and carried by ``groups export`` / ``groups import``. Real database file, real sign-in
links, real CSRF tokens."""

from __future__ import annotations

import re
import tomllib
from html import unescape
from pathlib import Path
from typing import Any

import pytest

from tenderwatch.core.groupstore import GroupStore
from tenderwatch.core.store import Store
from tenderwatch.notifier.groups import (
    group_settings,
    load_groups,
    load_groups_from,
    parse_group_table,
)
from tenderwatch.notifier.matching import match_award_contact
from tenderwatch.notifier.models import Group

from ..conftest import cli_env, run_cli
from .conftest import ACI, EA, csrf

PAGE = "/g/aci-drome/reglages"
BOX = re.compile(r'<input\b[^>]*\bname="awards_indirect"[^>]*>')


@pytest.fixture
def stored(db_path: str) -> str:
    """Both groups of the board kept in the database as ``groups import`` leaves them
    (validated by the parser: tags default to the id)."""
    store = Store(db_path)
    gs = GroupStore(store)
    for group in (ACI, EA):
        parsed, errors = parse_group_table(group_settings(group))
        assert parsed is not None, errors
        gs.import_settings(group_settings(parsed), actor="test")
    store.close()
    return db_path


def _form(settings: dict[str, Any]) -> dict[str, Any]:
    """What a browser sends for these settings with every other field left as it is, and
    without the awards_indirect box (an unchecked box sends nothing)."""
    form: dict[str, Any] = {
        "name": settings["name"],
        "structure_kinds": settings["structure_kinds"],
        "departements": ", ".join(settings["departements"]),
        "regions": ", ".join(settings["regions"]),
        "cpv_divisions": [],
        "cpv_autres": ", ".join(settings["cpv_prefixes"]),
        "keywords": "\n".join(settings["keywords"]),
        "exclude_keywords": "\n".join(settings["exclude_keywords"]),
        "labels": settings["labels"],
        "min_value": "",
        "max_value": "",
        "delivery": settings["delivery"],
        "digest_time": settings["digest_time"],
        "digest_day": settings["digest_day"],
        "reminder_days": ", ".join(str(d) for d in settings["reminder_days"]),
        "min_confidence": settings["min_confidence"],
        "action": "enregistrer",
    }
    for key in ("awards", "corrigenda"):
        if settings[key]:
            form[key] = "1"
    return form


def _save(client, *, box: bool) -> Any:
    data = _form(group_settings(ACI))
    if box:
        data["awards_indirect"] = "1"
    return client.post(PAGE, data={**data, "csrf_token": csrf(client, PAGE)})


def _stored_value(db: str) -> Any:
    store = Store(db)
    try:
        return GroupStore(store).get("aci-drome")["settings"].get("awards_indirect")
    finally:
        store.close()


def _loaded(db: str) -> Group:
    store = Store(db)
    try:
        return {g.id: g for g in load_groups_from(None, store)}["aci-drome"]
    finally:
        store.close()


def _box(client) -> str:
    page = client.get(PAGE).get_data(as_text=True)
    found = BOX.search(page)
    assert found, "no awards_indirect checkbox on the settings page"
    return found.group(0)


def test_the_box_is_there_labelled_explained_and_checked_by_default(app, stored, alice) -> None:
    page = alice.get(PAGE).get_data(as_text=True)
    box = _box(alice)
    assert 'type="checkbox"' in box and " checked" in box
    # Inside the form that carries the CSRF token.
    form = re.search(rf'<form method="post" action="{PAGE}"[^>]*>(.*?)</form>', page, re.S)
    assert form and 'name="csrf_token"' in form.group(1) and BOX.search(form.group(1))
    # A label tied to the box, and the help text tied with aria-describedby.
    box_id = re.search(r'\bid="([^"]+)"', box)
    assert box_id, box
    label = re.search(rf'<label for="{box_id.group(1)}">(.*?)</label>', page, re.S)
    assert label and unescape(label.group(1)).strip() == "Recevoir les attributaires à démarcher"
    help_id = re.search(r'aria-describedby="([^"]+)"', box)
    assert help_id, box
    help_text = re.search(rf'id="{help_id.group(1)}"[^>]*>(.*?)</', page, re.S)
    assert help_text
    words = unescape(help_text.group(1))
    for word in ("heures d'insertion", "ETTI", "GEIQ", "sous-traitance", "ESAT"):
        assert word in words, word


def test_a_group_stored_before_the_setting_existed_shows_it_checked(app, stored, alice) -> None:
    store = Store(stored)
    store.db.execute(
        "UPDATE group_settings SET settings = json_remove(settings, '$.awards_indirect')"
        " WHERE id = 'aci-drome'"
    )
    store.db.conn.commit()
    store.close()
    assert _stored_value(stored) is None
    assert " checked" in _box(alice)


def test_unchecking_stores_false_and_is_recorded_then_checking_stores_true(
    app, stored, alice
) -> None:
    response = _save(alice, box=False)
    assert response.status_code == 302, response.get_data(as_text=True)
    assert _stored_value(stored) is False
    assert _loaded(stored).awards_indirect is False
    assert " checked" not in _box(alice)
    store = Store(stored)
    (change, *_older) = GroupStore(store).changes(["aci-drome"])
    store.close()
    assert change["action"] == "update" and "alice@aci.example" in change["actor"]
    # Only the box changed: the rest of the form was sent as stored.
    assert change["fields"] == [{"field": "awards_indirect", "before": True, "after": False}]
    history = unescape(alice.get(PAGE).get_data(as_text=True))
    rows = re.findall(r"<tr><td>(.*?)</tr>", history, re.S)
    cells = [[c.strip() for c in re.findall(r"<td>(.*?)</td>", "<td>" + row, re.S)] for row in rows]
    assert any(
        "alice@aci.example" in row[1] and row[3:] == ["Attributaires à démarcher", "oui", "non"]
        for row in cells
    ), cells

    response = _save(alice, box=True)
    assert response.status_code == 302
    assert _stored_value(stored) is True
    assert _loaded(stored).awards_indirect is True
    assert " checked" in _box(alice)
    store = Store(stored)
    (change, *_older) = GroupStore(store).changes(["aci-drome"])
    store.close()
    assert change["fields"] == [{"field": "awards_indirect", "before": False, "after": True}]


def test_a_wrong_form_keeps_the_box_as_sent(app, stored, alice) -> None:
    data = {**_form(group_settings(ACI)), "digest_time": "8h", "action": "enregistrer"}
    response = alice.post(PAGE, data={**data, "csrf_token": csrf(alice, PAGE)})
    assert response.status_code == 400
    box = BOX.search(response.get_data(as_text=True))
    assert box and " checked" not in box.group(0)  # what was sent, not what is stored
    assert _stored_value(stored) is True


def test_a_post_without_the_csrf_token_changes_nothing(app, stored, alice) -> None:
    response = alice.post(PAGE, data=_form(group_settings(ACI)))
    assert response.status_code == 400
    assert _stored_value(stored) is True
    store = Store(stored)
    assert [c["action"] for c in GroupStore(store).changes(["aci-drome"])] == ["import"]
    store.close()
    # The very same form with its token does opt out: the token is what was missing.
    assert _save(alice, box=False).status_code == 302
    assert _stored_value(stored) is False


def test_another_groups_member_cannot_change_it(app, stored, emma, alice) -> None:
    assert emma.get(PAGE).status_code == 404
    response = emma.post(
        PAGE, data={**_form(group_settings(ACI)), "csrf_token": csrf(emma, "/connexion")}
    )
    assert response.status_code == 404
    assert _stored_value(stored) is True
    assert _loaded(stored).awards_indirect is True
    # The group's own administrator, with the same form, does opt out.
    assert _save(alice, box=False).status_code == 302
    assert _loaded(stored).awards_indirect is False


def test_after_opting_out_on_the_board_the_award_contact_matcher_skips_the_group(
    app, stored, alice
) -> None:
    # An awarded lot in the Drôme with an insertion clause: an ACI can sub-contract.
    lot = {"lot_id": "2", "labels": ["insertion_clause"], "departements": ["26"], "cpv": []}
    reasons = match_award_contact(_loaded(stored), **lot)
    assert reasons and any("ACI" in r for r in reasons)
    assert _save(alice, box=False).status_code == 302
    fails: list[str] = []
    assert match_award_contact(_loaded(stored), **lot, fails=fails) is None
    assert fails == [
        "Votre groupe ne reçoit pas les attributaires à démarcher (awards_indirect = false)"
    ]


def test_groups_export_and_import_carry_the_board_setting(
    app, stored, alice, tmp_path: Path
) -> None:
    assert _save(alice, box=False).status_code == 302
    out = tmp_path / "exported.toml"
    exported = run_cli(
        ["groups", "export", "-o", str(out)], cli_env(tmp_path, TENDERWATCH_DB=stored)
    )
    assert exported.returncode == 0, exported.stderr
    tables = {t["id"]: t for t in tomllib.loads(out.read_text(encoding="utf-8"))["groups"]}
    assert tables["aci-drome"]["awards_indirect"] is False
    assert tables["ea-rhone"]["awards_indirect"] is True
    assert {g.id: g.awards_indirect for g in load_groups(out)} == {
        "aci-drome": False,
        "ea-rhone": True,
    }
    # Into another instance's database.
    env = cli_env(tmp_path, TENDERWATCH_DB=str(tmp_path / "other.db"), TENDERWATCH_CONFIG=str(out))
    imported = run_cli(["groups", "import"], env)
    assert imported.returncode == 0, imported.stderr
    store = Store(tmp_path / "other.db")
    try:
        assert GroupStore(store).get("aci-drome")["settings"]["awards_indirect"] is False
        assert {g.id: g.awards_indirect for g in load_groups_from(None, store)} == {
            "aci-drome": False,
            "ea-rhone": True,
        }
    finally:
        store.close()
