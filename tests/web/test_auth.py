"""Sign-in without passwords: links valid, expired, reused, forged; no enumeration; rate
limit; sign-out; revocation; safe redirects."""

from __future__ import annotations

import re
import time

from itsdangerous import TimestampSigner, URLSafeTimedSerializer

from tenderwatch.core.board import Board
from tenderwatch.core.store import Store
from tenderwatch.web import signin_link

from .conftest import SECRET, csrf, sign_in

LINK_RE = re.compile(r"http://board\.test(/connexion/\S+)")


def _request(client, email: str, suivant: str = ""):
    token = csrf(client)
    return client.post(
        "/connexion", data={"csrf_token": token, "courriel": email, "suivant": suivant}
    )


def _mails(app):
    return app.extensions["tenderwatch"]["test_mailer"].sent


def test_signin_form_is_labelled_and_in_french(app):
    page = app.test_client().get("/connexion").get_data(as_text=True)
    assert '<html lang="fr">' in page
    assert '<label for="courriel">' in page and 'id="courriel"' in page
    assert 'href="#contenu"' in page  # skip link


def test_known_and_unknown_addresses_get_the_same_answer(app):
    known = _request(app.test_client(), "Alice@ACI.example")
    unknown = _request(app.test_client(), "personne@nulle-part.example")
    assert known.status_code == unknown.status_code == 200
    assert known.get_data(as_text=True) == unknown.get_data(as_text=True)
    # Only the member got an e-mail, with a link to the board's public address.
    sent = _mails(app)
    assert [to for to, _s, _b in sent] == ["alice@aci.example"]
    assert LINK_RE.search(sent[0][2])


def test_the_emailed_link_signs_in_once(app):
    client = app.test_client()
    assert client.get("/g/aci-drome/").status_code == 302
    _request(client, "alice@aci.example")
    path = LINK_RE.search(_mails(app)[0][2]).group(1)
    # Opening the link (a mail scanner would) does not use it up: it shows a button.
    page = client.get(path)
    assert page.status_code == 200 and "Ouvrir le tableau de veille" in page.get_data(as_text=True)
    assert client.get(path).status_code == 200
    token = csrf(client, path)
    response = client.post(path, data={"csrf_token": token})
    assert response.status_code == 302
    assert client.get("/g/aci-drome/").status_code == 200
    # Reused: refused, even from another browser.
    other = app.test_client()
    assert other.get(path).status_code == 200  # signature still fine
    again = other.post(path, data={"csrf_token": csrf(other, path)})
    assert again.status_code == 400
    assert "n'est plus valable" in again.get_data(as_text=True)
    assert other.get("/g/aci-drome/").status_code == 302


def test_expired_link_is_refused(app, db_path):
    path = signin_link(app, "alice@aci.example")
    store = Store(db_path)
    store.db.execute("UPDATE board_signin SET expires_at = '2000-01-01T00:00:00+00:00'")
    store.db.conn.commit()
    store.close()
    client = app.test_client()
    response = client.post(path, data={"csrf_token": csrf(client)})
    assert response.status_code == 400
    assert client.get("/g/aci-drome/").status_code == 302


