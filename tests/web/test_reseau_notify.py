"""Issue #11 end to end: a group administrator changes its settings on the board after
``groups import``; the preview shown before saving equals what the real notify cycle then
sends (real classifier, real apprise file, a local SMTP server), and the file's older
settings are not used any more."""

from __future__ import annotations

import re
from datetime import date, timedelta
from html import unescape
from pathlib import Path

from click.testing import CliRunner

from tenderwatch.cli import main
from tenderwatch.core.board import Board, WebSettings
from tenderwatch.core.records import CALL_FOR_TENDERS, Lot, Notice, RawNotice
from tenderwatch.core.store import Store
from tenderwatch.localservers import Mailbox
from tenderwatch.web import create_app
from tenderwatch.web.mail import ConsoleMailer

from .conftest import SECRET, csrf, sign_in

DEADLINE = (date.today() + timedelta(days=20)).isoformat() + "T12:00:00+01:00"
SIAE_RESERVED = (
    "Avis de marché\nObjet : Collecte et valorisation des encombrants.\nLe présent marché est "
    "réservé aux structures d'insertion par l'activité économique mentionnées à l'article "
    "L. 5132-4 du code du travail, en application de l'article L. 2113-13 du code de la "
    "commande publique."
)
EA_LOT_AND_CLAUSE = (
    "Avis de marché\nObjet : Entretien des espaces verts et nettoyage des locaux.\n"
    "Le marché est divisé en 2 lots.\nLot 1 : Entretien des espaces verts\n"
    "Lot 2 : Nettoyage des locaux\nLe lot 2 est réservé aux entreprises adaptées et aux "
    "établissements et services d'aide par le travail, en application de l'article "
    "L. 2113-12 du code de la commande publique.\nPour le lot 1, le titulaire réservera au "
    "moins 400 heures de travail à des personnes rencontrant des difficultés sociales ou "
    "professionnelles, conformément à l'article L. 2112-2 du code de la commande publique."
)


def _save(store: Store, source_id: str, dep: str, text: str, lots: list[Lot]) -> None:
    notice = Notice(
        id=f"boamp:{source_id}",
        source="boamp",
        source_id=source_id,
        form="test",
        title=f"Avis {source_id}",
        nature=CALL_FOR_TENDERS,
        published=date.today().isoformat(),
        deadline=DEADLINE,
        buyer_name="Commune",
        departements=[dep],
        text=text,
        lots=lots,
        url=f"https://www.boamp.fr/pages/avis/?q=idweb:{source_id}",
    )
    store.save(RawNotice("boamp", source_id, "u", "text/plain", text.encode()), notice)


def _run(args: list[str], db: Path, cfg: Path) -> str:
    result = CliRunner().invoke(main, [*args, "--db", str(db), "--config", str(cfg)])
    assert result.exit_code == 0, result.output
    return result.output


def test_preview_equals_what_notify_sends_with_the_board_settings(
    tmp_path: Path, mailbox: Mailbox
) -> None:
    db = tmp_path / "t.db"
    store = Store(db)
    _save(store, "26-1", "26", SIAE_RESERVED, [])
    _save(store, "07-2", "07", SIAE_RESERVED, [])
    lots = [Lot(lot_id="1", title="Espaces verts"), Lot(lot_id="2", title="Nettoyage")]
    _save(store, "07-3", "07", EA_LOT_AND_CLAUSE, lots)
    store.close()
    apprise = tmp_path / "apprise.yml"
    apprise.write_text(
        f'version: 1\nurls:\n  - "{mailbox.url("aci@aci.example")}":\n      - tag: aci\n',
        encoding="utf-8",
    )
    cfg = tmp_path / "tenderwatch.toml"
    cfg.write_text(
        f'[notify]\napprise_config = "{apprise}"\n\n'
        '[[groups]]\nid = "aci"\nname = "ACI"\nkind = "siae"\nstructure_kinds = ["ACI"]\n'
        'departements = ["26"]\n',
        encoding="utf-8",
    )
    _run(["classify"], db, cfg)
    assert "aci : créé" in _run(["groups", "import"], db, cfg)
    store = Store(db)
    Board(store).upsert_member(email="admin@aci.example", name="Ada", group_id="aci", role="admin")
    store.close()

    app = create_app(
        str(db), WebSettings(), secret_key=SECRET, mailer=ConsoleMailer(), testing=True
    )
    client = sign_in(app, "admin@aci.example")
    form = {
        "name": "ACI",
        "structure_kinds": ["ACI"],
        "departements": "Ardèche",
        "labels": ["insertion_clause", "reserved_siae"],
        "corrigenda": "1",
        "delivery": "immediate",
        "digest_time": "08:30",
        "digest_day": "mon",
        "reminder_days": "7, 2",
        "min_confidence": "probable",
        "csrf_token": csrf(client, "/g/aci/reglages"),
    }
    preview = client.post("/g/aci/reglages", data={**form, "action": "apercu"})
    shown = int(re.search(r'id="apercu">(\d+)<', unescape(preview.get_data(as_text=True)))[1])
    assert shown == 2  # the two Ardèche notices (a reserved contract, a lot-1 clause)
    saved = client.post("/g/aci/reglages", data={**form, "action": "enregistrer"})
    assert saved.status_code == 302

    # The file still says Drôme; the database (the board's settings) is the truth.
    _run(["notify"], db, cfg)
    assert len(mailbox.messages) == shown
    bodies = " ".join(m.get_body(("html",)).get_content() for m in mailbox.messages)
    assert "07-2" in bodies and "07-3" in bodies and "26-1" not in bodies
