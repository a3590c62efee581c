"""Ingest benchmark: normalisation throughput and the peak memory of a 10,000-notice crawl.

    python benchmarks/ingest.py [--notices 10000] [--rounds 5]

1. Normalisation throughput, one process: every notice fixture of ``tests/fixtures`` (BOAMP
   API records, BOAMP XML, TED eForms and R2.0.9 XML) normalised ``--rounds`` times;
   prints notices per second (target: at least 300).
2. A replayed crawl of ``--notices`` notices (BOAMP records and TED XML cloned from the
   bundled replay data, each clone with its own ids and UUIDs so that they are distinct
   notices) through the real spiders, pipeline and SQLite store, in a subprocess; prints the
   subprocess's peak resident memory (target: under 300 MB) and its duration.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tenderwatch.core.records import RawNotice  # noqa: E402
from tenderwatch.crawler.normalise import normalise  # noqa: E402
from tenderwatch.replay import ReplayData, ReplayServer  # noqa: E402

FIXTURES = ROOT / "tests" / "fixtures"
UUID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def fixture_payloads() -> list[RawNotice]:
    """Every notice fixture as the raw payload a spider would yield."""
    raws: list[RawNotice] = []
    for path in sorted((FIXTURES / "boamp-api").glob("*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        results = data.get("data", data).get("results", [])
        for record in results:
            body = json.dumps(record, ensure_ascii=False).encode()
            raws.append(RawNotice("boamp", record["idweb"], str(path), "application/json", body))
    for folder in ("boamp-xml-v3", "boamp-xml-v230"):
        for path in sorted((FIXTURES / folder).glob("*.xml")):
            raws.append(
                RawNotice("boamp", path.stem, str(path), "application/xml", path.read_bytes())
            )
    for folder in ("eforms-sdk", "ted-eforms", "ted-r209", "ted-r209-converted-eforms"):
        for path in sorted((FIXTURES / folder).rglob("*.xml")):
            raws.append(
                RawNotice("ted", path.stem, str(path), "application/xml", path.read_bytes())
            )
    return raws


def bench_normalise(rounds: int) -> None:
    raws = fixture_payloads()
    failures = 0
    for raw in raws:  # warm-up, and the failures count
        try:
            normalise(raw)
        except Exception:
            failures += 1
    start = time.perf_counter()
    count = 0
    for _ in range(rounds):
        for raw in raws:
            try:
                normalise(raw)
            except Exception:
                pass
            count += 1
    elapsed = time.perf_counter() - start
    size = sum(len(r.body) for r in raws) * rounds
    print(f"normalisation : {len(raws)} avis de test x {rounds} tours = {count} avis")
    print(f"  en {elapsed:.2f} s : {count / elapsed:,.0f} avis/s, {size / elapsed / 1e6:.1f} Mo/s")
    print(f"  (un processus) ; échecs : {failures}")


def _renew_uuids(text: str, salt: str) -> str:
    return UUID_RE.sub(lambda m: str(uuid.uuid5(uuid.NAMESPACE_URL, salt + m.group(0))), text)


def cloned_data(total: int, start: date) -> tuple[ReplayData, date, date]:
    """``total`` distinct notices cloned from the bundled replay data, over 40 days."""
    base = ReplayData.load()
    data = ReplayData()
    n_ted = total * 3 // 10 if base.ted_index else 0
    n_boamp = total - n_ted
    days = 40
    for i in range(n_boamp):
        template = base.boamp_records[i % len(base.boamp_records)]
        record = json.loads(template)
        day = (start + timedelta(days=i % days)).isoformat()
        idweb = f"90-{i:06d}"
        record.update(
            idweb=idweb,
            id=idweb.replace("-", "_"),
            dateparution=day,
            annonce_lie=None,
            annonces_anterieures=None,
        )
        text = json.dumps(record, ensure_ascii=False, separators=(",", ":"))
        data.boamp_records.append(_renew_uuids(text, idweb))
    for i in range(n_ted):
        entry = base.ted_index[i % len(base.ted_index)]
        number = f"{900000 + i}-2026"
        xml = base.ted_xml[entry["publication-number"]].decode("utf-8")
        data.ted_xml[number] = _renew_uuids(xml, number).encode("utf-8")
        day = (start + timedelta(days=i % days)).isoformat()
        data.ted_index.append({**entry, "publication-number": number, "publication-date": day})
    return data, start, start + timedelta(days=days - 1)


def bench_crawl(total: int) -> None:
    data, first, last = cloned_data(total, date(2026, 1, 1))
    with tempfile.TemporaryDirectory() as tmp, ReplayServer(data) as server:
        env = {k: v for k, v in os.environ.items() if not k.startswith("TENDERWATCH_")}
        env.update(
            TENDERWATCH_DB=str(Path(tmp) / "bench.db"),
            TENDERWATCH_LOG_LEVEL="WARNING",
            TENDERWATCH_CRAWL_AUTOTHROTTLE_START_DELAY="0",
            TENDERWATCH_BOAMP_BASE_URL=server.boamp_base_url,
            TENDERWATCH_TED_BASE_URL=server.ted_base_url,
            TENDERWATCH_TED_XML_BASE_URL=server.ted_base_url,
        )
        args = [
            sys.executable,
            "-m",
            "tenderwatch.cli",
            "crawl",
            "--from-date",
            first.isoformat(),
            "--until-date",
            last.isoformat(),
        ]
        started = time.perf_counter()
        proc = subprocess.run(args, env=env, capture_output=True, text=True, cwd=ROOT)
        elapsed = time.perf_counter() - started
        peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    print(
        f"collecte rejouée : {len(data.boamp_records)} avis BOAMP + {len(data.ted_index)} avis TED"
        f" en {elapsed:.1f} s ({total / elapsed:,.0f} avis/s, code de sortie {proc.returncode})"
    )
    print(f"  mémoire maximale du processus de collecte : {peak_kb / 1024:.0f} Mo")
    tail = [line for line in proc.stdout.splitlines() if line.strip()][-24:]
    print("\n".join("  | " + line for line in tail))
    if proc.returncode != 0:
        print(proc.stderr[-3000:], file=sys.stderr)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--notices", type=int, default=10000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    bench_normalise(args.rounds)
    bench_crawl(args.notices)


if __name__ == "__main__":
    main()
