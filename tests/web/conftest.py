"""A board on a real database file: notices, a classification, alerts delivered to two
groups, members of each; a Flask test client per member."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tenderwatch.core.board import Board, WebSettings
from tenderwatch.core.store import Store
from tenderwatch.notifier.models import Group
from tenderwatch.web import create_app, signin_link
from tenderwatch.web.mail import ConsoleMailer

SECRET = "clé-de-test-suffisamment-longue-0123456789"

HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)>'
TEXT = (
    "Marché de nettoyage des locaux. "
    "Clause d'insertion : 350 heures réservées aux publics éloignés de l'emploi <script>alert(2)</script>. "
    "Le lot 2 est réservé aux structures d'insertion par l'activité économique."
)


def _iso_days(days: int) -> str:
    return (date.today() + timedelta(days=days)).isoformat()


def add_notice(
    store: Store,
    notice_id: str,
    *,
    title: str,
    buyer: str = "Ville de Valence",
    deadline_days: int | None = 10,
    departements: list[str] | None = None,
    text: str = TEXT,
    url: str = "https://www.boamp.fr/avis/detail/26-1",
    labels: list[str] | None = None,
    lots: list[dict[str, Any]] | None = None,
    evidence: list[dict[str, Any]] | None = None,
    published: str = "2026-11-20",
    nature: str = "call_for_tenders",
    cpv: list[str] | None = None,
) -> None:
    """Store a notice and its classification the way the harvest and classifier leave them."""
    labels = labels if labels is not None else ["insertion_clause"]
    deadline = _iso_days(deadline_days) if deadline_days is not None else None
    source, source_id = notice_id.split(":", 1)
    store.db["notices"].insert(
        {
            "id": notice_id,
            "source": source,
            "source_id": source_id,
            "form": "test",
            "title": title,
            "nature": nature,
            "published": published,
            "deadline": deadline,
            "buyer_name": buyer,
            "departements": json.dumps(departements or ["26"]),
            "cpv": json.dumps(cpv or ["90910000"]),
            "estimated_value": 120000.0,
            "url": url,
            "text": text,
            "canonical_id": notice_id,
        }
    )
    for position, lot in enumerate(lots or []):
        store.db["lots"].insert(
            {
                "notice_id": notice_id,
                "lot_id": lot["id"],
                "position": position,
                "title": lot["title"],
                "cpv": json.dumps(lot.get("cpv", [])),
                "departements": json.dumps(lot.get("departements", [])),
                "estimated_value": lot.get("value"),
            }
        )
    if evidence is None:
        start = text.find("Clause d'insertion")
        end = text.find(". Le lot 2") + 1 if start >= 0 else 0
        evidence = (
            [
                {
                    "label": "insertion_clause",
                    "lot": None,
                    "quote": text[start:end],
                    "start": start,
                    "end": end,
                    "legal_basis": {"norm": "CCP:L2112-2", "raw": "L. 2112-2"},
                    "hours": 350,
                    "source": "text",
                    "negated": False,
                }
            ]
            if start >= 0
            else []
        )
    store.db["classifications"].insert(
        {
            "notice_id": notice_id,
            "model_version": "test-1",
            "labels": json.dumps({lb: True for lb in labels}),
            "positive": ",".join(labels),
            "lots": json.dumps(
                [
                    {"id": lot["id"], "title": lot["title"], "labels": lot.get("labels", [])}
                    for lot in lots or []
                ]
            ),
            "insertion_hours": 350,
            "evidence": json.dumps(evidence),
            "conflicts": "[]",
            "classified_at": datetime.now(UTC).isoformat(),
        }
    )


def deliver(store: Store, group_id: str, notice_id: str, kind: str = "alert") -> None:
    store.db["deliveries"].insert(
        {
            "group_id": group_id,
            "notice_id": notice_id,
            "kind": kind,
            "channel": "abc123",
            "status": "sent",
            "attempts": 1,
            "created_at": datetime.now(UTC).isoformat(),
        }
    )


GROUPS = [
    Group(id="aci-drome", name="ACI Vallée de la Drôme", kind="siae", structure_kinds=["ACI"]),
    Group(id="ea-rhone", name="EA du Rhône", kind="ea_esat", structure_kinds=["EA"]),
]
#: The same two groups with a territory, as tests that store them in the database use them.
ACI = Group(
    id="aci-drome",
    name="ACI Vallée de la Drôme",
    kind="siae",
    structure_kinds=["ACI"],
    departements=["26", "07"],
)
EA = Group(
    id="ea-rhone", name="EA du Rhône", kind="ea_esat", structure_kinds=["EA"], departements=["69"]
)


@pytest.fixture
def db_path(tmp_path: Path) -> str:
    path = str(tmp_path / "board.db")
    store = Store(path)
    add_notice(
        store,
        "boamp:26-1",
        title="Nettoyage des locaux municipaux",
        lots=[
            {"id": "1", "title": "Vitrerie", "labels": []},
            {
                "id": "2",
                "title": "Espaces verts",
                "labels": ["reserved_siae"],
                "departements": ["26"],
            },
        ],
        labels=["insertion_clause", "reserved_siae"],
    )
    add_notice(
        store,
        "boamp:26-2",
        title="Entretien des espaces verts",
        deadline_days=3,
        departements=["07"],
    )
    add_notice(store, "boamp:26-3", title="Marché ajoutable", deadline_days=40)
    add_notice(
        store,
        "boamp:69-9",
        title="Blanchisserie réservée EA",
        departements=["69"],
        labels=["reserved_disability"],
    )
    deliver(store, "aci-drome", "boamp:26-1")
    deliver(store, "aci-drome", "boamp:26-2")
    deliver(store, "ea-rhone", "boamp:69-9")
    board = Board(store)
    board.upsert_member(
        email="alice@aci.example",
        name="Alice Martin",
        group_id="aci-drome",
        role="admin",
        structure_name="ACI Drôme Nature",
        structure_kind="ACI",
        departements=["26"],
        cpv_prefixes=["77", "909"],
    )
    board.upsert_member(
        email="bruno@aci.example",
        name="Bruno Petit",
        group_id="aci-drome",
        structure_name="ETTI Valence",
        structure_kind="ETTI",
    )
    board.upsert_member(
        email="esat@rhone.example",
        name="Emma Roux",
        group_id="ea-rhone",
        structure_name="ESAT du Rhône",
        structure_kind="ESAT",
    )
    board.upsert_member(
        email="eric@rhone.example",
        name="Éric Esat",
        group_id="aci-drome",
        structure_name="ESAT Drôme",
        structure_kind="ESAT",
    )
    store.close()
    return path


@pytest.fixture
def app(db_path: str):
    mailer = ConsoleMailer()
    application = create_app(
        db_path,
        WebSettings(base_url="http://board.test", link_minutes=30),
        secret_key=SECRET,
        groups=GROUPS,
        mailer=mailer,
        testing=True,
    )
    application.extensions["tenderwatch"]["test_mailer"] = mailer
    return application


CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf(client, path: str = "/connexion") -> str:
    page = client.get(path)
    match = CSRF_RE.search(page.get_data(as_text=True))
    assert match, f"no CSRF token on {path}"
    return match.group(1)


def sign_in(app, email: str):
    """A client signed in as ``email`` through the real link and confirm form."""
    client = app.test_client()
    link = signin_link(app, email)
    token = csrf(client, link)
    response = client.post(link, data={"csrf_token": token})
    assert response.status_code == 302, response.get_data(as_text=True)
    return client


@pytest.fixture
def alice(app):
    return sign_in(app, "alice@aci.example")


@pytest.fixture
def bruno(app):
    return sign_in(app, "bruno@aci.example")


@pytest.fixture
def emma(app):
    return sign_in(app, "esat@rhone.example")
