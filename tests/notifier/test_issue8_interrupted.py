"""Issue #8, part 2: a ``notify`` killed (SIGKILL) while a message is in the SMTP server's hands
is reported by the very next run — non-zero exit, the operators' channel told — with a stable
reference that lets a person see the message arrived, and ``deliveries retry`` guards.

The crash is real: ``python -m tenderwatch notify`` runs as its own process against a local
SMTP server that takes the message and stalls before answering; the test kills it with
SIGKILL there."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from tenderwatch.cli import main
from tenderwatch.core.store import Store
from tenderwatch.localservers import Mailbox, Webhook
from tenderwatch.notifier.delivery import message_id, message_ref, process_gone, process_token
from tests.notifier.issue8_support import (
    StallingMailbox,
    classified_notice,
    start_cli,
    wait_for,
    write_config,
)


@pytest.fixture
def stalling() -> Iterator[StallingMailbox]:
    box = StallingMailbox().start()
    yield box
    box.stalling = False
    box.stop()


@pytest.fixture
def ops() -> Iterator[Webhook]:
    hook = Webhook().start()
    yield hook
    hook.close()


def cli(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result.exit_code, result.output


def deliveries(db: Path) -> list[dict]:
    store = Store(db)
    try:
        return list(store.db.query("SELECT * FROM deliveries ORDER BY id"))
    finally:
        store.close()


def test_a_send_killed_mid_flight_is_reported_by_the_next_run_and_recognisable(
    tmp_path: Path, stalling: StallingMailbox, ops: Webhook
) -> None:
    db = tmp_path / "t.db"
    notice_id = classified_notice(db)
    cfg = write_config(
        tmp_path,
        [(stalling.url("aci@example.org"), "aci"), (ops.url("ops"), "ops")],
        operations_tag="ops",
    )
    common = ["--db", str(db), "--config", str(cfg)]

    proc = start_cli(["notify", *common])
    try:
        wait_for(lambda: len(stalling.envelopes) == 1)  # the message is in the server's hands
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    [row] = deliveries(db)
    assert row["status"] == "sending" and row["claimed_by"].split("/")[1] == str(proc.pid)

    # The next run, right away (not ten minutes later): non-zero, says which and what to check.
    stalling.stalling = False
    code, output = cli("notify", *common)
    assert code == 1, output
    ref = message_ref("aci", notice_id, "alert")
    assert f"livraison {row['id']}" in output and "interrompue" in output
    assert f"processus {proc.pid} arrêté" in output and ref in output
    [row] = deliveries(db)
    assert row["status"] == "unknown"
    assert len(stalling.messages) == 1  # nothing resent by itself
    # The operators' channel was told, with the same guidance.
    [told] = ops.bodies("ops")
    assert "interrompu" in told["title"] and ref in told["message"]

    # `deliveries list --status unknown` says what to check, and the reference it names is
    # the one the mailbox holds (header and last line of the message).
    code, listing = cli("deliveries", "list", "--status", "unknown", "--db", str(db))
    assert code == 0
    assert "vérifiez dans la boîte ou le canal" in listing and ref in listing
    assert f"tenderwatch deliveries retry {row['id']}" in listing
    [arrived] = stalling.messages
    assert arrived["X-Tenderwatch-Ref"] == message_id(ref)
    assert ref in arrived.get_body(("plain",)).get_content()
    assert len(arrived.get_all("Message-ID")) == 1  # ours is not a second Message-ID

    # A person chose to resend (no --config needed): the copy carries the same reference.
    code, output = cli("deliveries", "retry", str(row["id"]), "--db", str(db))
    assert code == 0, output
    code, output = cli("notify", *common)
    assert code == 0, output
    first, second = stalling.messages
    assert first["X-Tenderwatch-Ref"] == second["X-Tenderwatch-Ref"] == message_id(ref)

    # A sent delivery and an id that does not exist are refused, in French, without traceback.
    code, output = cli("deliveries", "retry", str(row["id"]), "999", "--db", str(db))
    assert code == 1
    assert f"envoi #{row['id']} non remis en attente : déjà envoyée" in output
    assert "envoi #999 non remis en attente : envoi inconnu" in output
    assert "Traceback" not in output
    assert len(stalling.messages) == 2


def test_a_live_sender_is_not_called_interrupted_and_a_reused_pid_is() -> None:
    """The owner check itself, on real processes: a running child (alive), the same child
    killed but not yet reaped (a zombie: gone), reaped (gone), and a live pid with another
    start time (the pid reused by another program: gone)."""
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        token = process_token(child.pid)
        assert process_gone(token) is False
        os.kill(child.pid, signal.SIGKILL)
        wait_for(lambda: process_gone(token) is True)  # killed, not yet reaped
    finally:
        child.wait(timeout=30)
    assert process_gone(token) is True
    host, pid, start = process_token().split("/")
    assert process_gone(f"{host}/{pid}/{start}") is False  # this very process
    assert process_gone(f"{host}/{pid}/{int(start) + 1}") is True
    assert process_gone(f"another-host/{pid}/{start}") is None  # cannot tell: age decides
    assert process_gone(None) is None


def test_the_reference_is_stable_per_group_notice_and_kind() -> None:
    ref = message_ref("aci", "boamp:26-1", "alert")
    assert re.fullmatch(r"tw-[0-9a-f]{24}", ref)
    assert ref == message_ref("aci", "boamp:26-1", "alert")
    assert ref != message_ref("aci", "boamp:26-1", "update")
    assert ref != message_ref("esat", "boamp:26-1", "alert")
    assert message_id(ref) == f"<{ref}@tenderwatch.invalid>"


def test_retry_of_unknown_ids_needs_no_config_and_fails_in_french(tmp_path: Path) -> None:
    db = tmp_path / "t.db"
    Store(db).close()
    code, output = cli("deliveries", "retry", "42", "--db", str(db))
    assert code == 1
    assert "envoi #42 non remis en attente : envoi inconnu" in output
    assert "Traceback" not in output and "SenderError" not in output


def test_a_mailbox_message_carries_its_reference(tmp_path: Path) -> None:
    """Outside any crash: every alert e-mail has the header and the last line."""
    box = Mailbox().start()
    try:
        db = tmp_path / "t.db"
        notice_id = classified_notice(db)
        cfg = write_config(tmp_path, [(box.url("aci@example.org"), "aci")])
        code, output = cli("notify", "--db", str(db), "--config", str(cfg))
        assert code == 0, output
        [mail] = box.messages
        ref = message_ref("aci", notice_id, "alert")
        assert mail["X-Tenderwatch-Ref"] == message_id(ref)
        assert f"Référence de l'envoi : {ref}" in mail.get_body(("html",)).get_content()
    finally:
        box.stop()
