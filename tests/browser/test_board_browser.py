"""The board's journeys in a real Chromium against a real ``tenderwatch serve``: sign-in by
the link the SMTP server received, the notice opened from an alert's link, a claim seen by a
second member, « pas pour nous » with its reason and the counts changing; the same claim
with JavaScript off; the sign-in form reached and sent with the keyboard alone."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import pytest

from .conftest import ALICE, BRUNO, ERIC, GROUP, GROUP_NAME, NOTICE, Server

if TYPE_CHECKING:
    from playwright.sync_api import Page

NOTICE_PAGE = f"/g/{GROUP}/avis/{NOTICE}"


def _request_link(expect: Any, page: Page, server: Server, email: str) -> str:
    """Ask for a sign-in link on the page's sign-in form; the link the SMTP server got."""
    already = len(server.mailbox.messages)
    field = page.get_by_label("Adresse électronique")
    if field.input_value() != email:
        field.fill(email)
    page.get_by_role("button", name="Recevoir un lien de connexion").click()
    expect(page.get_by_role("heading", name="Vérifiez votre messagerie")).to_be_visible()
    return server.wait_for_link(email, already)


def _sign_in(expect: Any, browser: Any, server: Server, email: str, **context_options: Any) -> Page:
    """A new browser context (its own cookies) signed in as ``email`` through the e-mail."""
    context = browser.new_context(locale="fr-FR", **context_options)
    page = context.new_page()
    page.goto(server.base + "/connexion")
    link = _request_link(expect, page, server, email)
    page.goto(link)
    page.get_by_role("button", name="Ouvrir le tableau de veille").click()
    expect(page.get_by_role("heading", name=f"{GROUP_NAME} — tableau de veille")).to_be_visible()
    return page


def _lot(page: Page, lot: str):
    """The lot's article on a notice page."""
    return page.locator("article.unit").filter(
        has=page.get_by_role("heading", name=lot, exact=False)
    )


def _count(page: Page, status: str) -> int:
    return int(page.locator(f'[data-statut="{status}"]').inner_text())


