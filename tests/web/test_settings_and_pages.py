"""[web] settings, member sync from the configuration, labels on every input, ordering."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tenderwatch.core.board import Board, load_web_settings, notice_url, read_secret_key
from tenderwatch.core.settings import SettingsError, load_settings
from tenderwatch.core.store import Store

from .conftest import add_notice, csrf, deliver


def test_web_settings_from_file_and_environment(tmp_path: Path):
    key = tmp_path / "cle"
    key.write_text("k" * 40 + "\n", encoding="utf-8")
    config = tmp_path / "t.toml"
    config.write_text(
        '[web]\nbase_url = "https://veille.example/"\nsecret_key_file = "cle"\nhttps = true\n',
        encoding="utf-8",
    )
    web = load_web_settings(config, env={"TENDERWATCH_WEB_LINK_MINUTES": "10"})
    assert (web.base_url, web.https, web.link_minutes) == ("https://veille.example", True, 10)
    assert read_secret_key(web) == "k" * 40  # relative to the TOML file's folder
    env_key = load_web_settings(config, env={"TENDERWATCH_WEB_SECRET_KEY": "e" * 32})
    assert read_secret_key(env_key) == "e" * 32
    load_settings(config, env={})  # the harvest's settings leave [web] alone


@pytest.mark.parametrize(
    "body,message",
    [
        ('[web]\nsecret_key = "en-clair"\n', "ne s'écrit pas dans ce fichier"),
        ("[web]\nlink_minutes = 0\n", "link_minutes"),
        ('[web]\nbase_url = "javascript:x"\n', "base_url"),
        ("[web]\nport = 1\n", "clé inconnue « port »"),
    ],
)
def test_bad_web_settings_are_refused_in_french(tmp_path: Path, body: str, message: str):
    config = tmp_path / "t.toml"
    config.write_text(body, encoding="utf-8")
    with pytest.raises(SettingsError, match=message) as info:
        load_web_settings(config, env={})
    assert "en-clair" not in str(info.value)


def test_notice_url_plain_and_personal():
    assert (
        notice_url("boamp:26-1", base_url="https://v.example/")
        == "https://v.example/avis/boamp:26-1"
    )
    assert (
        notice_url("ted:1-2024", base_url="https://v.example", email="Alice@X.example")
        == "https://v.example/avis/ted:1-2024?courriel=alice%40x.example"
    )


def test_config_sync_adds_updates_and_removes_only_its_own(db_path):
    store = Store(db_path)
    board = Board(store)
    board.sync_config_members(
        {"aci-drome": [{"email": "conf@aci.example", "name": "Conf", "role": "admin"}]}
    )
    assert board.member_by_email("conf@aci.example").groups == {"aci-drome": "admin"}
    board.sync_config_members({"aci-drome": []})
    assert board.member_by_email("conf@aci.example").groups == {}
    # Members added on the board or by the CLI stay.
    assert board.member_by_email("alice@aci.example").groups == {"aci-drome": "admin"}
    store.close()


LABEL_FOR = re.compile(r'<label for="([^"]+)"')
CONTROL = re.compile(r"<(input|select|textarea)\b([^>]*)>")


@pytest.mark.parametrize(
    "path",
    [
        "/g/aci-drome/",
        "/g/aci-drome/avis/boamp:26-1",
        "/g/aci-drome/membres",
        "/g/aci-drome/recherche",
    ],
)
def test_every_visible_input_has_a_label(alice, path):
    page = alice.get(path).get_data(as_text=True)
    labels = set(LABEL_FOR.findall(page))
    for _tag, attrs in CONTROL.findall(page):
        if 'type="hidden"' in attrs:
            continue
        control_id = re.search(r'id="([^"]+)"', attrs)
        assert control_id and control_id.group(1) in labels, attrs
    assert len(set(re.findall(r'\bid="([^"]+)"', page))) == len(re.findall(r'\bid="([^"]+)"', page))


def test_newest_first_order(alice, db_path):
    store = Store(db_path)
    add_notice(store, "boamp:26-9", title="Plus récent", published="2026-11-30", deadline_days=60)
    deliver(store, "aci-drome", "boamp:26-9")
    store.close()
    page = alice.get("/g/aci-drome/?tri=recent").get_data(as_text=True)
    assert re.findall(r'data-avis="([^"]+)"', page)[0] == "boamp:26-9"
    page = alice.get("/g/aci-drome/").get_data(as_text=True)
    assert re.findall(r'data-avis="([^"]+)"', page)[-1] == "boamp:26-9"


def test_unmark(alice, db_path):
    page = "/g/aci-drome/avis/boamp:26-1"
    alice.post(page + "/marque", data={"csrf_token": csrf(alice, page), "lot": "", "statut": "vu"})
    assert "retirer ma marque" in alice.get(page).get_data(as_text=True)
    alice.post(
        page + "/marque", data={"csrf_token": csrf(alice, page), "lot": "", "statut": "retirer"}
    )
    store = Store(db_path)
    assert store.db.execute("SELECT count(*) FROM board_marks").fetchone()[0] == 0
    store.close()


def test_groups_check_knows_the_board_mail_channel(tmp_path: Path):
    from tenderwatch.notifier.groups import check_config

    (tmp_path / "apprise.yml").write_text(
        "version: 1\nurls:\n"
        "  - mailto://127.0.0.1:2525?from=a@example.org&to=b@example.org:\n      - tag: aci\n"
        "  - mailto://127.0.0.1:2525?from=a@example.org&to=c@example.org:\n      - tag: connexion\n",
        encoding="utf-8",
    )
    config = tmp_path / "t.toml"
    config.write_text(
        '[notify]\napprise_config = "apprise.yml"\n\n[[groups]]\nid = "aci"\nkind = "siae"\n'
        'structure_kinds = ["ACI"]\n',
        encoding="utf-8",
    )
    assert [str(p) for p in check_config(config, env={})] == []
    config.write_text(
        config.read_text(encoding="utf-8") + '\n[web]\nmail_tag = "autre"\n', encoding="utf-8"
    )
    assert [p.level for p in check_config(config, env={})] == ["warning"]
