"""The shared veille board (issue #10, ADR 0010): a small Flask application over the
tenderwatch database. :func:`create_app` builds it; :func:`signin_link` makes a sign-in
link without e-mail (tests, the demo, browser tests)."""

from __future__ import annotations

from flask import Flask

from tenderwatch.core.board import Board, WebSettings
from tenderwatch.web.app import WebConfigError, create_app

__all__ = ["WebConfigError", "WebSettings", "create_app", "signin_link"]


def signin_link(
    app: Flask, email: str, next_url: str | None = None, *, absolute: bool = False
) -> str:
    """A fresh sign-in link for the member with ``email`` (``/connexion/<token>``, or with the
    ``[web] base_url`` in front when ``absolute``). Raises LookupError for an unknown address."""
    from tenderwatch.web import app as app_module
    from tenderwatch.web.auth import make_token

    with app.app_context():
        member = Board(app_module.store()).member_by_email(email)
        if member is None:
            raise LookupError("adresse inconnue")
        path = f"/connexion/{make_token(member.id, next_url)}"
    base = app.extensions["tenderwatch"]["settings"].base_url if absolute else ""
    return base + path
