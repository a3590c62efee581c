"""What the issue #8 tests share: a database holding a classified notice that matches a group,
the TOML and apprise files of a deployment, and an SMTP server that can stall mid-send.

Everything is real: an SQLite file, aiosmtpd on 127.0.0.1, the ``tenderwatch`` command run
in-process (click) or as a separate process."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tenderwatch.classifier import MODEL_VERSION
from tenderwatch.core.store import Store
from tenderwatch.localservers import Mailbox
from tests.notifier.test_delivery import LABELS, save_notice

ROOT = Path(__file__).resolve().parents[2]
# A deadline far enough that the alert is never "too late" whatever day the tests run.
FAR_DEADLINE = "2099-06-30T12:00:00+02:00"


def classified_notice(db: Path, sid: str = "26-8001", **kw: Any) -> str:
    """A call for tenders with an insertion clause, classified by the current model (what
    ``notify`` matches); returns its id."""
    store = Store(db)
    try:
        notice_id = save_notice(store, sid, deadline=FAR_DEADLINE, **kw)
        store.save_classifications(
            [
                {
                    "id": notice_id,
                    "model_version": MODEL_VERSION,
                    "labels": {label: label == "insertion_clause" for label in LABELS},
                    "lots": [],
                    "insertion_hours": 1200,
                    "evidence": [],
                }
            ]
        )
    finally:
        store.close()
    return notice_id


def write_config(
    tmp_path: Path,
    channels: list[tuple[str, str]],
    *,
    groups: tuple[str, ...] = ("aci",),
    operations_tag: str | None = None,
) -> Path:
    """The deployment's files: apprise YAML with ``(url, tags)`` entries and the TOML naming
    it, with one SIAE group per id (no territory: all of France)."""
    lines = ["version: 1", "urls:"]
    for url, tags in channels:
        lines += [f'  - "{url}":', f"      - tag: {tags}"]
    apprise = tmp_path / "apprise.yml"
    apprise.write_text("\n".join(lines) + "\n", encoding="utf-8")
    toml = [f'[notify]\napprise_config = "{apprise}"']
    if operations_tag:
        toml.append(f'operations_tag = "{operations_tag}"')
    for gid in groups:
        toml.append(f'\n[[groups]]\nid = "{gid}"\nkind = "siae"\nstructure_kinds = ["ACI"]')
    path = tmp_path / "tenderwatch.toml"
    path.write_text("\n".join(toml) + "\n", encoding="utf-8")
    return path


class StallingMailbox(Mailbox):
    """An SMTP server that takes the whole message, keeps it, and then does not answer while
    ``stalling`` is set: the sender is blocked after the message has arrived and before it
    learns so — the moment a crash makes the outcome unknown."""

    def __init__(self) -> None:
        super().__init__()
        self.stalling = True

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.envelopes.append(envelope)
        while self.stalling:
            await asyncio.sleep(0.05)
        return "250 OK"


def wait_for(condition: Callable[[], bool], timeout: float = 30.0) -> None:
    """Poll ``condition`` until true; fail after ``timeout`` seconds."""
    end = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > end:
            raise AssertionError("condition not met in time")
        time.sleep(0.05)


def cli_env() -> dict[str, str]:
    """The environment of a ``tenderwatch`` subprocess: no TENDERWATCH_* of the caller."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TENDERWATCH_")}
    env["PYTHONPATH"] = str(ROOT)
    return env


def start_cli(args: list[str]) -> subprocess.Popen[str]:
    """``python -m tenderwatch ARGS`` as a separate process (so that it can be killed)."""
    return subprocess.Popen(
        [sys.executable, "-m", "tenderwatch", *args],
        env=cli_env(),
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
