"""Board benchmark: page latency and server memory of ``tenderwatch serve`` on a large base.

    python benchmarks/board.py [--seed DEMO_DB] [--notices 50000] [--groups 500]
        [--members 5000] [--marks 20000] [--per-group 200] [--clients 20]
        [--requests 30] [--seconds 240]

1. A database of ``--notices`` notices: the real rows of a demo database (``tenderwatch
   demo``, run here unless ``--seed`` names its ``demo.db``) copied with new ids, publication
   dates, deadlines and départements, each with its lots, classification and procedure;
   ``--groups`` groups each alerted about ``--per-group`` notices on average; ``--members``
   members spread over the groups; ``--marks`` marks (with their activity lines) on the
   notices of the members' boards.
2. The real server, one process (``python -m tenderwatch serve``: waitress, 8 threads).
3. ``--clients`` concurrent local clients (threads with ``http.client`` to 127.0.0.1 only),
   each signed in as a member of a different group through a real sign-in link, alternate
   their group's board and one of its notices, ``--requests`` requests each or until
   ``--seconds`` have passed; after an unmeasured warm-up, two phases: at a person's pace
   (``--think`` seconds between pages on average, 20 clients ≈ 20 pages a second), then
   without pauses (the server saturated: latency is then mostly waiting in line).

Prints p50/p95 latency per page and the server's peak resident memory (``VmHWM`` in
``/proc/<pid>/status``). Targets: p95 under 150 ms, peak under 300 MB. The machine's load
(``os.getloadavg``) is printed before and after: latencies on a shared machine include it.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import re
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from statistics import quantiles
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tenderwatch.core.board import MARK_STATUSES, REASONS, ROLES_WANTED, WebSettings  # noqa: E402
from tenderwatch.core.store import Store  # noqa: E402
from tenderwatch.localservers import free_port  # noqa: E402

SECRET = "clé-du-banc-d-essai-du-tableau-0123456789"
#: Départements the copies are spread over (metropolitan and overseas, as in real data).
DEPARTEMENTS = [f"{n:02d}" for n in range(1, 96) if n != 20] + ["2A", "2B", "971", "974"]
CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')
TARGET_P95_MS = 150.0
TARGET_RSS_MB = 300.0


def seed_database(path: Path | None, work: Path) -> Path:
    """The demo database to copy rows from (the demo is run when none is given)."""
    if path is not None:
        return path
    out = work / "demo"
    subprocess.run(
        [sys.executable, "-m", "tenderwatch", "demo", "--output", str(out)],
        cwd=ROOT,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return out / "demo.db"


def _rows(db: sqlite3.Connection, sql: str) -> list[dict[str, Any]]:
    cur = db.execute(sql)
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def _insert(db: sqlite3.Connection, table: str, rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    columns = list(rows[0])
    # Table and column names come from the seed database's own rows, never from input.
    names = ", ".join('"' + c + '"' for c in columns)
    sql = f'INSERT INTO "{table}" ({names}) VALUES ({", ".join("?" for _ in columns)})'

    db.executemany(sql, [[r[c] for c in columns] for r in rows])


@dataclass
class Built:
    """What the clients need: each group's notices and one member's address per group."""

    boards: dict[str, list[str]] = field(default_factory=dict)
    member_of: dict[str, str] = field(default_factory=dict)  # group id -> a member's e-mail
    seconds: float = 0.0


def build(target: Path, seed: Path, args: argparse.Namespace) -> Built:
    """Fill ``target`` (migrated by :class:`Store`) from the seed database's rows."""
    rng = random.Random(10)
    started = time.perf_counter()
    Store(target).close()
    src = sqlite3.connect(seed)
    notices = _rows(src, "SELECT * FROM notices WHERE text IS NOT NULL ORDER BY id")
    lots: dict[str, list[dict[str, Any]]] = {}
    for lot in _rows(src, "SELECT * FROM lots ORDER BY notice_id, position"):
        lots.setdefault(lot["notice_id"], []).append(lot)
    classes = {
        c["notice_id"]: c
        for c in _rows(src, "SELECT * FROM classifications ORDER BY classified_at")
    }
    procs = {p["id"]: p for p in _rows(src, "SELECT * FROM procedures")}
    src.close()
    db = sqlite3.connect(target)
    db.execute("PRAGMA journal_mode = WAL")
    db.execute("PRAGMA synchronous = OFF")  # a throw-away base: no fsync while filling it
    today = date.today()
    ids: list[str] = []
    batch: dict[str, list[dict[str, Any]]] = {"notices": [], "lots": [], "cls": [], "procs": []}

    def flush() -> None:
        _insert(db, "procedures", batch["procs"])
        _insert(db, "notices", batch["notices"])
        _insert(db, "lots", batch["lots"])
        _insert(db, "classifications", batch["cls"])
        for rows in batch.values():
            rows.clear()

    for i in range(args.notices):
        base = notices[i % len(notices)]
        notice_id = f"{base['source']}:banc-{i:06d}"
        published = today - timedelta(days=rng.randint(0, 180))
        deadline = published + timedelta(days=rng.randint(10, 60))
        deps = rng.sample(DEPARTEMENTS, rng.choice([1, 1, 1, 2]))
        row = dict(base)
        row.update(
            id=notice_id,
            source_id=f"banc-{i:06d}",
            canonical_id=notice_id,
            published=published.isoformat(),
            deadline=f"{deadline.isoformat()}T12:00:00+01:00",
            departements=json.dumps(deps),
            procedure_id=None,
        )
        proc = procs.get(base.get("procedure_id") or "")
        if proc is not None:
            proc = dict(proc)
            proc.update(
                id=f"banc-proc-{i:06d}",
                deadline=row["deadline"],
                current_notice_id=notice_id,
                notice_ids=json.dumps([notice_id]),
            )
            row["procedure_id"] = proc["id"]
            batch["procs"].append(proc)
        batch["notices"].append(row)
        for lot in lots.get(base["id"], []):
            batch["lots"].append({**lot, "notice_id": notice_id, "departements": json.dumps(deps)})
        cls = classes.get(base["id"])
        if cls is not None:
            batch["cls"].append({**cls, "notice_id": notice_id})
        ids.append(notice_id)
        if len(batch["notices"]) >= 2000:
            flush()
    flush()
    db.commit()

    built = Built()
    now = datetime.now(UTC).isoformat(timespec="seconds")
    groups = [f"banc-{g:03d}" for g in range(args.groups)]
    deliveries = []
    for group in groups:
        board = rng.sample(ids, max(1, int(rng.gauss(args.per_group, args.per_group / 4))))
        built.boards[group] = board
        deliveries += [(group, n, "alert", "abc123", "sent", 1, now) for n in board]
    db.executemany(
        "INSERT INTO deliveries (group_id, notice_id, kind, channel, status, attempts,"
        " created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        deliveries,
    )
    members: dict[str, list[int]] = {g: [] for g in groups}
    kinds = ["ACI", "AI", "EI", "ETTI", "EA", "ESAT", "GEIQ"]
    for m in range(1, args.members + 1):
        group = groups[m % len(groups)]
        email = f"membre{m:05d}@banc.example"
        db.execute(
            "INSERT INTO board_members (id, email, name, structure_name, structure_kind,"
            " departements, cpv_prefixes, source, created_at) VALUES (?,?,?,?,?,?,?,?,?)",
            [
                m,
                email,
                f"Membre {m}",
                f"Structure {m}",
                rng.choice(kinds),
                json.dumps(rng.sample(DEPARTEMENTS, 2)),
                json.dumps(rng.choice([[], ["77"], ["45", "90"]])),
                "cli",
                now,
            ],
        )
        role = "admin" if not members[group] else "member"
        db.execute(
            "INSERT INTO board_memberships (member_id, group_id, role, source, created_at)"
            " VALUES (?, ?, ?, 'cli', ?)",
            [m, group, role, now],
        )
        members[group].append(m)
        built.member_of.setdefault(group, email)
    marks, activity = [], []
    seen: set[tuple[str, str, str, int]] = set()
    while len(marks) < args.marks:
        group = rng.choice(groups)
        if not members[group]:
            continue
        notice_id = rng.choice(built.boards[group])
        member = rng.choice(members[group])
        lot = rng.choice(["", "", "1", "2"])
        key = (group, notice_id, lot, member)
        if key in seen:
            continue
        seen.add(key)
        status = rng.choice(MARK_STATUSES)
        reason = rng.choice(REASONS) if status == "pas_pour_nous" else None
        role = rng.choice(ROLES_WANTED) if status == "cherche_partenaire" else None
        marks.append((group, notice_id, lot, member, status, reason, role, now, now))
        activity.append(
            (group, notice_id, member, "mark", json.dumps({"lot": lot, "status": status}), now)
        )
    db.executemany(
        "INSERT INTO board_marks (group_id, notice_id, lot_id, member_id, status, reason,"
        " role_wanted, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        marks,
    )
    db.executemany(
        "INSERT INTO board_activity (group_id, notice_id, member_id, action, details, at)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        activity,
    )
    db.commit()
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    built.seconds = time.perf_counter() - started
    return built


