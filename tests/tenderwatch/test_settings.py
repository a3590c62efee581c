"""Settings: defaults < TOML file < TENDERWATCH_* environment < command-line flags."""

from pathlib import Path

import pytest

from tenderwatch.core.settings import SettingsError, load_settings


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "tenderwatch.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_point_at_the_live_sources() -> None:
    s = load_settings(env={})
    assert s.boamp.base_url.startswith("https://boamp-datadila.opendatasoft.com/")
    assert s.ted.base_url == "https://api.ted.europa.eu"
    assert s.ted.countries == ["FRA"]
    assert s.boamp.overlap_days == 2


def test_file_overrides_defaults(tmp_path: Path) -> None:
    path = write(tmp_path, 'db = "from-file.db"\n[sources.ted]\ncountries = ["FRA", "BEL"]\n')
    s = load_settings(path, env={})
    assert s.db == "from-file.db"
    assert s.ted.countries == ["FRA", "BEL"]


def test_environment_overrides_file(tmp_path: Path) -> None:
    path = write(tmp_path, 'db = "from-file.db"\n[crawl]\nretry_times = 2\n')
    s = load_settings(
        path, env={"TENDERWATCH_DB": "from-env.db", "TENDERWATCH_CRAWL_RETRY_TIMES": "7"}
    )
    assert s.db == "from-env.db"
    assert s.crawl.retry_times == 7


def test_flag_overrides_environment(tmp_path: Path) -> None:
    s = load_settings(env={"TENDERWATCH_DB": "from-env.db"}, overrides={"db": "from-flag.db"})
    assert s.db == "from-flag.db"


def test_config_path_from_environment(tmp_path: Path) -> None:
    path = write(tmp_path, 'contact = "veille@reseau.example"\n')
    s = load_settings(env={"TENDERWATCH_CONFIG": str(path)})
    assert s.contact == "veille@reseau.example"


def test_invalid_toml_names_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, "db = \n")
    with pytest.raises(SettingsError, match=r"tenderwatch\.toml"):
        load_settings(path, env={})


def test_unknown_key_is_named(tmp_path: Path) -> None:
    path = write(tmp_path, "[sources.boamp]\nbase_ulr = 'http://x'\n")
    with pytest.raises(SettingsError, match="base_ulr"):
        load_settings(path, env={})


def test_wrong_type_in_environment_names_the_variable() -> None:
    with pytest.raises(SettingsError, match="TENDERWATCH_CRAWL_RETRY_TIMES"):
        load_settings(env={"TENDERWATCH_CRAWL_RETRY_TIMES": "beaucoup"})


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="introuvable"):
        load_settings(tmp_path / "absent.toml", env={})


def test_base_url_must_be_http() -> None:
    with pytest.raises(SettingsError, match="base_url"):
        load_settings(env={"TENDERWATCH_BOAMP_BASE_URL": "ftp://example.org"})


def test_sections_of_other_components_are_left_to_them(tmp_path: Path) -> None:
    path = write(tmp_path, '[[groups]]\nid = "aci-drome"\n')
    assert load_settings(path, env={}).db == "tenderwatch.db"
