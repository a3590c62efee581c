"""The long-running service: APScheduler 3.x jobs from the configuration.

Every job runs ``tenderwatch`` in a **subprocess**: a crawl needs a fresh Twisted reactor
(it cannot restart in one process), and a job that crashes or leaks memory takes nothing else
down. Jobs are re-created at start with explicit ids and ``replace_existing=True``;
``coalesce=True`` and ``max_instances=1`` so a late or slow job never piles up; a misfire
grace of minutes so a short downtime does not skip the morning crawl. A failing job is logged
and, when ``[notify] operations_tag`` is set, reported to that apprise tag.

``[schedule]`` in the TOML configuration (defaults shown)::

    [schedule]
    timezone = "Europe/Paris"
    boamp = ["08:00", "14:00"]     # BOAMP is updated twice a day
    ted = ["09:00"]                # TED once a day
    decp = ["07:00"]               # DECP (awards) once a day, when [sources.decp] is enabled
    notify_every_minutes = 15      # digests, reminders and retries become due between runs
    misfire_grace_minutes = 15
    job_timeout_minutes = 120
"""

from __future__ import annotations

import logging
import re
import signal
import subprocess
import sys
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from apscheduler.events import EVENT_JOB_ERROR, JobExecutionEvent
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from tenderwatch.core.settings import Settings, SettingsError

logger = logging.getLogger(__name__)
_TIME = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


@dataclass
class ScheduleSettings:
    """The ``[schedule]`` section."""

    timezone: str = "Europe/Paris"
    boamp: list[str] = field(default_factory=lambda: ["08:00", "14:00"])
    ted: list[str] = field(default_factory=lambda: ["09:00"])
    decp: list[str] = field(default_factory=lambda: ["07:00"])
    notify_every_minutes: int = 15
    misfire_grace_minutes: int = 15
    job_timeout_minutes: int = 120


def load_schedule(config_path: str | None) -> ScheduleSettings:
    """Read ``[schedule]``; a bad value raises :class:`SettingsError` naming file and key."""
    schedule = ScheduleSettings()
    if not config_path:
        return schedule
    try:
        data = tomllib.loads(Path(config_path).read_text(encoding="utf-8")).get("schedule", {})
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise SettingsError(f"{config_path} : {exc}") from None
    where = f"{config_path} [schedule]"
    for key, value in data.items():
        if not hasattr(schedule, key):
            raise SettingsError(f"{where} : clé inconnue « {key} »")
        if key in ("boamp", "ted", "decp"):
            if not isinstance(value, list) or not all(
                isinstance(v, str) and _TIME.match(v) for v in value
            ):
                raise SettingsError(
                    f"{where}.{key} : liste d'heures HH:MM attendue, reçu {value!r}"
                )
        elif key == "timezone":
            if not isinstance(value, str):
                raise SettingsError(f"{where}.timezone : nom de fuseau attendu")
        elif not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise SettingsError(f"{where}.{key} : entier positif attendu, reçu {value!r}")
        setattr(schedule, key, value)
    return schedule


def preflight(settings: Settings) -> list[str]:
    """Why the service must not start (French, empty when it may): no configuration file, a
    configuration error, or no group at all — a service that would crawl every day and
    never alert anyone must say so at once rather than start silently. Warnings (a channel
    no group uses...) are logged and do not stop it."""
    from tenderwatch.notifier.groups import check_config, groups_database, load_groups_from

    if not settings.config_path:
        return [
            "aucun fichier de configuration (--config ou TENDERWATCH_CONFIG) : aucun groupe, "
            "aucune alerte ne partirait ; voir config/tenderwatch.example.toml"
        ]
    # Once imported, the database's groups are the truth (ADR 0012).
    with groups_database(settings.db) as store:
        problems = check_config(settings.config_path, store=store)
        errors = [str(p) for p in problems if p.is_error]
        groups = [] if errors else load_groups_from(settings.config_path, store)
    if errors:
        return errors
    for problem in problems:
        logger.warning("%s", problem)
    if not groups:
        return [
            f"{settings.config_path} : aucun groupe déclaré ([[groups]]) : le service "
            "n'enverrait aucune alerte"
        ]
    return []


def command_runner(settings: Settings, timeout_s: int) -> Callable[[list[str]], None]:
    """Return a job body that runs ``python -m tenderwatch ARGS`` and fails on a non-zero exit."""
    base = [sys.executable, "-m", "tenderwatch"]
    common = ["--db", settings.db] + (
        ["--config", settings.config_path] if settings.config_path else []
    )

    def run(args: list[str]) -> None:
        logger.info("tâche : tenderwatch %s", " ".join(args))
        proc = subprocess.run([*base, *args, *common], timeout=timeout_s, check=False)
        if proc.returncode != 0:
            raise RuntimeError(
                f"« tenderwatch {' '.join(args)} » a échoué (code {proc.returncode})"
            )

    return run


def build_scheduler(
    settings: Settings,
    schedule: ScheduleSettings,
    *,
    runner: Callable[[list[str]], None] | None = None,
    on_failure: Callable[[str, str], None] | None = None,
    scheduler_cls: type[BaseScheduler] = BlockingScheduler,
) -> BaseScheduler:
    """Create the scheduler and its jobs (not started). Tests pass a ``BackgroundScheduler``."""
    scheduler = scheduler_cls(
        timezone=schedule.timezone,
        job_defaults={
            "coalesce": True,
            "max_instances": 1,
            "misfire_grace_time": schedule.misfire_grace_minutes * 60,
        },
    )
    run = runner or command_runner(settings, schedule.job_timeout_minutes * 60)
    for source in ("boamp", "ted", "decp"):
        if not settings.source(source).enabled:
            continue
        for hhmm in getattr(schedule, source):
            hour, minute = hhmm.split(":")
            scheduler.add_job(
                run,
                CronTrigger(hour=int(hour), minute=int(minute), timezone=schedule.timezone),
                args=[["run", source]],
                id=f"run-{source}-{hour}{minute}",
                name=f"collecte {source.upper()} de {hhmm}, classement, alertes",
                replace_existing=True,
            )
    scheduler.add_job(
        run,
        IntervalTrigger(minutes=schedule.notify_every_minutes, timezone=schedule.timezone),
        args=[["notify"]],
        id="notify",
        name="alertes dues : résumés, rappels, nouvelles tentatives",
        replace_existing=True,
    )

    def listener(event: JobExecutionEvent) -> None:
        job = scheduler.get_job(event.job_id)
        name = job.name if job else event.job_id
        logger.error("la tâche « %s » a échoué : %s", name, event.exception)
        if on_failure is not None:
            try:
                on_failure(name, str(event.exception))
            except Exception:  # reporting must never take the scheduler down
                logger.exception("signalement de l'échec impossible")

    scheduler.add_listener(listener, EVENT_JOB_ERROR)
    return scheduler


def serve(scheduler: BaseScheduler) -> None:
    """Run until SIGTERM or SIGINT; a running job finishes first."""

    def stop(signum: int, _frame: Any) -> None:
        logger.info("signal %s reçu : arrêt propre du planificateur", signum)
        scheduler.shutdown(wait=True)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    for job in scheduler.get_jobs():
        logger.info("tâche %s : %s", job.id, job.name)
    scheduler.start()
