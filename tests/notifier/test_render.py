"""Rendering: French dates, days left and amounts; what an alert, a digest, a change notice and
a reminder say; hostile notice text escaped in HTML and made inert in Markdown."""

from __future__ import annotations

import html
from datetime import date

import pytest

from tenderwatch.notifier.models import Group, LotView, Match, NoticeView
from tenderwatch.notifier.render import (
    days_left_fr,
    escape_markdown,
    format_amount,
    format_date,
    format_legal_basis,
    render_alert,
    render_digest,
    render_reminder,
    render_update,
    safe_url,
)

TODAY = date(2026, 2, 4)
HOSTILE = "<script>alert(1)</script>"


def notice(**overrides) -> NoticeView:
    base = {
        "id": "boamp:26-1001",
        "title": "Nettoyage des locaux de la mairie",
        "nature": "call_for_tenders",
        "published": "2026-02-02",
        "deadline": "2026-02-16T12:00:00+01:00",
        "buyer_name": "Ville de Villeurbanne",
        "url": "https://www.boamp.fr/pages/avis/?q=idweb:26-1001",
        "departements": ["69"],
        "estimated_value": 1_200_000.0,
        "labels": {"insertion_clause": True, "reserved_siae": True, "allotted": True},
        "lots": [
            LotView(id="1", title="Bureaux", labels=["insertion_clause"]),
            LotView(id="2", title="Vitrerie", labels=["reserved_siae"]),
        ],
        "evidence": [
            {
                "label": "reserved_siae",
                "lot": "2",
                "quote": "Le lot n° 2 est réservé aux structures d'insertion par l'activité "
                "économique",
                "start": 0,
                "end": 10,
                "legal_basis": {"raw": "L.2113-13", "norm": "CCP:L2113-13", "generation": "CCP"},
            },
            {
                "label": "insertion_clause",
                "lot": None,
                "quote": "le titulaire réservera au moins 1 200 heures à l'insertion",
                "start": 20,
                "end": 40,
                "legal_basis": {"raw": "L. 2112-2", "norm": "CCP:L2112-2", "generation": "CCP"},
            },
        ],
        "insertion_hours": 1200,
        "procedure_id": "proc:1",
    }
    base.update(overrides)
    return NoticeView(**base)


def match(**overrides) -> Match:
    base = {
        "group_id": "aci-lyon",
        "notice_id": "boamp:26-1001",
        "labels": ["reserved_siae", "insertion_clause"],
        "lots": ["2"],
        "reasons": ["Territoire : Rhône (69)", "Lot 2 réservé aux SIAE : vous avez un ACI"],
    }
    base.update(overrides)
    return Match(**base)


# -- formatting -------------------------------------------------------------------------------


def test_dates_are_french_in_paris_time() -> None:
    assert format_date("2026-02-16T12:00:00+01:00") == "lundi 16 février 2026 à 12:00"
    assert format_date("2026-02-16T11:00:00Z") == "lundi 16 février 2026 à 12:00"
    assert format_date("2026-07-01T10:00:00+00:00") == "mercredi 1er juillet 2026 à 12:00"
    assert format_date("2026-02-16") == "lundi 16 février 2026"
    assert format_date(None) == ""
    assert format_date("pas une date") == ""


@pytest.mark.parametrize(
    ("days", "words"),
    [(12, "dans 12 jours"), (2, "dans 2 jours"), (1, "demain"), (0, "aujourd'hui")],
)
def test_days_left(days: int, words: str) -> None:
    assert days_left_fr(days) == words


def test_days_left_after_the_deadline() -> None:
    assert days_left_fr(-1) == "dépassée"
    assert days_left_fr(None) == ""


def test_amounts_and_articles() -> None:
    assert format_amount(1_200_000) == "1 200 000 €"
    assert format_amount(950.4) == "950 €"
    assert format_amount(None) == ""
    assert format_legal_basis({"norm": "CCP:L2113-13"}) == (
        "article L. 2113-13 du code de la commande publique"
    )
    assert format_legal_basis({"norm": "CMP:14"}) == "article 14 du code des marchés publics"
    assert format_legal_basis({"raw": "L.5132-4 du code du travail"}) == (
        "article L.5132-4 du code du travail"
    )


