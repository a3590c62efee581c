"""Command-line interface: ``tenderwatch --help``.

Every command takes ``--db`` (or ``TENDERWATCH_DB``) and ``--config`` (or
``TENDERWATCH_CONFIG``). What the user reads is in French.
"""

from __future__ import annotations

import functools
import html
import json
import logging
import os
import sqlite3
import sys
import traceback
from collections import deque
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import click

from tenderwatch import __version__, click_fr
from tenderwatch.core.records import NATURES, CrawlReport
from tenderwatch.core.settings import Settings, SettingsError, load_settings
from tenderwatch.core.store import Store, StoreError, describe_sqlite_error
from tenderwatch.core.wording import LINK_KIND_FR, MISSING, PROCEDURE_STATUS_FR, nature_fr, word

click_fr.install()  # click's own messages (usage errors, --help) in French
SOURCES = ("boamp", "ted", "decp")


def common_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """Add ``--db`` and ``--config`` to a command and pass it the loaded settings."""

    @click.option(
        "--config",
        "config_path",
        type=click.Path(dir_okay=False),
        envvar="TENDERWATCH_CONFIG",
        help="Fichier de configuration TOML.",
    )
    @click.option(
        "--db",
        "db_path",
        type=click.Path(dir_okay=False),
        envvar="TENDERWATCH_DB",
        help="Base SQLite (défaut : tenderwatch.db).",
    )
    @functools.wraps(func)
    def wrapper(*args: Any, config_path: str | None, db_path: str | None, **kwargs: Any) -> Any:
        try:
            settings = load_settings(config_path, overrides={"db": db_path})
        except SettingsError as exc:
            raise click.ClickException(f"configuration : {exc}") from None
        # The TOML may set log_level: configure again now that it is known. -v/-q win, and
        # are written back so that what reads settings.log_level (the Scrapy crawl, the
        # demo's crawl subprocess) follows them.
        settings.log_level = _configure_logging(settings.log_level)
        return func(*args, settings=settings, **kwargs)

    return wrapper


DB_META = "tenderwatch.db"


def open_store(settings: Settings, *, must_exist: bool = False) -> Store:
    """Open the database; a read command passes ``must_exist`` so that a wrong path is an
    error, not a new empty base. A StoreError reaches :class:`MainGroup` (one sentence)."""
    ctx = click.get_current_context(silent=True)
    if ctx is not None:
        ctx.meta[DB_META] = settings.db  # named by the error sentence of a later SQLite error
    return Store(settings.db, must_exist=must_exist)


class MainGroup(click.Group):
    """The ``tenderwatch`` group: a database failure in any command (unreadable, read-only,
    full, locked, newer, missing) becomes one French sentence on stderr and exit code 1,
    with the traceback only under ``-v``."""

    def main(self, *args: Any, standalone_mode: bool = True, **kwargs: Any) -> Any:
        """Click's own errors (unknown option, bad value, missing argument) in French too:
        click prints « Error: … » in English; here they read « Erreur : … »."""
        if not standalone_mode:
            return super().main(*args, standalone_mode=False, **kwargs)
        try:
            rv = super().main(*args, standalone_mode=False, **kwargs)
        except click.UsageError as exc:
            if exc.ctx is not None:
                click.echo(exc.ctx.get_usage(), err=True)
                click.echo(
                    f"Aide : « {exc.ctx.command_path} --help ».",
                    err=True,
                )
            click.echo(f"Erreur : {exc.format_message()}", err=True)
            sys.exit(exc.exit_code)
        except click.ClickException as exc:
            click.echo(f"Erreur : {exc.format_message()}", err=True)
            sys.exit(exc.exit_code)
        except click.Abort:
            click.echo("Interrompu.", err=True)
            sys.exit(1)
        sys.exit(rv if isinstance(rv, int) else 0)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (StoreError, sqlite3.Error) as exc:
            if (ctx.obj or {}).get("verbose"):
                traceback.print_exc(file=sys.stderr)
            if isinstance(exc, sqlite3.Error):
                message = describe_sqlite_error(exc, ctx.meta.get(DB_META))
            else:
                message = str(exc)
            click.echo(f"Erreur : {message}", err=True)
            ctx.exit(1)


class LogLevelUsageError(click.ClickException):
    """An unknown log level: one French sentence, exit code 2 (a usage error)."""

    exit_code = 2


def _configure_logging(level: str | None) -> str:
    """Set up logging with the group's -v/-q and ``level``; return the level name in force."""
    from tenderwatch.core.logs import LogLevelError, setup_logging

    ctx = click.get_current_context(silent=True)
    flags = (ctx.find_root().obj if ctx is not None else None) or {}
    try:
        own = setup_logging(
            level, verbose=flags.get("verbose", False), quiet=flags.get("quiet", False)
        )
    except LogLevelError as exc:
        raise LogLevelUsageError(str(exc)) from None
    return logging.getLevelName(own)


