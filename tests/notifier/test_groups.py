"""Groups and [notify] from the TOML file; the apprise YAML checked with apprise itself."""

import re
from pathlib import Path

import pytest

from tenderwatch.notifier.groups import (
    ERROR,
    WARNING,
    GroupConfigError,
    Problem,
    check_apprise_config,
    check_config,
    check_groups,
    load_groups,
    load_notify_settings,
)
from tenderwatch.notifier.models import SOCIAL_LABELS, Group

ROOT = Path(__file__).resolve().parents[2]
SECRET_URL = "mailtos://veille:S3cr3t-P4ss@smtp.example.org?to=a@example.org"


def write(tmp_path: Path, text: str, name: str = "tenderwatch.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


GOOD = """
[[groups]]
id = "aci-drome"
kind = "siae"
structure_kinds = ["ACI"]
departements = ["26", 7]
regions = ["Auvergne-Rhône-Alpes"]
cpv_prefixes = ["77", "90910000"]
digest_day = "lundi"
"""


def one_group(tmp_path: Path, body: str) -> list[str]:
    return check_groups(write(tmp_path, f'[[groups]]\nid = "g1"\n{body}\n'))


# --- loading ----------------------------------------------------------------------------------


def test_example_config_loads(tmp_path: Path) -> None:
    groups = load_groups(ROOT / "config" / "tenderwatch.example.toml")
    assert [g.id for g in groups] == ["aci-drome", "ea-esat-rhone", "consortium-idf"]


def test_example_config_groups_match_the_brief() -> None:
    aci, ea, consortium = load_groups(ROOT / "config" / "tenderwatch.example.toml")
    assert (aci.departements, aci.cpv_prefixes, aci.delivery) == (
        ["26", "07"],
        ["77", "90"],
        "immediate",
    )
    assert (ea.structure_kinds, ea.delivery, ea.digest_time) == (["EA", "ESAT"], "daily", "08:30")
    assert (consortium.regions, consortium.digest_day, consortium.reminder_days) == (
        ["11"],
        "mon",
        [15, 7, 2],
    )


def test_example_apprise_file_serves_every_example_group() -> None:
    groups = load_groups(ROOT / "config" / "tenderwatch.example.toml")
    problems = check_apprise_config(
        ROOT / "config" / "apprise.example.yml", groups, operations_tag="ops"
    )
    assert problems == []


def test_departement_ints_are_padded(tmp_path: Path) -> None:
    (group,) = load_groups(write(tmp_path, GOOD))
    assert group.departements == ["26", "07"]


def test_region_name_is_normalised_to_its_code(tmp_path: Path) -> None:
    (group,) = load_groups(write(tmp_path, GOOD))
    assert group.regions == ["84"]


def test_cpv_prefix_trailing_zeros_are_dropped(tmp_path: Path) -> None:
    (group,) = load_groups(write(tmp_path, GOOD))
    assert group.cpv_prefixes == ["77", "9091"]


def test_french_weekday_is_normalised(tmp_path: Path) -> None:
    (group,) = load_groups(write(tmp_path, GOOD))
    assert group.digest_day == "mon"


def test_defaults_labels_all_and_tags_id(tmp_path: Path) -> None:
    (group,) = load_groups(write(tmp_path, GOOD))
    assert group.labels == list(SOCIAL_LABELS)
    assert group.tags == ["aci-drome"]
    assert group.name == "aci-drome"


def test_no_groups_section_gives_no_group(tmp_path: Path) -> None:
    assert load_groups(write(tmp_path, 'db = "x.db"\n')) == []


def test_load_raises_with_every_error(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        '[[groups]]\nid = "a"\nkind = "club"\n[[groups]]\nid = "b"\nkind = "siae"\n'
        'structure_kinds = ["ACI"]\ndelivery = "hourly"\n',
    )
    with pytest.raises(GroupConfigError) as info:
        load_groups(path)
    assert len(info.value.errors) == 2
    assert "« a »" in info.value.errors[0] and "« b »" in info.value.errors[1]


def test_missing_file_is_named(tmp_path: Path) -> None:
    errors = check_groups(tmp_path / "nope.toml")
    assert errors == [f"{tmp_path / 'nope.toml'} : fichier de configuration introuvable"]


# --- every validation error names the file, the group and the field ---------------------------

BAD_FIELDS = [
    ("colour", 'kind = "siae"\nstructure_kinds = ["ACI"]\ncolour = "red"'),
    ("kind", 'kind = "club"'),
    ("structure_kinds", 'kind = "siae"\nstructure_kinds = ["SCOP"]'),
    ("structure_kinds", 'kind = "siae"'),
    ("labels", 'kind = "network"\nlabels = ["allotted"]'),
    ("delivery", 'kind = "network"\ndelivery = "hourly"'),
    ("digest_day", 'kind = "network"\ndigest_day = "someday"'),
    ("digest_time", 'kind = "network"\ndigest_time = "8h30"'),
    ("digest_time", 'kind = "network"\ndigest_time = "24:00"'),
    ("departements", 'kind = "network"\ndepartements = ["100"]'),
    ("regions", 'kind = "network"\nregions = ["Atlantide"]'),
    ("cpv_prefixes", 'kind = "network"\ncpv_prefixes = ["7"]'),
    ("cpv_prefixes", 'kind = "network"\ncpv_prefixes = ["123456789"]'),
    ("cpv_prefixes", 'kind = "network"\ncpv_prefixes = ["7a"]'),
    ("min_value", 'kind = "network"\nmin_value = 5000\nmax_value = 100'),
    ("min_value", 'kind = "network"\nmin_value = "beaucoup"'),
    ("reminder_days", 'kind = "network"\nreminder_days = [7, 0]'),
    ("reminder_days", 'kind = "network"\nreminder_days = [7, 2.5]'),
    ("reminder_days", 'kind = "network"\nreminder_days = [true]'),
    ("awards", 'kind = "network"\nawards = "yes"'),
    ("keywords", 'kind = "network"\nkeywords = "espaces verts"'),
    ("tags", 'kind = "network"\ntags = ["two words"]'),
    ("tags", 'kind = "network"\ntags = ["all"]'),
]


@pytest.mark.parametrize(("field", "body"), BAD_FIELDS)
def test_error_names_file_group_and_field(tmp_path: Path, field: str, body: str) -> None:
    errors = one_group(tmp_path, body)
    assert len(errors) == 1, errors
    assert errors[0].startswith(f"{tmp_path / 'tenderwatch.toml'} : groupe n° 1 « g1 »")
    assert f"champ « {field} »" in errors[0]


def test_group_without_id_is_named_by_its_number(tmp_path: Path) -> None:
    errors = check_groups(write(tmp_path, '[[groups]]\nkind = "network"\n'))
    assert errors == [f"{tmp_path / 'tenderwatch.toml'} : groupe n° 1, champ « id » : obligatoire"]


def test_every_error_is_returned_not_just_the_first(tmp_path: Path) -> None:
    errors = one_group(tmp_path, 'kind = "club"\ndelivery = "hourly"\ndepartements = ["100"]')
    assert {re.search(r"champ « (\w+) »", e).group(1) for e in errors} == {
        "kind",
        "delivery",
        "departements",
    }


def test_duplicate_ids_name_both_groups(tmp_path: Path) -> None:
    path = write(tmp_path, '[[groups]]\nid = "x"\nkind = "network"\n' * 2)
    (error,) = check_groups(path)
    assert "groupe n° 2 « x », champ « id »" in error and "groupe n° 1" in error


def test_unknown_key_suggests_the_right_one(tmp_path: Path) -> None:
    (error,) = one_group(tmp_path, 'kind = "network"\ndepartments = ["26"]')
    assert "champ « departments »" in error and "departements" in error.split(":")[-1]


def test_secret_looking_value_is_not_echoed(tmp_path: Path) -> None:
    (error,) = one_group(tmp_path, f'kind = "network"\ntags = ["{SECRET_URL}"]')
    assert "S3cr3t" not in error and "smtp.example.org" not in error


# --- [notify] ---------------------------------------------------------------------------------


def test_notify_defaults(tmp_path: Path) -> None:
    settings = load_notify_settings(write(tmp_path, ""), env={})
    assert (settings.apprise_config, settings.operations_tag) == (None, None)
    assert (settings.max_attempts, settings.retry_backoff_minutes) == (5, 5.0)


def test_notify_relative_apprise_path_is_relative_to_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, '[notify]\napprise_config = "apprise.yml"\noperations_tag = "ops"\n')
    settings = load_notify_settings(path, env={})
    assert settings.apprise_config == str(tmp_path / "apprise.yml")
    assert settings.operations_tag == "ops"