def test_markdown_escape_and_urls() -> None:
    assert escape_markdown("[clic](javascript:x) *a* _b_ `c` <d>") == (
        r"\[clic\]\(javascript:x\) \*a\* \_b\_ \`c\` \<d\>"
    )
    assert escape_markdown("@channel") == "@\u200bchannel"
    assert escape_markdown("a\nb\t c") == "a b c"
    assert safe_url("javascript:alert(1)") is None
    assert safe_url("https://x.fr/a (b)<c>") == "https://x.fr/a%20%28b%29%3Cc%3E"


# -- alert ----------------------------------------------------------------------------------


def test_alert_says_what_where_until_when_which_clause_and_why() -> None:
    msg = render_alert(notice(), match(), today=TODAY)
    assert msg.title == "Réservé SIAE · Nettoyage des locaux de la mairie"
    for body in (msg.html, msg.text, msg.markdown):
        assert "Ville de Villeurbanne" in body
        assert "Rhône (69)" in body.replace("\\(", "(").replace("\\)", ")")
        assert "lundi 16 février 2026 à 12:00" in body
        assert "dans 12 jours" in body
        assert "1 200 000 €" in body
        assert "1 200 heures" in body
        assert "article L. 2113-13 du code de la commande publique" in body
        assert "Vitrerie" in body
        assert "Bureaux" not in body  # the match names lot 2 only
        assert "https://www.boamp.fr/pages/avis/?q=idweb:26-1001" in body
    assert "Marché réservé aux SIAE" in msg.text
    assert "Lot 2 réservé aux SIAE : vous avez un ACI" in msg.text
    assert "Pourquoi vous recevez cet avis" in msg.html


def test_alert_html_shows_the_url_as_text() -> None:
    """apprise converts the HTML into the e-mail's text part and drops link targets."""
    msg = render_alert(notice(), match(), today=TODAY)
    url = "https://www.boamp.fr/pages/avis/?q=idweb:26-1001"
    assert f'<a href="{url}" style="color:#0b57d0;">{url}</a>' in msg.html


def test_alert_says_what_is_missing() -> None:
    bare = notice(deadline=None, buyer_name=None, estimated_value=None, departements=[], url=None)
    msg = render_alert(bare, match(lots=[]), today=TODAY)
    assert "Date limite : non précisée dans l'avis" in msg.text
    assert "Acheteur : non précisé dans l'avis" in msg.text
    assert "Montant estimé : non précisé dans l'avis" in msg.text
    assert "lien non fourni (réf. boamp:26-1001)" in msg.text


def test_alert_deadline_today_and_passed() -> None:
    assert "aujourd'hui" in render_alert(notice(), match(), today=date(2026, 2, 16)).text
    assert "dépassée" in render_alert(notice(), match(), today=date(2026, 2, 17)).text


def test_hostile_notice_is_escaped_in_html_and_inert_in_markdown() -> None:
    evil = notice(
        title=f"Travaux {HOSTILE} [clic](javascript:alert(1))",
        buyer_name="<b onmouseover=alert(1)>Mairie</b>",
        url="javascript:alert(1)",
        lots=[LotView(id="2", title=f"Lot {HOSTILE}", labels=["reserved_siae"])],
        evidence=[{"label": "reserved_siae", "lot": "2", "quote": f"réservé {HOSTILE} *x*"}],
    )
    msg = render_alert(evil, match(), today=TODAY)
    assert "<script" not in msg.html
    assert "<b onmouseover" not in msg.html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in msg.html
    assert "javascript:" not in msg.html.replace("[clic](javascript:alert(1))", "")
    assert 'href="javascript' not in msg.html
    # Markdown: the title travels in the chat title field, lots and quotes in the body.
    for md in (msg.markdown, msg.markdown_title):
        assert "<script" not in md.replace("\\<script", "")
        assert r"\<script\>alert\(1\)\</script\>" in md
    assert r"\[clic\]\(javascript:alert\(1\)\)" in msg.markdown_title
    assert r"\<b onmouseover=alert\(1\)\>" in msg.markdown
    assert r"\*x\*" in msg.markdown