def test_signature_older_than_the_link_lifetime_is_refused(app, db_path):
    # A nonce still valid in the database, but signed 31 minutes ago.
    store = Store(db_path)
    member = Board(store).member_by_email("alice@aci.example")
    nonce = Board(store).create_signin(member.id, minutes=120)
    store.close()

    class Past(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(time.time()) - 31 * 60

    token = URLSafeTimedSerializer(SECRET, salt="tenderwatch-connexion", signer=Past).dumps(nonce)
    client = app.test_client()
    assert client.get(f"/connexion/{token}").status_code == 400
    assert client.post(f"/connexion/{token}", data={"csrf_token": csrf(client)}).status_code == 400


def test_forged_links_are_refused(app, db_path):
    store = Store(db_path)
    member = Board(store).member_by_email("alice@aci.example")
    nonce = Board(store).create_signin(member.id, minutes=30)
    store.close()
    forged = URLSafeTimedSerializer(
        "une-autre-clé-secrète-de-test", salt="tenderwatch-connexion"
    ).dumps(nonce)
    client = app.test_client()
    for path in (f"/connexion/{forged}", "/connexion/n-importe-quoi", f"/connexion/{nonce}"):
        assert client.get(path).status_code == 400
        assert client.post(path, data={"csrf_token": csrf(client)}).status_code == 400
    assert client.get("/g/aci-drome/").status_code == 302


def test_rate_limit_is_the_same_for_known_and_unknown_addresses(app):
    limit = app.extensions["tenderwatch"]["settings"].signin_per_email_per_hour
    for email in ("alice@aci.example", "inconnu@nulle-part.example"):
        client = app.test_client()
        codes = [_request(client, email).status_code for _ in range(limit + 1)]
        assert codes == [200] * limit + [429]
    assert len(_mails(app)) == limit


def test_signout_ends_the_session(alice):
    assert alice.get("/g/aci-drome/").status_code == 200
    response = alice.post("/deconnexion", data={"csrf_token": csrf(alice, "/g/aci-drome/")})
    assert response.status_code == 302
    assert alice.get("/g/aci-drome/").status_code == 302


def test_removed_member_loses_access_and_its_links(app, db_path):
    client = sign_in(app, "bruno@aci.example")
    pending = signin_link(app, "bruno@aci.example")
    store = Store(db_path)
    Board(store).remove_membership("bruno@aci.example", "aci-drome")
    store.close()
    assert client.get("/g/aci-drome/").status_code == 302  # session no longer counts
    fresh = app.test_client()
    assert fresh.post(pending, data={"csrf_token": csrf(fresh)}).status_code == 400


def test_personal_notice_link_asks_sign_in_then_lands_on_the_notice(app):
    client = app.test_client()
    response = client.get("/avis/boamp:26-1?courriel=alice@aci.example")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/connexion?suivant=")
    form = client.get(response.headers["Location"]).get_data(as_text=True)
    assert 'value="/avis/boamp:26-1?courriel=alice@aci.example"' in form
    assert 'type="email" autocomplete="email" required value="alice@aci.example"' in form
    _request(client, "alice@aci.example", suivant="/avis/boamp:26-1?courriel=alice@aci.example")
    path = LINK_RE.search(_mails(app)[-1][2]).group(1)
    response = client.post(path, data={"csrf_token": csrf(client, path)})
    assert response.headers["Location"] == "/avis/boamp:26-1?courriel=alice@aci.example"
    response = client.get(response.headers["Location"])
    assert response.headers["Location"] == "/g/aci-drome/avis/boamp:26-1"
    assert client.get(response.headers["Location"]).status_code == 200


def test_redirect_after_sign_in_stays_on_the_site(app):
    client = app.test_client()
    for target in ("//evil.example/", "https://evil.example/", "/\\evil.example"):
        path = signin_link(app, "alice@aci.example", next_url=target)
        response = client.post(path, data={"csrf_token": csrf(client)})
        assert response.status_code == 302
        assert response.headers["Location"] == "/", target


def test_session_cookie_flags(app):
    client = app.test_client()
    path = signin_link(app, "alice@aci.example")
    response = client.post(path, data={"csrf_token": csrf(client)})
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Secure" not in cookie  # no --https here


def test_dev_app_needs_no_key_but_production_does(db_path):
    import pytest

    from tenderwatch.core.board import WebSettings
    from tenderwatch.web import WebConfigError, create_app

    with pytest.raises(WebConfigError, match="aucune clé secrète"):
        create_app(db_path, WebSettings(), secret_key=None)
    app = create_app(db_path, WebSettings(), secret_key=None, dev=True)
    assert len(app.config["SECRET_KEY"]) >= 32