@click.group(cls=MainGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="tenderwatch")
@click.option(
    "-v", "--verbose", is_flag=True, help="Journal détaillé (DEBUG), bibliothèques comprises."
)
@click.option("-q", "--quiet", is_flag=True, help="N'afficher que les erreurs (pour cron).")
@click.pass_context
def main(ctx: click.Context, verbose: bool, quiet: bool) -> None:
    """tenderwatch : veille des marchés publics à clauses sociales (insertion, marchés
    réservés SIAE et EA/ESAT), à partir du BOAMP et de TED."""
    if verbose and quiet:
        raise click.UsageError("-v/--verbose et -q/--quiet s'excluent")
    ctx.obj = {**(ctx.obj or {}), "verbose": verbose, "quiet": quiet}
    # Commands without --config (groups of commands, errors before the settings) log too.
    _configure_logging(os.environ.get("TENDERWATCH_LOG_LEVEL"))


# -- db ---------------------------------------------------------------------------------------


@main.group()
def db() -> None:
    """Gérer la base de données."""


@db.command("migrate")
@common_options
def db_migrate(settings: Settings) -> None:
    """Créer ou mettre à jour le schéma de la base (migrations numérotées)."""
    # A StoreError (unreadable, read-only, newer schema, failed migration) is one sentence.
    store = Store(settings.db, migrate=False)
    applied = store.migrate()
    if applied:
        click.echo(f"{settings.db} : migrations appliquées : {', '.join(applied)}")
    else:
        click.echo(f"{settings.db} : schéma à jour ({len(store.applied_migrations())} migrations)")
    store.close()


# -- crawl ------------------------------------------------------------------------------------


def print_report(report: CrawlReport) -> None:
    """Print a crawl report in French."""
    status = "OK" if report.ok else "INCOMPLET"
    click.echo(f"\nCollecte {report.source.upper()} — {status}")
    rows = [
        ("période", f"{report.from_date or '?'} → {report.until_date or '?'}"),
        ("annoncés par la source", report.announced),
        ("reçus", report.fetched),
        ("nouveaux", report.new),
        ("mis à jour", report.updated),
        ("inchangés", report.unchanged),
        ("ignorés", report.skipped),
        ("erreurs", report.errors),
        ("manquants", report.shortfall),
        ("durée", f"{report.duration_s:.1f} s"),
    ]
    for label, value in rows:
        click.echo(f"  {label:<24} {value}")
    for reason, count in sorted(report.skip_reasons.items()):
        click.echo(f"  ignoré ({reason}) : {count}")
    for message in report.error_messages[:10]:
        click.echo(f"  erreur : {message}")
    if report.shortfall:
        # Missing = announced but not received, plus received but not stored (disk full…).
        click.echo(
            f"  ATTENTION : {report.shortfall} avis annoncés manquent (non reçus ou non"
            " enregistrés)."
        )


@main.command()
@click.argument("sources", nargs=-1, type=click.Choice(SOURCES))
@click.option(
    "--from-date",
    type=click.DateTime(["%Y-%m-%d"]),
    help="Première date de publication (défaut : la plus récente en base moins le recouvrement).",
)
@click.option(
    "--until-date",
    type=click.DateTime(["%Y-%m-%d"]),
    help="Dernière date de publication (défaut : aujourd'hui).",
)
@click.option("--sample", type=click.IntRange(min=1), help="S'arrêter après N avis par source.")
@click.option("--base-url", help="URL de base de la source (une seule source à la fois).")
@click.option(
    "--replay",
    is_flag=True,
    help="Hors ligne : collecter depuis un serveur local qui rejoue des avis enregistrés.",
)
@common_options
def crawl(
    settings: Settings,
    sources: tuple[str, ...],
    from_date: Any,
    until_date: Any,
    sample: int | None,
    base_url: str | None,
    replay: bool,
) -> None:
    """Collecter les avis du BOAMP et de TED dans la base (incrémental par défaut).

    SOURCES : boamp, ted, decp (défaut : les sources activées dans la configuration). Le code de
    sortie est 1 si des avis annoncés manquent ou si une page a échoué.
    """
    from tenderwatch.crawler.run import run_crawls

    chosen = list(sources) or [s for s in SOURCES if settings.source(s).enabled]
    if not chosen:
        raise click.UsageError("aucune source activée")
    if base_url and len(chosen) > 1:
        raise click.UsageError(
            "--base-url ne vaut que pour une seule source (ex. : crawl boamp --base-url …)"
        )
    if from_date and until_date and from_date > until_date:
        raise click.UsageError("--from-date est après --until-date")
    d1 = from_date.date().isoformat() if from_date else None
    d2 = until_date.date().isoformat() if until_date else None
    # Create the schema before the spiders open the database concurrently.
    open_store(settings).close()

    requests, server = _crawl_requests(
        chosen, replay=replay, first=d1, last=d2, sample=sample, base_url=base_url
    )
    try:
        reports = run_crawls(settings, requests)
    finally:
        if server is not None:
            server.stop()
    for report in reports:
        if report.ok and _quiet():
            continue  # -q: only what went wrong (cron mails any output)
        print_report(report)
    if not all(r.ok for r in reports):
        sys.exit(1)


def _crawl_requests(
    sources: list[str],
    *,
    replay: bool,
    first: str | None = None,
    last: str | None = None,
    sample: int | None = None,
    base_url: str | None = None,
) -> tuple[list[Any], Any]:
    """The crawl requests for ``sources``; with ``replay``, a started local replay server
    (the caller stops it) and the window of the recorded notices."""
    from tenderwatch.crawler.run import CrawlRequest

    server = None
    if replay:
        from tenderwatch.replay import ReplayServer

        server = ReplayServer().start()
        if not _quiet():
            click.echo(f"Rejeu local des sources enregistrées sur {server.url}")
    requests = []
    for source in sources:
        url, d1, d2 = base_url, first, last
        if server is not None:
            url = server.base_url(source)
            span = server.data.dates(source)
            if span and not d1:
                d1 = span[0]
            if span and not d2:
                d2 = max(span[1], date.today().isoformat())
        requests.append(
            CrawlRequest(source=source, from_date=d1, until_date=d2, sample=sample, base_url=url)
        )
    return requests, server


