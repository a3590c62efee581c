"""Sign-in without passwords (ADR 0010).

1. ``POST /connexion`` with an address: the same page and status whether the address is
   known or not (no enumeration); rate-limited per address and per client in the database.
2. A known member gets an e-mail with ``/connexion/<token>``: an itsdangerous signature of
   a random nonce stored in ``board_signin`` (expiring after ``[web] link_minutes``).
3. ``GET /connexion/<token>`` only checks the link and shows a button: mail scanners that
   open links do not use it up. ``POST`` (with CSRF) uses the nonce once, atomically, and
   opens the session.

A link is invalid when forged (bad signature), too old (signature age or the nonce's
``expires_at``), already used, or revoked (the member left its groups); the page says
the same thing in every case.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import threading
from collections.abc import Callable
from typing import Any

from flask import (
    Blueprint,
    abort,
    current_app,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from tenderwatch.core.board import Member, SignInError, email_bucket, normalise_email

logger = logging.getLogger(__name__)

bp = Blueprint("auth", __name__)

_SALT = "tenderwatch-connexion"


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=_SALT)


def _ext() -> dict[str, Any]:
    return current_app.extensions["tenderwatch"]


def safe_next(value: str | None) -> str | None:
    """A local path to go to after sign-in; anything else (another site, ``//host``,
    ``javascript:``) is dropped."""
    if not value or not value.startswith("/") or value.startswith(("//", "/\\")):
        return None
    if any(ch in value for ch in "\r\n\t\\"):
        return None
    return value[:500]


def make_token(member_id: int, next_url: str | None = None) -> str:
    """A new single-use sign-in token for ``member_id`` (needs an app context)."""
    from tenderwatch.web.app import board

    nonce = board().create_signin(
        member_id, minutes=_ext()["settings"].link_minutes, next_url=safe_next(next_url)
    )
    return _serializer().dumps(nonce)


def _check_token(token: str) -> str:
    """The nonce in a token whose signature and age are right; SignInError otherwise."""
    max_age = _ext()["settings"].link_minutes * 60
    try:
        nonce = _serializer().loads(token, max_age=max_age)
    except (SignatureExpired, BadSignature):
        raise SignInError(token[:8]) from None
    if not isinstance(nonce, str):
        raise SignInError(token[:8])
    return nonce


def current_member() -> Member | None:
    """The signed-in member, read from the database at each request (a member taken out of
    its groups loses access at once)."""
    from flask import g

    from tenderwatch.web.app import board

    if "member" in g:
        return g.member
    member = None
    member_id = session.get("mid")
    if isinstance(member_id, int):
        member = board().member(member_id)
        if member is not None and not member.groups and not board().has_access(member.id):
            member = None
    g.member = member
    return member


def login_required(view: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if current_member() is None:
            # An alert's personal link names the address: the form comes pre-filled with it.
            email = request.args.get("courriel") or None
            return redirect(
                url_for("auth.signin", suivant=request.full_path.rstrip("?"), courriel=email)
            )
        return view(*args, **kwargs)

    return wrapper


def _client() -> str:
    # waitress sets REMOTE_ADDR; behind a proxy every client shares the proxy's address, and
    # the per-address limit still holds.
    return "ip:" + hashlib.sha256((request.remote_addr or "?").encode()).hexdigest()[:24]


def _send(to: str, subject: str, body: str) -> None:
    """Send the link in the background: the answer must not take longer for a known
    address than for an unknown one (timing would tell them apart). Tests send inline."""
    mailer = _ext()["mailer"]
    if current_app.testing:
        mailer.send(to, subject, body)
        return

    def run() -> None:
        try:
            if not mailer.send(to, subject, body):
                logger.error("lien de connexion non envoyé")
        except Exception:  # a thread's failure must be logged, never lost
            logger.exception("lien de connexion non envoyé")

    threading.Thread(target=run, name="signin-mail", daemon=True).start()


@bp.get("/connexion")
def signin() -> Any:
    return render_template(
        "signin.html",
        email=request.args.get("courriel", "")[:254],
        suivant=safe_next(request.args.get("suivant")) or "",
    )


@bp.post("/connexion")
def signin_request() -> Any:
    from tenderwatch.web.app import board

    settings = _ext()["settings"]
    email = normalise_email(request.form.get("courriel", ""))[:254]
    suivant = safe_next(request.form.get("suivant"))
    if "@" not in email:
        return (
            render_template(
                "signin.html",
                email=email,
                suivant=suivant or "",
                error="Indiquez une adresse électronique.",
            ),
            400,
        )
    b = board()
    # Both limits count known and unknown addresses alike: the answer reveals nothing.
    if not b.rate_allow(_client(), settings.signin_per_ip_per_hour) or not b.rate_allow(
        email_bucket(email), settings.signin_per_email_per_hour
    ):
        b.audit("anonyme", "signin-limited", email_bucket(email))
        return render_template("signin_limited.html"), 429
    member = b.member_by_email(email)
    if member is not None and b.has_access(member.id):
        token = make_token(member.id, suivant)
        link = f"{settings.base_url}{url_for('auth.signin_confirm', token=token)}"
        body = render_template("mail_signin.txt", member=member, link=link, settings=settings)
        _send(member.email, "Votre lien de connexion — tenderwatch", body)
        b.audit(f"member:{member.id}", "signin-link", f"member:{member.id}")
    else:
        b.audit("anonyme", "signin-unknown", email_bucket(email))
    return render_template("signin_sent.html", minutes=settings.link_minutes)


@bp.get("/connexion/<token>")
def signin_confirm(token: str) -> Any:
    try:
        _check_token(token)
    except SignInError:
        return render_template("signin_invalid.html"), 400
    return render_template("signin_confirm.html", token=token)


@bp.post("/connexion/<token>")
def signin_use(token: str) -> Any:
    from tenderwatch.web.app import board

    b = board()
    try:
        member_id, next_url = b.consume_signin(_check_token(token))
    except SignInError:
        b.audit("anonyme", "signin-refused", "")
        return render_template("signin_invalid.html"), 400
    session.clear()  # a fresh session: nothing from before the sign-in is kept
    session["mid"] = member_id
    session.permanent = True
    b.audit(f"member:{member_id}", "signin", f"member:{member_id}")
    return redirect(safe_next(next_url) or url_for("views.home"))


@bp.post("/deconnexion")
def signout() -> Any:
    from tenderwatch.web.app import board

    member_id = session.get("mid")
    session.clear()
    if isinstance(member_id, int):
        board().audit(f"member:{member_id}", "signout", f"member:{member_id}")
    return redirect(url_for("auth.signin"))


def require_admin(group_id: str) -> Member:
    member = current_member()
    if member is None or member.groups.get(group_id) != "admin":
        abort(403)
    return member
