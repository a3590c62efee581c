"""``tenderwatch demo``: the whole loop on this machine, with no internet.

A local server replays recorded BOAMP and TED notices plus clearly marked demonstration
notices (``tenderwatch/data/demo_notices.json``: each kind of social clause, dated relative
to today); a local SMTP server and a local webhook keep what they receive; the three example
groups of ``config/tenderwatch.example.toml`` subscribe (delivery forced to "immediate" so
that every alert can be seen now; one group also has a chat webhook). Two passes: the
notices, then a corrigendum of one of them, which goes as an update to the group that
received it. The e-mails are written as ``.eml`` and ``.html``, chat messages as ``.json``,
and an HTML report of the run, into the output folder.

The example configuration is package data (``tenderwatch/data/examples/``, a copy of
``config/`` kept equal by a test), so the demo runs from any folder after ``pip install .``.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tomllib
import unicodedata
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape

from tenderwatch.core.settings import load_settings
from tenderwatch.core.store import Store
from tenderwatch.core.wording import MISSING, delivery_kind_fr, delivery_status_fr, nature_fr
from tenderwatch.localservers import Mailbox, Webhook
from tenderwatch.replay import ReplayData, ReplayServer

#: Where the packaged example configuration lives (copies of config/*.example.*).
EXAMPLES_PACKAGE = "tenderwatch.data"
EXAMPLE_CONFIG_NAME = "tenderwatch.example.toml"
CHAT_GROUP = "consortium-idf"


@dataclass
class DemoResult:
    """What the demo did, for the summary table, the report and the tests."""

    output: Path
    harvested: dict[str, int] = field(default_factory=dict)  # per source
    labels: dict[str, int] = field(default_factory=dict)  # notices per label
    alerts: dict[str, int] = field(default_factory=dict)  # messages per group (e-mail + chat)
    crawl_ok: bool = True
    notices: list[dict[str, Any]] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    passes: list[str] = field(default_factory=list)


def packaged_example(name: str = EXAMPLE_CONFIG_NAME) -> Traversable:
    """A packaged example file (``tenderwatch.example.toml``, ``apprise.example.yml``)."""
    return resources.files(EXAMPLES_PACKAGE) / "examples" / name


def demo_notices() -> dict[str, list[dict[str, Any]]]:
    path = resources.files("tenderwatch.data") / "demo_notices.json"
    return json.loads(path.read_text(encoding="utf-8"))


def demo_record(entry: dict[str, Any], today: date) -> dict[str, Any]:
    """A BOAMP API record (FNSimple form) for a demonstration notice."""
    published = (today - timedelta(days=entry["days_ago"])).isoformat()
    deadline_day = (today + timedelta(days=entry["deadline_in_days"])).isoformat()
    deadline = f"{deadline_day}T12:00:00.000+01:00"
    nature = entry.get("nature", "APPEL_OFFRE")
    lots = [
        {"description": text, "codeCPV": {"objetPrincipal": {"classPrincipale": entry["cpv"]}}}
        for text in entry["lots"]
    ]
    reserved = entry.get("reserved")
    nature_marche: dict[str, Any] = {
        "intitule": entry["title"],
        "codeCPV": {"objetPrincipal": {"classPrincipale": entry["cpv"]}},
        "description": entry["description"],
        "lieuExecution": f"({entry['departements'][0]}) {entry['ville']}",
        "lotsMarche": {"oui": ""} if lots else {"non": ""},
    }
    if reserved is not None:
        nature_marche["reservationMarche"] = {"oui": ""} if reserved else {"non": ""}
    initial: dict[str, Any] = {
        "procedure": {
            "dateReceptionOffres": deadline,
            "criteresAttrib": "Voir le règlement de la consultation",
        },
        "natureMarche": nature_marche,
    }
    if lots:
        initial["lots"] = {"lot": lots}
    initial["informComplementaire"] = {"autresInformComplementaire": entry["informations"]}
    donnees = {
        "FNSimple": {
            "organisme": {
                "nomOfficiel": entry["buyer"],
                "typeIdentificationNational": {"siret": ""},
                "codeIdentificationNational": entry["siret"],
                "ville": entry["ville"],
                "cp": entry["cp"],
            },
            "initial": initial,
        }
    }
    idweb = entry["idweb"]
    return {
        "idweb": idweb,
        "id": idweb.replace("-", "_"),
        "objet": entry["title"],
        "famille": "FNS",
        "code_departement": entry["departements"],
        "dateparution": published,
        "datelimitereponse": deadline,
        "nomacheteur": entry["buyer"],
        "nature": nature,
        "annonce_lie": entry.get("corrects"),
        "source_schema": "3.2.5",
        "url_avis": f"https://www.boamp.fr/pages/avis/?q=idweb:{idweb}",
        "gestion": json.dumps({"REFERENCE": {"IDWEB": idweb}}),
        "donnees": json.dumps(donnees, ensure_ascii=False),
    }


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):  # an inline table: the board's members of a group
        return "{" + ", ".join(f"{k} = {_toml_value(v)}" for k, v in value.items()) + "}"
    return json.dumps(str(value), ensure_ascii=False)  # a JSON string is a valid TOML string


def write_demo_config(
    example: Path | Traversable, folder: Path, mailbox: Mailbox, webhook: Webhook
) -> tuple[Path, dict[str, str]]:
    """The example groups with immediate delivery, and an apprise file for the local servers.
    Returns the TOML path and each group's demo mailbox address."""
    data = tomllib.loads(example.read_text(encoding="utf-8"))
    groups = data.get("groups", [])
    folder.mkdir(parents=True, exist_ok=True)
    addresses = {g["id"]: f"{g['id']}@demo.tenderwatch.example" for g in groups}
    urls = []
    for g in groups:
        urls.append(
            (mailbox.url(addresses[g["id"]], sender="alertes@demo.tenderwatch.example"), g["id"])
        )
        if g["id"] == CHAT_GROUP:
            urls.append((webhook.url(f"chat/{g['id']}"), g["id"]))
    apprise = folder / "apprise.yml"
    apprise.write_text(
        "version: 1\nurls:\n" + "".join(f'  - "{url}":\n      - tag: {tag}\n' for url, tag in urls),
        encoding="utf-8",
    )
    lines = [
        "# Generated by `tenderwatch demo` from config/tenderwatch.example.toml.",
        "[notify]",
        f"apprise_config = {_toml_value(str(apprise.resolve()))}",
        "",
    ]
    for g in groups:
        g = {**g, "delivery": "immediate"}
        lines.append("[[groups]]")
        lines += [f"{k} = {_toml_value(v)}" for k, v in g.items()]
        lines.append("")
    path = folder / "tenderwatch.toml"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path, addresses


