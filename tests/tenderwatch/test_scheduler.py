"""The scheduler: jobs and triggers from the configuration, failures reported, SIGTERM."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from apscheduler.schedulers.background import BackgroundScheduler

from tenderwatch.core.settings import SettingsError, load_settings
from tenderwatch.scheduler import ScheduleSettings, build_scheduler, load_schedule
from tests.conftest import ROOT, cli_env

PARIS = ZoneInfo("Europe/Paris")


def config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "tw.toml"
    path.write_text(text, encoding="utf-8")
    return path


def started_paused(schedule: ScheduleSettings, **kw: object) -> BackgroundScheduler:
    scheduler = build_scheduler(
        load_settings(env={}), schedule, scheduler_cls=BackgroundScheduler, **kw
    )
    scheduler.start(paused=True)
    return scheduler


def test_default_jobs_boamp_twice_ted_once_notify_every_15_minutes() -> None:
    scheduler = started_paused(ScheduleSettings())
    try:
        jobs = {job.id: job for job in scheduler.get_jobs()}
        assert set(jobs) == {"run-boamp-0800", "run-boamp-1400", "run-ted-0900", "notify"}
        assert jobs["run-boamp-0800"].args == (["run", "boamp"],)
        assert str(jobs["run-boamp-1400"].trigger.timezone) == "Europe/Paris"
        assert "hour='14'" in str(jobs["run-boamp-1400"].trigger)
        assert jobs["notify"].trigger.interval.total_seconds() == 15 * 60
        for job in jobs.values():
            assert job.coalesce is True
            assert job.max_instances == 1
            assert job.misfire_grace_time == 15 * 60
    finally:
        scheduler.shutdown(wait=False)


def test_schedule_from_the_configuration(tmp_path: Path) -> None:
    path = config(tmp_path, '[schedule]\nboamp = ["07:30"]\nted = []\nmisfire_grace_minutes = 5\n')
    scheduler = started_paused(load_schedule(str(path)))
    try:
        jobs = {job.id: job for job in scheduler.get_jobs()}
        assert set(jobs) == {"run-boamp-0730", "notify"}
        nxt = jobs["run-boamp-0730"].trigger.get_next_fire_time(
            None, datetime(2026, 11, 24, 8, 0, tzinfo=PARIS)
        )
        assert nxt == datetime(2026, 11, 25, 7, 30, tzinfo=PARIS)
        assert jobs["notify"].misfire_grace_time == 300
    finally:
        scheduler.shutdown(wait=False)


def test_disabled_source_has_no_job(tmp_path: Path) -> None:
    settings = load_settings(env={"TENDERWATCH_TED_ENABLED": "false"})
    scheduler = build_scheduler(settings, ScheduleSettings(), scheduler_cls=BackgroundScheduler)
    scheduler.start(paused=True)
    try:
        assert not [j for j in scheduler.get_jobs() if j.id.startswith("run-ted")]
    finally:
        scheduler.shutdown(wait=False)


def test_decp_runs_once_a_day_when_enabled(tmp_path: Path) -> None:
    """DECP is off by default (no job); enabled, it is collected daily like the others, and
    its run links the awards and sends « attributaire à démarcher » (issue #12)."""
    default = started_paused(ScheduleSettings())
    try:
        assert not [j for j in default.get_jobs() if "decp" in j.id]
    finally:
        default.shutdown(wait=False)
    settings = load_settings(env={"TENDERWATCH_DECP_ENABLED": "true"})
    path = config(tmp_path, '[schedule]\ndecp = ["06:15"]\n')
    scheduler = build_scheduler(
        settings, load_schedule(str(path)), scheduler_cls=BackgroundScheduler
    )
    scheduler.start(paused=True)
    try:
        jobs = {job.id: job for job in scheduler.get_jobs()}
        assert jobs["run-decp-0615"].args == (["run", "decp"],)
        assert "hour='6', minute='15'" in str(jobs["run-decp-0615"].trigger)
    finally:
        scheduler.shutdown(wait=False)


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ('[schedule]\nboamp = ["8h"]\n', "boamp"),
        ('[schedule]\ndecp = "07:00"\n', "decp"),
        ("[schedule]\nnotify_every_minutes = 0\n", "notify_every_minutes"),
        ("[schedule]\ncron = 1\n", "cron"),
    ],
)
def test_bad_schedule_names_the_key(tmp_path: Path, text: str, key: str) -> None:
    with pytest.raises(SettingsError, match=key):
        load_schedule(str(config(tmp_path, text)))


def test_a_failing_job_is_reported() -> None:
    reported: list[tuple[str, str]] = []
    done = threading.Event()

    def failing(args: list[str]) -> None:
        raise RuntimeError("collecte impossible")

    def on_failure(name: str, error: str) -> None:
        reported.append((name, error))
        done.set()

    scheduler = build_scheduler(
        load_settings(env={}),
        ScheduleSettings(),
        runner=failing,
        on_failure=on_failure,
        scheduler_cls=BackgroundScheduler,
    )
    scheduler.start()
    try:
        scheduler.get_job("notify").modify(next_run_time=datetime.now(PARIS))
        assert done.wait(10)
    finally:
        scheduler.shutdown(wait=False)
    assert reported[0][0].startswith("alertes dues")
    assert "collecte impossible" in reported[0][1]


def test_sigterm_stops_the_service_cleanly(tmp_path: Path) -> None:
    # The service refuses to start without a group (issue #8): give it the example ones.
    config = tmp_path / "tenderwatch.toml"
    config.write_text((ROOT / "config" / "tenderwatch.example.toml").read_text("utf-8"), "utf-8")
    proc = subprocess.Popen(
        [sys.executable, "-m", "tenderwatch", "schedule", "--config", str(config)],
        env=cli_env(
            tmp_path, TENDERWATCH_APPRISE_CONFIG=str(ROOT / "config" / "apprise.example.yml")
        ),
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 90  # a loaded CI machine starts slowly
        lines = []
        while time.monotonic() < deadline:
            line = proc.stderr.readline()
            lines.append(line)
            if "Scheduler started" in line or "planificateur démarré" in line:
                break
        assert any("notify" in line for line in lines), "".join(lines)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
