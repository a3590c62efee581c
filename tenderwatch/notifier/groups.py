"""Groups and notification settings, read from the TOML configuration file.

The file tenderwatch already reads (``--config`` / ``TENDERWATCH_CONFIG``) holds one
``[[groups]]`` table per group and a ``[notify]`` table::

    [notify]
    apprise_config = "/etc/tenderwatch/apprise.yml"   # or TENDERWATCH_APPRISE_CONFIG
    operations_tag = "ops"

    [[groups]]
    id = "aci-drome"
    name = "ACI de la Drôme"
    kind = "siae"
    structure_kinds = ["ACI"]
    departements = ["26", "07"]
    cpv_prefixes = ["77", "90"]

:func:`check_groups` returns every problem at once, each naming the file, the group (number
and id) and the field; :func:`load_groups` raises :class:`GroupConfigError` with all of them.
:func:`check_apprise_config` checks the apprise YAML with apprise's own parser.

Channel URLs carry passwords and tokens: no message written here ever quotes one. Problems in
the apprise file are reported by file, entry number and tag only.
"""

from __future__ import annotations

import dataclasses
import difflib
import logging
import os
import re
import tomllib
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from tenderwatch.core.groupstore import GroupStore
from tenderwatch.core.settings import ENV_PREFIX, SettingsError
from tenderwatch.core.store import Store
from tenderwatch.notifier import geo
from tenderwatch.notifier.models import (
    CONFIDENCE_LEVELS,
    DELIVERY_MODES,
    DISABILITY_KINDS,
    GROUP_KINDS,
    SIAE_KINDS,
    SOCIAL_LABELS,
    STRUCTURE_KINDS,
    Group,
)

__all__ = [
    "ERROR",
    "WARNING",
    "WARNING_PREFIX",
    "GroupConfigError",
    "NotifySettings",
    "Problem",
    "check_apprise_config",
    "check_config",
    "check_groups",
    "load_groups",
    "load_notify_settings",
]

#: How a warning is shown to a person (``str(problem)``); code never matches on it, it reads
#: :attr:`Problem.level`.
WARNING_PREFIX = "avertissement : "
ERROR, WARNING = "error", "warning"


@dataclass(frozen=True)
class Problem:
    """One configuration problem. ``level`` alone decides what it blocks: an ``error`` stops
    ``notify`` and ``schedule`` and makes ``groups check`` fail; a ``warning`` is printed or
    logged and nothing else. (Deciding by matching words in the message once made a warning
    block every alert: the callers looked for a word the checks did not write.)"""

    level: str  # ERROR | WARNING
    message: str

    def __post_init__(self) -> None:
        if self.level not in (ERROR, WARNING):
            raise ValueError(f"niveau de problème inconnu : {self.level}")

    @property
    def is_error(self) -> bool:
        return self.level == ERROR

    def __str__(self) -> str:
        return (WARNING_PREFIX if self.level == WARNING else "") + self.message


def _errors(messages: Iterable[str]) -> list[Problem]:
    return [Problem(ERROR, m) for m in messages]


APPRISE_CONFIG_ENV = ENV_PREFIX + "APPRISE_CONFIG"

# An apprise tag: apprise splits tag lists on spaces and commas and reads "tag:N" as a retry
# count, so none of these may appear.
_TAG_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
# apprise gives these tags a meaning of their own: "all" reaches every channel.
_RESERVED_TAGS = ("all", "always")
_TIME_RE = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")
_CPV_RE = re.compile(r"^(\d{2,8})(?:-\d)?$")

