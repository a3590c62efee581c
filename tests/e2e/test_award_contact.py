"""« Attributaire à démarcher » end to end (issue #12): a call for tenders with an insertion
clause on lot 2 goes through the real commands (``classify``, ``notify``), then its award
notice; groups come from a TOML file, channels from an apprise file pointing at a local SMTP
server. Assertions are on what the SMTP server received."""

from __future__ import annotations

import html as html_lib
from datetime import date, timedelta
from pathlib import Path

from click.testing import CliRunner

from tenderwatch.cli import main
from tenderwatch.core.board import Board
from tenderwatch.core.records import AWARD, CALL_FOR_TENDERS, Lot, Notice, NoticeLink, RawNotice
from tenderwatch.core.store import Store
from tenderwatch.localservers import Mailbox

CALL_TEXT = """Avis de marché
Objet : Réhabilitation du groupe scolaire Jean Moulin à Valence.
Le marché est divisé en 2 lots.
Lot 1 : Gros œuvre
Lot 2 : Peinture et revêtements de sols
Pour le lot 2, le titulaire réservera au moins 450 heures de travail à des personnes rencontrant des difficultés sociales ou professionnelles, conformément à l'article L. 2112-2 du code de la commande publique."""

AWARD_TEXT = """Avis d'attribution
Objet : Réhabilitation du groupe scolaire Jean Moulin à Valence.
Lot 1 : Gros œuvre — attributaire : Maçonnerie Drômoise.
Lot 2 : Peinture et revêtements de sols — attributaire : Peintures Rhodaniennes SAS."""

ETTI = "contact@etti-drome.example"
ACI = "contact@aci-isere.example"
OPTED_OUT = "contact@ai-drome.example"


def save_call(store: Store) -> None:
    published = (date.today() - timedelta(days=40)).isoformat()
    notice = Notice(
        id="boamp:26-3001",
        source="boamp",
        source_id="26-3001",
        form="test",
        title="Réhabilitation du groupe scolaire Jean Moulin",
        nature=CALL_FOR_TENDERS,
        published=published,
        deadline=(date.today() + timedelta(days=10)).isoformat() + "T12:00:00+01:00",
        buyer_name="Ville de Valence",
        buyer_siret="21260362500018",
        departements=["26"],
        cpv=["45453000"],
        text=CALL_TEXT,
        lots=[
            Lot(lot_id="1", title="Gros œuvre"),
            Lot(lot_id="2", title="Peinture et revêtements de sols"),
        ],
        url="https://www.boamp.fr/pages/avis/?q=idweb:26-3001",
    )
    store.save(RawNotice("boamp", "26-3001", "u", "text/plain", CALL_TEXT.encode()), notice)


def save_award(store: Store) -> None:
    notice = Notice(
        id="boamp:26-3002",
        source="boamp",
        source_id="26-3002",
        form="test",
        title="Réhabilitation du groupe scolaire Jean Moulin",
        nature=AWARD,
        published=date.today().isoformat(),
        buyer_name="Ville de Valence",
        departements=["26"],
        text=AWARD_TEXT,
        lots=[
            Lot(lot_id="1", title="Gros œuvre", result="awarded", winners=["Maçonnerie Drômoise"]),
            Lot(
                lot_id="2",
                title="Peinture et revêtements de sols",
                result="awarded",
                winners=["Peintures Rhodaniennes SAS"],
                estimated_value=182000.0,
            ),
        ],
        links=[NoticeLink(kind="corrects", target="boamp:26-3001")],
        winners=["Maçonnerie Drômoise", "Peintures Rhodaniennes SAS"],
        url="https://www.boamp.fr/pages/avis/?q=idweb:26-3002",
    )
    store.save(RawNotice("boamp", "26-3002", "u", "text/plain", AWARD_TEXT.encode()), notice)