@main.command("crawls")
@click.option("--limit", default=10, show_default=True, type=click.IntRange(min=1))
@common_options
def crawls_list(settings: Settings, limit: int) -> None:
    """Afficher les derniers rapports de collecte."""
    store = open_store(settings, must_exist=True)
    for row in store.crawls(limit):
        state = "OK" if row["ok"] else "INCOMPLET"
        click.echo(
            f"#{row['id']} {row['started_at']} {row['source']:<6} {state:<9}"
            f" annoncés={row['announced']} reçus={row['fetched']} nouveaux={row['new']}"
            f" mis-à-jour={row['updated']}"
            f" ignorés={row['skipped']} erreurs={row['errors']} manquants={row['shortfall']}"
        )


# -- classify ---------------------------------------------------------------------------------


def _error_result(notice_id: str, model_version: str, message: str) -> dict[str, Any]:
    """The contract's line for an input that could not be classified."""
    from tenderwatch.classifier import LABELS

    return {
        "id": notice_id,
        "model_version": model_version,
        "labels": dict.fromkeys(LABELS, False),
        "lots": [],
        "insertion_hours": None,
        "evidence": [],
        "error": message,
    }


def _read_jsonl(stream: Any) -> Any:
    """Yield ``(input, None)`` or ``(None, (id, error))`` per line, in order."""
    from tenderwatch.classifier import NoticeInput

    for number, line in enumerate(stream, start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except ValueError as exc:
            yield None, (f"ligne {number}", f"JSON invalide : {exc.msg}")
            continue
        if not isinstance(obj, dict) or not isinstance(obj.get("id"), str | int):
            yield None, (f"ligne {number}", "objet JSON avec un champ « id » attendu")
            continue
        text = obj.get("text")
        if not isinstance(text, str):
            yield None, (str(obj["id"]), "champ « text » manquant ou non textuel")
            continue
        yield (
            NoticeInput(
                id=str(obj["id"]),
                text=text,
                title=obj.get("title"),
                published=obj.get("published"),
                signals=obj.get("signals"),
                lots=obj.get("structured_lots"),
            ),
            None,
        )


def classify_stream(classifier: Any, stream: Any) -> Any:
    """Classify a JSONL stream; yield one result per input line, in the same order.

    The whole stream goes through one ``classify_many`` call (a worker pool stays busy from
    the first line to the last); lines that cannot be classified wait in ``order`` for their
    turn, so that they come out where they were read.
    """
    from tenderwatch.classifier import MODEL_VERSION

    order: deque[tuple[Any, Any]] = deque()

    def inputs() -> Any:
        for item, error in _read_jsonl(stream):
            order.append((item, error))
            if item is not None:
                yield item

    def errors_first() -> Any:
        while order and order[0][0] is None:
            _, (where, message) = order.popleft()
            yield _error_result(where, MODEL_VERSION, message)

    for result in classifier.classify_many(inputs()):
        yield from errors_first()
        order.popleft()  # the input this result answers
        yield result
    yield from errors_first()


@main.command()
@click.option(
    "--input",
    "input_path",
    type=click.Path(dir_okay=False, allow_dash=True),
    help="Fichier JSONL à classer (un objet par ligne avec id et text) ; - pour l'entrée standard.",
)
@click.option(
    "--output",
    "output_path",
    type=click.Path(dir_okay=False, allow_dash=True),
    help="Fichier JSONL des résultats, une ligne par entrée, dans le même ordre (défaut : -).",
)
@click.option(
    "--reclassify", is_flag=True, help="Reclasser aussi les avis déjà classés par cette version."
)
@click.option("--limit", type=click.IntRange(min=1), help="Classer au plus N avis de la base.")
@click.option(
    "--jobs",
    "-j",
    type=click.IntRange(min=1),
    help="Nombre de processus de classement (défaut : un par cœur, "
    "un seul pour moins de 200 avis).",
)
@common_options
def classify(
    settings: Settings,
    input_path: str | None,
    output_path: str | None,
    reclassify: bool,
    limit: int | None,
    jobs: int | None,
) -> None:
    """Détecter les clauses sociales et l'allotissement, par avis et par lot, avec les preuves.

    Sans --input : classe les avis de la base qui ne l'ont pas encore été par la version
    actuelle du modèle. Avec --input : classe un fichier JSONL et écrit les résultats.
    Le classement occupe tous les cœurs (--jobs pour choisir) ; les textes sont lus en entier.
    """
    from tenderwatch.classifier import MODEL_VERSION
    from tenderwatch.classifier.parallel import ClassificationPoolError, ClassifierPool

    if output_path and not input_path:
        raise click.UsageError("--output ne s'emploie qu'avec --input")
    with ClassifierPool(jobs) as classifier:
        try:
            if input_path:
                src = click.open_file(input_path, "r", encoding="utf-8")
                dst = click.open_file(output_path or "-", "w", encoding="utf-8")
                count = errors = truncated = 0
                with src, dst:
                    for result in classify_stream(classifier, src):
                        dst.write(json.dumps(result, ensure_ascii=False) + "\n")
                        count += 1
                        errors += bool(result.get("error"))
                        truncated += bool(result.get("truncated"))
                if not _quiet():
                    click.echo(
                        f"{count} avis classés ({errors} en erreur, {truncated} texte(s) "
                        f"tronqué(s)), modèle {MODEL_VERSION}",
                        err=True,
                    )
                return
            store = open_store(settings)
            _classify_store(store, classifier, reclassify=reclassify, limit=limit)
        except ClassificationPoolError as exc:
            raise click.ClickException(str(exc)) from None


def _classify_store(store: Store, classifier: Any, *, reclassify: bool, limit: int | None) -> None:
    from tenderwatch.cycle import classify_store

    tty = sys.stderr.isatty()
    quiet = _quiet()
    open_line = False

    def echo(line: str, *, progress: bool = False) -> None:
        nonlocal open_line
        if quiet:
            return
        if tty and progress and line.startswith("  classés"):
            # On a terminal the progress line is rewritten in place after each page.
            click.echo("\r\x1b[K" + line.strip(), nl=False, err=True)
            open_line = True
            return
        if open_line:
            click.echo("", err=True)
            open_line = False
        click.echo(line, err=progress)

    # In a log (not a terminal), one progress line every 1 000 notices.
    classify_store(
        store,
        classifier,
        reclassify=reclassify,
        limit=limit,
        echo=echo,
        progress_every=1 if tty else 1000,
    )


def _quiet() -> bool:
    """Whether the group's -q/--quiet was given (only errors are shown then)."""
    ctx = click.get_current_context(silent=True)
    return bool(ctx is not None and (ctx.find_root().obj or {}).get("quiet"))


@main.command()
@click.option(
    "--gold",
    "gold_path",
    required=True,
    type=click.Path(exists=True, dir_okay=False),
    help="Jeu annoté au format golden (JSONL).",
)
@click.option(
    "--predictions",
    "pred_path",
    type=click.Path(exists=True, dir_okay=False),
    help="Résultats déjà calculés (JSONL de classify) ; sinon le jeu est classé maintenant.",
)
@common_options
def evaluate(settings: Settings, gold_path: str, pred_path: str | None) -> None:
    """Mesurer précision, rappel et F1 par étiquette (micro et macro) et l'attribution aux lots."""
    from tenderwatch.classifier import Classifier
    from tenderwatch.classifier.evaluation import evaluate as run_evaluation
    from tenderwatch.classifier.evaluation import format_report

    with open(gold_path, encoding="utf-8") as fh:
        try:
            gold = [json.loads(line) for line in fh if line.strip()]
        except ValueError as exc:
            raise click.ClickException(f"{gold_path} : JSON invalide ({exc})") from None
    if pred_path:
        with open(pred_path, encoding="utf-8") as fh:
            predictions = [json.loads(line) for line in fh if line.strip()]
    else:
        with open(gold_path, encoding="utf-8") as fh:
            predictions = list(classify_stream(Classifier(), fh))
    click.echo(format_report(run_evaluation(gold, predictions)))


# -- groups, deliveries, notify, run -----------------------------------------------------------


def _require_config(settings: Settings) -> str:
    """The configuration file's path; a usage error when none was given."""
    if not settings.config_path:
        raise click.UsageError(
            "indiquez le fichier de configuration (--config ou TENDERWATCH_CONFIG)"
        )
    return settings.config_path


@main.group()
def groups() -> None:
    """Vérifier et essayer les groupes abonnés et leurs canaux."""


@groups.command("check")
@common_options
def groups_check(settings: Settings) -> None:
    """Valider les groupes ([[groups]] du fichier TOML), la section [notify] et le fichier de
    canaux apprise ; chaque erreur nomme le fichier, le groupe et le champ."""
    from tenderwatch.notifier.groups import check_config, groups_database, load_groups_from

    _require_config(settings)
    # Once imported, the database's groups are the truth and are checked (ADR 0012).
    with groups_database(settings.db) as store:
        problems = check_config(settings.config_path, store=store)
        errors = [p for p in problems if p.is_error]
        count = 0 if errors else len(load_groups_from(settings.config_path, store))
    for problem in problems:
        click.echo(str(problem), err=True)
    if errors:
        raise click.ClickException(f"{len(errors)} erreur(s) de configuration")
    warned = len(problems) - len(errors)
    click.echo(
        f"Configuration valide : {count} groupe(s)"
        + (f", {warned} avertissement(s) (sans effet sur les envois)." if warned else ".")
    )


@groups.command("test")
@click.argument("group_id")
@common_options
def groups_test(settings: Settings, group_id: str) -> None:
    """Envoyer un message d'essai sur les canaux du groupe GROUP_ID."""
    from tenderwatch.notifier.delivery import Sender, SenderError
    from tenderwatch.notifier.groups import groups_database, load_groups_from, load_notify_settings
    from tenderwatch.notifier.render import Message, escape_markdown

    _require_config(settings)
    try:
        with groups_database(settings.db) as store:
            known = {g.id: g for g in load_groups_from(settings.config_path, store)}
        sender = Sender(load_notify_settings(settings.config_path).apprise_config)
    except (SettingsError, SenderError) as exc:
        raise click.ClickException(str(exc)) from None
    group = known.get(group_id)
    if group is None:
        raise click.ClickException(
            f"groupe inconnu : {group_id} (connus : {', '.join(known) or 'aucun'})"
        )
    text = (
        f"Message d'essai de tenderwatch pour le groupe « {group.name} ». "
        "Si vous le lisez, ce canal recevra les alertes."
    )
    message = Message(
        title=f"tenderwatch : essai pour {group.name}",
        html=f"<p>{html.escape(text)}</p>",
        text=text,
        markdown=escape_markdown(text),
    )
    failures = 0
    for tag in group.tags:
        for result in sender.send(tag, message):
            failures += not result.ok
            state = "envoyé" if result.ok else f"ÉCHEC : {result.error}"
            click.echo(f"  [{tag}] {result.description} : {state}")
    if failures:
        raise click.ClickException(f"{failures} canal(aux) en échec")


@main.group()
def deliveries() -> None:
    """Suivre les envois d'alertes."""


@deliveries.command("list")
@click.option(
    "--status",
    type=click.Choice(["pending", "sending", "sent", "failed", "unknown", "skipped"]),
    help="Limiter à un état.",
)
@click.option("--group", "group_id", help="Limiter à un groupe.")
@common_options
def deliveries_list(settings: Settings, status: str | None, group_id: str | None) -> None:
    """Lister les envois : en attente, envoyés, en échec, incertains (interrompus)."""
    from tenderwatch.notifier.delivery import UNKNOWN, list_deliveries, unknown_advice

    rows = list_deliveries(open_store(settings, must_exist=True), status=status, group=group_id)
    for row in rows:
        click.echo(
            f"#{row['id']:<5} {row['status']:<8} {row['group_id']:<20} {row['kind']:<14}"
            f" {row['notice_id']:<22} essais={row['attempts']} {row.get('last_error') or ''}"
        )
        if row["status"] == UNKNOWN:
            # Resending blindly may make it arrive twice: say what to look for first.
            click.echo(f"       → {unknown_advice(row)}")
    if not rows:
        click.echo("Aucun envoi.")


@deliveries.command("retry")
@click.argument("ids", nargs=-1, type=int, required=True)
@common_options
def deliveries_retry(settings: Settings, ids: tuple[int, ...]) -> None:
    """Remettre en attente des envois en échec ou incertains (IDS : numéros de deliveries list).
    Un envoi déjà parti n'est jamais renvoyé. Seule la base est lue : ni groupes ni canaux."""
    from tenderwatch.notifier.delivery import retry_deliveries

    result = retry_deliveries(open_store(settings, must_exist=True), ids)
    if result.retried:
        listed = ", ".join(f"#{i}" for i in result.retried)
        click.echo(f"{len(result.retried)} envoi(s) remis en attente : {listed}.")
    for delivery_id, reason in result.refused.items():
        click.echo(f"envoi #{delivery_id} non remis en attente : {reason}", err=True)
    if result.refused:
        raise click.ClickException(f"{len(result.refused)} envoi(s) refusé(s)")


def _notify(settings: Settings, store: Store, rematch: bool) -> bool:
    from tenderwatch.cycle import NotifyBusy, NotifyConfigError, notify_cycle

    try:
        report = notify_cycle(settings, store, rematch=rematch)
    except NotifyConfigError as exc:
        raise click.ClickException(f"alertes impossibles :\n{exc}") from None
    except NotifyBusy as exc:
        # Not a failure: the running cycle sends what is due; this one would add nothing.
        click.echo(f"{exc} : rien à faire de plus pour ce lancement.")
        return True
    click.echo(
        f"Alertes : {report.groups} groupe(s), {report.notices_matched} avis examinés,"
        f" {report.queued} alerte(s), {report.updates} mise(s) à jour,"
        f" {report.reminders} rappel(s), {report.award_contacts} attributaire(s) à démarcher"
        f" mis en file ; {report.summary}"
    )
    for problem in report.problems:
        click.echo(f"  problème : {problem}", err=True)
    return report.ok


@main.command()
@click.option(
    "--rematch", is_flag=True, help="Confronter de nouveau tous les avis classés aux groupes."
)
@common_options
def notify(settings: Settings, rematch: bool) -> None:
    """Confronter les avis classés aux groupes et envoyer ce qui est dû : alertes, résumés,
    mises à jour après rectificatif, rappels avant la date limite, nouvelles tentatives."""
    if not _notify(settings, open_store(settings), rematch):
        sys.exit(1)


@main.command()
@click.argument("sources", nargs=-1, type=click.Choice(SOURCES))
@click.option("--replay", is_flag=True, help="Collecter hors ligne depuis les avis enregistrés.")
@common_options
def run(settings: Settings, sources: tuple[str, ...], replay: bool) -> None:
    """Un cycle complet : collecter les sources activées, classer, confronter aux groupes,
    envoyer ce qui est dû. Code de sortie 1 si la collecte est incomplète ou un envoi a échoué."""
    from tenderwatch.classifier.parallel import ClassifierPool
    from tenderwatch.crawler.run import run_crawls

    chosen = list(sources) or [s for s in SOURCES if settings.source(s).enabled]
    open_store(settings).close()
    requests, server = _crawl_requests(chosen, replay=replay)
    try:
        reports = run_crawls(settings, requests) if requests else []
    finally:
        if server is not None:
            server.stop()
    for report in reports:
        if report.ok and _quiet():
            continue  # -q: only what went wrong (cron mails any output)
        print_report(report)
    store = open_store(settings)
    # Every core for a first start's year of history; one process for a day's notices.
    with ClassifierPool(None) as classifier:
        _classify_store(store, classifier, reclassify=False, limit=None)
    ok = all(r.ok for r in reports)
    if settings.config_path:
        ok = _notify(settings, store, rematch=False) and ok
    else:
        click.echo("Pas de fichier de configuration : aucun groupe, aucune alerte envoyée.")
    # The observatory's facts now, after the alerts, rather than on the first page a member
    # opens (a few seconds for a year of France). A storage error here is an error (exit 1).
    from tenderwatch.core.observatory import refresh

    if refresh(store.db) and not _quiet():
        click.echo("Observatoire mis à jour.")
    if not ok:
        sys.exit(1)


# -- demo -------------------------------------------------------------------------------------


@main.command()
@click.option(
    "--output",
    "output_dir",
    default="tenderwatch-demo",
    show_default=True,
    type=click.Path(file_okay=False),
    help="Dossier où écrire les e-mails et le rapport.",
)
@click.option(
    "--example",
    type=click.Path(exists=True, dir_okay=False),
    help="Configuration d'exemple des groupes (défaut : celle livrée avec tenderwatch, copie"
    " de config/tenderwatch.example.toml).",
)
@common_options
def demo(settings: Settings, output_dir: str, example: str | None) -> None:
    """Démonstration hors ligne de toute la chaîne : rejoue des avis BOAMP et TED enregistrés
    et des avis de démonstration, les classe, alerte trois groupes d'exemple par un serveur
    SMTP et un webhook locaux, puis écrit les e-mails et un rapport HTML."""
    from tenderwatch.demo import run_demo
    from tenderwatch.notifier.render import label_short

    output = Path(output_dir)
    db = Path(settings.db) if settings.db != "tenderwatch.db" else None
    click.echo("Démonstration de tenderwatch, sur cette machine, sans internet.")
    try:
        result = run_demo(
            output,
            db=db,
            example=Path(example) if example else None,
            echo=lambda line: click.echo(line),
            # The crawl's log only matters when debugging (shown) or failing (its warnings).
            crawl_log_level="DEBUG" if settings.log_level == "DEBUG" else "WARNING",
        )
    except FileNotFoundError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo("\nRésumé")
    click.echo(
        f"  {'avis collectés':<28} " + ", ".join(f"{k} {v}" for k, v in result.harvested.items())
    )
    for label, count in result.labels.items():
        click.echo(f"  {label_short(label):<28} {count}")
    click.echo("  messages envoyés par groupe :")
    for group, count in sorted(result.alerts.items()):
        click.echo(f"    {group:<26} {count}")
    if not result.alerts:
        click.echo("    (aucun : tout avait déjà été envoyé lors d'une démonstration précédente)")
    click.echo(f"\nE-mails (.eml et .html), messages de discussion et rapport : {output.resolve()}")
    click.echo(f"Ouvrez {output.resolve() / 'rapport.html'} dans un navigateur.")
    if not result.crawl_ok:
        sys.exit(1)


# -- schedule ---------------------------------------------------------------------------------


@main.command()
@common_options
def schedule(settings: Settings) -> None:
    """Lancer le service planifié : collectes (BOAMP 8 h et 14 h, TED 9 h par défaut, heure de
    Paris), classement, alertes, résumés et rappels, selon la section [schedule]. SIGTERM
    l'arrête proprement."""
    from tenderwatch.cycle import operations_reporter
    from tenderwatch.scheduler import build_scheduler, load_schedule, preflight, serve

    try:
        plan = load_schedule(settings.config_path)
    except SettingsError as exc:
        raise click.ClickException(f"configuration : {exc}") from None
    errors = preflight(settings)
    if errors:
        raise click.ClickException("service non démarré :\n" + "\n".join(errors))
    scheduler = build_scheduler(settings, plan, on_failure=operations_reporter(settings))
    # A long-running service: APScheduler's job runs are worth a line (a library, WARNING
    # otherwise).
    from tenderwatch.core.logs import set_library_level

    set_library_level("apscheduler", logging.INFO)
    serve(scheduler)
    click.echo("Planificateur arrêté.", err=True)


# -- notices ----------------------------------------------------------------------------------


@main.group()
def notices() -> None:
    """Consulter les avis collectés."""


def _short(text: str | None, width: int) -> str:
    text = (text or "").replace("\n", " ")
    return text if len(text) <= width else text[: width - 1] + "…"


@notices.command("list")
@click.option("--source", type=click.Choice(SOURCES), help="Limiter à une source.")
@click.option("--nature", type=click.Choice(NATURES), help="Limiter à une nature d'avis.")
@click.option("--since", type=click.DateTime(["%Y-%m-%d"]), help="Publiés depuis cette date.")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(min=1))
@click.option("--json", "as_json", is_flag=True, help="Sortie JSON (une ligne par avis).")
@common_options
def notices_list(
    settings: Settings,
    source: str | None,
    nature: str | None,
    since: Any,
    limit: int,
    as_json: bool,
) -> None:
    """Lister les avis, du plus récent au plus ancien."""
    store = open_store(settings, must_exist=True)
    rows = store.list_notices(
        source=source, nature=nature, since=since.date().isoformat() if since else None, limit=limit
    )
    if as_json:
        for row in rows:
            click.echo(json.dumps(row, ensure_ascii=False))
        return
    if not rows:
        click.echo("Aucun avis.")
        return
    click.echo(_notice_line("AVIS", "PUBLIÉ LE", "DATE LIMITE", "NATURE", "CLAUSES", "TITRE"))
    for row in rows:
        click.echo(
            _notice_line(
                row["id"],
                _day_fr(row["published"]),
                _day_fr(row["deadline"]),
                nature_fr(row["nature"]),
                _labels_fr(store.classification(row["id"])),
                row["title"],
            )
        )