def test_notify_env_overrides_apprise_path(tmp_path: Path) -> None:
    path = write(tmp_path, '[notify]\napprise_config = "/etc/a.yml"\n')
    settings = load_notify_settings(path, env={"TENDERWATCH_APPRISE_CONFIG": "/run/b.yml"})
    assert settings.apprise_config == "/run/b.yml"


def test_notify_errors_name_file_section_and_field(tmp_path: Path) -> None:
    path = write(tmp_path, "[notify]\nmax_attempts = 0\nretry_backof = 3\n")
    with pytest.raises(GroupConfigError) as info:
        load_notify_settings(path, env={})
    assert len(info.value.errors) == 2
    assert all(e.startswith(f"{path} : [notify], champ « ") for e in info.value.errors)


def test_notify_url_instead_of_path_is_refused_without_echo(tmp_path: Path) -> None:
    with pytest.raises(GroupConfigError) as info:
        load_notify_settings(None, env={"TENDERWATCH_APPRISE_CONFIG": SECRET_URL})
    assert "TENDERWATCH_APPRISE_CONFIG" in str(info.value)
    assert "S3cr3t" not in str(info.value)


# --- the apprise file -------------------------------------------------------------------------


def group(gid: str, tags: list[str] | None = None) -> Group:
    return Group(id=gid, name=gid, kind="network", tags=tags or [gid])