def _crawl(server: ReplayServer, db: Path, echo: Any, log_level: str = "WARNING") -> bool:
    """Crawl both sources from the replay server, in a subprocess (one reactor per process).
    Its log is shown when it fails, or always when ``log_level`` is DEBUG (``-v``)."""
    first = min(d[0] for d in (server.data.boamp_dates(), server.data.ted_dates()) if d)
    env = {
        **os.environ,
        "TENDERWATCH_BOAMP_BASE_URL": server.boamp_base_url,
        "TENDERWATCH_TED_BASE_URL": server.ted_base_url,
        "TENDERWATCH_TED_XML_BASE_URL": server.ted_base_url,
        "TENDERWATCH_CRAWL_AUTOTHROTTLE_START_DELAY": "0",
        "TENDERWATCH_LOG_LEVEL": log_level,
    }
    env.pop("TENDERWATCH_CONFIG", None)
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "tenderwatch",
            "crawl",
            "--db",
            str(db),
            "--from-date",
            first,
            "--until-date",
            date.today().isoformat(),
        ],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    for line in proc.stdout.splitlines():
        if (
            line.startswith("Collecte")
            or "reçus" in line
            or "nouveaux" in line
            or "manquants" in line
        ):
            echo("    " + line.strip())
    if proc.returncode != 0:
        echo(proc.stderr[-2000:])
    elif log_level == "DEBUG" and proc.stderr:
        sys.stderr.write(proc.stderr)
    return proc.returncode == 0


def run_demo(
    output: Path,
    *,
    db: Path | None = None,
    example: Path | None = None,
    echo: Any = print,
    crawl_log_level: str = "WARNING",
) -> DemoResult:
    """Run the demo; write its files into ``output``; return what it did.

    ``example`` defaults to the packaged example configuration; ``crawl_log_level`` is the
    crawl subprocess's TENDERWATCH_LOG_LEVEL (DEBUG with ``-v``)."""
    from tenderwatch.classifier import LABELS, Classifier
    from tenderwatch.cycle import classify_store, notify_cycle

    source: Path | Traversable = example if example is not None else packaged_example()
    if not source.is_file():
        raise FileNotFoundError(f"configuration d'exemple introuvable : {source}")
    output.mkdir(parents=True, exist_ok=True)
    db = db or output / "demo.db"
    result = DemoResult(output=output)
    mailbox = Mailbox().start()
    webhook = Webhook().start()
    try:
        config, addresses = write_demo_config(source, output / "config", mailbox, webhook)
        settings = load_settings(config, env={}, overrides={"db": str(db)})
        bundled = ReplayData.load()
        notices = demo_notices()
        today = date.today()
        classifier = Classifier()
        for step, (name, entries) in enumerate(
            (("avis publiés", notices["day1"]), ("un rectificatif", notices["day2"])), start=1
        ):
            bundled.boamp_records += [
                json.dumps(demo_record(e, today), ensure_ascii=False) for e in entries
            ]
            echo(f"[{step}/2] Passage {step} : collecte ({name}), classement, alertes")
            with ReplayServer(bundled) as server:
                result.crawl_ok &= _crawl(server, db, echo, crawl_log_level)
            store = Store(db)
            counts = classify_store(store, classifier)
            echo(f"    classés : {counts['classified']} avis, {counts['errors']} en erreur")
            report = notify_cycle(settings, store, min_interval=0)
            echo(f"    alertes : {report.summary}")
            result.passes.append(report.summary)
            store.close()
        store = Store(db)
        result.harvested = dict(
            store.db.execute(
                "SELECT source, count(*) FROM notices GROUP BY source ORDER BY source"
            ).fetchall()
        )
        for label in LABELS:
            result.labels[label] = store.db.execute(
                "SELECT count(*) FROM classifications WHERE positive LIKE ?", [f"%{label}%"]
            ).fetchone()[0]
        result.notices = _report_notices(store)
        store.close()
        by_address = {v: k for k, v in addresses.items()}
        result.files += _write_messages(output, mailbox, webhook, by_address, result)
        result.files.append(_write_report(output, result).name)
        # The shared board on the demo's database (issue #10): links and the command to open it.
        from tenderwatch.board_commands import demo_board_links

        result.files.append(demo_board_links(output, db, config, echo))
    finally:
        mailbox.stop()
        webhook.close()
    return result


