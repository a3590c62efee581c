"""Hostile notice content (title, text, buyer, lot titles, evidence, source link) is inert on
every page; the evidence is highlighted in place with escaped pieces."""

from __future__ import annotations

from markupsafe import Markup

from tenderwatch.core.board import Board
from tenderwatch.core.store import Store
from tenderwatch.web.present import highlight

from .conftest import add_notice, csrf, deliver

SCRIPT = '<script>alert("t")</script>'
IMG = "<img src=x onerror=alert(1)>"
EVIL_TEXT = f"Préambule {SCRIPT}. Clause d'insertion {IMG} de 200 heures. Fin {SCRIPT}"


def _hostile(db_path: str) -> None:
    store = Store(db_path)
    start = EVIL_TEXT.index("Clause")
    end = EVIL_TEXT.index("heures.") + len("heures.")
    add_notice(
        store,
        "boamp:66-6",
        title=f"Titre {SCRIPT}{IMG}",
        buyer=f"Acheteur {IMG}",
        url="javascript:alert(document.cookie)",
        text=EVIL_TEXT,
        lots=[{"id": "1", "title": f"Lot {SCRIPT}", "labels": ["insertion_clause"]}],
        evidence=[
            {
                "label": "insertion_clause",
                "lot": "1",
                "quote": EVIL_TEXT[start:end],
                "start": start,
                "end": end,
                "legal_basis": {"norm": "", "raw": f"art {IMG}"},
                "hours": 200,
                "source": "text",
                "negated": False,
            },
        ],
    )
    deliver(store, "aci-drome", "boamp:66-6")
    store.close()


def _inert(page: str) -> None:
    assert "<script>alert" not in page
    assert "<img src=x" not in page
    assert "javascript:" not in page
    assert "onerror=alert" not in page or "&lt;img src=x onerror=alert(1)&gt;" in page


def test_hostile_notice_is_escaped_on_every_page(alice, db_path):
    _hostile(db_path)
    # A member's own text is hostile too (note, mark text, outcome winner).
    notice = "/g/aci-drome/avis/boamp:66-6"
    token = csrf(alice, notice)
    alice.post(notice + "/note", data={"csrf_token": token, "texte": SCRIPT})
    alice.post(
        notice + "/marque",
        data={"csrf_token": token, "lot": "1", "statut": "on_repond", "texte": IMG},
    )
    alice.post(
        notice + "/resultat",
        data={"csrf_token": token, "lot": "1", "resultat": "perdu", "titulaire": SCRIPT},
    )
    store = Store(db_path)
    Board(store).upsert_member(
        email="mallory@aci.example",
        name=f"Mallory {SCRIPT}",
        group_id="aci-drome",
        structure_name=IMG,
        structure_kind="ACI",
    )
    store.close()
    for path in (
        notice,
        "/g/aci-drome/",
        "/g/aci-drome/?q=titre",
        "/g/aci-drome/recherche?q=Préambule",
        "/g/aci-drome/membres",
    ):
        page = alice.get(path).get_data(as_text=True)
        assert alice.get(path).status_code == 200
        _inert(page)
    page = alice.get(notice).get_data(as_text=True)
    assert "Titre &lt;script&gt;alert(&#34;t&#34;)&lt;/script&gt;" in page
    assert "lien non disponible" in page  # the javascript: link is not a link
    assert "<mark " in page


def test_highlight_escapes_each_piece_and_marks_the_span():
    text = "a<b> clause <i>x</i> fin & co"
    start = text.index("clause")
    end = text.index("fin")
    html = highlight(
        text, [{"label": "insertion_clause", "start": start, "end": end, "quote": text[start:end]}]
    )
    assert isinstance(html, Markup)
    assert html == (
        'a&lt;b&gt; <mark title="Clause d&#39;insertion">clause &lt;i&gt;x&lt;/i&gt; </mark>fin &amp; co'
    )


def test_highlight_merges_overlaps_and_finds_moved_quotes():
    text = "un deux trois quatre cinq"
    evidence = [
        {"label": "insertion_clause", "start": 3, "end": 13, "quote": "deux trois"},
        {"label": "reserved_siae", "start": 8, "end": 20, "quote": "trois quatre"},
        # Offsets from an older text: found again by its quote.
        {"label": "insertion_criterion", "start": 0, "end": 4, "quote": "cinq"},
        # Not in the text at all, negated, or structured: ignored.
        {"label": "insertion_clause", "start": 0, "end": 3, "quote": "absent"},
        {"label": "insertion_clause", "start": 0, "end": 2, "quote": "un", "negated": True},
        {"label": "reserved_siae", "start": 0, "end": 0, "quote": "", "source": "structured"},
    ]
    html = str(highlight(text, evidence))
    assert html.count("<mark") == 2
    assert '<mark title="Clause d&#39;insertion, Réservé SIAE">deux trois quatre</mark>' in html
    assert html.endswith(">cinq</mark>")
    assert html.startswith("un ")