def test_two_members_claim_and_decline_in_real_browsers(browser, expect, server, tmp_path: Path):
    # Alice opens the notice from the link her alert carries: she is asked to sign in.
    alice_ctx = browser.new_context(locale="fr-FR")
    alice = alice_ctx.new_page()
    alice.goto(server.notice_link(NOTICE, email=ALICE))
    expect(alice).to_have_url(re.compile(re.escape(server.base + "/connexion?suivant=")))
    # The form comes filled with the address the alert was sent to.
    expect(alice.get_by_label("Adresse électronique")).to_have_value(ALICE)
    link = _request_link(expect, alice, server, ALICE)
    assert link.startswith(server.base + "/connexion/")
    # The link from the e-mail only shows a button (mail scanners do not use it up).
    alice.goto(link)
    expect(alice.get_by_role("heading", name="Se connecter")).to_be_visible()
    alice.get_by_role("button", name="Ouvrir le tableau de veille").click()
    # Signed in, she lands on the notice of the alert, on her group's board.
    expect(alice).to_have_url(server.base + NOTICE_PAGE)
    expect(alice.get_by_role("heading", level=1)).to_have_text("Nettoyage des locaux municipaux")

    # She claims lot 2 (« on répond »).
    lot2 = _lot(alice, "Lot 2 : Espaces verts")
    lot2.get_by_label("Statut").select_option(label="on répond")
    lot2.get_by_role("button", name="Enregistrer", exact=True).click()
    lot2 = _lot(alice, "Lot 2 : Espaces verts")
    expect(lot2.locator(".claim")).to_have_text("Alice Martin mène la réponse")
    # The claimant can now record the outcome of her answer.
    expect(lot2.get_by_role("group", name="Résultat de votre réponse")).to_be_visible()
    # The whole notice and lot 1 carry no claim.
    expect(_lot(alice, "Lot 1 : Vitrerie").locator(".claim")).to_have_count(0)
    alice.screenshot(path=str(tmp_path / "avis-alice.png"), full_page=True)

    # Bruno, in another browser context (his own cookies), signs in and sees the claim.
    bruno = _sign_in(expect, browser, server, BRUNO)
    card = bruno.locator(f'li.card[data-avis="{NOTICE}"]')
    expect(card.locator(".claim")).to_have_text("Lot 2 : Alice Martin (ACI Drôme Nature) mène")
    assert _count(bruno, "on_repond") == 1
    assert _count(bruno, "pas_pour_nous") == 0
    assert _count(bruno, "aucun") == 1  # boamp:26-2, nobody marked it yet
    not_relevant = bruno.locator(".relevance")
    expect(not_relevant).to_contain_text("pas pour nous : 0")

    # He opens the other notice and says « pas pour nous »: without a reason it is refused.
    bruno.locator('li.card[data-avis="boamp:26-2"]').get_by_role("link").click()
    expect(bruno.get_by_role("heading", level=1)).to_have_text("Entretien des espaces verts")
    whole = _lot(bruno, "Avis entier")
    whole.get_by_label("Statut").select_option(label="pas pour nous")
    whole.get_by_role("button", name="Enregistrer", exact=True).click()
    expect(bruno.locator(".flash")).to_contain_text("une raison de la liste est demandée")
    whole = _lot(bruno, "Avis entier")
    whole.get_by_label("Statut").select_option(label="pas pour nous")
    whole.get_by_label("Raison (si « pas pour nous »)").select_option(label="territoire")
    whole.get_by_role("button", name="Enregistrer", exact=True).click()
    expect(_lot(bruno, "Avis entier").locator(".marks")).to_contain_text(
        "Bruno Petit (ETTI Valence) : pas pour nous — territoire"
    )

    # Back on the board: the counts changed.
    bruno.get_by_role("link", name=f"← Tableau de {GROUP_NAME}").click()
    expect(bruno.locator('[data-statut="pas_pour_nous"]')).to_have_text("1")
    assert _count(bruno, "aucun") == 0
    assert _count(bruno, "on_repond") == 1
    expect(not_relevant).to_contain_text("pas pour nous : 1")
    expect(bruno.locator("[data-pertinentes]")).to_have_text("1")  # Alice's claim
    bruno.screenshot(path=str(tmp_path / "tableau-bruno.png"), full_page=True)

    # Alice reloads her notice page: Bruno's decision is on the other notice, her claim holds.
    alice.goto(f"{server.base}/g/{GROUP}/")
    expect(alice.locator('li.card[data-avis="boamp:26-2"] .statuses')).to_have_text(
        "Marques : pas pour nous"
    )
    alice_ctx.close()
    bruno.context.close()


def test_the_claim_works_with_javascript_disabled(browser, expect, server, tmp_path: Path):
    eric = _sign_in(expect, browser, server, ERIC, java_script_enabled=False)
    # Scripting is really off in this context: an inline script does not run.
    eric.set_content(
        "<p id=x>avant</p><script>document.getElementById('x').textContent='js'</script>"
    )
    expect(eric.locator("#x")).to_have_text("avant")
    eric.goto(server.base + NOTICE_PAGE)
    lot2 = _lot(eric, "Lot 2 : Espaces verts")
    lot2.get_by_label("Statut").select_option(label="on répond")
    lot2.get_by_role("button", name="Enregistrer", exact=True).click()
    expect(eric).to_have_url(server.base + NOTICE_PAGE)
    expect(_lot(eric, "Lot 2 : Espaces verts").locator(".claim")).to_have_text(
        "Éric Garnier mène la réponse"
    )
    eric.goto(f"{server.base}/g/{GROUP}/")
    assert _count(eric, "on_repond") == 1
    eric.screenshot(path=str(tmp_path / "tableau-sans-js.png"), full_page=True)
    eric.context.close()