def config(tmp_path: Path, mailbox: Mailbox) -> Path:
    apprise = tmp_path / "apprise.yml"
    apprise.write_text(
        "version: 1\nurls:\n"
        f'  - "{mailbox.url(ETTI)}":\n      - tag: etti-drome\n'
        f'  - "{mailbox.url(ACI)}":\n      - tag: aci-isere\n'
        f'  - "{mailbox.url(OPTED_OUT)}":\n      - tag: ai-drome\n',
        encoding="utf-8",
    )
    path = tmp_path / "tenderwatch.toml"
    path.write_text(
        f'[notify]\napprise_config = "{apprise}"\n\n'
        '[[groups]]\nid = "etti-drome"\nname = "ETTI de la Drôme"\nkind = "siae"\n'
        'structure_kinds = ["ETTI"]\ndepartements = ["26"]\n\n'
        '[[groups]]\nid = "aci-isere"\nname = "ACI de l\'Isère"\nkind = "siae"\n'
        'structure_kinds = ["ACI"]\ndepartements = ["38"]\n\n'
        '[[groups]]\nid = "ai-drome"\nname = "AI de la Drôme"\nkind = "siae"\n'
        'structure_kinds = ["AI"]\ndepartements = ["26"]\nawards_indirect = false\n',
        encoding="utf-8",
    )
    return path


def run(args: list[str], db: Path, cfg: Path) -> str:
    result = CliRunner().invoke(main, [*args, "--db", str(db), "--config", str(cfg)])
    assert result.exit_code == 0, result.output
    return result.output


def award_contacts(mailbox: Mailbox, to: str) -> list:
    return [
        m
        for m in mailbox.messages
        if m["To"] == to and str(m["Subject"]).startswith("Attributaire à démarcher")
    ]


def test_award_contact_reaches_the_etti_once_with_winner_and_hours(
    tmp_path: Path, mailbox: Mailbox
) -> None:
    db = tmp_path / "t.db"
    cfg = config(tmp_path, mailbox)
    store = Store(db)
    save_call(store)
    assert "Configuration valide : 3 groupe(s)" in run(["groups", "check"], db, cfg)
    run(["classify"], db, cfg)
    run(["notify"], db, cfg)
    # The call itself: an ordinary alert to the groups of the Drôme, nothing to « démarcher ».
    assert not award_contacts(mailbox, ETTI)
    before = len(mailbox.messages)
    # The ETTI answered lot 2 itself (« on répond » on the board)… and will lose it.
    board = Board(store)
    member = board.upsert_member(
        email="direction@etti-drome.example",
        name="Inès",
        group_id="etti-drome",
        structure_name="ETTI Drôme Intérim",
    )
    board.set_mark("etti-drome", "boamp:26-3001", "2", member.id, "on_repond")

    save_award(store)
    run(["classify"], db, cfg)
    out = run(["notify"], db, cfg)
    assert "1 attributaire(s) à démarcher" in out

    mails = award_contacts(mailbox, ETTI)
    # A loser can still sub-contract or provide staff: it gets the alert (ADR 0007 addendum),
    # and its board shows the outcome.
    assert len(mails) == 1
    [mark] = board.marks("etti-drome", "boamp:26-3001")
    assert mark["outcome_text"] == "perdu — attributaire : Peintures Rhodaniennes SAS"
    subject = str(mails[0]["Subject"])
    assert "Peintures Rhodaniennes SAS" in subject and "lot 2" in subject
    text = mails[0].get_body(("plain",)).get_content()
    html = mails[0].get_body(("html",)).get_content()
    for body in (text, html):
        flat = html_lib.unescape(body).replace("\u00a0", " ")
        assert "Peintures Rhodaniennes SAS" in flat
        assert "450 heures d'insertion" in flat
        assert "Ville de Valence" in flat
        assert "Pour le lot 2, le titulaire réservera au moins 450 heures" in flat
        # Lot 1 carries no clause: its winner is not someone to call.
        assert "Maçonnerie Drômoise" not in flat
    assert "Votre groupe compte des ETTI : mise à disposition de personnel" in text
    # The ACI outside the territory receives nothing at all; the AI opted out.
    assert not [m for m in mailbox.messages if m["To"] == ACI]
    assert not award_contacts(mailbox, OPTED_OUT)
    assert len(mailbox.messages) == before + 1

    # A second run sends nothing, even when every notice is matched again.
    run(["notify"], db, cfg)
    run(["notify", "--rematch"], db, cfg)
    assert len(award_contacts(mailbox, ETTI)) == 1
    assert len(mailbox.messages) == before + 1
    listing = run(["deliveries", "list", "--status", "sent"], db, cfg)
    assert listing.count("award-contact") == 1
