"""Logging: quiet libraries by default, -v/-q, and no channel secret in any log line — checked
on the masking function, on a real handler, and on real `tenderwatch` processes sending to a
local webhook at DEBUG."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from tenderwatch.core.logs import (
    LogLevelError,
    clear_secrets,
    mask_url,
    register_apprise_config,
    register_secret,
    setup_logging,
)
from tenderwatch.localservers import Webhook
from tests.conftest import cli_env, run_cli

TOKEN = "Zk93hQp1xLw8RtY2vB6nM4cJ"  # the webhook's secret path segment
PASSWORD = "s3cr3t-Pa55word"


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    """setup_logging changes the root logger: put it back after each test."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in list(root.handlers):
        if handler not in handlers:
            root.removeHandler(handler)
    root.setLevel(level)
    clear_secrets()


# -- mask_url ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "secrets", "kept"),
    [
        (
            f"json://bob:{PASSWORD}@127.0.0.1:8080/hooks/{TOKEN}?key=abc123",
            ["bob", PASSWORD, TOKEN, "abc123"],
            ["json://***@127.0.0.1:8080/hooks/***?key=***"],
        ),
        (
            "Slack: https://hooks.slack.com/services/T0AB/B0CD/a1B2c3D4e5F6g7H8i9J0k1L2, done",
            ["a1B2c3D4e5F6g7H8i9J0k1L2"],
            ["https://hooks.slack.com/services/T0AB/B0CD/***, done"],
        ),
        (
            "tgram://123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw/4242/",
            ["AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"],
            ["tgram://123456789:***/4242/"],
        ),
        (
            "mailto://127.0.0.1:2525?from=veille@x.example&to=direction@y.example",
            ["veille@x.example", "direction@y.example"],
            ["from=***&to=***"],
        ),
    ],
)
def test_mask_url_hides_userinfo_query_values_and_tokens(
    text: str, secrets: list[str], kept: list[str]
) -> None:
    masked = mask_url(text)
    for secret in secrets:
        assert secret not in masked
    for part in kept:
        assert part in masked


def test_mask_url_leaves_plain_words_and_text_alone() -> None:
    text = "envoi à consortium-idf via https://chat.example.org/IncomingWebhook/consortium-idf"
    assert mask_url(text) == text
    assert mask_url("aucune URL ici : 12 avis, 3 pages") == "aucune URL ici : 12 avis, 3 pages"


def test_registered_secrets_are_hidden_even_without_their_url() -> None:
    # urllib3 logs the request line without the scheme and host around the path.
    line = f'127.0.0.1:8080 "POST /hooks/{TOKEN} HTTP/1.1" 200 0'
    assert TOKEN in mask_url(line)  # no URL around it: only the registration can hide it
    register_secret(f"json://127.0.0.1:8080/hooks/{TOKEN}")
    assert TOKEN not in mask_url(line)


def test_apprise_file_urls_are_registered(tmp_path: Path) -> None:
    conf = tmp_path / "apprise.yml"
    conf.write_text(
        f'version: 1\nurls:\n  - "json://bob:{PASSWORD}@127.0.0.1:9/hooks/{TOKEN}":\n'
        "      - tag: grp\n",
        encoding="utf-8",
    )
    assert register_apprise_config(conf) == 1
    assert mask_url(f"password={PASSWORD} token=/hooks/{TOKEN}").count("***") == 2


# -- the logging setup --------------------------------------------------------------------------


def _emit(**setup: object) -> str:
    stream = io.StringIO()
    setup_logging(stream=stream, **setup)  # type: ignore[arg-type]
    logging.getLogger("tenderwatch.cycle").info("collecte : 12 avis")
    logging.getLogger("tenderwatch.cycle").debug("détail interne")
    logging.getLogger("aiosmtpd.smtp").info("Peer: 127.0.0.1 connected")
    logging.getLogger("apprise").debug("Loaded JSON URL")
    logging.getLogger("scrapy.core.engine").warning("un avertissement de Scrapy")
    logging.getLogger("tenderwatch.notifier").error("un envoi a échoué")
    return stream.getvalue()


def test_default_keeps_our_progress_and_only_library_warnings() -> None:
    out = _emit()
    assert "collecte : 12 avis" in out
    assert "un avertissement de Scrapy" in out
    assert "Peer: 127.0.0.1" not in out and "Loaded JSON URL" not in out
    assert "détail interne" not in out


def test_verbose_shows_everything_and_quiet_only_errors() -> None:
    verbose = _emit(verbose=True)
    assert "Peer: 127.0.0.1" in verbose and "Loaded JSON URL" in verbose
    assert "détail interne" in verbose
    quiet = _emit(quiet=True)
    assert quiet.strip().splitlines() == [
        line for line in quiet.strip().splitlines() if "un envoi a échoué" in line
    ]
    assert "un envoi a échoué" in quiet


def test_level_from_the_environment_and_an_unknown_one() -> None:
    assert "Loaded JSON URL" in _emit(level="debug")
    assert "collecte : 12 avis" not in _emit(level="WARNING")
    with pytest.raises(LogLevelError, match="niveau de journalisation inconnu : « BAVARD »"):
        setup_logging("BAVARD", stream=io.StringIO())


def test_the_filter_masks_library_records_args_and_tracebacks() -> None:
    stream = io.StringIO()
    setup_logging("DEBUG", stream=stream)
    url = f"json://bob:{PASSWORD}@127.0.0.1:8080/hooks/{TOKEN}"
    logging.getLogger("apprise").debug("Loaded URL %s", url)
    try:
        raise ConnectionError(f"cannot reach {url}")
    except ConnectionError:
        logging.getLogger("urllib3.connectionpool").exception("échec")
    out = stream.getvalue()
    assert "Loaded URL json://***@127.0.0.1:8080/hooks/***" in out
    assert "cannot reach json://***@" in out  # the traceback went through the filter too
    assert TOKEN not in out and PASSWORD not in out


