"""The board's Flask application: :func:`create_app`.

One process on the tenderwatch database (``tenderwatch serve`` runs it under waitress). Each
request opens its own connection (SQLite connections are not shared between waitress
threads) and closes it at the end. Sessions are signed cookies (HttpOnly, SameSite=Lax,
Secure behind HTTPS); every POST carries a CSRF token (Flask-WTF); every page of a group
checks the signed-in member belongs to it and answers 404 otherwise (ADR 0010).

For tests and other tools::

    from tenderwatch.web import create_app, signin_link
    app = create_app("tenderwatch.db", WebSettings(), secret_key="…", groups=groups)
    link = signin_link(app, "membre@example.org")      # "/connexion/<token>"
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from flask import Flask, g, render_template, request
from flask_wtf.csrf import CSRFError, CSRFProtect

from tenderwatch.core.board import Board, WebSettings
from tenderwatch.core.store import Store
from tenderwatch.notifier.models import Group
from tenderwatch.notifier.render import facilitator_line
from tenderwatch.web import present
from tenderwatch.web.mail import ConsoleMailer, Mailer

logger = logging.getLogger(__name__)

# A strict policy: no inline script or style, nothing from elsewhere, no framing.
_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
)


class WebConfigError(RuntimeError):
    """The board cannot start (French message)."""


def create_app(
    db_path: str,
    settings: WebSettings,
    *,
    secret_key: str | None = None,
    groups: Iterable[Group] = (),
    mailer: Mailer | None = None,
    dev: bool = False,
    testing: bool = False,
) -> Flask:
    """Build the board application.

    ``db_path``: the tenderwatch SQLite database (migrated here once). ``settings``: the
    ``[web]`` section. ``secret_key`` signs sessions and sign-in links; required unless
    ``dev`` (then a random key, so sessions and links die with the process). ``groups``: the
    configured groups (names, kinds) — a group a member belongs to but not configured still
    works, named by its id. ``mailer`` sends sign-in links (default in ``dev``: the console).
    """
    if not secret_key:
        if not dev:
            raise WebConfigError(
                "aucune clé secrète : définissez [web] secret_key_file ou "
                "TENDERWATCH_WEB_SECRET_KEY (ou lancez avec --dev pour essayer)"
            )
        import secrets

        secret_key = secrets.token_urlsafe(32)
    if mailer is None:
        if not dev:
            raise WebConfigError("aucun moyen d'envoyer les liens de connexion")
        mailer = ConsoleMailer()

    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=secret_key,
        SESSION_COOKIE_NAME="tenderwatch_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.https,
        PERMANENT_SESSION_LIFETIME=timedelta(days=settings.session_days),
        # The CSRF token lives as long as the session, not one hour: a form left open over
        # lunch still submits.
        WTF_CSRF_TIME_LIMIT=None,
        WTF_CSRF_SSL_STRICT=settings.https,
        MAX_CONTENT_LENGTH=256 * 1024,
        TESTING=testing,
    )
    # Migrate once at start-up; requests then open the store without migrating.
    Store(db_path).close()
    app.extensions["tenderwatch"] = {
        "db_path": db_path,
        "settings": settings,
        "groups": {group.id: group for group in groups},
        "mailer": mailer,
        "dev": dev,
    }
    CSRFProtect(app)

    from tenderwatch.web import auth, views

    app.register_blueprint(auth.bp)
    app.register_blueprint(views.bp)
    # Réseau administration and self-service group settings (issue #11).
    from tenderwatch.web import reseau, settings_views

    app.register_blueprint(reseau.bp)
    app.register_blueprint(settings_views.bp)
    # The observatory of social clauses: every signed-in member, no group data (issue #11).
    from tenderwatch.web import observatory

    app.register_blueprint(observatory.bp)

    @app.teardown_appcontext
    def _close(_exc: BaseException | None) -> None:
        store = g.pop("store", None)
        if store is not None:
            store.close()

    @app.after_request
    def _headers(response: Any) -> Any:
        response.headers.setdefault("Content-Security-Policy", _CSP)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        # Sign-in links carry a token in their path: never send it on as a Referer.
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        response.headers.setdefault("X-Frame-Options", "DENY")
        if request.endpoint != "static":
            response.headers.setdefault("Cache-Control", "no-store")
        return response

    @app.errorhandler(CSRFError)
    def _csrf(_exc: CSRFError) -> Any:
        return (
            render_template(
                "error.html",
                title="Formulaire expiré",
                message="Le formulaire a expiré ou ne vient pas de ce site. "
                "Rechargez la page et recommencez.",
            ),
            400,
        )

    @app.errorhandler(404)
    def _not_found(_exc: Exception) -> Any:
        return (
            render_template(
                "error.html", title="Page introuvable", message="Cette page n'existe pas."
            ),
            404,
        )

    @app.errorhandler(403)
    def _forbidden(_exc: Exception) -> Any:
        return (
            render_template(
                "error.html",
                title="Action réservée",
                message="Cette action est réservée aux administrateurs du groupe.",
            ),
            403,
        )

    app.jinja_env.globals.update(
        STATUS_FR=present.STATUS_FR,
        REASON_FR=present.REASON_FR,
        OUTCOME_FR=present.OUTCOME_FR,
        ROLE_FR=present.ROLE_FR,
        ROLE_WANTED_FR=present.ROLE_WANTED_FR,
        ACTION_FR=present.ACTION_FR,
        NATURE_FR=present.NATURE_FR,
        DEADLINE_WINDOWS=present.DEADLINE_WINDOWS,
    )
    # The clause contact worded as in the alerts (one function for both).
    app.jinja_env.filters["facilitator_line"] = facilitator_line
    return app


def store() -> Store:
    """This request's store (opened on first use, closed at teardown)."""
    from flask import current_app

    if "store" not in g:
        g.store = Store(current_app.extensions["tenderwatch"]["db_path"], migrate=False)
    return g.store


def board() -> Board:
    if "board" not in g:
        g.board = Board(store())
    return g.board