def _notice_line(*cells: str | None) -> str:
    """One row of ``notices list``: fixed columns, the title last and cut."""
    widths = (22, 10, 11, 18, 28)
    fixed = " ".join(f"{_short(c, w):<{w}}" for c, w in zip(cells, widths, strict=False))
    return f"{fixed} {_short(cells[-1], 60)}".rstrip()


def _day_fr(value: str | None) -> str:
    """An ISO date or datetime as its Paris day, « 20/12/2026 »; « — » when missing."""
    from tenderwatch.notifier.render import local_date

    day = local_date(value)
    return day.strftime("%d/%m/%Y") if day else MISSING


def _when_fr(value: str | None, *, days_left: bool = False) -> str:
    """« lundi 16 février 2026 à 12:00 » (Paris time), with « (dans 12 jours) » for a
    deadline; "" when missing or unreadable."""
    from tenderwatch.notifier.render import days_left_fr, days_until, format_date

    text = format_date(value)
    if text and days_left:
        left = days_left_fr(days_until(value, date.today()))
        text += f" ({left})" if left else ""
    return text


def _labels_fr(classification: dict[str, Any] | None, *, long: bool = False) -> str:
    """The positive labels in short French (« Réservé EA/ESAT, Alloti »), or why there are
    none (« aucune », « non classé »)."""
    from tenderwatch.notifier.render import label_fr, label_short

    if not classification:
        return "non classé"
    # Social labels first, allotment last: it is a fact about the notice, not a clause.
    positive = sorted(
        (k for k, v in (classification.get("labels") or {}).items() if v),
        key=lambda label: label == "allotted",
    )
    name = label_fr if long else label_short
    return ", ".join(name(label) for label in positive) or "aucune"


