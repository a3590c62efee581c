"""The board's commands: ``tenderwatch serve``, ``members add|list|remove``, ``feedback export``.

They live here rather than in cli.py (which only registers them) so that the CLI does not
import Flask unless ``serve`` runs.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from tenderwatch.core.board import (
    ROLES,
    Board,
    WebSettings,
    load_web_settings,
    read_secret_key,
)
from tenderwatch.core.settings import Settings, SettingsError
from tenderwatch.core.store import Store
from tenderwatch.notifier.models import STRUCTURE_KINDS, Group


def _groups(settings: Settings) -> list[Group]:
    """The groups: the database's once imported (ADR 0012), else the configuration file's
    (none without one)."""
    from tenderwatch.notifier.groups import GroupConfigError, groups_database, load_groups_from

    try:
        with groups_database(settings.db) as store:
            return load_groups_from(settings.config_path, store)
    except GroupConfigError as exc:
        raise click.ClickException(f"configuration des groupes :\n{exc}") from None


def _web_settings(settings: Settings) -> WebSettings:
    try:
        return load_web_settings(settings.config_path)
    except SettingsError as exc:
        raise click.ClickException(f"configuration : {exc}") from None


def sync_members(board: Board, groups: list[Group]) -> int:
    """Bring the members declared in the TOML into the database."""
    return board.sync_config_members({g.id: g.members for g in groups if g.members})


def make_mailer(settings: Settings, web: WebSettings, *, dev: bool) -> Any:
    """The sign-in mailer: the apprise e-mail channel tagged ``[web] mail_tag``; in ``--dev``
    the console too (or alone when no channel is configured)."""
    from tenderwatch.notifier.groups import load_notify_settings
    from tenderwatch.web.mail import AppriseMailer, BothMailers, ConsoleMailer, MailError

    try:
        notify = load_notify_settings(settings.config_path)
        path = notify.apprise_config
    except SettingsError:
        path = None
    import os

    path = os.environ.get("TENDERWATCH_APPRISE_CONFIG") or path
    mailer = None
    if path:
        try:
            mailer = AppriseMailer(path, web.mail_tag)
        except MailError as exc:
            if not dev:
                raise click.ClickException(str(exc)) from None
            click.echo(f"avertissement : {exc}", err=True)
    if dev:
        return BothMailers(mailer, ConsoleMailer()) if mailer else ConsoleMailer()
    if mailer is None:
        raise click.ClickException(
            "aucun canal pour envoyer les liens de connexion : déclarez [notify] apprise_config "
            f"et un canal e-mail portant l'étiquette « {web.mail_tag} »"
        )
    return mailer


def register(main: click.Group, common_options: Callable, open_store: Callable) -> None:
    """Add the board's commands to the ``tenderwatch`` group."""

    @main.command()
    @click.option("--host", default="127.0.0.1", show_default=True, help="Adresse d'écoute.")
    @click.option("--port", default=8080, show_default=True, type=click.IntRange(1, 65535))
    @click.option(
        "--dev",
        is_flag=True,
        help="Essai local : clé secrète éphémère si aucune, liens de connexion affichés ici.",
    )
    @click.option("--https", is_flag=True, help="Derrière HTTPS : cookies « Secure ».")
    @click.option("--threads", default=8, show_default=True, type=click.IntRange(1, 64))
    @common_options
    def serve(
        settings: Settings, host: str, port: int, dev: bool, https: bool, threads: int
    ) -> None:
        """Ouvrir le tableau de veille partagé (application web)."""
        web = _web_settings(settings)
        if https:
            web.https = True
        try:
            key = read_secret_key(web)
        except SettingsError as exc:
            raise click.ClickException(f"configuration : {exc}") from None
        if not key and not dev:
            raise click.ClickException(
                "aucune clé secrète pour signer les sessions et les liens de connexion : "
                "indiquez [web] secret_key_file ou TENDERWATCH_WEB_SECRET_KEY "
                "(ou lancez « tenderwatch serve --dev » pour un essai local)"
            )
        groups = _groups(settings)
        store = open_store(settings)
        synced = sync_members(Board(store), groups)
        store.close()
        mailer = make_mailer(settings, web, dev=dev)

        from waitress import serve as waitress_serve

        from tenderwatch.web import create_app

        app = create_app(settings.db, web, secret_key=key, groups=groups, mailer=mailer, dev=dev)
        click.echo(
            f"Tableau de veille sur http://{host}:{port}/ (base {settings.db}, "
            f"{synced} membre(s) déclarés dans la configuration)"
        )
        if dev and not key:
            click.echo("Mode essai : clé éphémère, les sessions ne survivent pas à l'arrêt.")
        waitress_serve(app, host=host, port=port, threads=threads, ident="tenderwatch")

    @main.group()
    def members() -> None:
        """Gérer les membres du tableau de veille."""

    @members.command("add")
    @click.argument("group_id")
    @click.argument("email")
    @click.option("--name", "name", default="", help="Nom affiché (défaut : l'adresse).")
    @click.option("--role", type=click.Choice(ROLES), default="member", show_default=True)
    @click.option("--structure", help="Nom de la structure.")
    @click.option("--siret", help="SIRET de la structure (14 chiffres).")
    @click.option("--kind", type=click.Choice(STRUCTURE_KINDS), help="Type de structure.")
    @click.option("--departement", "departements", multiple=True, help="Territoire (répétable).")
    @click.option("--cpv", "cpv_prefixes", multiple=True, help="Secteur, préfixe CPV (répétable).")
    @common_options
    def members_add(settings: Settings, group_id: str, email: str, **options: Any) -> None:
        """Ajouter un membre à un groupe (ou changer son rôle)."""
        known = {g.id for g in _groups(settings)}
        if known and group_id not in known:
            raise click.ClickException(
                f"groupe inconnu « {group_id} » (groupes : {', '.join(sorted(known))})"
            )
        siret = (options.get("siret") or "").replace(" ", "") or None
        if siret and not (siret.isdigit() and len(siret) == 14):
            raise click.ClickException("le SIRET compte 14 chiffres")
        store = open_store(settings)
        try:
            member = Board(store).upsert_member(
                email=email,
                name=options["name"] or email,
                group_id=group_id,
                role=options["role"],
                structure_name=options.get("structure"),
                structure_siret=siret,
                structure_kind=options.get("kind"),
                departements=options["departements"],
                cpv_prefixes=options["cpv_prefixes"],
                source="cli",
            )
        except ValueError as exc:
            raise click.ClickException(str(exc)) from None
        finally:
            store.close()
        click.echo(f"{member.name} <{member.email}> : {options['role']} de « {group_id} »")

    @members.command("list")
    @click.option("--group", "group_id", help="Limiter à un groupe.")
    @click.option("--json", "as_json", is_flag=True, help="Sortie JSON (une ligne par membre).")
    @common_options
    def members_list(settings: Settings, group_id: str | None, as_json: bool) -> None:
        """Lister les membres et leurs groupes."""
        store = open_store(settings)
        board = Board(store)
        sync_members(board, _groups(settings))
        rows = board.members(group_id)
        store.close()
        for m in rows:
            if as_json:
                click.echo(
                    json.dumps(
                        {
                            "email": m.email,
                            "name": m.name,
                            "groups": m.groups,
                            "structure": m.structure_name,
                            "siret": m.structure_siret,
                            "kind": m.structure_kind,
                        },
                        ensure_ascii=False,
                    )
                )
            else:
                groups = ", ".join(f"{g} ({r})" for g, r in m.groups.items()) or "aucun groupe"
                structure = f" — {m.structure_name}" if m.structure_name else ""
                click.echo(f"{m.name} <{m.email}>{structure} : {groups}")
        if not rows and not as_json:
            click.echo("Aucun membre.")

    @members.command("remove")
    @click.argument("email")
    @click.option("--group", "group_id", help="Retirer de ce groupe seulement (défaut : tous).")
    @common_options
    def members_remove(settings: Settings, email: str, group_id: str | None) -> None:
        """Retirer un membre d'un groupe ou de tous ; ses liens de connexion sont révoqués."""
        store = open_store(settings)
        removed = Board(store).remove_membership(email, group_id)
        store.close()
        if not removed:
            raise click.ClickException("aucun membre à retirer avec cette adresse")
        click.echo(f"{removed} appartenance(s) retirée(s) ; liens de connexion révoqués")

    @main.group()
    def feedback() -> None:
        """Retours des membres sur les alertes."""

    @feedback.command("export")
    @click.option(
        "--output",
        "-o",
        type=click.Path(dir_okay=False, writable=True),
        help="Fichier JSON Lines (défaut : la sortie standard).",
    )
    @common_options
    def feedback_export(settings: Settings, output: str | None) -> None:
        """Exporter les « pas pour nous » (dont « clause mal détectée ») en JSON Lines."""
        store = open_store(settings)
        rows = Board(store).feedback()
        store.close()
        lines = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
        if output:
            Path(output).write_text(lines, encoding="utf-8")
            click.echo(f"{len(rows)} retour(s) écrit(s) dans {output}", err=True)
        else:
            sys.stdout.write(lines)


