"""Commands for running tenderwatch for a réseau (issue #11): ``structures import|list``,
``members export|erase`` (RGPD), ``db backup|restore-check``, ``explore`` (Datasette).

They live here rather than in cli.py (which only registers them); ``members`` and ``db`` are
groups defined elsewhere (board_commands.py, cli.py): their subcommands are added to them.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import click

from tenderwatch.core.backup import BackupError, CheckResult, backup, restore_check
from tenderwatch.core.personal import ERASED_NAME, erase, export
from tenderwatch.core.settings import Settings
from tenderwatch.core.structures import (
    FORMATS,
    StructureImportError,
    import_structures,
    read_input,
    structures,
)


def _stamp() -> str:
    return datetime.now(UTC).strftime("%Y%m%d-%H%M%S")


def _print_check(result: CheckResult) -> None:
    tables = ", ".join(
        f"{t} {n}"
        for t, n in sorted(result.counts.items())
        if t in ("notices", "classifications", "deliveries", "board_members", "board_marks")
    )
    click.echo(f"  intégrité : {result.integrity or '?'} ; lignes : {tables}")
    if result.expected is not None and result.ok:
        click.echo(
            f"  {len(result.expected)} tables : comptes identiques à la base au moment de la copie"
        )


def _check_group(settings: Settings, group_id: str | None) -> None:
    """Refuse ``--group`` naming no known group (as ``members add`` does): members attached
    to a typo would sign in to an empty board."""
    if not group_id:
        return
    from tenderwatch.board_commands import _groups

    known = {g.id for g in _groups(settings)}
    if known and group_id not in known:
        raise click.ClickException(
            f"groupe inconnu « {group_id} » (groupes : {', '.join(sorted(known))})"
        )


def register(main: click.Group, common_options: Callable, open_store: Callable) -> None:
    """Add the commands to the ``tenderwatch`` group (after board_commands registered
    ``members``)."""

    # -- structures ---------------------------------------------------------------------

    @main.group("structures")
    def structures_group() -> None:
        """Structures membres du réseau (import CSV, marché de l'inclusion, emplois)."""

    @structures_group.command("import")
    @click.argument("file", type=click.Path(exists=True, dir_okay=False))
    @click.option(
        "--format",
        "fmt",
        type=click.Choice(FORMATS),
        default="csv",
        show_default=True,
        help="csv (tableur du réseau), lemarche (API SIAE du marché de l'inclusion),"
        " emplois (API siaes des emplois de l'inclusion).",
    )
    @click.option(
        "--skip-invalid",
        is_flag=True,
        help="Importer les lignes valides et ignorer les autres (défaut : rien si une erreur).",
    )
    @click.option(
        "--dry-run", is_flag=True, help="Vérifier et afficher le compte rendu sans écrire."
    )
    @click.option(
        "--group",
        "group_id",
        help="Inscrire le courriel de chaque structure comme membre de ce groupe.",
    )
    @common_options
    def structures_import(
        settings: Settings,
        file: str,
        fmt: str,
        skip_invalid: bool,
        dry_run: bool,
        group_id: str | None,
    ) -> None:
        """Importer les structures membres (SIRET vérifié, doublons fusionnés par SIRET)."""
        _check_group(settings, group_id)
        store = open_store(settings)
        try:
            report = import_structures(
                store,
                read_input(file),
                fmt,
                skip_invalid=skip_invalid,
                dry_run=dry_run,
                group_id=group_id,
            )
        except StructureImportError as exc:
            raise click.ClickException(f"{file} : {exc}") from None
        finally:
            store.close()
        for line in report.lines():
            click.echo(line)
        if report.written:
            click.echo("Import enregistré.")
        elif dry_run:
            click.echo("Essai (--dry-run) : rien n'a été écrit.")
        else:
            raise click.ClickException(
                f"{len(report.skipped)} ligne(s) invalide(s) : rien n'a été importé. Corrigez"
                " le fichier ou relancez avec --skip-invalid pour importer les lignes valides."
            )

    @structures_group.command("fetch")
    @click.argument("fmt", metavar="lemarche|emplois", type=click.Choice(("lemarche", "emplois")))
    @click.option("--departement", required=True, help="Département à interroger (ex. 26).")
    @click.option("--skip-invalid", is_flag=True, help="Importer les valides, ignorer les autres.")
    @click.option("--dry-run", is_flag=True, help="Afficher le compte rendu sans écrire.")
    @click.option("--group", "group_id", help="Inscrire les courriels dans ce groupe.")
    @common_options
    def structures_fetch(
        settings: Settings,
        fmt: str,
        departement: str,
        skip_invalid: bool,
        dry_run: bool,
        group_id: str | None,
    ) -> None:
        """Importer en direct depuis l'API d'un annuaire (TENDERWATCH_STRUCTURES_LIVE=1)."""
        _check_group(settings, group_id)
        from tenderwatch.directories import DirectoryError, fetch

        try:
            data = fetch(fmt, departement)
        except DirectoryError as exc:
            raise click.ClickException(str(exc)) from None
        store = open_store(settings)
        try:
            report = import_structures(
                store, data, fmt, skip_invalid=skip_invalid, dry_run=dry_run, group_id=group_id
            )
        finally:
            store.close()
        for line in report.lines():
            click.echo(line)
        if not report.written and not dry_run:
            raise click.ClickException(
                f"{len(report.skipped)} fiche(s) invalide(s) : rien n'a été importé"
                " (--skip-invalid pour importer les valides)"
            )

    @structures_group.command("list")
    @click.option("--departement", help="Limiter à un département.")
    @common_options
    def structures_list(settings: Settings, departement: str | None) -> None:
        """Lister les structures importées."""
        store = open_store(settings)
        rows = structures(store, departement)
        store.close()
        for row in rows:
            sectors = ", ".join(row["cpv_prefixes"]) or "—"
            click.echo(
                f"{row['siret']} {row['kind'] or '?':<5} {row['departement'] or '--':<3}"
                f" {row['name']} (secteurs CPV : {sectors} ; {row['members']} membre(s))"
            )
        if not rows:
            click.echo("Aucune structure.")

    # -- members export / erase (RGPD) --------------------------------------------------

    members = main.commands.get("members")
    if not isinstance(members, click.Group):  # pragma: no cover - registration order
        raise RuntimeError("board_commands.register doit être appelé avant")

    @members.command("export")
    @click.argument("email")
    @click.option(
        "--output",
        "-o",
        type=click.Path(dir_okay=False, writable=True),
        help="Fichier JSON (défaut : la sortie standard).",
    )
    @common_options
    def members_export(settings: Settings, email: str, output: str | None) -> None:
        """Exporter tout ce que la base contient sur une personne (droit d'accès, RGPD)."""
        store = open_store(settings, must_exist=True)
        data = export(store, email)
        store.close()
        if data is None:
            raise click.ClickException("aucun membre avec cette adresse")
        text = json.dumps(data, ensure_ascii=False, indent=2, default=str) + "\n"
        if output:
            Path(output).write_text(text, encoding="utf-8")
            click.echo(f"Données exportées dans {output}", err=True)
        else:
            sys.stdout.write(text)

    @members.command("erase")
    @click.argument("email")
    @click.option("--yes", "confirmed", is_flag=True, help="Confirmer l'effacement (irréversible).")
    @common_options
    def members_erase(settings: Settings, email: str, confirmed: bool) -> None:
        """Effacer une personne (droit à l'effacement, RGPD) ; ses marques et notes restent,
        signées « membre effacé »."""
        if not confirmed:
            raise click.ClickException(
                "effacement irréversible : relancez avec --yes pour confirmer"
                " (faites d'abord « tenderwatch db backup » si besoin)"
            )
        store = open_store(settings, must_exist=True)
        try:
            member = store.db.execute(
                "SELECT id FROM board_members WHERE email = ?", [email.strip().lower()]
            ).fetchone()
            from_config = (
                member is not None
                and store.db.execute(
                    "SELECT 1 FROM board_memberships WHERE member_id = ? AND source = 'config'",
                    [member[0]],
                ).fetchone()
            )
            counts = erase(store, email)
        finally:
            store.close()
        if counts is None:
            raise click.ClickException("aucun membre avec cette adresse")
        kept = sum(counts.get(t, 0) for t in ("board_marks", "board_notes", "board_activity"))
        click.echo(
            f"Membre effacé : {counts.get('board_memberships', 0)} appartenance(s) et"
            f" {counts.get('board_signin', 0)} lien(s) de connexion supprimés ; {kept}"
            f" marque(s), note(s) et action(s) conservées sous « {ERASED_NAME} »."
        )
        if from_config:
            click.echo(
                "Attention : cette adresse figure dans le fichier de configuration ;"
                " retirez-la, sinon le prochain démarrage la recréera."
            )

    # -- db backup / restore-check ------------------------------------------------------

    db = main.commands.get("db")
    if not isinstance(db, click.Group):  # pragma: no cover
        raise RuntimeError("groupe « db » introuvable")

    @db.command("backup")
    @click.argument("path", type=click.Path())
    @click.option("--overwrite", is_flag=True, help="Remplacer le fichier s'il existe.")
    @common_options
    def db_backup(settings: Settings, path: str, overwrite: bool) -> None:
        """Sauvegarder la base à chaud (API de sauvegarde de SQLite), puis vérifier la copie.

        PATH est un fichier, ou un dossier où écrire tenderwatch-AAAAMMJJ-HHMMSS.db."""
        try:
            result = backup(settings.db, path, now=_stamp(), overwrite=overwrite)
        except BackupError as exc:
            raise click.ClickException(str(exc)) from None
        click.echo(f"Sauvegarde écrite : {result.path}")
        _print_check(result)

    @db.command("reparse")
    @click.option(
        "--source",
        "sources",
        multiple=True,
        type=click.Choice(("boamp", "ted", "decp")),
        help="Seulement cette source (répétable) ; défaut : toutes.",
    )
    @common_options
    def db_reparse(settings: Settings, sources: tuple[str, ...]) -> None:
        """Relire les avis enregistrés depuis leur charge brute, avec les normaliseurs
        actuels (après une mise à jour) ; les avis changés seront reclassés.

        Rien n'est téléchargé ni envoyé ; un avis que les normaliseurs refusent désormais
        est gardé tel qu'enregistré et signalé (code de sortie 1)."""
        from tenderwatch.reparse import reparse

        def progress(done: int, total: int) -> None:
            click.echo(f"  relus : {done} / {total}", err=True)

        store = open_store(settings, must_exist=True)
        try:
            report = reparse(store, sources=sources, progress=progress)
        finally:
            store.close()
        click.echo("Relecture des avis enregistrés — " + ("OK" if report.ok else "INCOMPLET"))
        for line in report.lines():
            click.echo(line)
        if not report.ok:
            raise SystemExit(1)

    @db.command("restore-check")
    @click.argument("path", type=click.Path(exists=True, dir_okay=False))
    @common_options
    def db_restore_check(settings: Settings, path: str) -> None:
        """Vérifier qu'une sauvegarde se restaure : intégrité, schéma connu, comptes."""
        result = restore_check(path)
        live = Path(settings.db).expanduser()
        if result.ok and live.exists() and live.resolve() != Path(path).resolve():
            store = open_store(settings, must_exist=True)
            try:
                for table in ("notices", "deliveries", "board_members"):
                    if table in result.counts and store.db[table].exists():
                        now = store.db[table].count
                        click.echo(
                            f"  {table} : {result.counts[table]} dans la copie,"
                            f" {now} dans la base en service"
                        )
            finally:
                store.close()
        if not result.ok:
            raise click.ClickException(
                f"{path} ne se restaure pas : " + " ; ".join(result.problems)
            )
        click.echo(f"{path} : restauration vérifiée")
        _print_check(result)

    # -- explore (Datasette) ------------------------------------------------------------

    @main.command("explore")
    @click.option("--host", default="127.0.0.1", show_default=True)
    @click.option("--port", default=8001, show_default=True, type=click.IntRange(1, 65535))
    @click.option(
        "--live",
        is_flag=True,
        help="Ouvrir la base en service (lecture seule) plutôt qu'un instantané.",
    )
    @click.option(
        "--print-command",
        is_flag=True,
        help="Afficher la commande Datasette et les métadonnées sans lancer Datasette.",
    )
    @common_options
    def explore(settings: Settings, host: str, port: int, live: bool, print_command: bool) -> None:
        """Explorer la base dans Datasette, en lecture seule (extra facultatif)."""
        from tenderwatch import explore as ex

        if not print_command and not ex.datasette_available():
            raise click.ClickException(ex.INSTALL_HINT)
        source = Path(settings.db).expanduser()
        if not source.exists():
            raise click.ClickException(f"base introuvable : {source}")
        with tempfile.TemporaryDirectory(prefix="tenderwatch-explore-") as scratch:
            folder = Path(scratch)
            try:
                target = source if live else ex.snapshot_for_explore(source, folder, _stamp())
            except BackupError as exc:
                raise click.ClickException(str(exc)) from None
            meta = ex.write_metadata(target, folder)
            args = ex.command(target, meta, host=host, port=port, immutable=not live)
            if print_command:
                click.echo(" ".join(args))
                click.echo(meta.read_text("utf-8"))
                return
            click.echo(f"Datasette sur http://{host}:{port}/ (Ctrl+C pour arrêter)")
            try:
                subprocess.run(args, check=False)  # our own argument list, no shell
            except KeyboardInterrupt:
                pass