def _resolve_notice_id(store: Store, notice_id: str) -> str:
    """The stored id for ``notice_id``: itself, or the only ``source:`` id ending with it
    (« 99-0002 » → « boamp:99-0002 »). Otherwise a French sentence saying what to type."""
    if store.get_notice(notice_id) is not None:
        return notice_id
    wanted = notice_id.strip()
    like = wanted.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    candidates = [
        row[0]
        for row in store.db.execute(
            "SELECT id FROM notices WHERE id LIKE ? ESCAPE '\\' ORDER BY id LIMIT 6",
            [f"%:{like}"],
        ).fetchall()
        # LIKE ignores case; an id is matched exactly after its source prefix.
        if row[0].split(":", 1)[-1] == wanted
    ]
    if len(candidates) == 1:
        return candidates[0]
    hint = (
        f" ; essayez {' ou '.join(candidates)}"
        if candidates
        else " (tenderwatch notices list montre les identifiants, ex. : boamp:26-7298)"
    )
    raise click.ClickException(f"avis introuvable : {notice_id}{hint}")


@notices.command("show")
@click.argument("notice_id")
@click.option("--json", "as_json", is_flag=True, help="Sortie JSON complète.")
@common_options
def notices_show(settings: Settings, notice_id: str, as_json: bool) -> None:
    """Afficher un avis (ex. : boamp:26-7298, ted:47522-2024) avec ses lots et sa procédure."""
    store = open_store(settings, must_exist=True)
    notice_id = _resolve_notice_id(store, notice_id)
    notice = store.get_notice(notice_id)
    if notice is None:
        raise click.ClickException(f"avis introuvable : {notice_id}")
    if as_json:
        click.echo(json.dumps(notice, ensure_ascii=False, indent=2, default=str))
        return
    signals = json.loads(notice["signals"] or "{}")
    click.echo(f"{notice['id']} — {notice['title']}")
    shown = {
        **notice,
        "nature": nature_fr(notice["nature"]),
        "published": _when_fr(notice["published"]),
        "deadline": _when_fr(notice["deadline"], days_left=True),
    }
    for label, key in (
        ("Nature", "nature"),
        ("Publié le", "published"),
        ("Date limite", "deadline"),
        ("Acheteur", "buyer_name"),
        ("SIRET", "buyer_siret"),
        ("Procédure", "procedure"),
        ("Valeur estimée", "estimated_value"),
        ("Lien", "url"),
        ("Formulaire", "form"),
    ):
        if notice.get(key) not in (None, ""):
            click.echo(f"  {label:<16} {shown[key]}")
    click.echo(f"  {'Départements':<16} {', '.join(json.loads(notice['departements'] or '[]'))}")
    click.echo(f"  {'CPV':<16} {', '.join(json.loads(notice['cpv'] or '[]'))}")
    flags = {k: v for k, v in signals.items() if v not in (None, [], {}, False)}
    if flags:
        click.echo("  Signaux structurés :")
        for key, value in flags.items():
            click.echo(f"    {key} : {_short(json.dumps(value, ensure_ascii=False), 150)}")
    if notice["lots"]:
        click.echo(f"  Lots ({len(notice['lots'])}) :")
        for lot in notice["lots"]:
            click.echo(f"    Lot {lot['lot_id']} : {_short(lot['title'], 90)}")
    for link in notice["links"]:
        kind = word(LINK_KIND_FR, link["kind"])
        click.echo(f"  Lien : {kind} {link['target'] or link['target_uuid']}")
    classification = store.classification(notice_id)
    if classification:
        from tenderwatch.classifier import explain

        labels = _labels_fr(classification)
        click.echo(
            f"  Classement ({classification['model_version']}) : "
            + (labels if labels != "aucune" else "aucune clause sociale détectée")
        )
        for sentence in explain({**classification, "id": notice_id}):
            click.echo(f"    • {sentence}")
        if classification["error"]:
            click.echo(f"    erreur de classement : {classification['error']}")
        if classification.get("truncated"):
            # The classifier's hard limit (MAX_CHARS): what follows it was not read.
            click.echo("    texte tronqué : la fin de l'avis n'a pas été analysée")
    proc = notice.get("procedure_state")
    if proc:
        ids = json.loads(proc["notice_ids"] or "[]")
        click.echo(
            f"  Procédure {proc['id']} : {word(PROCEDURE_STATUS_FR, proc['status'])},"
            f" date limite {_when_fr(proc['deadline']) or MISSING}, {len(ids)} avis"
        )
    click.echo("")
    click.echo(notice["text"] or "(pas de texte)")


