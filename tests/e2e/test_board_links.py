"""Alerts link each notice on the shared board when the instance has one (issue #10): the
plain link on a shared channel (it asks for sign-in), none without a ``[web]`` section."""

from __future__ import annotations

from pathlib import Path

from tenderwatch.core.records import Lot
from tenderwatch.core.store import Store
from tenderwatch.cycle import board_base_url
from tenderwatch.localservers import Mailbox, Webhook
from tests.e2e.test_notify_cycle import RESERVED_EA_LOT, config, run, save

BOARD = "https://veille.reseau.example"


def body(message) -> str:
    part = message.get_body(preferencelist=("plain", "html"))
    return part.get_content()


def cycle(tmp_path: Path, mailbox: Mailbox, webhook: Webhook, web: str) -> None:
    db = tmp_path / "t.db"
    store = Store(db)
    save(
        store,
        "26-2001",
        "Espaces verts et nettoyage",
        RESERVED_EA_LOT,
        [Lot(lot_id="1", title="Espaces verts"), Lot(lot_id="2", title="Nettoyage")],
    )
    store.close()
    cfg = config(tmp_path, mailbox, webhook)
    cfg.write_text(cfg.read_text("utf-8") + web, "utf-8")
    run(["classify"], db, cfg)
    run(["notify"], db, cfg)


def test_alerts_carry_the_board_link_of_the_notice(
    tmp_path: Path, mailbox: Mailbox, webhook: Webhook
) -> None:
    cycle(tmp_path, mailbox, webhook, f'\n[web]\nbase_url = "{BOARD}/"\n')
    assert mailbox.messages, "no alert was delivered"
    link = f"{BOARD}/avis/boamp:26-2001"
    for message in mailbox.messages:
        assert f"Sur le tableau de veille : {link}" in body(message)
    chat = webhook.bodies("esat-chat")
    assert chat and all(link in str(b) for b in chat)
    # A channel gets the plain link: no address in it.
    assert all("courriel=" not in body(m) for m in mailbox.messages)


def test_without_a_board_alerts_have_no_board_link(
    tmp_path: Path, mailbox: Mailbox, webhook: Webhook
) -> None:
    cycle(tmp_path, mailbox, webhook, "")
    assert mailbox.messages
    assert all("tableau de veille" not in body(m) for m in mailbox.messages)


def test_board_base_url_comes_from_the_web_section_or_the_environment(tmp_path: Path) -> None:
    cfg = tmp_path / "t.toml"
    cfg.write_text('[web]\nbase_url = "https://b.example/"\n', "utf-8")
    assert board_base_url(str(cfg), env={}) == "https://b.example"
    cfg.write_text("[notify]\n", "utf-8")
    assert board_base_url(str(cfg), env={}) is None
    assert (
        board_base_url(str(cfg), env={"TENDERWATCH_WEB_BASE_URL": "https://c.example"})
        == "https://c.example"
    )
