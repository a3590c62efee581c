"""The réseau's commands: ``groups import|export`` and ``reseaux add|list|admin`` (issue #11,
ADR 0012). Registered by cli.py like board_commands.py.

``groups import`` copies the TOML ``[[groups]]`` into the database, which is then the truth
for ``notify``, ``schedule`` and ``serve``; a group changed on the board since is never
overwritten silently (refused and named, unless ``--force``). ``groups export`` writes the
database's groups back as TOML.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import click

from tenderwatch.core.board import normalise_email
from tenderwatch.core.groupstore import GroupStore, GroupStoreError
from tenderwatch.core.settings import Settings

# Import outcomes, in French, as printed.
_IMPORT_FR = {
    "created": "créé",
    "updated": "mis à jour",
    "unchanged": "inchangé",
    "refused": "REFUSÉ",
}


# ---------------------------------------------------------------------------------------------
# TOML writing (the standard library only reads TOML)
# ---------------------------------------------------------------------------------------------


def _toml_value(value: Any) -> str:
    """One TOML value: strings as basic strings (JSON's escapes are valid TOML), numbers,
    booleans, arrays and inline tables."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError("nombre non fini")
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, Mapping):
        inner = ", ".join(
            f"{k} = {_toml_value(v)}" for k, v in value.items() if v is not None and v != []
        )
        return "{ " + inner + " }" if inner else "{}"
    raise ValueError(f"valeur non exportable ({type(value).__name__})")


def groups_toml(rows: list[dict[str, Any]]) -> str:
    """The database's groups as ``[[groups]]`` tables that ``load_groups`` reads back to the
    same settings (every field written, ``None`` left out: TOML has no null)."""
    lines = [
        "# Groupes exportés de la base de tenderwatch (tenderwatch groups export).",
        "# La base fait foi : après modification, « tenderwatch groups import » pour la mettre",
        "# à jour (un groupe modifié sur le tableau n'est écrasé qu'avec --force).",
        "",
    ]
    for row in rows:
        settings = row["settings"]
        lines.append("[[groups]]")
        if row.get("reseau_id"):
            lines.append(f"# réseau : {row['reseau_id']}")
        for key, value in settings.items():
            if value is None or key == "members":
                continue
            lines.append(f"{key} = {_toml_value(value)}")
        for member in settings.get("members") or []:
            lines.append("")
            lines.append("[[groups.members]]")
            for key, value in member.items():
                if value is not None and value != []:
                    lines.append(f"{key} = {_toml_value(value)}")
        lines.append("")
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------
# Commands
# ---------------------------------------------------------------------------------------------