@notices.command("search")
@click.argument("query")
@click.option("--limit", default=20, show_default=True, type=click.IntRange(min=1))
@common_options
def notices_search(settings: Settings, query: str, limit: int) -> None:
    """Rechercher dans le titre et le texte des avis (tous les mots, accents ignorés)."""
    store = open_store(settings, must_exist=True)
    rows = store.search(query, limit=limit)
    for row in rows:
        click.echo(f"{row['id']:<22} {row['published'] or '':<10} {_short(row['title'], 70)}")
        click.echo(f"    {_short(row['extrait'], 150)}")
    if not rows:
        click.echo("Aucun résultat.")


@main.command("stats")
@click.option("--region", help="Région (nom ou code INSEE).")
@click.option("--departement", help="Département (code ou nom).")
@click.option("--cpv", help="Division CPV (deux premiers chiffres, ex. 45).")
@click.option("--buyer", help="Acheteur : SIRET ou partie du nom.")
@click.option(
    "--from", "date_from", type=click.DateTime(["%Y-%m-%d"]), help="Publiés depuis ce jour."
)
@click.option(
    "--until", "date_until", type=click.DateTime(["%Y-%m-%d"]), help="Publiés jusqu'à ce jour."
)
@click.option(
    "--top", default=20, show_default=True, type=click.IntRange(min=1), help="Acheteurs listés."
)
@click.option(
    "--min-notices",
    default=5,
    show_default=True,
    type=click.IntRange(min=1),
    help="Avis classés qu'il faut à un acheteur pour figurer parmi ceux sans clause.",
)
@click.option(
    "--csv",
    "csv_dir",
    type=click.Path(file_okay=False),
    help="Écrire chaque tableau en CSV dans ce dossier.",
)
@common_options
def stats(
    settings: Settings,
    region: str | None,
    departement: str | None,
    cpv: str | None,
    buyer: str | None,
    date_from: Any,
    date_until: Any,
    top: int,
    min_notices: int,
    csv_dir: str | None,
) -> None:
    """Observatoire des clauses sociales : les chiffres de tous les avis enregistrés."""
    from tenderwatch.core.observatory import FilterError
    from tenderwatch.stats import build_filters, run_stats

    try:
        filters = build_filters(
            region=region,
            departement=departement,
            cpv=cpv,
            buyer=buyer,
            date_from=date_from.date().isoformat() if date_from else None,
            date_until=date_until.date().isoformat() if date_until else None,
        )
    except FilterError as exc:
        raise click.UsageError(str(exc)) from None
    store = open_store(settings, must_exist=True)
    text, written = run_stats(store.db, filters, top=top, min_notices=min_notices, csv_dir=csv_dir)
    click.echo(text, nl=False)
    for path in written:
        click.echo(f"CSV écrit : {path}")


# The board's commands (serve, members, feedback) live in board_commands.py, registered here.
from tenderwatch.board_commands import register as _register_board  # noqa: E402

_register_board(main, common_options, open_store)

# The réseau's commands (groups import|export, reseaux) live in reseau_commands.py (issue #11).
from tenderwatch.reseau_commands import register as _register_reseau  # noqa: E402

_register_reseau(main, common_options, open_store)

# Running it for a réseau (structures import, members export|erase, db backup|restore-check,
# explore) lives in operations_commands.py (issue #11); after the board's: it adds to
# ``members``.
from tenderwatch.operations_commands import register as _register_operations  # noqa: E402

_register_operations(main, common_options, open_store)


if __name__ == "__main__":
    main()
