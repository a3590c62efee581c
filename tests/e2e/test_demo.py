"""The offline demo end to end: replayed notices, classification, matching, delivery to the
local SMTP server and webhook, the files it writes — and nothing sent twice on a second run."""

from __future__ import annotations

import email
import os
import re
import subprocess
import sys
from email import policy
from html import unescape
from pathlib import Path

import pytest

from tenderwatch.demo import packaged_example, run_demo
from tests.conftest import ROOT

EXAMPLE = ROOT / "config" / "tenderwatch.example.toml"


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, object, object]:
    out = tmp_path_factory.mktemp("demo")
    first = run_demo(out, example=EXAMPLE, echo=lambda line: None)
    second = run_demo(out, example=EXAMPLE, echo=lambda line: None)
    return out, first, second


def emails(out: Path) -> list[email.message.EmailMessage]:
    return [
        email.message_from_bytes(p.read_bytes(), policy=policy.default)
        for p in sorted((out / "emails").glob("*.eml"))
    ]


def by_group(out: Path) -> dict[str, list[str]]:
    groups: dict[str, list[str]] = {}
    for message in emails(out):
        groups.setdefault(message["To"].split("@")[0], []).append(message["Subject"])
    return groups


def test_each_group_receives_the_notices_that_concern_it(demo) -> None:
    out, _first, _ = demo
    got = by_group(out)
    assert set(got) == {"aci-drome", "ea-esat-rhone", "consortium-idf"}
    aci = " | ".join(got["aci-drome"])
    assert "Entretien des espaces verts et des berges" in aci  # clause on lot 2 (Drôme)
    assert "débroussaillage" in aci  # marché d'insertion (Drôme)
    assert "Rectificatif" in aci or "Mise à jour" in aci or "modifi" in aci.lower()  # the update
    esat = " | ".join(got["ea-esat-rhone"])
    assert "Nettoyage des locaux administratifs" in esat  # lot 3 reserved to EA/ESAT (Rhône)
    assert "Accueil de jour" in esat  # reserved to the ESS (Rhône)
    idf = " | ".join(got["consortium-idf"])
    assert "encombrants" in idf  # reserved to SIAE (Paris)
    assert "Restauration scolaire" in idf  # insertion criterion (Seine-Saint-Denis)


def test_reserved_and_out_of_territory_notices_stay_away(demo) -> None:
    out, _, _ = demo
    got = by_group(out)
    assert not any(
        "Nettoyage des locaux administratifs" in s for s in got["aci-drome"]
    )  # EA/ESAT lot
    assert not any("encombrants" in s for s in got["ea-esat-rhone"])  # SIAE-reserved, and Paris
    everything = " | ".join(s for subjects in got.values() for s in subjects)
    assert "avenue Victor-Hugo" not in everything  # the hard negative


def test_the_evidence_and_article_are_quoted(demo) -> None:
    out, _, _ = demo
    message = next(m for m in emails(out) if "Nettoyage des locaux administratifs" in m["Subject"])
    html = message.get_body(("html",)).get_content().replace("\u00a0", " ")
    text = message.get_body(("plain",)).get_content()
    assert "Le lot 3 est réservé aux entreprises adaptées" in html
    assert "L. 2113-12" in html
    assert "Lot 3" in text
    aci = next(
        m for m in emails(out) if "berges" in m["Subject"] and m["To"].startswith("aci-drome")
    )
    assert "450" in aci.get_body(("html",)).get_content()


def test_the_chat_group_also_gets_its_alerts_on_the_webhook(demo) -> None:
    out, first, _ = demo
    chat = sorted((out / "chat").glob("*.json"))
    assert len(chat) == 2
    assert all("consortium-idf" in p.name for p in chat)
    assert first.alerts["consortium-idf"] == 4  # two notices, by e-mail and by chat