def register(main: click.Group, common_options: Callable, open_store: Callable) -> None:
    """Add ``groups import|export`` to cli.py's ``groups`` and the ``reseaux`` group."""
    groups = main.commands["groups"]
    assert isinstance(groups, click.Group)

    @groups.command("import")
    @click.option("--reseau", "reseau_id", help="Rattacher les groupes importés à ce réseau.")
    @click.option(
        "--force",
        is_flag=True,
        help="Écraser aussi les groupes modifiés sur le tableau depuis (le changement est "
        "journalisé avec l'état perdu).",
    )
    @common_options
    def groups_import(settings: Settings, reseau_id: str | None, force: bool) -> None:
        """Copier les groupes du fichier TOML dans la base, qui fait foi ensuite."""
        from tenderwatch.notifier.groups import GroupConfigError, group_settings, load_groups

        if not settings.config_path:
            raise click.UsageError(
                "indiquez le fichier de configuration (--config ou TENDERWATCH_CONFIG)"
            )
        try:
            file_groups = load_groups(settings.config_path)
        except GroupConfigError as exc:
            # Nothing is imported from a file with an error: all of it or none.
            raise click.ClickException(f"rien n'a été importé :\n{exc}") from None
        store = open_store(settings)
        try:
            gs = GroupStore(store)
            if reseau_id and gs.reseau(reseau_id) is None:
                raise click.ClickException(
                    f"réseau inconnu « {reseau_id} » (tenderwatch reseaux add {reseau_id})"
                )
            refused = []
            for group in file_groups:
                outcome = gs.import_settings(
                    group_settings(group), actor="cli:import", reseau_id=reseau_id, force=force
                )
                line = f"  {group.id} : {_IMPORT_FR[outcome]}"
                if outcome == "refused":
                    row = gs.get(group.id) or {}
                    refused.append(group.id)
                    line += (
                        f" (modifié sur le tableau le {row.get('updated_at', '?')} par "
                        f"{row.get('updated_by') or '?'} ; --force pour écraser)"
                    )
                click.echo(line)
            in_file = {g.id for g in file_groups}
            for row in gs.all():
                if row["id"] not in in_file:
                    click.echo(f"  {row['id']} : absent du fichier, conservé dans la base")
        finally:
            store.close()
        if refused:
            raise click.ClickException(
                f"{len(refused)} groupe(s) non importé(s) car modifié(s) sur le tableau : "
                + ", ".join(refused)
            )
        click.echo(f"{len(file_groups)} groupe(s) du fichier traités ; la base fait foi.")

    @groups.command("export")
    @click.option(
        "--output",
        "-o",
        type=click.Path(dir_okay=False, writable=True),
        help="Fichier TOML à écrire (défaut : la sortie standard).",
    )
    @click.option("--reseau", "reseau_id", help="Seulement les groupes de ce réseau.")
    @common_options
    def groups_export(settings: Settings, output: str | None, reseau_id: str | None) -> None:
        """Écrire les groupes de la base en TOML ([[groups]])."""
        store = open_store(settings)
        try:
            rows = GroupStore(store).all(reseau_id)
        finally:
            store.close()
        text = groups_toml(rows)
        if output:
            Path(output).write_text(text, encoding="utf-8")
            click.echo(f"{len(rows)} groupe(s) écrit(s) dans {output}", err=True)
        else:
            click.echo(text, nl=False)

    @main.group()
    def reseaux() -> None:
        """Gérer les réseaux (plusieurs réseaux peuvent partager une instance)."""

    @reseaux.command("add")
    @click.argument("reseau_id")
    @click.option("--name", "name", default="", help="Nom affiché (défaut : l'identifiant).")
    @common_options
    def reseaux_add(settings: Settings, reseau_id: str, name: str) -> None:
        """Créer un réseau (ou le renommer)."""
        store = open_store(settings)
        try:
            created = GroupStore(store).add_reseau(reseau_id, name)
        except GroupStoreError as exc:
            raise click.ClickException(str(exc)) from None
        finally:
            store.close()
        click.echo(f"Réseau « {reseau_id} » {'créé' if created else 'renommé'}.")

    @reseaux.command("list")
    @common_options
    def reseaux_list(settings: Settings) -> None:
        """Lister les réseaux, leurs groupes et leurs administrateurs."""
        store = open_store(settings)
        try:
            rows = GroupStore(store).reseaux()
        finally:
            store.close()
        for row in rows:
            click.echo(
                f"{row['id']} — {row['name']} : {row['groups']} groupe(s), "
                f"{row['admins']} administrateur(s)"
            )
        if not rows:
            click.echo("Aucun réseau.")

    @reseaux.command("admin")
    @click.argument("reseau_id")
    @click.argument("email")
    @click.option("--name", "name", default="", help="Nom affiché (défaut : l'adresse).")
    @common_options
    def reseaux_admin(settings: Settings, reseau_id: str, email: str, name: str) -> None:
        """Nommer un administrateur du réseau (il se connecte au tableau avec cette adresse)."""
        store = open_store(settings)
        try:
            gs = GroupStore(store)
            member_id = gs.ensure_member(email, name, actor="cli")
            gs.add_reseau_admin(reseau_id, member_id)
        except (GroupStoreError, ValueError) as exc:
            raise click.ClickException(str(exc)) from None
        finally:
            store.close()
        click.echo(f"{normalise_email(email)} administre le réseau « {reseau_id} ».")
