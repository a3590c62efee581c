"""The board's commands (real subprocesses) and the sign-in e-mail through a real local SMTP
server; ``tenderwatch serve --dev`` answering over HTTP."""

from __future__ import annotations

import http.cookiejar
import json
import re
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

from tenderwatch.core.board import Board, WebSettings
from tenderwatch.core.store import Store
from tenderwatch.localservers import Mailbox, free_port
from tenderwatch.web import create_app
from tenderwatch.web.mail import AppriseMailer, ConsoleMailer

from ..conftest import ROOT, cli_env, run_cli
from .conftest import GROUPS, SECRET, csrf

CONFIG = """
[notify]
apprise_config = "apprise.yml"

[web]
base_url = "http://tableau.example"
link_minutes = 20

[[groups]]
id = "aci-drome"
name = "ACI Vallée de la Drôme"
kind = "siae"
structure_kinds = ["ACI"]

[[groups.members]]
name = "Alice Martin"
email = "Alice@ACI.example"
role = "admin"
structure = "ACI Drôme Nature"
siret = "12345678901234"
kind = "ACI"
departements = ["26"]
"""


def _config(tmp_path: Path, mailbox: Mailbox | None = None) -> Path:
    port = mailbox.port if mailbox else 1
    (tmp_path / "apprise.yml").write_text(
        "version: 1\nurls:\n"
        f"  - mailto://127.0.0.1:{port}?from=veille@tenderwatch.example&to=ops@example.org&mode=insecure:\n"
        "      - tag: aci-drome, connexion\n",
        encoding="utf-8",
    )
    path = tmp_path / "tenderwatch.toml"
    path.write_text(CONFIG, encoding="utf-8")
    return path


def test_members_commands_and_config_sync(tmp_path):
    env = cli_env(tmp_path, TENDERWATCH_CONFIG=str(_config(tmp_path)))
    listed = run_cli(["members", "list"], env)
    assert listed.returncode == 0, listed.stderr
    assert (
        "Alice Martin <alice@aci.example> — ACI Drôme Nature : aci-drome (admin)" in listed.stdout
    )
    added = run_cli(
        [
            "members",
            "add",
            "aci-drome",
            "bruno@aci.example",
            "--name",
            "Bruno",
            "--kind",
            "ETTI",
            "--departement",
            "26",
            "--cpv",
            "77",
        ],
        env,
    )
    assert added.returncode == 0, added.stderr
    assert "Bruno <bruno@aci.example> : member de « aci-drome »" in added.stdout
    unknown_group = run_cli(["members", "add", "nulle-part", "x@y.example"], env)
    assert unknown_group.returncode == 1 and "groupe inconnu" in unknown_group.stderr
    bad_siret = run_cli(["members", "add", "aci-drome", "x@y.example", "--siret", "12"], env)
    assert bad_siret.returncode == 1 and "14 chiffres" in bad_siret.stderr
    as_json = run_cli(["members", "list", "--json"], env)
    rows = [json.loads(line) for line in as_json.stdout.splitlines()]
    assert {r["email"] for r in rows} == {"alice@aci.example", "bruno@aci.example"}
    removed = run_cli(["members", "remove", "bruno@aci.example"], env)
    assert removed.returncode == 0 and "révoqués" in removed.stdout
    again = run_cli(["members", "remove", "bruno@aci.example"], env)
    assert again.returncode == 1 and "aucun membre" in again.stderr


def test_members_config_errors_name_the_member_not_its_address(tmp_path):
    path = _config(tmp_path)
    path.write_text(
        CONFIG.replace('email = "Alice@ACI.example"', 'email = "alice-at-aci"').replace(
            'kind = "ACI"\ndep', 'kind = "XYZ"\ndep'
        ),
        encoding="utf-8",
    )
    env = cli_env(tmp_path, TENDERWATCH_CONFIG=str(path))
    result = run_cli(["members", "list"], env)
    assert result.returncode == 1
    assert (
        "groupe n° 1 « aci-drome », champ « members » : membre n° 1 : « email » : adresse électronique invalide"
        in result.stderr
    )
    assert "membre n° 1 : « XYZ » inconnu" in result.stderr
    assert "alice-at-aci" not in result.stderr


def test_feedback_export_writes_json_lines(tmp_path, db_path):
    store = Store(db_path)
    board = Board(store)
    alice = board.member_by_email("alice@aci.example")
    board.set_mark(
        "aci-drome",
        "boamp:26-1",
        "2",
        alice.id,
        "pas_pour_nous",
        reason="clause_mal_detectee",
        label="reserved_siae",
        text="le lot n'est pas réservé",
    )
    board.set_mark("aci-drome", "boamp:26-2", "", alice.id, "interesse")
    store.close()
    env = cli_env(tmp_path, TENDERWATCH_DB=db_path)
    out = tmp_path / "retours.jsonl"
    result = run_cli(["feedback", "export", "--output", str(out)], env)
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert len(rows) == 1
    assert {k: rows[0][k] for k in ("notice_id", "lot", "label", "reason", "text")} == {
        "notice_id": "boamp:26-1",
        "lot": "2",
        "label": "reserved_siae",
        "reason": "clause_mal_detectee",
        "text": "le lot n'est pas réservé",
    }


