"""« Attributaire à démarcher » end to end against the replay server (issue #12).

Every step is the real command in a subprocess: ``crawl boamp`` against the local replay of
the BOAMP API, ``classify``, ``notify`` to a local SMTP server. The award is a real BOAMP
notice (17-2599, CCAS de Toulon, 21 lots, ``tests/fixtures/boamp-xml-v230``) turned into the
API's record shape; its call for tenders (16-107438, which the award names) was never
recorded, so it is rebuilt from the award by ``derive_call_of_award`` with an insertion
clause of 450 hours and a facilitator written into lot 2 — the only invented text here.
"""

from __future__ import annotations

import html as html_lib
import json
import sqlite3
from email.message import EmailMessage
from pathlib import Path

from tenderwatch.crawler.normalise.boamp import boamp_xml_to_record
from tenderwatch.localservers import Mailbox
from tenderwatch.replay import ReplayData, ReplayServer
from tenderwatch.replay.derive import derive_call_of_award
from tests.conftest import FIXTURES, cli_env, run_cli

AWARD_XML = FIXTURES / "boamp-xml-v230" / "test-attribution-12.xml"
CLAUSE = (
    "Pour le lot 2, le titulaire réservera au moins 450 heures de travail à des personnes "
    "rencontrant des difficultés sociales ou professionnelles (article L. 2112-2 du code de "
    "la commande publique). La clause est suivie par Mme Claire Martin, chargée de mission "
    "clause sociale au PLIE Toulon Provence Méditerranée, tél. 04 94 00 00 00, "
    "clauses@plie-tpm.example."
)
ETTI = "contact@etti-var.example"  # staff provision, in the Var (83): the one to tell
ACI = "contact@aci-bdr.example"  # sub-contracting, Bouches-du-Rhône (13): outside the territory
WINDOW = ("--from-date", "2016-07-01", "--until-date", "2017-01-31")


def records() -> tuple[str, str]:
    award = boamp_xml_to_record(AWARD_XML.read_bytes())
    call = derive_call_of_award(
        award, published="2016-07-20", deadline="2016-09-05T16:00:00", clauses={"2": CLAUSE}
    )
    return (json.dumps(call, ensure_ascii=False), json.dumps(award, ensure_ascii=False))


def write_config(tmp_path: Path, mailbox: Mailbox) -> Path:
    apprise = tmp_path / "apprise.yml"
    apprise.write_text(
        "version: 1\nurls:\n"
        f'  - "{mailbox.url(ETTI)}":\n      - tag: etti-var\n'
        f'  - "{mailbox.url(ACI)}":\n      - tag: aci-bdr\n',
        encoding="utf-8",
    )
    config = tmp_path / "tenderwatch.toml"
    config.write_text(
        f'[notify]\napprise_config = "{apprise}"\n\n'
        '[[groups]]\nid = "etti-var"\nname = "ETTI du Var"\nkind = "siae"\n'
        'structure_kinds = ["ETTI"]\ndepartements = ["83"]\n\n'
        '[[groups]]\nid = "aci-bdr"\nname = "ACI des Bouches-du-Rhône"\nkind = "siae"\n'
        'structure_kinds = ["ACI"]\ndepartements = ["13"]\n',
        encoding="utf-8",
    )
    return config


def cycle(tmp_path: Path, server: ReplayServer, config: Path) -> str:
    """One morning: crawl, classify, notify — each must succeed."""
    env = cli_env(tmp_path, TENDERWATCH_CONFIG=str(config))
    out = []
    for args in (
        ["crawl", "boamp", "--base-url", server.boamp_base_url, *WINDOW],
        ["classify"],
        ["notify"],
    ):
        result = run_cli(args, env)
        assert result.returncode == 0, f"{args}: {result.stdout}{result.stderr}"
        out.append(result.stdout)
    return "\n".join(out)


def award_contacts(mailbox: Mailbox, to: str) -> list[EmailMessage]:
    return [
        m
        for m in mailbox.messages
        if m["To"] == to and str(m["Subject"]).startswith("Attributaire à démarcher")
    ]


def flat(message: EmailMessage, kind: str) -> str:
    body = message.get_body((kind,)).get_content()
    return html_lib.unescape(body).replace("\u00a0", " ")


def test_call_then_award_reaches_the_etti_once(tmp_path: Path, mailbox: Mailbox) -> None:
    call, award = records()
    config = write_config(tmp_path, mailbox)

    # Day 1: the call only. Its clause is found on lot 2; nobody has anything to « démarcher ».
    with ReplayServer(ReplayData(boamp_records=[call])) as server:
        cycle(tmp_path, server, config)
    assert not award_contacts(mailbox, ETTI)
    with sqlite3.connect(tmp_path / "cli.db") as conn:
        assert conn.execute("SELECT count(*) FROM awards").fetchone() == (0,)

    # Day 2: the award is published; the replay now serves both.
    with ReplayServer(ReplayData(boamp_records=[call, award])) as server:
        out = cycle(tmp_path, server, config)
    assert "1 attributaire(s) à démarcher" in out

    [mail] = award_contacts(mailbox, ETTI)
    subject = str(mail["Subject"])
    assert "Brake France Service" in subject and "lot 2" in subject
    for kind in ("plain", "html"):
        body = flat(mail, kind)
        assert "Brake France Service" in body
        assert "450 heures d'insertion" in body
        assert "C.C.A.S. de Toulon" in body
        assert "Pour le lot 2, le titulaire réservera au moins 450 heures" in body
        # The facilitator named in the call, to call about the hours.
        assert "PLIE Toulon Provence Méditerranée" in body
        assert "04 94 00 00 00" in body
        # Lots 1 and 3 went to the same winner without a clause; lot 4 to another company.
        assert "Société de Distribution Avicole" not in body
    # The ACI outside the territory receives nothing at all.
    assert not [m for m in mailbox.messages if m["To"] == ACI]

    # The link is recorded per lot: lot 2 only (the other lots carry no clause).
    with sqlite3.connect(tmp_path / "cli.db") as conn:
        rows = conn.execute(
            "SELECT award_notice_id, lot_id, call_notice_id, winner_name, award_date,"
            " value, insertion_hours, link FROM awards"
        ).fetchall()
    assert rows == [
        (
            "boamp:17-2599",
            "2",
            "boamp:16-107438",
            "Brake France Service",
            "2016-10-20",
            60000.0,
            450.0,
            "procedure",
        )
    ]

    # Day 3: the same notices again — nothing new is sent.
    sent = len(mailbox.messages)
    with ReplayServer(ReplayData(boamp_records=[call, award])) as server:
        cycle(tmp_path, server, config)
    assert len(mailbox.messages) == sent
    assert len(award_contacts(mailbox, ETTI)) == 1
