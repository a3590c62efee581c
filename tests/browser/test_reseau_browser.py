"""Issue #11 once in a real Chromium against a real ``tenderwatch serve``: a réseau
coordinator (in no group) signs in by the e-mailed link, lands on its réseau's dashboard,
cannot open another réseau's page nor another réseau's group settings, previews and saves a
group's settings; a group's plain member cannot open them."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tenderwatch.core.groupstore import GroupStore
from tenderwatch.core.store import Store
from tenderwatch.notifier.groups import group_settings
from tenderwatch.notifier.models import Group

from .conftest import BRUNO, GROUP, Server
from .test_board_browser import _request_link

if TYPE_CHECKING:
    from playwright.sync_api import Page

COORD = "coord@aura.example"


def _sign_in_anywhere(expect: Any, browser: Any, server: Server, email: str) -> Page:
    context = browser.new_context(locale="fr-FR")
    page = context.new_page()
    page.goto(server.base + "/connexion")
    link = _request_link(expect, page, server, email)
    page.goto(link)
    page.get_by_role("button", name="Ouvrir le tableau de veille").click()
    return page


def test_reseau_coordinator_in_a_real_browser(browser, expect, server, tmp_path: Path) -> None:
    store = Store(tmp_path / "board.db")
    gs = GroupStore(store)
    gs.add_reseau("aura", "Réseau AURA")
    gs.add_reseau("rhone", "Réseau Rhône")
    aci = Group(id=GROUP, name="ACI Vallée de la Drôme", kind="siae", structure_kinds=["ACI"])
    aci.departements, aci.tags = ["26", "07"], [GROUP]
    ea = Group(id="ea-rhone", name="EA du Rhône", kind="ea_esat", structure_kinds=["EA"])
    ea.tags = ["ea-rhone"]
    gs.import_settings(group_settings(aci), actor="test", reseau_id="aura")
    gs.import_settings(group_settings(ea), actor="test", reseau_id="rhone")
    gs.add_reseau_admin("aura", gs.ensure_member(COORD, "Coralie", actor="test"))
    store.close()

    coord = _sign_in_anywhere(expect, browser, server, COORD)
    expect(coord).to_have_url(server.base + "/reseau/aura/")
    expect(coord.get_by_role("heading", level=1)).to_have_text("Réseau Réseau AURA")
    expect(coord.locator(f'tr[data-group="{GROUP}"]')).to_be_visible()
    expect(coord.locator('tr[data-group="ea-rhone"]')).to_have_count(0)
    # The reserved lot 2 of the Drôme notice: nobody opened it yet.
    expect(coord.locator('tr[data-notice="boamp:26-1"]')).to_be_visible()
    coord.screenshot(path=str(tmp_path / "reseau.png"), full_page=True)

    # Another réseau, and its group, do not exist for this coordinator.
    for path in ("/reseau/rhone/", "/g/ea-rhone/reglages"):
        response = coord.goto(server.base + path)
        assert response is not None and response.status == 404
        expect(coord.get_by_role("heading", name="Page introuvable")).to_be_visible()

    # Its own réseau's group: preview, then save.
    coord.goto(server.base + "/reseau/aura/")
    coord.get_by_role("link", name=re.compile("Modifier")).click()
    expect(coord).to_have_url(server.base + f"/g/{GROUP}/reglages")
    coord.get_by_role("checkbox", name=re.compile("Services d'évacuation des eaux usées")).check()
    coord.get_by_role("button", name="Aperçu sur le mois dernier").click()
    expect(coord.locator(".preview")).to_contain_text("vous auriez reçu")
    coord.get_by_role("button", name="Enregistrer").click()
    expect(coord.locator(".flash")).to_have_text("Réglages enregistrés.")
    expect(coord.get_by_role("table")).to_contain_text(COORD)

    store = Store(tmp_path / "board.db")
    assert GroupStore(store).get(GROUP)["settings"]["cpv_prefixes"] == ["90"]
    store.close()

    # A plain member of the group: the settings are not for him.
    bruno = _sign_in_anywhere(expect, browser, server, BRUNO)
    response = bruno.goto(server.base + f"/g/{GROUP}/reglages")
    assert response is not None and response.status == 403
    response = bruno.goto(server.base + "/reseau/aura/")
    assert response is not None and response.status == 404