def start_server(work: Path, db: Path) -> tuple[subprocess.Popen[bytes], int, Path]:
    """``python -m tenderwatch serve`` on a free loopback port (production mode: a key and
    an e-mail channel, which is never used here)."""
    port = free_port()
    (work / "apprise.yml").write_text(
        "version: 1\nurls:\n"
        "  - mailto://127.0.0.1:9?from=banc@tenderwatch.example&to=x@example.org&mode=insecure:\n"
        "      - tag: connexion\n",
        encoding="utf-8",
    )
    config = work / "tenderwatch.toml"
    config.write_text(
        f'[notify]\napprise_config = "apprise.yml"\n\n[web]\nbase_url = "http://127.0.0.1:{port}"\n',
        encoding="utf-8",
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("TENDERWATCH_")}
    env.update(
        TENDERWATCH_DB=str(db),
        TENDERWATCH_CONFIG=str(config),
        TENDERWATCH_WEB_SECRET_KEY=SECRET,
    )
    log = work / "serve.log"
    proc = subprocess.Popen(
        [sys.executable, "-m", "tenderwatch", "serve", "--port", str(port)],
        env=env,
        cwd=ROOT,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            sys.exit(f"le serveur s'est arrêté :\n{log.read_text()}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", "/connexion")
            if conn.getresponse().status == 200:
                conn.close()
                return proc, port, log
        except OSError:
            time.sleep(0.2)
    proc.kill()
    sys.exit("le serveur ne répond pas")


def memory_kb(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM (peak resident set) of ``pid``, in kB."""
    out = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            out[key] = int(value.split()[0])
    return out


def _cookie(response: http.client.HTTPResponse) -> str | None:
    for header, value in response.getheaders():
        if header.lower() == "set-cookie" and value.startswith("tenderwatch_session="):
            return value.split(";", 1)[0]
    return None


def sign_in(port: int, path: str) -> str:
    """Use a sign-in link as a browser does (GET the button, POST it); the session cookie."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("GET", path)
    response = conn.getresponse()
    page = response.read().decode()
    cookie = _cookie(response)
    token = CSRF_RE.search(page)
    if cookie is None or token is None:
        raise RuntimeError(f"page de connexion inattendue ({response.status})")
    body = urllib.parse.urlencode({"csrf_token": token.group(1)})
    conn.request(
        "POST",
        path,
        body=body,
        headers={"Cookie": cookie, "Content-Type": "application/x-www-form-urlencoded"},
    )
    response = conn.getresponse()
    response.read()
    conn.close()
    session = _cookie(response)
    if response.status != 302 or session is None:
        raise RuntimeError(f"connexion refusée ({response.status})")
    return session


def client(
    port: int,
    group: str,
    cookie: str,
    notices: list[str],
    requests: int,
    until: float,
    seed: int,
    think: float,
    out: dict[str, list[float]],
    errors: list[str],
) -> None:
    """Alternate the group's board and one of its notices, pausing ``think`` seconds on
    average between pages (0: none); record each page's latency."""
    rng = random.Random(seed)
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    for i in range(requests):
        if time.monotonic() > until:
            break
        if think:
            time.sleep(rng.uniform(0.5 * think, 1.5 * think))
        if i % 2 == 0:
            page, path = "tableau", f"/g/{group}/"
        else:
            notice = urllib.parse.quote(rng.choice(notices), safe=":")
            page, path = "avis", f"/g/{group}/avis/{notice}"
        started = time.perf_counter()
        try:
            conn.request("GET", path, headers={"Cookie": cookie})
            response = conn.getresponse()
            response.read()
        except OSError as exc:
            errors.append(f"{path}: {type(exc).__name__}")
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            continue
        elapsed = (time.perf_counter() - started) * 1000
        if response.status != 200:
            errors.append(f"{path}: HTTP {response.status}")
            continue
        out.setdefault(page, []).append(elapsed)
    conn.close()


def run_phase(
    port: int,
    pid: int,
    groups: list[str],
    cookies: dict[str, str],
    built: Built,
    args: argparse.Namespace,
    think: float,
) -> tuple[dict[str, list[float]], list[str], float, int]:
    """One load phase: the clients' latencies per page, errors, duration, sampled peak RSS."""
    results: list[dict[str, list[float]]] = [{} for _ in groups]
    errors: list[str] = []
    until = time.monotonic() + args.seconds
    threads = [
        threading.Thread(
            target=client,
            args=(port, g, cookies[g], built.boards[g], args.requests, until, i, think),
            kwargs={"out": results[i], "errors": errors},
        )
        for i, g in enumerate(groups)
    ]
    started = time.perf_counter()
    peak_rss = 0
    for t in threads:
        t.start()
    while any(t.is_alive() for t in threads):
        peak_rss = max(peak_rss, memory_kb(pid).get("VmRSS", 0))
        time.sleep(0.1)
    merged: dict[str, list[float]] = {}
    for r in results:
        for page, samples in r.items():
            merged.setdefault(page, []).extend(samples)
    return merged, errors, time.perf_counter() - started, peak_rss


def report(title: str, merged: dict[str, list[float]], errors: list[str], duration: float) -> bool:
    """Print p50/p95 per page; True when every page's p95 is under the target."""
    total = sum(len(v) for v in merged.values())
    print(f"{title} : {total} requêtes en {duration:.1f} s ; erreurs : {len(errors)}")
    for message in errors[:5]:
        print(f"  {message}")
    ok = not errors
    for page in ("tableau", "avis"):
        samples = sorted(merged.get(page, []))
        if len(samples) < 2:
            print(f"  {page} : trop peu de mesures")
            ok = False
            continue
        cuts = quantiles(samples, n=100, method="inclusive")
        p50, p95 = cuts[49], cuts[94]
        ok = ok and p95 < TARGET_P95_MS
        print(
            f"  {page:8} n={len(samples):4d}  p50 {p50:6.1f} ms  p95 {p95:6.1f} ms"
            f"  max {samples[-1]:6.1f} ms  (objectif p95 < {TARGET_P95_MS:.0f} ms)"
        )
    return ok


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=Path, help="demo.db to copy notices from")
    parser.add_argument("--notices", type=int, default=50_000)
    parser.add_argument("--groups", type=int, default=500)
    parser.add_argument("--members", type=int, default=5_000)
    parser.add_argument("--marks", type=int, default=20_000)
    parser.add_argument("--per-group", type=int, default=200, help="notices per board (mean)")
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--requests", type=int, default=30, help="requests per client and phase")
    parser.add_argument("--seconds", type=float, default=240.0, help="time limit of a phase")
    parser.add_argument(
        "--think", type=float, default=1.0, help="mean pause between a client's pages (s)"
    )
    parser.add_argument(
        "--keep", type=Path, help="build the base in this folder and keep it (reused if there)"
    )
    args = parser.parse_args()
    print(f"charge de la machine (1, 5, 15 min) : {os.getloadavg()}")
    with tempfile.TemporaryDirectory(prefix="tw-banc-tableau-") as tmp:
        work = args.keep or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        db, saved = work / "tableau.db", work / "tableau.json"
        if db.exists() and saved.exists():
            built = Built(**json.loads(saved.read_text(encoding="utf-8")))
            print(f"base réutilisée : {db}")
        else:
            seed = seed_database(args.seed, work)
            db.unlink(missing_ok=True)
            built = build(db, seed, args)
            if args.keep:
                saved.write_text(json.dumps(built.__dict__), encoding="utf-8")
        print(
            f"base : {args.notices} avis, {len(built.boards)} groupes, {args.members} membres, "
            f"{args.marks} marques, {sum(map(len, built.boards.values()))} alertes "
            f"({db.stat().st_size / 1e6:.0f} Mo, construite en {built.seconds:.0f} s)"
        )

        # Sign-in links made by the application itself, on the same base and key.
        from tenderwatch.web import create_app, signin_link
        from tenderwatch.web.mail import ConsoleMailer

        app = create_app(str(db), WebSettings(), secret_key=SECRET, mailer=ConsoleMailer())
        groups = random.Random(20).sample(sorted(built.member_of), args.clients)
        links = {g: signin_link(app, built.member_of[g]) for g in groups}

        proc, port, log = start_server(work, db)
        ok = True
        try:
            cookies = {g: sign_in(port, links[g]) for g in groups}
            # Warm-up, not measured: templates compiled, each client's pages read once.
            run_phase(
                port,
                proc.pid,
                groups,
                cookies,
                built,
                argparse.Namespace(requests=2, seconds=args.seconds),
                0.0,
            )
            rss = 0
            phases = [(f"rythme humain (pause moyenne {args.think:g} s)", args.think)]
            phases.append(("sans pause (saturation)", 0.0))
            for title, think in phases:
                merged, errors, duration, peak = run_phase(
                    port, proc.pid, groups, cookies, built, args, think
                )
                rss = max(rss, peak)
                ok = report(f"{args.clients} clients, {title}", merged, errors, duration) and ok
            memory = memory_kb(proc.pid)
        finally:
            proc.terminate()
            proc.wait(timeout=30)
        if proc.returncode not in (0, -15):
            print(log.read_text())
        peak_mb = max(memory.get("VmHWM", 0), rss) / 1024
        ok = ok and peak_mb < TARGET_RSS_MB
        print(
            f"mémoire du serveur : pic {peak_mb:.0f} Mo (VmHWM),"
            f" fin {memory.get('VmRSS', 0) / 1024:.0f} Mo (objectif < {TARGET_RSS_MB:.0f} Mo)"
        )
        print(f"charge de la machine (1, 5, 15 min) : {os.getloadavg()}")
        print("objectifs atteints" if ok else "objectifs NON atteints")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
