"""Issue #11, one source of truth (ADR 0012): ``groups import|export`` and ``reseaux`` as real
subprocesses on a real database file; the database's groups are what ``groups check``, the
scheduler's preflight and the board read once imported; nothing set on the board is
overwritten silently by the file."""

from __future__ import annotations

from pathlib import Path

from tenderwatch.core.groupstore import GroupStore
from tenderwatch.core.settings import Settings
from tenderwatch.core.store import Store
from tenderwatch.notifier.groups import (
    check_config,
    group_settings,
    load_groups,
    load_groups_from,
    parse_group_table,
)

from ..conftest import cli_env, run_cli

CONFIG = """
[notify]
apprise_config = "apprise.yml"

[[groups]]
id = "aci-drome"
name = "ACI de la Drôme"
kind = "siae"
structure_kinds = ["ACI"]
departements = ["Drôme"]
cpv_prefixes = ["90910000"]
min_value = 10000

[[groups.members]]
name = "Alice Martin"
email = "alice@aci.example"
role = "admin"

[[groups]]
id = "ea-rhone"
name = "EA du Rhône"
kind = "ea_esat"
structure_kinds = ["EA"]
regions = ["Auvergne-Rhône-Alpes"]
keywords = ["blanchisserie", "repass*"]
delivery = "weekly"
digest_day = "vendredi"
"""


def _setup(tmp_path: Path, config: str = CONFIG) -> tuple[Path, dict[str, str]]:
    (tmp_path / "apprise.yml").write_text(
        "version: 1\nurls:\n  - json://127.0.0.1:1/hook:\n      - tag: aci-drome, ea-rhone\n",
        encoding="utf-8",
    )
    path = tmp_path / "tenderwatch.toml"
    path.write_text(config, encoding="utf-8")
    env = cli_env(tmp_path, TENDERWATCH_CONFIG=str(path))
    return path, env


def _board_edit(db: str, group_id: str, **changes: object) -> None:
    """What the board's settings form does: parse the table, save with an actor."""
    store = Store(db)
    gs = GroupStore(store)
    table = {**gs.get(group_id)["settings"], **changes}
    group, errors = parse_group_table(table)
    assert group is not None, errors
    assert gs.save(group_settings(group), actor="member:1 alice@aci.example")
    store.close()


def test_import_then_the_database_is_the_truth(tmp_path: Path) -> None:
    config, env = _setup(tmp_path)
    db = env["TENDERWATCH_DB"]
    added = run_cli(["reseaux", "add", "aura", "--name", "Réseau AURA"], env)
    assert added.returncode == 0, added.stderr
    done = run_cli(["groups", "import", "--reseau", "aura"], env)
    assert done.returncode == 0, done.stderr
    assert "aci-drome : créé" in done.stdout and "ea-rhone : créé" in done.stdout
    again = run_cli(["groups", "import"], env)
    assert "aci-drome : inchangé" in again.stdout
    store = Store(db)
    # Stored exactly as the file's validated groups, attached to the réseau.
    assert [group_settings(g) for g in load_groups_from(str(config), store)] == [
        group_settings(g) for g in load_groups(config)
    ]
    assert {r["reseau_id"] for r in GroupStore(store).all()} == {"aura"}
    store.close()
    # The file loses its groups: the database keeps them for notify, schedule and serve.
    config.write_text(CONFIG.split("[[groups]]")[0], encoding="utf-8")
    checked = run_cli(["groups", "check"], env)
    assert checked.returncode == 0, checked.stderr
    assert "2 groupe(s)" in checked.stdout
    from tenderwatch.board_commands import _groups
    from tenderwatch.scheduler import preflight

    settings = Settings(db=db, config_path=str(config))
    assert preflight(settings) == []  # without the database it would say « aucun groupe »
    assert [g.id for g in _groups(settings)] == ["aci-drome", "ea-rhone"]
    listed = run_cli(["reseaux", "list"], env)
    assert "aura — Réseau AURA : 2 groupe(s), 0 administrateur(s)" in listed.stdout


def test_a_group_changed_on_the_board_is_not_overwritten_silently(tmp_path: Path) -> None:
    config, env = _setup(tmp_path)
    db = env["TENDERWATCH_DB"]
    assert run_cli(["groups", "import"], env).returncode == 0
    _board_edit(db, "aci-drome", departements=["26", "07"], min_value=5000)
    refused = run_cli(["groups", "import"], env)
    assert refused.returncode == 1
    assert "aci-drome : REFUSÉ" in refused.stdout
    assert "alice@aci.example" in refused.stdout and "--force" in refused.stdout
    assert "ea-rhone : inchangé" in refused.stdout
    assert "aci-drome" in refused.stderr
    store = Store(db)
    assert GroupStore(store).get("aci-drome")["settings"]["departements"] == ["26", "07"]
    # `groups check` says that the file differs from the database, without failing.
    warnings = [str(p) for p in check_config(config, store=store, env={})]
    assert any("aci-drome" in w and "la base" in w for w in warnings)
    store.close()
    forced = run_cli(["groups", "import", "--force"], env)
    assert forced.returncode == 0, forced.stderr
    assert "aci-drome : mis à jour" in forced.stdout
    store = Store(db)
    gs = GroupStore(store)
    assert gs.get("aci-drome")["settings"]["departements"] == ["26"]
    last = gs.changes(["aci-drome"])[0]
    assert last["action"] == "import-force"
    # What the board had set is kept in the record of the change.
    assert {"field": "min_value", "before": 5000.0, "after": 10000.0} in last["fields"]
    store.close()


def test_export_writes_toml_that_reads_back_to_the_same_groups(tmp_path: Path) -> None:
    _config, env = _setup(tmp_path)
    db = env["TENDERWATCH_DB"]
    assert run_cli(["groups", "import"], env).returncode == 0
    _board_edit(db, "ea-rhone", keywords=["blanchisserie", 'linge "plat"'], max_value=2.5e5)
    out = tmp_path / "exported.toml"
    exported = run_cli(["groups", "export", "-o", str(out)], env)
    assert exported.returncode == 0, exported.stderr
    store = Store(db)
    stored = [group_settings(g) for g in load_groups_from(None, store)]
    store.close()
    assert [group_settings(g) for g in load_groups(out)] == stored
    assert 'linge \\"plat\\"' in out.read_text(encoding="utf-8")


def test_a_file_with_an_error_imports_nothing(tmp_path: Path) -> None:
    _config, env = _setup(tmp_path, CONFIG.replace('delivery = "weekly"', 'delivery = "hourly"'))
    done = run_cli(["groups", "import"], env)
    assert done.returncode == 1
    assert "rien n'a été importé" in done.stderr and "« hourly » inconnu" in done.stderr
    store = Store(env["TENDERWATCH_DB"])
    assert not GroupStore(store).has_groups()
    store.close()


def test_reseau_admin_by_cli(tmp_path: Path) -> None:
    _config, env = _setup(tmp_path)
    assert run_cli(["reseaux", "admin", "aura", "coord@aura.example"], env).returncode == 1
    assert run_cli(["reseaux", "add", "aura"], env).returncode == 0
    named = run_cli(["reseaux", "admin", "aura", "Coord@AURA.example", "--name", "Coralie"], env)
    assert named.returncode == 0, named.stderr
    assert "coord@aura.example administre le réseau « aura »" in named.stdout
    bad = run_cli(["reseaux", "add", "Mon Réseau"], env)
    assert bad.returncode == 1 and "identifiant de réseau invalide" in bad.stderr