def test_award_alert() -> None:
    award = notice(nature="award", deadline=None)
    msg = render_alert(award, match(lots=[]), today=TODAY)
    assert msg.title.startswith("Attribution · ")
    assert "Date limite" not in msg.text


# -- digest ---------------------------------------------------------------------------------


def test_digest_groups_by_label_then_soonest_deadline_each_notice_once() -> None:
    group = Group(id="reseau", name="Réseau IAE Rhône", kind="network", delivery="daily")
    late = notice(id="a", title="Espaces verts", deadline="2026-03-20", labels={})
    soon = notice(id="b", title="Restauration", deadline="2026-02-10T10:00:00+01:00", labels={})
    reserved = notice(id="c", title="Blanchisserie réservée", deadline="2026-04-01", labels={})
    passed = notice(id="d", title="Déjà clos", deadline="2026-02-01", labels={})
    clause = ["insertion_clause"]
    items = [
        (late, match(notice_id="a", labels=clause, lots=[])),
        (passed, match(notice_id="d", labels=clause, lots=[])),
        (soon, match(notice_id="b", labels=clause, lots=[])),
        (reserved, match(notice_id="c", labels=["insertion_clause", "reserved_siae"], lots=[])),
    ]
    msg = render_digest(group, items, today=TODAY)
    assert "4 avis" in msg.title
    for body in (html.unescape(msg.html), msg.text, msg.markdown):
        order = [
            body.index("Marchés réservés aux SIAE"),
            body.index("Blanchisserie réservée"),
            body.index("Clauses d'insertion"),
            body.index("Restauration"),
            body.index("Espaces verts"),
            body.index("Déjà clos"),
        ]
        assert order == sorted(order)
        assert body.count("Blanchisserie réservée") == 1  # two labels, one section


# -- changes and reminders ------------------------------------------------------------------


def test_update_says_what_changed() -> None:
    before = notice()
    after = notice(id="boamp:26-1050", nature="corrigendum", deadline="2026-02-23T12:00:00+01:00")
    changes = {
        "deadline": {"old": before.deadline, "new": after.deadline},
        "lots_added": ["3"],
        "lots_removed": ["1"],
        "labels_added": ["insertion_criterion"],
        "labels_removed": ["reserved_siae"],
        "lot_titles": {"3": "Parkings", "1": "Bureaux"},
    }
    msg = render_update(after, before, changes, today=TODAY)
    assert msg.title.startswith("Date limite modifiée · Nettoyage des locaux")
    assert "lundi 16 février 2026 à 12:00 → lundi 23 février 2026 à 12:00" in msg.text
    assert "Lots ajoutés" in msg.text and "Lot 3 – Parkings" in msg.text
    assert "Lots retirés" in msg.text and "Lot 1 – Bureaux" in msg.text
    assert "Clauses sociales ajoutées" in msg.text
    assert "Critère d'attribution sur l'insertion" in msg.text
    assert "Clauses sociales retirées" in msg.text
    assert "https://www.boamp.fr/pages/avis/?q=idweb:26-1001" in msg.markdown


def test_cancellation_of_the_notice_and_of_lots() -> None:
    before = notice()
    whole = render_update(notice(nature="cancellation"), before, {"cancelled": True}, today=TODAY)
    assert whole.title.startswith("Annulé · ")
    assert "La procédure est annulée" in whole.text
    lots = render_update(
        notice(nature="cancellation"),
        before,
        {"lots_cancelled": ["2"], "lot_titles": {"2": "Vitrerie"}},
        today=TODAY,
    )
    assert lots.title.startswith("Lots annulés · ")
    assert "Lot 2 – Vitrerie" in lots.text
    assert "La procédure est annulée" not in lots.text


def test_reminder() -> None:
    msg = render_reminder(notice(), 7, today=date(2026, 2, 9))
    assert msg.title.startswith("Rappel : date limite dans 7 jours · Nettoyage")
    assert "lundi 16 février 2026 à 12:00" in msg.html
    assert "Réservé SIAE" in msg.markdown
