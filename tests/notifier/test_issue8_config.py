"""Issue #8, parts 1 and 4: a configuration warning never blocks alerts; ``groups check``
shows warnings and errors and fails on errors only; ``schedule`` refuses to start without any
group (and starts despite a warning); ``groups test`` says why a channel failed, without its
secrets. Real local SMTP server and webhook, the real command line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from tenderwatch.cli import main
from tenderwatch.core.settings import load_settings
from tenderwatch.localservers import Mailbox, Webhook, free_port
from tenderwatch.notifier.groups import ERROR, WARNING, check_config
from tenderwatch.scheduler import preflight
from tests.notifier.issue8_support import ROOT, classified_notice, cli_env, write_config

PASSWORD = "Tr0ub4dor-Pw-5531"


def invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result.exit_code, result.output


def with_orphan_channel(tmp_path: Path, mailbox: Mailbox, webhook: Webhook) -> Path:
    """A valid configuration plus a channel tagged « ops » that no group (and no operations
    tag) uses: documented as a warning."""
    return write_config(
        tmp_path, [(mailbox.url("aci@example.org"), "aci"), (webhook.url("ops"), "ops")]
    )


def test_a_warning_does_not_block_notify(
    tmp_path: Path, mailbox: Mailbox, webhook: Webhook
) -> None:
    db = tmp_path / "t.db"
    classified_notice(db)
    cfg = with_orphan_channel(tmp_path, mailbox, webhook)
    [problem] = check_config(cfg, env={})
    assert problem.level == WARNING and "tag « ops »" in problem.message

    code, output = invoke("notify", "--db", str(db), "--config", str(cfg))
    assert code == 0, output
    assert "alertes impossibles" not in output
    assert "1 envoyée(s)" in output
    assert [m["To"] for m in mailbox.messages] == ["aci@example.org"]


def test_groups_check_prints_warnings_and_fails_on_errors_only(
    tmp_path: Path, mailbox: Mailbox, webhook: Webhook
) -> None:
    cfg = with_orphan_channel(tmp_path, mailbox, webhook)
    code, output = invoke("groups", "check", "--config", str(cfg))
    assert code == 0, output
    assert "avertissement : " in output and "tag « ops »" in output
    assert "Configuration valide : 1 groupe(s), 1 avertissement(s)" in output

    # A group whose tag reaches no channel is an error: printed with the warning, exit 1.
    broken = write_config(
        tmp_path,
        [(mailbox.url("aci@example.org"), "aci"), (webhook.url("ops"), "ops")],
        groups=("aci", "esat"),
    )
    levels = sorted(p.level for p in check_config(broken, env={}))
    assert levels == [ERROR, WARNING]
    code, output = invoke("groups", "check", "--config", str(broken))
    assert code == 1
    assert "tag « esat » : aucun canal" in output and "avertissement : " in output
    assert "1 erreur(s) de configuration" in output


def test_schedule_without_any_group_refuses_to_start(tmp_path: Path, mailbox: Mailbox) -> None:
    """Run as a process with a time limit: before issue #8 it started and served forever."""
    cfg = write_config(tmp_path, [(mailbox.url("aci@example.org"), "aci")], groups=())
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "tenderwatch",
            "schedule",
            "--config",
            str(cfg),
            "--db",
            str(tmp_path / "t.db"),
        ],
        env=cli_env(),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 1, proc.stderr
    assert "service non démarré" in proc.stderr and "aucun groupe déclaré" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_schedule_preflight_lets_a_warning_through_and_stops_on_an_error(
    tmp_path: Path, mailbox: Mailbox, webhook: Webhook
) -> None:
    cfg = with_orphan_channel(tmp_path, mailbox, webhook)
    assert preflight(load_settings(str(cfg))) == []
    broken = write_config(tmp_path, [(mailbox.url("a@example.org"), "aci")], groups=("esat",))
    [error] = preflight(load_settings(str(broken)))
    assert "tag « esat » : aucun canal" in error


def test_groups_test_says_why_a_channel_failed_without_its_secrets(tmp_path: Path) -> None:
    closed = free_port()  # nothing listens there: the connection is refused
    url = (
        f"mailto://veille:{PASSWORD}@127.0.0.1:{closed}"
        "?from=veille@example.org&to=aci@example.org&mode=insecure"
    )
    cfg = write_config(tmp_path, [(url, "aci")])
    code, output = invoke(
        "groups", "test", "aci", "--config", str(cfg), "--db", str(tmp_path / "t.db")
    )
    assert code == 1
    # apprise's own reason, after our status.
    assert "échec de l'envoi (FAILURE) — Connection error while submitting email" in output
    assert PASSWORD not in output and "mailto:" not in output