def test_files_and_report_are_written(demo) -> None:
    out, first, _ = demo
    assert (out / "rapport.html").exists()
    report = (out / "rapport.html").read_text(encoding="utf-8")
    assert "aci-drome" in report and "Réservé EA/ESAT" in report
    htmls = list((out / "emails").glob("*.html"))
    assert len(htmls) == len(list((out / "emails").glob("*.eml"))) > 0
    assert first.harvested["boamp"] > 7 and first.harvested["ted"] > 0
    assert all(first.labels[label] >= 1 for label in first.labels)


def test_a_second_run_sends_nothing_again(demo) -> None:
    _, first, second = demo
    assert sum(first.alerts.values()) == 9
    assert second.alerts == {}
    assert second.harvested == first.harvested


def test_demo_config_in_a_relative_folder_points_at_its_apprise_file(
    tmp_path: Path, monkeypatch
) -> None:
    from tenderwatch.demo import write_demo_config
    from tenderwatch.localservers import Mailbox, Webhook
    from tenderwatch.notifier.groups import check_config

    monkeypatch.chdir(tmp_path)
    hook = Webhook()
    config, _ = write_demo_config(EXAMPLE, Path("out") / "config", Mailbox(), hook)
    hook.close()
    assert [p for p in check_config(config) if p.is_error] == []


# -- issue #8: from any folder, quietly, in French ----------------------------------------------

#: Codes that must not reach a person in the report (they stay in the database and JSON).
CODES = re.compile(
    r">\s*(None|insertion_clause|insertion_criterion|reserved_siae|reserved_disability|"
    r"insertion_contract|reserved_other|allotted|call_for_tenders|corrigendum|award|"
    r"cancellation|sent|pending|failed|unknown|alert|update)\s*<"
)


def test_the_packaged_examples_are_the_documented_ones() -> None:
    for name in ("tenderwatch.example.toml", "apprise.example.yml"):
        packaged = packaged_example(name).read_text(encoding="utf-8")
        assert packaged == (ROOT / "config" / name).read_text(encoding="utf-8"), (
            f"tenderwatch/data/examples/{name} differs from config/{name}: copy it again"
        )


def test_the_report_speaks_french_with_links_and_deadlines(demo) -> None:
    out, _, _ = demo
    report = (out / "rapport.html").read_text(encoding="utf-8")
    assert not CODES.search(report), CODES.search(report)
    text = unescape(report)
    for words in (
        "Clause d'insertion",
        "avis de marché",
        "rectificatif",
        "envoyé",
        "alerte",
        "mise à jour",
        "date limite :",
    ):
        assert words in text, words
    # Each notice links to its source page; the demo notices have a deadline in words.
    assert 'href="https://www.boamp.fr/pages/avis/?q=idweb:99-0002"' in report
    assert re.search(r"date limite : \w+ \d+(er)? \w+ 20\d\d à 12:00", text)


def test_demo_runs_from_any_folder_quietly(tmp_path: Path) -> None:
    """`python -m tenderwatch demo` from a folder outside the checkout: it finds its packaged
    example configuration, writes into --output, and no library log line reaches the
    console (there were 117 aiosmtpd/apprise lines among 157)."""
    elsewhere = tmp_path / "ailleurs"
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("TENDERWATCH_")}
    proc = subprocess.run(
        [sys.executable, "-m", "tenderwatch", "demo", "--output", "sortie"],
        cwd=elsewhere,
        env=env,
        capture_output=True,
        text=True,
        timeout=280,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert sorted(p.name for p in elsewhere.iterdir()) == ["sortie"]
    assert (elsewhere / "sortie" / "rapport.html").exists()
    assert list((elsewhere / "sortie" / "emails").glob("*.eml"))
    for library in ("aiosmtpd", "mail.log", "apprise", "urllib3", "scrapy", "INFO"):
        assert library not in proc.stderr, proc.stderr
    assert "Résumé" in proc.stdout and "Réservé EA/ESAT" in proc.stdout
    assert len((proc.stdout + proc.stderr).splitlines()) < 60
