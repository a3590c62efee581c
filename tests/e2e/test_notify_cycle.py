"""The notification half of a cycle end to end: notices in the store, the real classifier,
groups from a TOML file, channels from an apprise YAML file, a local SMTP server and a local
webhook. Assertions are on what the servers received."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

from click.testing import CliRunner

from tenderwatch.cli import main
from tenderwatch.core.records import CALL_FOR_TENDERS, Lot, Notice, RawNotice
from tenderwatch.core.store import Store
from tenderwatch.localservers import Mailbox, Webhook

DEADLINE = (date.today() + timedelta(days=20)).isoformat() + "T12:00:00+01:00"

RESERVED_EA_LOT = """Avis de marché
Objet : Entretien des espaces verts et nettoyage des locaux de la commune.
Le marché est divisé en 2 lots.
Lot 1 : Entretien des espaces verts
Lot 2 : Nettoyage des locaux
Le lot 2 est réservé aux entreprises adaptées et aux établissements et services d'aide par le travail, en application de l'article L. 2113-12 du code de la commande publique.
Pour le lot 1, le titulaire réservera au moins 400 heures de travail à des personnes rencontrant des difficultés sociales ou professionnelles, conformément à l'article L. 2112-2 du code de la commande publique."""

SIAE_RESERVED = """Avis de marché
Objet : Collecte et valorisation des encombrants.
Le présent marché est réservé aux structures d'insertion par l'activité économique mentionnées à l'article L. 5132-4 du code du travail, en application de l'article L. 2113-13 du code de la commande publique."""


def save(store: Store, source_id: str, title: str, text: str, lots: list[Lot]) -> None:
    notice = Notice(
        id=f"boamp:{source_id}",
        source="boamp",
        source_id=source_id,
        form="test",
        title=title,
        nature=CALL_FOR_TENDERS,
        published=date.today().isoformat(),
        deadline=DEADLINE,
        buyer_name="Commune de Valence",
        departements=["26"],
        text=text,
        lots=lots,
        url=f"https://www.boamp.fr/pages/avis/?q=idweb:{source_id}",
    )
    store.save(RawNotice("boamp", source_id, "u", "text/plain", text.encode()), notice)


def config(tmp_path: Path, mailbox: Mailbox, webhook: Webhook) -> Path:
    apprise = tmp_path / "apprise.yml"
    apprise.write_text(
        "version: 1\nurls:\n"
        f'  - "{mailbox.url("aci@aci-drome.example")}":\n      - tag: aci-drome\n'
        f'  - "{mailbox.url("commercial@esat-drome.example")}":\n      - tag: esat-drome\n'
        f'  - "{webhook.url("esat-chat")}":\n      - tag: esat-drome\n',
        encoding="utf-8",
    )
    path = tmp_path / "tenderwatch.toml"
    path.write_text(
        f'[notify]\napprise_config = "{apprise}"\n\n'
        '[[groups]]\nid = "aci-drome"\nname = "ACI de la Drôme"\nkind = "siae"\n'
        'structure_kinds = ["ACI"]\ndepartements = ["26"]\n\n'
        '[[groups]]\nid = "esat-drome"\nname = "ESAT de la Drôme"\nkind = "ea_esat"\n'
        'structure_kinds = ["ESAT", "EA"]\ndepartements = ["26"]\n',
        encoding="utf-8",
    )
    return path


def run(args: list[str], db: Path, cfg: Path) -> str:
    result = CliRunner().invoke(main, [*args, "--db", str(db), "--config", str(cfg)])
    assert result.exit_code == 0, result.output
    return result.output


def recipients(mailbox: Mailbox) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for message in mailbox.messages:
        out.setdefault(message["To"], []).append(message["Subject"])
    return out


def test_reserved_lots_reach_only_eligible_groups_once(
    tmp_path: Path, mailbox: Mailbox, webhook: Webhook
) -> None:
    db = tmp_path / "t.db"
    store = Store(db)
    save(
        store,
        "26-1001",
        "Espaces verts et nettoyage",
        RESERVED_EA_LOT,
        [
            Lot(lot_id="1", title="Entretien des espaces verts"),
            Lot(lot_id="2", title="Nettoyage des locaux"),
        ],
    )
    save(store, "26-1002", "Collecte des encombrants", SIAE_RESERVED, [])
    cfg = config(tmp_path, mailbox, webhook)
    assert "Configuration valide : 2 groupe(s)" in run(["groups", "check"], db, cfg)
    run(["classify"], db, cfg)
    run(["notify"], db, cfg)

    got = recipients(mailbox)
    # The ACI gets the clause of lot 1 and the SIAE-reserved contract, never the EA/ESAT lot.
    assert len(got["aci@aci-drome.example"]) == 2
    # The ESAT gets the notice for its reserved lot 2 only, not the SIAE-reserved contract.
    assert len(got["commercial@esat-drome.example"]) == 1
    esat_mail = next(m for m in mailbox.messages if m["To"] == "commercial@esat-drome.example")
    html = esat_mail.get_body(("html",)).get_content()
    assert "Nettoyage des locaux" in html and "L. 2113-12" in html.replace("\u00a0", " ")
    aci_html = " ".join(
        m.get_body(("html",)).get_content()
        for m in mailbox.messages
        if m["To"] == "aci@aci-drome.example"
    )
    assert "400" in aci_html
    assert len(webhook.bodies("esat-chat")) == 1

    # A second cycle sends nothing again.
    run(["notify"], db, cfg)
    assert sum(len(v) for v in recipients(mailbox).values()) == 3
    assert len(webhook.bodies("esat-chat")) == 1
    listing = run(["deliveries", "list", "--status", "sent"], db, cfg)
    assert listing.count("sent") == 4


def test_groups_check_reports_errors_with_file_group_and_field(tmp_path: Path) -> None:
    cfg = tmp_path / "bad.toml"
    cfg.write_text(
        '[[groups]]\nid = "g1"\nname = "G"\nkind = "siae"\nstructure_kinds = ["XYZ"]\n',
        encoding="utf-8",
    )
    result = CliRunner().invoke(
        main, ["groups", "check", "--config", str(cfg), "--db", str(tmp_path / "t.db")]
    )
    assert result.exit_code == 1
    assert (
        "bad.toml" in result.output and "g1" in result.output and "structure_kinds" in result.output
    )