def test_sign_in_with_the_keyboard_alone(browser, expect, server):
    context = browser.new_context(locale="fr-FR")
    page = context.new_page()
    page.goto(server.base + "/connexion")

    def focused() -> dict[str, str]:
        return page.evaluate(
            "() => ({tag: document.activeElement.tagName, id: document.activeElement.id,"
            " text: document.activeElement.textContent.trim()})"
        )

    # The first Tab stop is the skip link; Tab goes on to the address field.
    page.keyboard.press("Tab")
    assert focused()["text"] == "Aller au contenu"
    for _ in range(10):
        page.keyboard.press("Tab")
        if focused()["id"] == "courriel":
            break
    else:
        raise AssertionError(f"le champ d'adresse n'est pas atteint au clavier : {focused()}")
    already = len(server.mailbox.messages)
    page.keyboard.type(ALICE)
    page.keyboard.press("Tab")
    assert focused() == {"tag": "BUTTON", "id": "", "text": "Recevoir un lien de connexion"}
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Vérifiez votre messagerie")).to_be_visible()
    link = server.wait_for_link(ALICE, already)

    # The confirm page's button too, by Tab then Enter.
    page.goto(link)
    for _ in range(10):
        page.keyboard.press("Tab")
        if focused()["text"] == "Ouvrir le tableau de veille":
            break
    else:
        raise AssertionError(f"le bouton de connexion n'est pas atteint au clavier : {focused()}")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name=f"{GROUP_NAME} — tableau de veille")).to_be_visible()
    context.close()


@pytest.mark.parametrize("server", [{"extra": 40}], indirect=True)
def test_a_long_board_comes_in_pages_that_keep_the_filters(browser, expect, server):
    alice = _sign_in(expect, browser, server, ALICE)
    cards = alice.locator("li.card")
    expect(cards).to_have_count(30)
    expect(alice.get_by_text("Avis 1 à 30 sur 42 retenus, 42 au tableau.")).to_be_visible()
    expect(alice.get_by_role("link", name="← Avis précédents")).to_have_count(0)
    # Closest deadline first: the notice due in 3 days leads, the last ones are on page 2.
    expect(cards.first).to_have_attribute("data-avis", "boamp:26-2")
    alice.get_by_role("link", name="Avis suivants →").click()
    expect(cards).to_have_count(12)
    expect(alice.get_by_text("Avis 31 à 42 sur 42 retenus, 42 au tableau.")).to_be_visible()
    expect(alice.get_by_role("link", name="Avis suivants →")).to_have_count(0)
    expect(cards.last).to_have_attribute("data-avis", "boamp:26-139")

    # A filter chosen in the form is kept on the next page: Drôme only (41 notices).
    alice.get_by_role("link", name="← Avis précédents").click()
    alice.get_by_label("Département").select_option("26")
    alice.get_by_role("button", name="Filtrer").click()
    expect(alice.get_by_text("Avis 1 à 30 sur 41 retenus, 42 au tableau.")).to_be_visible()
    alice.get_by_role("link", name="Avis suivants →").click()
    expect(alice).to_have_url(re.compile(r"[?&]dep=26(&|$)"))
    expect(cards).to_have_count(11)
    expect(alice.locator('li.card[data-avis="boamp:26-2"]')).to_have_count(0)  # Ardèche

    # A page number typed by hand: past the end is the last page; anything else the first.
    for value, shown in [("999", "Avis 31 à 42"), ("0", "Avis 1 à 30"), ("²", "Avis 1 à 30")]:
        alice.goto(f"{server.base}/g/{GROUP}/?page={quote(value)}")
        expect(alice.get_by_text(re.compile("^" + shown + " sur 42 "))).to_be_visible()
    response = alice.goto(f"{server.base}/g/{GROUP}/?page={'9' * 5000}")
    assert response.status == 200
    expect(alice.get_by_text(re.compile("^Avis 1 à 30 sur 42 "))).to_be_visible()
    alice.context.close()
