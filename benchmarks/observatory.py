"""Observatory benchmark: every observatory page and ``tenderwatch stats`` on a year of France.

    python benchmarks/observatory.py [--db /tmp/obs-bench.db] [--notices 300000]
        [--repeat 7]

The database is left in place (delete it by hand) so that a second run reuses it.

1. A database of ``--notices`` calls for tenders published over 2025 (built once; reused
   when ``--db`` already holds one of that size, so a second run measures without
   rebuilding). Rows are inserted directly, in the shapes ``tenderwatch demo`` stores
   (``tenderwatch/data/demo_notices.json``: titles, texts, CPV codes, départements,
   buyers), with one classification each (a tenth with an older one too), labels at
   realistic rates (an insertion clause in ~4 % of the notices, every label together ~6 %),
   lots on a third of the notices, 12,000 buyers of very unequal size (a few cities and
   départements publish hundreds of notices, most buyers a handful), 5 % of the notices also
   on TED (a second row, not counted).
2. In a child process (so that its peak memory is the pages' alone): the rebuild of the
   ``observatory_facts`` table (forced: what the first page after a harvest pays), then the
   board's Flask application with a signed-in member, each observatory page and each CSV
   export (on fresh facts), with
   no filter, a région, a département, a CPV division, a buyer and a quarter: ``--repeat``
   times each after one unmeasured warm-up. p50/p95 per page, the child's peak RSS.
3. ``tenderwatch stats`` (a real process) with no filter and with a région: wall time and
   peak RSS.

Targets: p95 under 500 ms per page, peak under 300 MB. The machine's load
(``os.getloadavg``) is printed before and after: latencies on a shared machine include it.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path
from statistics import quantiles
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TARGET_P95_MS = 500.0
TARGET_RSS_MB = 300.0
SECRET = "clé-du-banc-d-essai-observatoire-0123456789"
MEMBER = "banc@reseau.example"

#: Rates of each social label among the notices (independent draws; realistic for BOAMP).
LABEL_RATES = {
    "insertion_clause": 0.040,
    "insertion_criterion": 0.012,
    "reserved_siae": 0.006,
    "reserved_disability": 0.005,
    "insertion_contract": 0.002,
    "reserved_other": 0.002,
}
#: Share of notices with an insertion clause or criterion that name a facilitator, and the
#: organisations a département's notices name (a PLIE or a Maison de l'emploi each).
FACILITATOR_RATE = 0.35
FACILITATOR_KINDS = [("PLIE", "plie"), ("Maison de l'emploi", "maison_emploi")]
CPV_DIVISIONS = ["45", "90", "79", "71", "50", "77", "55", "33", "34", "30", "72", "60", "09"]
BUYER_KINDS = [
    "Commune de",
    "Ville de",
    "Communauté de communes de",
    "Département de",
    "Centre hospitalier de",
    "OPH de",
    "Syndicat intercommunal de",
    "Lycée de",
]
DEPARTEMENTS = [f"{n:02d}" for n in range(1, 96) if n != 20] + ["2A", "2B", "971", "974"]

# Page variants: (name, query string) — every observatory page with each kind of filter.
VARIANTS = [
    ("sans filtre", ""),
    ("région", "region=84"),
    ("département", "departement=59"),
    ("division CPV", "cpv=45"),
    ("acheteur", "acheteur=ville+de+l"),
    ("trimestre", "du=2025-04-01&au=2025-06-30"),
]
PAGES = [
    ("/observatoire/", "page"),
    ("/observatoire/acheteurs", "page"),
    ("/observatoire/?format=csv&tableau=clauses", "csv"),
    ("/observatoire/?format=csv&tableau=tendance", "csv"),
    ("/observatoire/?format=csv&tableau=facilitateurs", "csv"),
    ("/observatoire/acheteurs?format=csv&tableau=sans_clause", "csv"),
]


def _demo_shapes() -> list[dict[str, Any]]:
    data = json.loads((ROOT / "tenderwatch" / "data" / "demo_notices.json").read_text("utf-8"))
    return [n for key, day in data.items() if not key.startswith("_") for n in day]


def build(path: Path, count: int, seed: int = 11) -> None:
    """Insert ``count`` notices with their classifications, in batches, in one transaction."""
    from tenderwatch.core.store import Store

    rng = random.Random(seed)
    Store(str(path)).close()  # the schema, migrations included
    shapes = _demo_shapes()
    buyers = []
    for i in range(12_000):
        dep = rng.choice(DEPARTEMENTS)
        siret = f"{rng.randrange(10**13, 10**14):014d}" if rng.random() < 0.9 else None
        buyers.append((f"{rng.choice(BUYER_KINDS)} l'Endroit n° {i}", siret, dep))
    # Very unequal sizes: a Pareto weight per buyer.
    weights = [rng.paretovariate(1.2) for _ in buyers]
    start = date(2025, 1, 1)
    db = sqlite3.connect(str(path))
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=OFF")
    notice_rows: list[tuple[Any, ...]] = []
    class_rows: list[tuple[Any, ...]] = []
    lot_rows: list[tuple[Any, ...]] = []
    n_sql = (
        "INSERT INTO notices (id, source, source_id, form, title, nature, published, deadline,"
        " buyer_name, buyer_siret, departements, cpv, estimated_value, currency, url, language,"
        " text, canonical_id, first_seen, updated_at)"
        " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)"
    )
    c_sql = (
        "INSERT INTO classifications (notice_id, model_version, labels, positive, lots,"
        " insertion_hours, evidence, conflicts, classified_at, facilitator)"
        " VALUES (?,?,?,?,?,?,?,?,?,?)"
    )
    l_sql = (
        "INSERT INTO lots (notice_id, lot_id, position, title, cpv, departements)"
        " VALUES (?,?,?,?,?,?)"
    )

    def flush() -> None:
        db.executemany(n_sql, notice_rows)
        db.executemany(c_sql, class_rows)
        db.executemany(l_sql, lot_rows)
        notice_rows.clear()
        class_rows.clear()
        lot_rows.clear()

    # A separate generator: the facilitators leave every other generated figure unchanged.
    frng = random.Random(seed + 1)

    def facilitator(dep: str) -> str:
        name, kind = FACILITATOR_KINDS[int(dep) % 2 if dep.isdigit() else 0]
        return json.dumps(
            {
                "organisation": f"{name} du territoire {dep}",
                "kind": kind,
                "name": None,
                "phone": None,
                "email": f"clauses@{kind}-{dep.lower()}.example",
                "quote": f"La clause est suivie par le {name} du territoire {dep}.",
            },
            ensure_ascii=False,
        )

    db.execute("BEGIN")
    chosen = rng.choices(range(len(buyers)), weights=weights, k=count)
    for k in range(count):
        shape = shapes[k % len(shapes)]
        name, siret, dep = buyers[chosen[k]]
        day = start + timedelta(days=rng.randrange(365))
        nid = f"boamp:25-{k:06d}"
        cpv = rng.choice(CPV_DIVISIONS) + f"{rng.randrange(10**6):06d}"
        deps = [dep] if rng.random() < 0.93 else [dep, rng.choice(DEPARTEMENTS)]
        row = (
            nid,
            "boamp",
            f"25-{k:06d}",
            "FNSimple",
            shape["title"],
            "call_for_tenders",
            day.isoformat(),
            (day + timedelta(days=30)).isoformat(),
            name,
            siret,
            json.dumps(deps),
            json.dumps([cpv]),
            rng.choice([None, 40000.0, 250000.0]),
            "EUR",
            f"https://www.boamp.fr/avis/detail/25-{k:06d}",
            "fr",
            shape["description"] + " " + shape.get("informations", ""),
            nid,
            day.isoformat(),
            day.isoformat(),
        )
        notice_rows.append(row)
        if rng.random() < 0.05:  # the same notice on TED: a second row, not counted
            ted = f"ted:{k:06d}-2025"
            notice_rows.append((ted, "ted", f"{k:06d}-2025", *row[3:17], nid, *row[18:]))
        labels = [lb for lb, rate in LABEL_RATES.items() if rng.random() < rate]
        lots = []
        if rng.random() < 0.33:
            n_lots = rng.randint(2, 5)
            labels.append("allotted")
            for j in range(n_lots):
                lot_labels = [lb for lb in labels if lb != "allotted" and rng.random() < 0.6]
                lots.append({"id": str(j + 1), "title": f"Lot {j + 1}", "labels": lot_labels})
                lot_rows.append(
                    (nid, str(j + 1), j, f"Lot {j + 1}", json.dumps([cpv]), json.dumps(deps))
                )
        hours = rng.choice([0, 0, 150, 350, 700]) if "insertion_clause" in labels else 0
        classified = f"{day.isoformat()}T06:00:00+00:00"
        named = None
        if {"insertion_clause", "insertion_criterion"} & set(labels):
            named = facilitator(dep) if frng.random() < FACILITATOR_RATE else None
        if rng.random() < 0.1:  # an older model's run, superseded
            class_rows.append(
                (
                    nid,
                    "v0",
                    "{}",
                    "",
                    "[]",
                    0,
                    "[]",
                    "[]",
                    f"{day.isoformat()}T05:00:00+00:00",
                    None,
                )
            )
        class_rows.append(
            (
                nid,
                "v1",
                json.dumps({lb: True for lb in labels}),
                ",".join(labels),
                json.dumps(lots),
                hours,
                "[]",
                "[]",
                classified,
                named,
            )
        )
        if len(notice_rows) >= 5000:
            flush()
    flush()
    db.execute("COMMIT")
    db.execute("ANALYZE")
    db.close()


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure_pages(db_path: str, repeat: int) -> dict[str, Any]:
    """In this (child) process: every page and variant, ``repeat`` times after a warm-up."""
    from tenderwatch.core.board import Board, WebSettings
    from tenderwatch.core.observatory import refresh
    from tenderwatch.core.store import Store
    from tenderwatch.web import create_app, signin_link
    from tenderwatch.web.mail import ConsoleMailer

    store = Store(db_path)
    Board(store).upsert_member(email=MEMBER, name="Banc d'essai", group_id="banc")
    # What the first page after a harvest pays: rebuilding the facts table.
    t0 = time.perf_counter()
    refresh(store.db, force=True)
    rebuild_s = time.perf_counter() - t0
    store.close()
    app = create_app(
        db_path, WebSettings(), secret_key=SECRET, mailer=ConsoleMailer(), testing=True
    )
    app.config["WTF_CSRF_ENABLED"] = False  # the sign-in form is posted without its token
    client = app.test_client()
    link = signin_link(app, MEMBER)
    assert client.post(link).status_code == 302, "sign-in failed"
    results = {}
    for path, _kind in PAGES:
        for variant, query in VARIANTS:
            url = path + ("&" if "?" in path else "?") + query if query else path
            response = client.get(url)  # warm-up (and the page cache's first read)
            assert response.status_code == 200, (url, response.status_code)
            times = []
            for _ in range(repeat):
                t0 = time.perf_counter()
                response = client.get(url)
                times.append((time.perf_counter() - t0) * 1000)
                assert response.status_code == 200
            results[f"{path} [{variant}]"] = times
    return {"times": results, "rss_mb": _rss_mb(), "rebuild_s": rebuild_s}


def _p95(times: list[float]) -> float:
    return quantiles(times, n=20, method="inclusive")[18] if len(times) > 1 else times[0]


def run_stats(db_path: str, *args: str) -> tuple[float, float]:
    """Wall time (s) and peak RSS (MB) of one ``tenderwatch stats`` process, run from a
    fresh wrapper process whose only child it is (so the RSS is the command's own)."""
    wrapper = (
        "import resource, subprocess, sys, time\n"
        "t0 = time.perf_counter()\n"
        "subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL)\n"
        "print(time.perf_counter() - t0, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
    )
    with tempfile.TemporaryDirectory() as out:
        done = subprocess.run(
            [
                sys.executable,
                "-c",
                wrapper,
                sys.executable,
                "-m",
                "tenderwatch",
                "-q",
                "stats",
                "--db",
                db_path,
                "--csv",
                out,
                *args,
            ],
            check=True,
            cwd=ROOT,
            capture_output=True,
            text=True,
        )
    wall, rss_kb = done.stdout.split()
    return float(wall), int(rss_kb) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default=str(Path(tempfile.gettempdir()) / "obs-bench.db"))
    parser.add_argument("--notices", type=int, default=300_000)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure_pages(args.db, args.repeat)))
        return

    print(f"charge de la machine (1/5/15 min) : {os.getloadavg()}")
    db_path = Path(args.db)
    have = 0
    if db_path.exists():
        with sqlite3.connect(db_path) as db:
            have = db.execute("SELECT count(*) FROM notices WHERE source = 'boamp'").fetchone()[0]
    if have != args.notices:
        for suffix in ("", "-wal", "-shm"):
            Path(str(db_path) + suffix).unlink(missing_ok=True)
        t0 = time.perf_counter()
        build(db_path, args.notices)
        print(
            f"base construite : {args.notices} avis en {time.perf_counter() - t0:.0f} s,"
            f" {db_path.stat().st_size / 1e6:.0f} Mo ({db_path})"
        )
    else:
        print(f"base réutilisée : {have} avis ({db_path})")

    child = subprocess.run(
        [sys.executable, __file__, "--child", "--db", str(db_path), "--repeat", str(args.repeat)],
        check=True,
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    measured = json.loads(child.stdout.strip().splitlines()[-1])
    worst = 0.0
    print(f"\n{'page':<72} {'p50 ms':>8} {'p95 ms':>8}")
    for name, times in measured["times"].items():
        p50, p95 = sorted(times)[len(times) // 2], _p95(times)
        worst = max(worst, p95)
        print(f"{name:<72} {p50:>8.0f} {p95:>8.0f}")
    print(
        "reconstruction de observatory_facts (1re page après une collecte) :"
        f" {measured['rebuild_s']:.2f} s"
    )
    print(
        f"pire p95 : {worst:.0f} ms (objectif < {TARGET_P95_MS:.0f})"
        f" ; mémoire max du processus des pages : {measured['rss_mb']:.0f} Mo"
        f" (objectif < {TARGET_RSS_MB:.0f})"
    )
    for label, extra in (("sans filtre", ()), ("région 84", ("--region", "84"))):
        wall, rss = run_stats(str(db_path), *extra)
        print(f"tenderwatch stats ({label}) : {wall:.2f} s, mémoire max {rss:.0f} Mo")
    print(f"charge de la machine (1/5/15 min) : {os.getloadavg()}")
    ok = worst < TARGET_P95_MS and measured["rss_mb"] < TARGET_RSS_MB
    print("objectifs atteints" if ok else "OBJECTIFS NON ATTEINTS")


if __name__ == "__main__":
    main()
