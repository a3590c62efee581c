"""Réseau pages benchmark (issue #11): the réseau dashboard and a group's settings preview on
a large database, through the Flask application in process (no network).

    python benchmarks/reseau.py [--notices 30000] [--days 60] [--groups 100] [--runs 10]

A database of ``--notices`` classified notices published over the last ``--days`` days
(départements and CPV spread over France, one in ten with a lot reserved to SIAE or EA/ESAT),
``--groups`` groups of one réseau stored in the database, each alerted about 200 notices
with a few marks and openings. Prints p50/p95 latency of the dashboard and of the preview
(« vous auriez reçu N avis le mois dernier », the matcher over the last 30 days).
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tenderwatch.core.board import Board, WebSettings  # noqa: E402
from tenderwatch.core.groupstore import GroupStore  # noqa: E402
from tenderwatch.core.store import Store  # noqa: E402
from tenderwatch.notifier.groups import group_settings, parse_group_table  # noqa: E402
from tenderwatch.web import create_app, signin_link  # noqa: E402
from tenderwatch.web.mail import ConsoleMailer  # noqa: E402

DEPS = [f"{n:02d}" for n in range(1, 96) if n != 20]
CPVS = ["90910000", "77310000", "45000000", "55520000", "79710000", "18100000"]
TEXT = "Marché de services. Clause d'insertion : 300 heures réservées. " * 5


def build(path: Path, notices: int, days: int, groups: int) -> None:
    store = Store(path)
    db = store.db
    today = date.today()
    now = datetime.now(UTC).isoformat()
    rng = random.Random(11)
    rows, lots, classes = [], [], []
    for i in range(notices):
        dep = rng.choice(DEPS)
        reserved = i % 10 == 0
        rows.append(
            (
                f"boamp:b{i}",
                "boamp",
                f"b{i}",
                "test",
                f"Avis {i}",
                "call_for_tenders",
                (today - timedelta(days=rng.randrange(days))).isoformat(),
                (today + timedelta(days=rng.randrange(1, 40))).isoformat(),
                "Acheteur",
                json.dumps([dep]),
                json.dumps([rng.choice(CPVS)]),
                120000.0,
                TEXT,
                f"boamp:b{i}",
            )
        )
        lot_labels = [rng.choice(["reserved_siae", "reserved_disability"])] if reserved else []
        lots.append((f"boamp:b{i}", "1", 0, "Lot 1", "[]", json.dumps([dep])))
        classes.append(
            (
                f"boamp:b{i}",
                "bench",
                json.dumps({"insertion_clause": True}),
                "insertion_clause",
                json.dumps([{"id": "1", "title": "Lot 1", "labels": lot_labels}]),
                300,
                "[]",
                "[]",
                now,
            )
        )
    with db.conn:
        db.conn.executemany(
            "INSERT INTO notices (id, source, source_id, form, title, nature, published,"
            " deadline, buyer_name, departements, cpv, estimated_value, text, canonical_id)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
        db.conn.executemany(
            "INSERT INTO lots (notice_id, lot_id, position, title, cpv, departements)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            lots,
        )
        db.conn.executemany(
            "INSERT INTO classifications (notice_id, model_version, labels, positive, lots,"
            " insertion_hours, evidence, conflicts, classified_at) VALUES (?, ?, ?, ?, ?, ?,"
            " ?, ?, ?)",
            classes,
        )
    gs = GroupStore(store)
    gs.add_reseau("bench", "Réseau de mesure")
    board = Board(store)
    for g in range(groups):
        deps = rng.sample(DEPS, 3)
        group, errors = parse_group_table(
            {"id": f"g{g}", "kind": "siae", "structure_kinds": ["ACI"], "departements": deps}
        )
        assert group is not None, errors
        gs.import_settings(group_settings(group), actor="bench", reseau_id="bench")
        member = board.upsert_member(email=f"m{g}@bench.example", name=f"M{g}", group_id=f"g{g}")
        picked = rng.sample(range(notices), 200)
        with db.conn:
            db.conn.executemany(
                "INSERT INTO deliveries (group_id, notice_id, kind, channel, status, attempts,"
                " created_at) VALUES (?, ?, 'alert', 'c', 'sent', 1, ?)",
                [(f"g{g}", f"boamp:b{i}", now) for i in picked],
            )
        for i in picked[:10]:
            board.set_mark(f"g{g}", f"boamp:b{i}", "", member.id, "interesse")
            gs.record_opened(f"g{g}", f"boamp:b{i}", member.id)
    gs.add_reseau_admin("bench", gs.ensure_member("coord@bench.example", "C", actor="bench"))
    board.upsert_member(email="admin@bench.example", name="A", group_id="g0", role="admin")
    store.close()


def timed(call, runs: int) -> tuple[float, float]:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        response = call()
        times.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200, response.status_code
    times.sort()
    return statistics.median(times), times[max(0, int(len(times) * 0.95) - 1)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--notices", type=int, default=30000)
    parser.add_argument("--days", type=int, default=60)
    parser.add_argument("--groups", type=int, default=100)
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.db"
        start = time.perf_counter()
        build(path, args.notices, args.days, args.groups)
        built = time.perf_counter() - start
        print(f"base : {args.notices} avis, {args.groups} groupes ({built:.0f} s)")
        app = create_app(
            str(path), WebSettings(), secret_key="x" * 32, mailer=ConsoleMailer(), testing=True
        )
        app.config["WTF_CSRF_ENABLED"] = False  # the form's token is not what is measured

        def client_for(email: str):
            client = app.test_client()
            client.post(signin_link(app, email))
            return client

        coord = client_for("coord@bench.example")
        p50, p95 = timed(lambda: coord.get("/reseau/bench/"), args.runs)
        print(f"tableau du réseau : p50 {p50:.0f} ms, p95 {p95:.0f} ms")
        admin = client_for("admin@bench.example")
        form = {
            "name": "G0",
            "structure_kinds": ["ACI"],
            "departements": "26, 07, 69",
            "labels": ["insertion_clause", "reserved_siae"],
            "delivery": "immediate",
            "digest_time": "08:30",
            "digest_day": "mon",
            "reminder_days": "7",
            "min_confidence": "probable",
            "action": "apercu",
        }
        p50, p95 = timed(lambda: admin.post("/g/g0/reglages", data=form), args.runs)
        print(f"aperçu des réglages (3 départements) : p50 {p50:.0f} ms, p95 {p95:.0f} ms")
        # The worst case: no territory, every labelled notice of the month is matched.
        everywhere = {**form, "departements": ""}
        p50, p95 = timed(
            lambda: admin.post("/g/g0/reglages", data=everywhere), max(3, args.runs // 3)
        )
        print(f"aperçu des réglages (toute la France) : p50 {p50:.0f} ms, p95 {p95:.0f} ms")


if __name__ == "__main__":
    main()
