"""Sending one e-mail to one member (sign-in links), through the notifier's apprise setup.

The channels file (``[notify] apprise_config`` or ``TENDERWATCH_APPRISE_CONFIG``) already
holds the SMTP server and its password for the alerts. The board takes the e-mail channel
tagged ``[web] mail_tag`` (``connexion`` by default) and replaces its recipients with the one
member's address: no second place for SMTP secrets. Nothing here logs an address or a URL.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Protocol

import apprise
from apprise import NotifyFormat
from apprise.common import MATCH_ALL_TAG

from tenderwatch.notifier.groups import _apprise_silenced

logger = logging.getLogger(__name__)


class Mailer(Protocol):
    """What the board needs to send a sign-in link."""

    def send(self, to: str, subject: str, body: str) -> bool: ...


class MailError(RuntimeError):
    """The e-mail channel cannot be used (French message, no secret)."""


class AppriseMailer:
    """One e-mail to one address through the apprise e-mail channel tagged ``tag``."""

    def __init__(self, apprise_config: str | Path, tag: str, *, timeout: float = 30.0) -> None:
        path = Path(apprise_config).expanduser()
        if not path.is_file():
            raise MailError(f"configuration apprise introuvable : {path}")
        self.path = path
        self.tag = tag
        self.timeout = timeout
        if self._server() is None:
            raise MailError(
                f"{path} : aucun canal e-mail (mailto://, mailtos://) ne porte l'étiquette "
                f"« {tag} » ([web] mail_tag) : les liens de connexion ne peuvent pas partir"
            )

    def _server(self):  # -> NotifyEmail | None
        config = apprise.AppriseConfig()
        with _apprise_silenced():
            config.add(str(self.path))
            servers = apprise.Apprise()
            servers.add(config)
            for server in servers.find(MATCH_ALL_TAG, match_always=False):
                tags = {str(t) for t in getattr(server, "tags", ()) or ()}
                if self.tag in tags and hasattr(server, "targets") and hasattr(server, "smtp_host"):
                    return server
        return None

    def send(self, to: str, subject: str, body: str) -> bool:
        """Send ``body`` (plain text) to ``to`` alone; False on failure (logged without the
        address or the URL)."""
        server = self._server()  # a fresh copy each time: recipients are changed on it
        if server is None:
            logger.error("canal e-mail « %s » introuvable dans %s", self.tag, self.path)
            return False
        server.targets = [(False, to)]
        for attr in ("cc", "bcc"):
            if hasattr(server, attr):
                setattr(server, attr, set())
        one = apprise.Apprise()
        one.add(server)
        try:
            with _apprise_silenced():
                ok = one.notify(
                    body=body, title=subject, body_format=NotifyFormat.TEXT, timeout=self.timeout
                )
        except Exception as exc:  # the plugin's text may quote the URL: keep the type only
            logger.error("envoi du lien de connexion impossible : %s", type(exc).__name__)
            return False
        if not ok:
            logger.error("envoi du lien de connexion refusé par le serveur SMTP")
        return bool(ok)


class ConsoleMailer:
    """Development: print the message on the console (``serve --dev``) and keep it."""

    def __init__(self, stream=None) -> None:
        self.stream = stream or sys.stderr
        self.sent: list[tuple[str, str, str]] = []

    def send(self, to: str, subject: str, body: str) -> bool:
        self.sent.append((to, subject, body))
        print(f"\n[dev] {subject} — pour {to}\n{body}\n", file=self.stream, flush=True)
        return True


class BothMailers:
    """``--dev`` with a channel: send for real and print too."""

    def __init__(self, *mailers: Mailer) -> None:
        self.mailers = mailers

    def send(self, to: str, subject: str, body: str) -> bool:
        results = [m.send(to, subject, body) for m in self.mailers]
        return any(results)