APPRISE = f"""
version: 1
urls:
  - {SECRET_URL}:
      - tag: aci-drome
  - json://localhost:8080/hook:
      - tag: ops, orphan
"""


def test_apprise_file_missing(tmp_path: Path) -> None:
    assert check_apprise_config(tmp_path / "a.yml") == [
        Problem(ERROR, f"{tmp_path / 'a.yml'} : fichier apprise introuvable")
    ]


def test_apprise_file_without_url(tmp_path: Path) -> None:
    (error,) = check_apprise_config(write(tmp_path, "version: 1\nurls: []\n", "a.yml"))
    assert error.is_error and "aucune URL" in error.message


def test_apprise_invalid_yaml_gives_the_line_only(tmp_path: Path) -> None:
    path = write(tmp_path, f"version: 1\nurls:\n  - {SECRET_URL}\n  bad: [\n", "a.yml")
    (error,) = check_apprise_config(path)
    assert "YAML invalide" in error.message and "S3cr3t" not in error.message


def test_apprise_group_tag_without_channel(tmp_path: Path) -> None:
    path = write(tmp_path, APPRISE, "a.yml")
    problems = check_apprise_config(
        path, [group("aci-drome"), group("ea-rhone")], operations_tag="ops"
    )
    errors = [p.message for p in problems if p.is_error]
    assert errors == [
        f"{path} : groupe « ea-rhone », tag « ea-rhone » : aucun canal ne porte ce tag"
    ]


def test_apprise_operations_tag_without_channel(tmp_path: Path) -> None:
    path = write(tmp_path, APPRISE, "a.yml")
    problems = check_apprise_config(path, [group("aci-drome")], operations_tag="astreinte")
    assert any("tag d'exploitation « astreinte »" in p.message for p in problems)


def test_apprise_tag_used_by_no_group_is_a_warning(tmp_path: Path) -> None:
    path = write(tmp_path, APPRISE, "a.yml")
    problems = check_apprise_config(path, [group("aci-drome")], operations_tag="ops")
    assert problems == [
        Problem(
            WARNING,
            f"{path} : tag « orphan » : ne correspond à aucun groupe ni au tag d'exploitation",
        )
    ]
    assert str(problems[0]).startswith("avertissement : ")


def test_apprise_refused_entry_is_named_by_number_without_its_url(tmp_path: Path) -> None:
    text = APPRISE + "  - nosuchscheme://user:Hunter2@host/path:\n      - tag: aci-drome\n"
    path = write(tmp_path, text, "a.yml")
    problems = check_apprise_config(path, [group("aci-drome")], operations_tag="ops")
    refused = [p.message for p in problems if "refusée" in p.message]
    assert refused == [f"{path} : entrée n° 3 de « urls » refusée par apprise"]


def test_no_apprise_message_ever_contains_a_url_or_password(tmp_path: Path, caplog) -> None:
    text = APPRISE + "  - nosuchscheme://user:Hunter2@host/path\n  - 'not a url Hunter2'\n"
    path = write(tmp_path, text, "a.yml")
    caplog.set_level("DEBUG")
    problems = check_apprise_config(path, [group("x")], operations_tag="y")
    everything = "\n".join(map(str, problems)) + caplog.text
    for secret in ("S3cr3t", "Hunter2", "smtp.example.org", "://"):
        assert secret not in everything


def test_check_config_runs_every_check(tmp_path: Path) -> None:
    write(tmp_path, APPRISE, "apprise.yml")
    path = write(
        tmp_path,
        '[notify]\napprise_config = "apprise.yml"\noperations_tag = "ops"\n'
        '[[groups]]\nid = "aci-drome"\nkind = "network"\n'
        '[[groups]]\nid = "ea-rhone"\nkind = "club"\n',
    )
    problems = check_config(path, env={})
    assert any("champ « kind »" in p.message and p.is_error for p in problems)
    assert any("tag « orphan »" in p.message and not p.is_error for p in problems)