# Weekday spellings accepted for ``digest_day``, normalised to the first three English letters.
_WEEKDAYS = {
    **{d: d for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")},
    "monday": "mon",
    "tuesday": "tue",
    "wednesday": "wed",
    "thursday": "thu",
    "friday": "fri",
    "saturday": "sat",
    "sunday": "sun",
    "lundi": "mon",
    "mardi": "tue",
    "mercredi": "wed",
    "jeudi": "thu",
    "vendredi": "fri",
    "samedi": "sat",
    "dimanche": "sun",
}


class GroupConfigError(SettingsError):
    """The groups or the ``[notify]`` section cannot be used. ``errors`` lists every problem;
    each names the file, the group (number and id) or section, and the field."""

    def __init__(self, errors: Sequence[str]) -> None:
        self.errors = list(errors)
        super().__init__("\n".join(self.errors))


@dataclass
class NotifySettings:
    """The ``[notify]`` section."""

    #: Path of the apprise YAML file that holds the channels (URLs and secrets), outside the
    #: repository. ``TENDERWATCH_APPRISE_CONFIG`` wins over the file.
    apprise_config: str | None = None
    #: apprise tag of the operators' channel (failures, source outages); None: log only.
    operations_tag: str | None = None
    #: How many times a delivery is tried before it is given up and reported.
    max_attempts: int = 5
    #: Minutes before the first retry; doubled at each further attempt.
    retry_backoff_minutes: float = 5.0


# ---------------------------------------------------------------------------------------------
# Reading the file
# ---------------------------------------------------------------------------------------------


def _read_toml(path: Path) -> tuple[dict[str, Any] | None, list[str]]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8")), []
    except FileNotFoundError:
        return None, [f"{path} : fichier de configuration introuvable"]
    except OSError as exc:
        return None, [f"{path} : fichier illisible ({exc.strerror})"]
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        # tomllib's message gives the line and column, never the line's content.
        return None, [f"{path} : TOML invalide ({exc})"]


def _show(value: Any) -> str:
    """A value fit for an error message: anything that may be a URL or hold a secret is hidden."""
    text = str(value)
    if "://" in text or "@" in text or len(text) > 80:
        return "(valeur masquée)"
    return text


def _type_name(value: Any) -> str:
    return {
        bool: "booléen",
        int: "entier",
        float: "nombre",
        str: "texte",
        list: "liste",
        dict: "table",
    }.get(type(value), type(value).__name__)


class _Errors:
    """Collects the problems of one group, each naming file, group and field."""

    def __init__(self, path: Path, index: int, group_id: str | None) -> None:
        self.path = path
        self.where = f"groupe n° {index}" + (f" « {group_id} »" if group_id else "")
        self.items: list[str] = []

    def add(self, key: str, problem: str) -> None:
        self.items.append(f"{self.path} : {self.where}, champ « {key} » : {problem}")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _tag_problem(tag: str) -> str | None:
    if tag.lower() in _RESERVED_TAGS:
        return f"« {tag} » est réservé par apprise (il viserait tous les canaux)"
    if not _TAG_RE.match(tag):
        return (
            f"« {_show(tag)} » n'est pas un tag valide (lettres, chiffres, « - », « _ », « . », "
            "sans espace ni virgule)"
        )
    return None


# One parser per field: ``(raw value, report) -> normalised value``, or ``_BAD`` after
# reporting through ``report(problem)``. Keys absent from the table keep the Group default.
_BAD = object()
_Report = Callable[[str], None]


def _p_text(value: Any, report: _Report) -> Any:
    if not isinstance(value, str) or not value.strip():
        report("texte non vide attendu")
        return _BAD
    return value.strip()


def _p_id(value: Any, report: _Report) -> Any:
    if not isinstance(value, str) or not value.strip():
        report("identifiant (texte non vide) obligatoire")
        return _BAD
    if problem := _tag_problem(value.strip()):
        report(problem + " ; l'identifiant sert de tag apprise par défaut")
        return _BAD
    return value.strip()


def _p_choice(choices: Sequence[str]) -> Callable[[Any, _Report], Any]:
    def parse(value: Any, report: _Report) -> Any:
        if value not in choices:
            report(f"« {_show(value)} » inconnu (attendu : {', '.join(choices)})")
            return _BAD
        return value

    return parse


def _p_list(
    item: Callable[[str, _Report], Any], *, allow_int: bool = False, unique: bool = True
) -> Callable[[Any, _Report], Any]:
    """A list whose items go through ``item`` (which returns a value, a tuple of values,
    or ``_BAD``); repeats dropped, first order kept."""

    def parse(value: Any, report: _Report) -> Any:
        accepted = (str, int) if allow_int else (str,)
        if not isinstance(value, list) or not all(
            isinstance(v, accepted) and not isinstance(v, bool) for v in value
        ):
            report(f"liste de textes attendue (reçu : {_type_name(value)})")
            return _BAD
        out: list[Any] = []
        bad = False
        for v in value:
            got = item(str(v).strip(), report)
            if got is _BAD:
                bad = True
                continue
            for one in got if isinstance(got, tuple) else (got,):
                if not unique or one not in out:
                    out.append(one)
        return _BAD if bad else out

    return parse


def _i_structure_kind(value: str, report: _Report) -> Any:
    if value.upper() not in STRUCTURE_KINDS:
        report(f"« {_show(value)} » inconnu (attendu : {', '.join(STRUCTURE_KINDS)})")
        return _BAD
    return value.upper()


def _i_departement(value: str, report: _Report) -> Any:
    codes = geo.departement_codes(value)
    if not codes:
        report(f"département inconnu « {_show(value)} » (code ou nom)")
        return _BAD
    return codes


def _i_region(value: str, report: _Report) -> Any:
    code = geo.region_code(value)
    if code is None:
        report(f"région inconnue « {_show(value)} » (code INSEE ou nom)")
        return _BAD
    return code


def _i_cpv(value: str, report: _Report) -> Any:
    m = _CPV_RE.match(value)
    if not m:
        report(f"« {_show(value)} » : préfixe CPV de 2 à 8 chiffres attendu")
        return _BAD
    # "90910000" is the CPV class 9091: trailing zeros are levels left open.
    prefix = m.group(1).rstrip("0")
    return prefix if len(prefix) >= 2 else m.group(1)[:2]


def _i_keyword(value: str, report: _Report) -> Any:
    if not geo.fold(value.rstrip("*")):
        report("mot-clé vide ou sans lettre ni chiffre")
        return _BAD
    return value


def _i_label(value: str, report: _Report) -> Any:
    if value not in SOCIAL_LABELS:
        shape = " (« allotted » décrit la forme de l'avis)" if value == "allotted" else ""
        report(f"label inconnu « {_show(value)} »{shape} (attendu : {', '.join(SOCIAL_LABELS)})")
        return _BAD
    return value


def _i_tag(value: str, report: _Report) -> Any:
    if problem := _tag_problem(value):
        report(problem)
        return _BAD
    return value


def _p_non_empty(parse: Callable[[Any, _Report], Any], hint: str) -> Callable[[Any, _Report], Any]:
    def wrapped(value: Any, report: _Report) -> Any:
        out = parse(value, report)
        if out == []:
            report(hint)
            return _BAD
        return out

    return wrapped


def _p_labels(value: Any, report: _Report) -> Any:
    out = _p_non_empty(_p_list(_i_label), "au moins un label (ou retirez la clé : tous)")(
        value, report
    )
    return out if out is _BAD else [lb for lb in SOCIAL_LABELS if lb in out]


def _p_bool(value: Any, report: _Report) -> Any:
    if not isinstance(value, bool):
        report(f"true ou false attendu (reçu : {_type_name(value)})")
        return _BAD
    return value


def _p_amount(value: Any, report: _Report) -> Any:
    if not _is_number(value):
        report(f"nombre attendu, en euros HT (reçu : {_type_name(value)})")
        return _BAD
    if value < 0:
        report(f"montant négatif ({value})")
        return _BAD
    return float(value)


def _p_time(value: Any, report: _Report) -> Any:
    if not isinstance(value, str) or not _TIME_RE.match(value.strip()):
        report(f"« {_show(value)} » : heure HH:MM attendue (ex. 08:30)")
        return _BAD
    return value.strip()


def _p_weekday(value: Any, report: _Report) -> Any:
    day = _WEEKDAYS.get(value.strip().lower()) if isinstance(value, str) else None
    if day is None:
        report(f"« {_show(value)} » : jour inconnu (mon, tue… ou lundi, mardi…)")
        return _BAD
    return day


def _p_reminder_days(value: Any, report: _Report) -> Any:
    if not isinstance(value, list) or not all(_is_int(d) and d > 0 for d in value):
        report("liste d'entiers positifs attendue (jours avant la date limite)")
        return _BAD
    return sorted(set(value), reverse=True)


_FIELD_PARSERS: dict[str, Callable[[Any, _Report], Any]] = {
    "id": _p_id,
    "name": _p_text,
    "kind": _p_choice(GROUP_KINDS),
    "structure_kinds": _p_list(_i_structure_kind),
    "departements": _p_list(_i_departement, allow_int=True),
    "regions": _p_list(_i_region, allow_int=True),
    "cpv_prefixes": _p_list(_i_cpv),
    "keywords": _p_list(_i_keyword),
    "exclude_keywords": _p_list(_i_keyword),
    "labels": _p_labels,
    "awards": _p_bool,
    "awards_indirect": _p_bool,
    "corrigenda": _p_bool,
    "min_value": _p_amount,
    "max_value": _p_amount,
    "delivery": _p_choice(DELIVERY_MODES),
    "digest_time": _p_time,
    "digest_day": _p_weekday,
    "reminder_days": _p_reminder_days,
    "min_confidence": _p_choice(CONFIDENCE_LEVELS),
    "tags": _p_non_empty(_p_list(_i_tag), "au moins un tag (ou retirez la clé : l'identifiant)"),
    "members": lambda value, report: _p_members(value, report),
}
_REQUIRED = ("id", "kind")

# The board's members (``[[groups.members]]``): key -> parser; name and email are required.
_EMAIL_RE = re.compile(r"^[^@\s<>\"]+@[^@\s<>\"]+\.[^@\s<>\"]+$")
_MEMBER_ROLES = ("member", "admin")


def _p_members(value: Any, report: _Report) -> Any:
    """A list of tables {name, email, role?, structure?, siret?, kind?, departements?,
    cpv_prefixes?}; problems name the member by its number, never its address."""
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        report("liste de tables attendue ([[groups.members]] ou members = [{...}])")
        return _BAD
    out: list[dict[str, Any]] = []
    bad = False
    seen: set[str] = set()
    for number, raw in enumerate(value, start=1):

        def say(problem: str, number: int = number) -> None:
            nonlocal bad
            bad = True
            report(f"membre n° {number} : {problem}")

        member: dict[str, Any] = {}
        for key, item in raw.items():
            if key == "name":
                member["name"] = _p_text(item, say)
            elif key == "email":
                if not isinstance(item, str) or not _EMAIL_RE.match(item.strip()):
                    say("« email » : adresse électronique invalide")
                else:
                    member["email"] = item.strip().lower()
            elif key == "role":
                member["role"] = _p_choice(_MEMBER_ROLES)(item, say)
            elif key == "structure":
                member["structure"] = _p_text(item, say)
            elif key == "siret":
                siret = str(item).replace(" ", "")
                if not (siret.isdigit() and len(siret) == 14):
                    say("« siret » : 14 chiffres attendus")
                else:
                    member["siret"] = siret
            elif key == "kind":
                member["kind"] = _i_structure_kind(str(item), say)
            elif key == "departements":
                member["departements"] = _p_list(_i_departement, allow_int=True)(item, say)
            elif key == "cpv_prefixes":
                member["cpv_prefixes"] = _p_list(_i_cpv)(item, say)
            else:
                say(f"clé inconnue « {_show(key)} »")
        for key in ("name", "email"):
            if key not in raw:
                say(f"« {key} » obligatoire")
        if member.get("email") in seen:
            say("adresse déjà déclarée dans ce groupe")
        seen.add(member.get("email", ""))
        out.append(member)
    return _BAD if bad else out


def _check_coherence(raw: Mapping[str, Any], values: dict[str, Any], err: _Errors) -> None:
    """Rules across fields (a field already reported as wrong is not blamed again)."""
    kinds = set(values.get("structure_kinds", ()))
    if "structure_kinds" in raw and "structure_kinds" not in values:
        kinds = set(STRUCTURE_KINDS)
    # Without member kinds a group never receives a reserved lot: say so rather than miss them.
    if values.get("kind") == "siae" and not kinds & set(SIAE_KINDS):
        err.add("structure_kinds", f"un groupe siae liste ses SIAE ({', '.join(SIAE_KINDS)})")
    if values.get("kind") == "ea_esat" and not kinds & set(DISABILITY_KINDS):
        listed = ", ".join(DISABILITY_KINDS)
        err.add("structure_kinds", f"un groupe ea_esat liste ses EA/ESAT ({listed})")
    lo, hi = values.get("min_value"), values.get("max_value")
    if lo is not None and hi is not None and lo > hi:
        err.add("min_value", f"min_value ({lo:g}) supérieur à max_value ({hi:g})")


def _parse_group(
    raw: Any, index: int, path: Path, err: _Errors | None = None
) -> tuple[Group | None, list[str]]:
    """One ``[[groups]]`` table → a Group, or None and its problems. ``err``: a collector of
    one's own (the board's settings form keeps each problem by field)."""
    if not isinstance(raw, dict):
        return None, [f"{path} : groupe n° {index} : une table [[groups]] est attendue"]
    gid = raw.get("id")
    if err is None:
        err = _Errors(path, index, gid.strip() if isinstance(gid, str) and gid.strip() else None)
    values: dict[str, Any] = {}
    for key, value in raw.items():
        parser = _FIELD_PARSERS.get(key)
        if parser is None:
            close = difflib.get_close_matches(key, list(_FIELD_PARSERS), n=1)
            err.add(
                key, "clé inconnue" + (f" (vouliez-vous dire « {close[0]} » ?)" if close else "")
            )
            continue
        parsed = parser(value, lambda problem, key=key: err.add(key, problem))
        if parsed is not _BAD:
            values[key] = parsed
    for key in _REQUIRED:
        if key not in raw:
            err.add(key, "obligatoire")
    _check_coherence(raw, values, err)
    if err.items:
        return None, err.items
    values.setdefault("name", values["id"])
    values.setdefault("tags", [values["id"]])
    return Group(**values), []


def _parse_groups(path: Path, data: Mapping[str, Any]) -> tuple[list[Group], list[str]]:
    raw_groups = data.get("groups", [])
    if not isinstance(raw_groups, list):
        return [], [f"{path} : « groups » doit être un tableau de tables [[groups]]"]
    groups: list[Group] = []
    errors: list[str] = []
    first_seen: dict[str, int] = {}
    for index, raw in enumerate(raw_groups, start=1):
        group, problems = _parse_group(raw, index, path)
        errors.extend(problems)
        gid = raw.get("id") if isinstance(raw, dict) else None
        if isinstance(gid, str) and gid.strip():
            gid = gid.strip()
            if gid in first_seen:
                errors.append(
                    f"{path} : groupe n° {index} « {gid} », champ « id » : identifiant déjà "
                    f"utilisé par le groupe n° {first_seen[gid]}"
                )
            else:
                first_seen[gid] = index
        if group is not None:
            groups.append(group)
    return groups, errors


def check_groups(config_path: str | Path) -> list[str]:
    """Every problem of the file's ``[[groups]]`` (empty when they are all usable)."""
    path = Path(config_path).expanduser()
    data, errors = _read_toml(path)
    if data is None:
        return errors
    return _parse_groups(path, data)[1]


def load_groups(config_path: str | Path) -> list[Group]:
    """The groups of the file, filters normalised (région names → INSEE codes, département
    codes padded, CPV prefixes without trailing zeros, weekday → ``mon``…); raises
    :class:`GroupConfigError` listing every problem."""
    path = Path(config_path).expanduser()
    data, errors = _read_toml(path)
    if data is None:
        raise GroupConfigError(errors)
    groups, errors = _parse_groups(path, data)
    if errors:
        raise GroupConfigError(errors)
    return groups


# ---------------------------------------------------------------------------------------------
# Groups kept in the database (issue #11, ADR 0012)
# ---------------------------------------------------------------------------------------------

#: How the database's groups are named in messages (there is no file to name).
STORED_WHERE = Path("base de données")


def group_settings(group: Group) -> dict[str, Any]:
    """A validated group as the plain dict the database keeps: every field a ``[[groups]]``
    table can set, normalised (a model field without a parser is not a setting)."""
    return {k: v for k, v in dataclasses.asdict(group).items() if k in _FIELD_PARSERS}


class _FieldErrors(_Errors):
    """Problems kept by field too, for the board's settings form: the same words as
    ``groups check``, next to the field they concern."""

    def __init__(self, where: Path, group_id: str | None) -> None:
        super().__init__(where, 1, group_id)
        self.by_field: dict[str, list[str]] = {}

    def add(self, key: str, problem: str) -> None:
        self.by_field.setdefault(key, []).append(problem)
        super().add(key, problem)


def parse_group_table(
    raw: Mapping[str, Any], *, where: Path = STORED_WHERE
) -> tuple[Group | None, dict[str, list[str]]]:
    """One group's table (as the TOML would hold it) → a Group, or None and its problems
    by field. The very parser of ``groups check``: the same rules, the same messages."""
    gid = raw.get("id")
    err = _FieldErrors(where, gid.strip() if isinstance(gid, str) and gid.strip() else None)
    group, _problems = _parse_group(_stored_table(raw), 1, where, err)
    return group, err.by_field


def _stored_table(settings: Mapping[str, Any]) -> dict[str, Any]:
    """Stored settings → the table the parser reads. None is how the database keeps « not
    set » (min_value...), and no tags means the default [id] (a Group built by hand): the
    TOML has neither, so both are left out."""
    return {k: v for k, v in settings.items() if v is not None and not (k == "tags" and not v)}


def _stored_groups(store: Store) -> tuple[list[Group], list[str]]:
    """The database's groups, validated again (a newer tenderwatch may be stricter)."""
    groups: list[Group] = []
    errors: list[str] = []
    for index, row in enumerate(GroupStore(store).all(), start=1):
        group, problems = _parse_group(_stored_table(row["settings"]), index, STORED_WHERE)
        errors.extend(problems)
        if group is not None:
            groups.append(group)
    return groups, errors


def _file_versus_store(
    path: Path,
    data: Mapping[str, Any],
    file_groups: list[Group],
    file_errors: list[str],
    stored_groups: list[Group],
) -> list[Problem]:
    """Warnings when the file's ``[[groups]]`` are not what the database holds: the file is
    not used for groups any more, and saying so beats a silent difference."""
    if not data.get("groups"):
        return []
    stored = {g.id: group_settings(g) for g in stored_groups}
    differ = sorted(g.id for g in file_groups if stored.get(g.id) != group_settings(g))
    out = [
        Problem(WARNING, f"{e} (groupe du fichier, non utilisé : la base fait foi)")
        for e in file_errors
    ]
    if differ:
        out.append(
            Problem(
                WARNING,
                f"{path} : groupe(s) {', '.join(differ)} : le fichier diffère de la base, qui fait "
                "foi ; « tenderwatch groups import » pour reprendre le fichier",
            )
        )
    return out


@contextmanager
def groups_database(db_path: str | Path | None) -> Iterator[Store | None]:
    """The store to read the groups from, or None when the database file does not exist yet
    (a missing file holds no group, and a check must not create it)."""
    if not db_path or not Path(db_path).expanduser().exists():
        yield None
        return
    store = Store(db_path)
    try:
        yield store
    finally:
        store.close()


def load_groups_from(config_path: str | Path | None, store: Store | None) -> list[Group]:
    """The groups that are the truth: the database's once it holds some (``groups import``
    or the board), the file's otherwise. Raises :class:`GroupConfigError`."""
    if store is not None and GroupStore(store).has_groups():
        groups, errors = _stored_groups(store)
        if errors:
            raise GroupConfigError(errors)
        return groups
    if not config_path:
        return []
    return load_groups(config_path)


# ---------------------------------------------------------------------------------------------
# [notify]
# ---------------------------------------------------------------------------------------------


def _notify_from(
    path: Path | None, data: Mapping[str, Any], env: Mapping[str, str]
) -> tuple[NotifySettings, list[str]]:
    settings = NotifySettings()
    errors: list[str] = []
    raw = data.get("notify", {})
    where = f"{path} : [notify]"
    if not isinstance(raw, dict):
        return settings, [f"{where} doit être une table"]

    def bad(key: str, problem: str) -> None:
        errors.append(f"{where}, champ « {key} » : {problem}")

    known = tuple(f.name for f in fields(NotifySettings))
    for key in raw:
        if key not in known:
            close = difflib.get_close_matches(key, known, n=1)
            bad(key, "clé inconnue" + (f" (vouliez-vous dire « {close[0]} » ?)" if close else ""))
    values = dict(raw)
    # Environment variables win over the file (same rule as tenderwatch.core.settings).
    sources = {key: where for key in raw}
    for key in known:
        var = APPRISE_CONFIG_ENV if key == "apprise_config" else f"{ENV_PREFIX}NOTIFY_{key.upper()}"
        if var in env:
            values[key] = env[var]
            sources[key] = f"variable {var}"

    def bad_at(key: str, problem: str) -> None:
        if sources.get(key, where) == where:
            bad(key, problem)
        else:
            errors.append(f"{sources[key]} : {problem}")

    if "apprise_config" in values:
        value = values["apprise_config"]
        if not isinstance(value, str) or not value.strip():
            bad_at("apprise_config", "chemin du fichier YAML d'apprise attendu")
        elif "://" in value:
            bad_at("apprise_config", "un chemin de fichier est attendu, pas une URL")
        else:
            config = Path(value.strip()).expanduser()
            if not config.is_absolute() and path is not None and sources["apprise_config"] == where:
                config = path.parent / config  # relative to the TOML file that names it
            settings.apprise_config = str(config)
    if "operations_tag" in values:
        tag = values["operations_tag"]
        if tag in ("", None):
            settings.operations_tag = None
        elif not isinstance(tag, str) or (problem := _tag_problem(tag)):
            bad_at("operations_tag", problem if isinstance(tag, str) else "tag (texte) attendu")
        else:
            settings.operations_tag = tag
    for key, cast, valid, problem in (
        ("max_attempts", int, lambda n: _is_int(n) and n >= 1, "entier ≥ 1 attendu"),
        (
            "retry_backoff_minutes",
            float,
            lambda n: _is_number(n) and n > 0,
            "nombre de minutes > 0 attendu",
        ),
    ):
        if key not in values:
            continue
        value = values[key]  # the environment gives text, the TOML file numbers
        try:
            number = cast(value) if isinstance(value, str) else value
        except ValueError:
            number = None
        if valid(number):
            setattr(settings, key, cast(number))
        else:
            bad_at(key, problem)
    return settings, errors


def load_notify_settings(
    config_path: str | Path | None, *, env: Mapping[str, str] | None = None
) -> NotifySettings:
    """The ``[notify]`` section, with ``TENDERWATCH_APPRISE_CONFIG`` (and
    ``TENDERWATCH_NOTIFY_<KEY>``) winning over the file. A relative ``apprise_config`` in the
    file is relative to the file's folder. Raises :class:`GroupConfigError`."""
    env = os.environ if env is None else env
    path = Path(config_path).expanduser() if config_path else None
    data: Mapping[str, Any] = {}
    if path is not None:
        loaded, errors = _read_toml(path)
        if loaded is None:
            raise GroupConfigError(errors)
        data = loaded
    settings, errors = _notify_from(path, data, env)
    if errors:
        raise GroupConfigError(errors)
    return settings


# ---------------------------------------------------------------------------------------------
# The apprise file
# ---------------------------------------------------------------------------------------------


@contextmanager
def _apprise_silenced() -> Iterator[None]:
    """apprise logs some URLs as written (with their secrets) when an entry is wrong: keep its
    logger quiet while we parse; our own messages say which entry, never what it holds."""
    logger = logging.getLogger("apprise")
    disabled, logger.disabled = logger.disabled, True
    try:
        yield
    finally:
        logger.disabled = disabled


def _apprise_tags(service: Any) -> set[str]:
    return {str(t) for t in getattr(service, "tags", ()) or ()}


def check_apprise_config(
    path: str | Path,
    groups: Iterable[Group] = (),
    *,
    operations_tag: str | None = None,
    board_tags: Iterable[str] = (),
) -> list[Problem]:
    """Problems of the apprise configuration file, checked with apprise's ``AppriseConfig``.

    Errors: the file is missing or unreadable, it is not valid YAML, an entry of ``urls`` is
    refused by apprise, no channel at all, a group's tag (or the operations tag) reaches no
    channel. Warnings: a tag of the file that no group uses (its channel receives nothing,
    the alerts still go out). Messages name the file, the entry number and the tag, never a
    URL.
    """
    import apprise
    import yaml

    file = Path(path).expanduser()
    if not file.is_file():
        return _errors([f"{file} : fichier apprise introuvable"])
    try:
        content = file.read_text(encoding="utf-8")
    except OSError as exc:
        return _errors([f"{file} : fichier apprise illisible ({exc.strerror})"])
    except UnicodeDecodeError:
        return _errors([f"{file} : fichier apprise illisible (encodage UTF-8 attendu)"])

    errors: list[str] = []
    warnings: list[str] = []
    with _apprise_silenced():
        is_yaml = apprise.ConfigBase.detect_config_format(content) == "yaml"
        if is_yaml:
            try:
                document = yaml.safe_load(content)
            except yaml.YAMLError as exc:
                mark = getattr(exc, "problem_mark", None)
                at = f" (ligne {mark.line + 1}, colonne {mark.column + 1})" if mark else ""
                return _errors([f"{file} : YAML invalide{at}"])
            if not isinstance(document, dict):
                return _errors(
                    [f"{file} : une table YAML avec « version » et « urls » est attendue"]
                )
            urls = document.get("urls")
            if not isinstance(urls, list) or not urls:
                return _errors([f"{file} : aucune URL (liste « urls » vide ou absente)"])
            # Each entry alone, to say which one apprise refuses (by number).
            for number, entry in enumerate(urls, start=1):
                single = {k: v for k, v in document.items() if k not in ("urls", "include")}
                single["urls"] = [entry]
                services, _ = apprise.ConfigBase.config_parse_yaml(yaml.safe_dump(single))
                if not services:
                    errors.append(f"{file} : entrée n° {number} de « urls » refusée par apprise")
        config = apprise.AppriseConfig()
        config.add(str(file))
        services = config.services()
    if not services:
        errors.append(f"{file} : aucun canal utilisable (aucune URL acceptée par apprise)")
        return _errors(errors)

    available: set[str] = set()
    for service in services:
        available |= _apprise_tags(service)
    # A channel tagged "always" receives every notification, whatever its tag.
    reached = (lambda tag: True) if "always" in available else available.__contains__
    used: set[str] = set()
    groups = list(groups)
    for group in groups:
        for tag in group.tags or [group.id]:
            used.add(tag)
            if not reached(tag):
                errors.append(
                    f"{file} : groupe « {group.id} », tag « {tag} » : aucun canal ne porte ce tag"
                )
    if operations_tag:
        used.add(operations_tag)
        if not reached(operations_tag):
            errors.append(
                f"{file} : tag d'exploitation « {operations_tag} » ([notify] operations_tag) : "
                "aucun canal ne porte ce tag"
            )
    used |= set(board_tags)  # the board's e-mail channel (sign-in links, personal reminders)
    if used or groups:
        for tag in sorted(available - used - {"always"}):
            warnings.append(
                f"{file} : tag « {tag} » : ne correspond à aucun groupe ni au tag d'exploitation"
            )
    return _errors(errors) + [Problem(WARNING, w) for w in warnings]


def check_config(
    config_path: str | Path,
    *,
    env: Mapping[str, str] | None = None,
    store: Store | None = None,
) -> list[Problem]:
    """Everything at once: the groups, ``[notify]`` and, when named, the apprise file. The one
    place that decides what is an error and what is a warning (:attr:`Problem.level`).

    With ``store`` holding groups (``tenderwatch groups import``), the database's groups are
    checked and used (ADR 0012); the file's ``[[groups]]`` then only give warnings."""
    env = os.environ if env is None else env
    path = Path(config_path).expanduser()
    data, errors = _read_toml(path)
    if data is None:
        return _errors(errors)
    groups, errors = _parse_groups(path, data)
    file_warnings: list[Problem] = []
    if store is not None and GroupStore(store).has_groups():
        stored, stored_errors = _stored_groups(store)
        file_warnings = _file_versus_store(path, data, groups, errors, stored)
        groups, errors = stored, stored_errors
    settings, notify_errors = _notify_from(path, data, env)
    problems = _errors(errors + notify_errors) + file_warnings
    if settings.apprise_config:
        web = data.get("web") if isinstance(data.get("web"), dict) else {}
        problems += check_apprise_config(
            settings.apprise_config,
            groups,
            operations_tag=settings.operations_tag,
            board_tags=[str(web.get("mail_tag") or "connexion")],
        )
    elif groups:
        problems += _errors(
            [
                f"{path} : [notify], champ « apprise_config » : aucun fichier apprise "
                f"(ni {APPRISE_CONFIG_ENV}) : les groupes ne recevront rien"
            ]
        )
    return problems
