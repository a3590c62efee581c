"""Local servers that receive what tenderwatch sends: an SMTP server that keeps every message
(aiosmtpd) and an HTTP webhook receiver that keeps every JSON body.

The offline demo delivers its alerts to them, and the tests assert on what they received.
They listen on 127.0.0.1 only, on a free port.
"""

from __future__ import annotations

import email
import json
import socket
import threading
from email import policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Mailbox:
    """An SMTP server keeping every message. It can be stopped and started again on the same
    port (an SMTP server down during a run). With ``login``/``password`` it requires them."""

    def __init__(
        self, *, login: str | None = None, password: str | None = None, port: int | None = None
    ) -> None:
        self.port = port or free_port()
        self.login = login
        self.password = password
        self.envelopes: list[Any] = []
        self.controller: Controller | None = None

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.envelopes.append(envelope)
        return "250 OK"

    def _auth(
        self, server: Any, session: Any, envelope: Any, mechanism: str, data: Any
    ) -> AuthResult:
        ok = (
            data.login == (self.login or "").encode()
            and data.password == (self.password or "").encode()
        )
        return AuthResult(success=ok)

    def start(self) -> Mailbox:
        kwargs: dict[str, Any] = {}
        if self.login:
            # A local server: authentication without TLS, the URL still carries a password.
            kwargs.update(auth_require_tls=False, authenticator=self._auth)
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port, **kwargs)
        self.controller.start()
        return self

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    @property
    def messages(self) -> list[EmailMessage]:
        return [email.message_from_bytes(e.content, policy=policy.default) for e in self.envelopes]

    def url(self, to: str, sender: str = "veille@tenderwatch.example") -> str:
        """An apprise URL that delivers to ``to`` through this server (plain SMTP)."""
        auth = f"{self.login}:{self.password}@" if self.login else ""
        return f"mailto://{auth}127.0.0.1:{self.port}?from={sender}&to={to}&mode=insecure"


class Webhook:
    """An HTTP server recording the JSON bodies POSTed to it, by path."""

    def __init__(self) -> None:
        received: list[tuple[str, dict[str, Any]]] = []

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                size = int(self.headers.get("Content-Length", 0))
                try:
                    received.append((self.path, json.loads(self.rfile.read(size))))
                except ValueError:
                    self.send_response(400)
                    self.end_headers()
                    return
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.received = received
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> Webhook:
        self.thread.start()
        return self

    def url(self, path: str, *, user: str | None = None, password: str | None = None) -> str:
        """An apprise ``json://`` URL posting to ``/path`` on this server."""
        auth = f"{user}:{password}@" if user else ""
        return f"json://{auth}127.0.0.1:{self.port}/{path}"

    def bodies(self, path: str) -> list[dict[str, Any]]:
        return [body for p, body in self.received if p == f"/{path}"]

    def close(self) -> None:
        # shutdown() waits for serve_forever() to return: only ask it of a started server.
        if self.thread.is_alive():
            self.server.shutdown()
        self.server.server_close()