def demo_board_links(output: Path, db: Path, config: Path, echo: Callable[[str], Any]) -> str:
    """For ``tenderwatch demo``: put the example groups' demonstration members in the demo
    database, write a signing key and a ready sign-in link per group into ``output``
    (``liens-connexion.txt``), and print the command that opens the board on it. Returns the
    links file's name."""
    import os
    import secrets

    from tenderwatch.notifier.groups import load_groups
    from tenderwatch.web import create_app, signin_link
    from tenderwatch.web.mail import ConsoleMailer

    groups = load_groups(config)
    store = Store(db)
    sync_members(Board(store), groups)
    store.close()
    key_file = output / "cle-tableau.txt"
    key_file.write_text(secrets.token_urlsafe(32) + "\n", encoding="utf-8")
    os.chmod(key_file, 0o600)
    minutes = 24 * 60  # a demonstration link may be opened later in the day
    web = WebSettings(link_minutes=minutes)
    app = create_app(
        str(db),
        web,
        secret_key=key_file.read_text(encoding="utf-8").strip(),
        groups=groups,
        mailer=ConsoleMailer(),
    )
    lines = [
        "Liens de connexion au tableau de veille (démonstration, valables 24 heures, une fois)",
        "",
    ]
    for group in groups:
        chosen = sorted(group.members, key=lambda m: m.get("role") != "admin")[:1]
        for member in chosen:
            link = signin_link(app, member["email"], absolute=True)
            lines += [f"{group.name} — {member.get('name') or member['email']} :", link, ""]
    path = output / "liens-connexion.txt"
    path.write_text("\n".join(lines), encoding="utf-8")
    echo("Tableau de veille partagé : ouvrez-le avec")
    echo(
        f"    TENDERWATCH_WEB_SECRET_KEY_FILE={key_file} TENDERWATCH_WEB_LINK_MINUTES={minutes}"
        f" tenderwatch serve --dev --db {db} --config {config}"
    )
    echo(f"    puis un lien de {path}")
    return path.name
