"""Settings: built-in defaults, then a TOML file, then ``TENDERWATCH_*`` environment variables,
then command-line flags — each later layer wins.

The TOML file is found through ``--config`` or ``TENDERWATCH_CONFIG``. Every key has an
environment variable: the dotted path upper-cased with ``_`` (``sources.boamp.base_url`` →
``TENDERWATCH_BOAMP_BASE_URL``; the ``sources.`` prefix is dropped; ``crawl.retry_times`` →
``TENDERWATCH_CRAWL_RETRY_TIMES``). Lists in the environment are comma-separated.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, is_dataclass
from pathlib import Path
from typing import Any, get_type_hints

ENV_PREFIX = "TENDERWATCH_"


class SettingsError(ValueError):
    """A configuration that cannot be used; the message names the file and the key."""


@dataclass
class SourceSettings:
    """One source (BOAMP or TED)."""

    enabled: bool = True
    base_url: str = ""
    #: TED only: where notice XML documents are fetched (``{xml_base_url}/en/notice/{n}/xml``).
    xml_base_url: str = ""
    #: How far back before the newest stored publication date an incremental crawl restarts.
    overlap_days: int = 2
    #: How far back the very first crawl goes when nothing is stored yet.
    first_run_days: int = 2
    page_size: int = 100
    #: BOAMP: the API refuses ``offset + limit`` above this; date ranges are sliced to fit.
    max_offset: int = 10000
    #: TED: buyer countries (ISO 3166-1 alpha-3).
    countries: list[str] = field(default_factory=list)


@dataclass
class CrawlSettings:
    """Politeness and fault tolerance shared by every spider."""

    download_timeout: int = 60
    retry_times: int = 4
    backoff_base: float = 2.0
    backoff_max: float = 120.0
    concurrent_requests_per_domain: int = 2
    autothrottle_target_concurrency: float = 1.0
    autothrottle_start_delay: float = 1.0


@dataclass
class Settings:
    """Everything tenderwatch reads from its configuration."""

    db: str = "tenderwatch.db"
    #: A contact address for the User-Agent, so that source operators can reach us.
    contact: str = ""
    log_level: str = "INFO"
    boamp: SourceSettings = field(
        default_factory=lambda: SourceSettings(
            base_url="https://boamp-datadila.opendatasoft.com/api/explore/v2.1/catalog/datasets/boamp",
            overlap_days=2,
            first_run_days=2,
            page_size=100,
        )
    )
    ted: SourceSettings = field(
        default_factory=lambda: SourceSettings(
            base_url="https://api.ted.europa.eu",
            xml_base_url="https://ted.europa.eu",
            overlap_days=1,
            first_run_days=2,
            page_size=100,
            countries=["FRA"],
        )
    )
    #: DECP (awarded contracts) on data.economie.gouv.fr: a heavy source, off by default
    #: (ADR 0013). Windows are on the data publication date, which lags notification.
    decp: SourceSettings = field(
        default_factory=lambda: SourceSettings(
            enabled=False,
            base_url="https://data.economie.gouv.fr/api/explore/v2.1/catalog/datasets/decp-2022-marches-valides",
            overlap_days=3,
            first_run_days=7,
            page_size=100,
        )
    )
    crawl: CrawlSettings = field(default_factory=CrawlSettings)
    config_path: str | None = None

    def source(self, name: str) -> SourceSettings:
        if name not in SOURCE_NAMES:
            raise SettingsError(f"source inconnue : {name!r} (attendu : boamp, ted, decp)")
        return getattr(self, name)


#: Every source a crawl knows, in the order crawls run.
SOURCE_NAMES = ("boamp", "ted", "decp")


# Where each section lives in the TOML file and which env prefix it takes.
_SECTIONS: dict[str, tuple[str, str]] = {
    "boamp": ("sources.boamp", "BOAMP_"),
    "ted": ("sources.ted", "TED_"),
    "decp": ("sources.decp", "DECP_"),
    "crawl": ("crawl", "CRAWL_"),
}


def _coerce(value: Any, typ: Any, where: str) -> Any:
    """Convert a TOML or environment value to the declared type, or raise SettingsError."""
    name = typ if isinstance(typ, str) else getattr(typ, "__name__", str(typ))
    try:
        if typ is bool or name == "bool":
            if isinstance(value, bool):
                return value
            text = str(value).strip().lower()
            if text in ("1", "true", "yes", "oui", "on"):
                return True
            if text in ("0", "false", "no", "non", "off"):
                return False
            raise ValueError(value)
        if typ is int or name == "int":
            if isinstance(value, bool):
                raise ValueError(value)
            return int(value)
        if typ is float or name == "float":
            if isinstance(value, bool):
                raise ValueError(value)
            return float(value)
        if str(typ).startswith("list"):
            if isinstance(value, str):
                return [v.strip() for v in value.split(",") if v.strip()]
            if isinstance(value, list) and all(isinstance(v, str) for v in value):
                return value
            raise ValueError(value)
        if isinstance(value, (dict, list)):
            raise ValueError(value)
        return None if value is None else str(value)
    except (TypeError, ValueError):
        raise SettingsError(f"{where} : valeur invalide {value!r} (attendu : {name})") from None


def _apply(obj: Any, values: Mapping[str, Any], where: str) -> None:
    hints = get_type_hints(type(obj))
    known = {f.name for f in fields(obj) if f.name != "config_path"}
    for key, value in values.items():
        if key not in known:
            raise SettingsError(f"{where} : clé inconnue « {key} »")
        current = getattr(obj, key)
        if is_dataclass(current):
            if not isinstance(value, Mapping):
                raise SettingsError(f"{where}.{key} : une section est attendue")
            _apply(current, value, f"{where}.{key}")
        else:
            setattr(obj, key, _coerce(value, hints[key], f"{where}.{key}"))


def _from_toml(settings: Settings, path: Path) -> None:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SettingsError(f"fichier de configuration introuvable : {path}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise SettingsError(f"{path} : TOML invalide ({exc})") from None
    # Sections that belong to other parts of tenderwatch (groups, schedule, channels) are
    # read by those parts; the harvest only takes what it knows.
    own = {
        k: v
        for k, v in data.items()
        if k not in ("groups", "schedule", "notify", "classifier", "web")  # web: core/board.py
    }
    sources = own.pop("sources", {})
    if not isinstance(sources, Mapping):
        raise SettingsError(f"{path} : [sources] doit être une section")
    for name, values in sources.items():
        if name not in SOURCE_NAMES:
            raise SettingsError(f"{path} : source inconnue [sources.{name}]")
        _apply(getattr(settings, name), values, f"{path} [sources.{name}]")
    _apply(settings, own, str(path))


def _from_env(settings: Settings, env: Mapping[str, str]) -> None:
    hints = get_type_hints(Settings)
    for key in ("db", "contact", "log_level"):
        var = ENV_PREFIX + key.upper()
        if var in env:
            setattr(settings, key, _coerce(env[var], hints[key], var))
    for attr, (_, prefix) in _SECTIONS.items():
        section = getattr(settings, attr)
        section_hints = get_type_hints(type(section))
        for f in fields(section):
            var = ENV_PREFIX + prefix + f.name.upper()
            if var in env:
                setattr(section, f.name, _coerce(env[var], section_hints[f.name], var))


def load_settings(
    config: str | Path | None = None,
    *,
    env: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> Settings:
    """Build the settings from the layers. ``overrides`` are the command-line flags, as dotted
    keys (``{"db": "x.db", "boamp.base_url": "http://..."}``); ``None`` values are ignored."""
    env = os.environ if env is None else env
    settings = Settings()
    path = config or env.get(ENV_PREFIX + "CONFIG")
    if path:
        path = Path(path).expanduser()
        _from_toml(settings, path)
        settings.config_path = str(path)
    _from_env(settings, env)
    for dotted, value in (overrides or {}).items():
        if value is None:
            continue
        target: Any = settings
        *parents, last = dotted.split(".")
        for p in parents:
            target = getattr(target, p)
        _apply(target, {last: value}, f"--{last.replace('_', '-')}")
    _validate(settings)
    return settings


def _validate(s: Settings) -> None:
    for name in SOURCE_NAMES:
        src = s.source(name)
        if not src.base_url.startswith(("http://", "https://")):
            raise SettingsError(
                f"sources.{name}.base_url : URL http(s) attendue, reçu {src.base_url!r}"
            )
        if src.page_size < 1 or (name in ("boamp", "decp") and src.page_size > 100):
            raise SettingsError(f"sources.{name}.page_size : entre 1 et 100 (reçu {src.page_size})")
        if src.overlap_days < 0 or src.first_run_days < 0:
            raise SettingsError(f"sources.{name} : overlap_days et first_run_days doivent être ≥ 0")
    for name in ("boamp", "decp"):
        if s.source(name).max_offset < s.source(name).page_size:
            raise SettingsError(f"sources.{name}.max_offset doit être ≥ page_size")
    if s.crawl.retry_times < 0 or s.crawl.download_timeout <= 0:
        raise SettingsError("crawl : retry_times ≥ 0 et download_timeout > 0 attendus")