# -- real processes: `groups test` and `notify` at DEBUG against a local webhook ------------


def _channel_config(tmp_path: Path, hook: Webhook) -> Path:
    url = hook.url(f"hooks/{TOKEN}", user="bob", password=PASSWORD)
    apprise_file = tmp_path / "apprise.yml"
    apprise_file.write_text(
        f'version: 1\nurls:\n  - "{url}":\n      - tag: grp\n', encoding="utf-8"
    )
    config = tmp_path / "tenderwatch.toml"
    config.write_text(
        f'[notify]\napprise_config = "{apprise_file}"\n\n'
        '[[groups]]\nid = "grp"\nname = "Groupe d\'essai"\nkind = "siae"\n'
        'structure_kinds = ["ACI"]\ndepartements = ["26"]\ndelivery = "immediate"\n',
        encoding="utf-8",
    )
    return config


@pytest.mark.parametrize(
    ("args", "env_level"),
    [
        (["groups", "test", "grp"], "DEBUG"),
        (["-v", "groups", "test", "grp"], None),
        (["notify"], "DEBUG"),
    ],
    ids=["groups-test-env-debug", "groups-test-verbose", "notify-env-debug"],
)
def test_no_token_in_the_debug_log_of_a_real_send(
    tmp_path: Path, args: list[str], env_level: str | None
) -> None:
    hook = Webhook().start()
    try:
        config = _channel_config(tmp_path, hook)
        extra = {"TENDERWATCH_CONFIG": str(config)}
        if env_level:
            extra["TENDERWATCH_LOG_LEVEL"] = env_level
        proc = run_cli(args, cli_env(tmp_path, **extra))
    finally:
        hook.close()
    log = proc.stdout + proc.stderr
    if args[-1] == "grp":
        assert proc.returncode == 0, log[-2000:]
        assert len(hook.bodies(f"hooks/{TOKEN}")) == 1  # the message was sent all the same
    # The libraries did speak at DEBUG (so the test means something)...
    assert "urllib3" in proc.stderr or "apprise" in proc.stderr, proc.stderr[-2000:]
    # ...and neither the token nor the password came out, in any form.
    assert TOKEN not in log
    assert PASSWORD not in log
    assert "***" in proc.stderr


def test_quiet_send_prints_no_log_line(tmp_path: Path) -> None:
    hook = Webhook().start()
    try:
        config = _channel_config(tmp_path, hook)
        proc = run_cli(
            ["-q", "groups", "test", "grp"], cli_env(tmp_path, TENDERWATCH_CONFIG=str(config))
        )
    finally:
        hook.close()
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    assert len(hook.bodies(f"hooks/{TOKEN}")) == 1


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_log_line_does_not_break_the_progress_line_on_a_terminal() -> None:
    from tenderwatch.core.logs import clear_status, show_status

    tty = _Terminal()
    setup_logging(stream=tty)
    assert show_status("Collecte BOAMP : 10 avis reçus", stream=tty)
    logging.getLogger("tenderwatch.cycle").info("un message")
    clear_status()
    assert tty.getvalue() == (
        "\r\x1b[KCollecte BOAMP : 10 avis reçus"
        "\r\x1b[Kun message\nCollecte BOAMP : 10 avis reçus"
        "\r\x1b[K"
    )
    assert not show_status("rien", stream=io.StringIO())  # not a terminal: nothing drawn


def test_a_library_can_be_let_through_and_quiet_still_wins() -> None:
    from tenderwatch.core import logs

    logs.set_library_level("apscheduler", logging.INFO)
    try:
        stream = io.StringIO()
        setup_logging(stream=stream)
        logging.getLogger("apscheduler.executors.default").info("Running job collecte")
        logging.getLogger("aiosmtpd").info("Peer connected")
        assert "Running job collecte" in stream.getvalue()
        assert "Peer connected" not in stream.getvalue()
        quiet = io.StringIO()
        setup_logging(stream=quiet, quiet=True)
        logging.getLogger("apscheduler.executors.default").info("Running job collecte")
        assert quiet.getvalue() == ""
    finally:
        logs._LIBRARY_LEVELS.clear()


def test_progress_every_n_items_in_a_log_and_in_place_on_a_terminal() -> None:
    from tenderwatch.core.logs import Progress

    log = io.StringIO()
    setup_logging(stream=log)
    progress = Progress("Envois", 7, logger=logging.getLogger("tenderwatch.x"), every=3)
    for _ in range(7):
        progress.step()
    progress.done()
    assert log.getvalue().splitlines() == ["Envois : 3/7", "Envois : 6/7", "Envois : 7/7"]

    tty = _Terminal()
    setup_logging(stream=tty)
    progress = Progress("Envois", 2, logger=logging.getLogger("tenderwatch.x"), stream=tty)
    progress.step()
    progress.step()
    progress.done()
    assert tty.getvalue() == "\r\x1b[KEnvois : 1/2\r\x1b[KEnvois : 2/2\r\x1b[K"

    quiet = _Terminal()
    setup_logging(stream=quiet, quiet=True)
    progress = Progress("Envois", 2, logger=logging.getLogger("tenderwatch.x"), stream=quiet)
    progress.step()
    progress.done()
    assert quiet.getvalue() == ""