def test_serve_refuses_to_start_without_a_key(tmp_path):
    env = cli_env(tmp_path)
    result = run_cli(["serve", "--port", str(free_port())], env, timeout=60)
    assert result.returncode == 1
    assert "aucune clé secrète" in result.stderr and "--dev" in result.stderr


def test_signin_link_goes_through_the_smtp_channel(tmp_path, db_path):
    mailbox = Mailbox().start()
    try:
        _config(tmp_path, mailbox)
        mailer = AppriseMailer(tmp_path / "apprise.yml", "connexion")
        app = create_app(
            db_path,
            WebSettings(base_url="http://tableau.example"),
            secret_key=SECRET,
            groups=GROUPS,
            mailer=mailer,
        )
        client = app.test_client()
        client.post(
            "/connexion", data={"csrf_token": csrf(client), "courriel": "alice@aci.example"}
        )
        client.post(
            "/connexion", data={"csrf_token": csrf(client), "courriel": "inconnu@aci.example"}
        )
        # Sent in the background (the answer takes as long for an unknown address).
        for _ in range(100):
            if mailbox.messages:
                break
            time.sleep(0.1)
        time.sleep(0.5)
        messages = mailbox.messages
        assert len(messages) == 1
        message = messages[0]
        # To the member alone, not to the channel's usual recipient.
        assert message["To"].strip() == "alice@aci.example"
        body = message.get_body(("plain", "html")).get_content()
        path = re.search(r"http://tableau\.example(/connexion/\S+)", body).group(1)
        response = client.post(path, data={"csrf_token": csrf(client, path)})
        assert response.status_code == 302
        assert client.get("/g/aci-drome/").status_code == 200
    finally:
        mailbox.stop()


def test_serve_dev_answers_and_prints_the_link(tmp_path, db_path):
    port = free_port()
    env = cli_env(tmp_path, TENDERWATCH_DB=db_path)
    log = (tmp_path / "serve.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "tenderwatch.cli", "serve", "--dev", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=ROOT,
    )
    try:
        jar = http.cookiejar.CookieJar()
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
        base = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                page = opener.open(base + "/connexion", timeout=5).read().decode()
                break
            except OSError:
                time.sleep(0.2)
        else:
            raise AssertionError((tmp_path / "serve.log").read_text())
        token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
        data = urllib.parse.urlencode(
            {"csrf_token": token, "courriel": "bruno@aci.example"}
        ).encode()
        assert opener.open(base + "/connexion", data=data, timeout=10).status == 200
        for _ in range(50):
            found = re.search(r"(/connexion/[\w.\-]+)", (tmp_path / "serve.log").read_text())
            if found:
                break
            time.sleep(0.1)
        assert found, (tmp_path / "serve.log").read_text()
        confirm = opener.open(base + found.group(1), timeout=10).read().decode()
        token = re.search(r'name="csrf_token" value="([^"]+)"', confirm).group(1)
        board = opener.open(
            base + found.group(1),
            data=urllib.parse.urlencode({"csrf_token": token}).encode(),
            timeout=10,
        )
        assert board.geturl() == base + "/g/aci-drome/"
        assert "Nettoyage des locaux municipaux" in board.read().decode()
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()


def test_demo_links_open_the_board(tmp_path, db_path):
    from tenderwatch.board_commands import demo_board_links

    config = _config(tmp_path)
    printed: list[str] = []
    name = demo_board_links(tmp_path, Path(db_path), config, printed.append)
    links = re.findall(
        r"http://127\.0\.0\.1:8080(/connexion/\S+)", (tmp_path / name).read_text(encoding="utf-8")
    )
    assert len(links) == 1  # one group, its admin
    assert (
        "tenderwatch serve --dev" in printed[1] and "TENDERWATCH_WEB_SECRET_KEY_FILE=" in printed[1]
    )
    key = (tmp_path / "cle-tableau.txt").read_text(encoding="utf-8").strip()
    assert (tmp_path / "cle-tableau.txt").stat().st_mode & 0o077 == 0
    # What `serve` does with that key file: the link signs the demonstration member in.
    from tenderwatch.core.board import load_web_settings

    web = load_web_settings(
        None,
        env={
            "TENDERWATCH_WEB_SECRET_KEY_FILE": str(tmp_path / "cle-tableau.txt"),
            "TENDERWATCH_WEB_LINK_MINUTES": "1440",
        },
    )
    from tenderwatch.core.board import read_secret_key
    from tenderwatch.notifier.groups import load_groups

    assert read_secret_key(web) == key
    app = create_app(
        db_path, web, secret_key=key, groups=load_groups(config), mailer=ConsoleMailer()
    )
    client = app.test_client()
    response = client.post(links[0], data={"csrf_token": csrf(client, links[0])})
    assert response.status_code == 302
    assert client.get("/g/aci-drome/").status_code == 200