def _slug(text: str) -> str:
    """A file-name-safe ASCII slug ("Réservé EA/ESAT" → "reserve-ea-esat")."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")[:60]


def _write_messages(
    output: Path,
    mailbox: Mailbox,
    webhook: Webhook,
    groups_by_address: dict[str, str],
    result: DemoResult,
) -> list[str]:
    folder = output / "emails"
    folder.mkdir(exist_ok=True)
    files = []
    for n, message in enumerate(mailbox.messages, start=1):
        group = groups_by_address.get(message["To"], "inconnu")
        result.alerts[group] = result.alerts.get(group, 0) + 1
        stem = f"{n:02d}-{group}-{_slug(message['Subject'] or '')}"
        (folder / f"{stem}.eml").write_bytes(message.as_bytes())
        html = message.get_body(("html",))
        if html is not None:
            (folder / f"{stem}.html").write_text(html.get_content(), encoding="utf-8")
        files.append(f"emails/{stem}.eml")
    chat = output / "chat"
    chat.mkdir(exist_ok=True)
    for n, (path, body) in enumerate(webhook.received, start=1):
        group = path.rsplit("/", 1)[-1]
        result.alerts[group] = result.alerts.get(group, 0) + 1
        (chat / f"{n:02d}-{group}.json").write_text(
            json.dumps(body, ensure_ascii=False, indent=2), encoding="utf-8"
        )
        files.append(f"chat/{n:02d}-{group}.json")
    return files


def _report_notices(store: Store) -> list[dict[str, Any]]:
    from tenderwatch.classifier import explain
    from tenderwatch.notifier.render import format_date, label_short, safe_url

    rows = []
    for row in store.db.query(
        "SELECT n.id, n.title, n.buyer_name, n.published, n.deadline, n.url, n.nature,"
        " c.positive, c.labels, c.lots,"
        " c.evidence, c.insertion_hours, c.model_version FROM notices n"
        " LEFT JOIN classifications c ON c.notice_id = n.id ORDER BY n.published DESC, n.id"
    ):
        classification = {k: json.loads(row[k] or "null") for k in ("labels", "lots", "evidence")}
        social = [p for p in (row["positive"] or "").split(",") if p and p != "allotted"]
        rows.append(
            {
                **row,
                # What the report shows: words, not codes (the codes stay in the database).
                "nature_fr": nature_fr(row["nature"]),
                "social_fr": [label_short(label) for label in social],
                "published_fr": format_date(row["published"]) or MISSING,
                "deadline_fr": format_date(row["deadline"]) or MISSING,
                "link": safe_url(row["url"]),
                "social": social,
                "allotted": "allotted" in (row["positive"] or ""),
                "explanations": explain(
                    {"id": row["id"], **classification, "insertion_hours": row["insertion_hours"]}
                )
                if social
                else [],
                "deliveries": [
                    {
                        **d,
                        "kind_fr": delivery_kind_fr(d["kind"]),
                        "status_fr": delivery_status_fr(d["status"]),
                    }
                    for d in store.db.query(
                        "SELECT group_id, kind, status FROM deliveries"
                        " WHERE notice_id = ? ORDER BY id",
                        [row["id"]],
                    )
                ],
            }
        )
    return rows


def _write_report(output: Path, result: DemoResult) -> Path:
    env = Environment(
        loader=PackageLoader("tenderwatch", "templates"),
        autoescape=select_autoescape(["html", "j2"]),
    )
    from tenderwatch.notifier.render import label_short

    html = env.get_template("report.html.j2").render(
        result=result,
        label_short=label_short,
        generated=datetime.now(UTC).astimezone().strftime("%d/%m/%Y %H:%M"),
    )
    path = output / "rapport.html"
    path.write_text(html, encoding="utf-8")
    return path
