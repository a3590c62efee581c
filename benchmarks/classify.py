"""Classification benchmark: speed of the full classifier against the spaCy tokenizer alone,
and the time a year of notices takes on one core and on every core.

    python benchmarks/classify.py [--gold PATH] [--rounds 3]
    python benchmarks/classify.py --year-only [--notices 3000] [--target 300000]

``--year-only`` (issue #9): a temporary SQLite store is filled with ``--notices`` notices
built from the fixtures' shapes (the golden set, the real notices of
``tests/fixtures/notices-text`` and every French fixture normalised by the harvest, with
their signals and lots, cloned with distinct ids); ``tenderwatch classify``'s own code
(:func:`tenderwatch.cycle.classify_store`: read in pages, classify, write in short
transactions) classifies them with one process, then with one per core, on two copies of
the store; it prints each rate and the time extrapolated to ``--target`` notices (a
réseau's first start: a year of BOAMP and TED, about 300 000 notices; target: under one
hour), and the machine's load average beside it (the figure depends on what else runs).

On two sets of texts — the golden development set (``--gold``, default
``tests/fixtures/golden/dev.jsonl``) and every French notice among the test
fixtures, normalised by the harvest — it prints, for one process: notices per second and
words per second of the full classification, the same for ``spacy.blank("fr")``'s tokenizer
alone on the same texts, their ratio (target: classification at least half as fast as the
tokenizer), and the peak memory of the process (target: under 500 MB).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import spacy  # noqa: E402

from benchmarks.ingest import fixture_payloads  # noqa: E402
from tenderwatch.classifier import Classifier, NoticeInput  # noqa: E402
from tenderwatch.crawler.normalise import normalise  # noqa: E402

DEFAULT_GOLD = ROOT / "tests" / "fixtures" / "golden" / "dev.jsonl"


def golden_inputs(path: Path) -> list[NoticeInput]:
    with path.open(encoding="utf-8") as fh:
        records = [json.loads(line) for line in fh if line.strip()]
    return [
        NoticeInput(id=r["id"], text=r["text"], title=r.get("title"), published=r.get("published"))
        for r in records
    ]


def fixture_inputs() -> list[NoticeInput]:
    """French notices among the fixtures, as the store would hand them to the classifier."""
    inputs = []
    for raw in fixture_payloads():
        try:
            notice = normalise(raw)
        except Exception:
            continue
        if notice.language not in (None, "fr") or not notice.text:
            continue
        inputs.append(
            NoticeInput(
                id=notice.id, text=notice.text, title=notice.title, published=notice.published
            )
        )
    return inputs


def measure(name: str, inputs: list[NoticeInput], classifier: Classifier, rounds: int) -> None:
    texts = [i.text for i in inputs]
    words = sum(len(t.split()) for t in texts) * rounds
    tokenizer = spacy.blank("fr")
    list(tokenizer.pipe(texts[:5]))  # warm-up
    start = time.perf_counter()
    for _ in range(rounds):
        for _doc in tokenizer.pipe(texts, batch_size=32):
            pass
    tok_s = time.perf_counter() - start
    list(classifier.classify_many(inputs[:5]))  # warm-up
    start = time.perf_counter()
    for _ in range(rounds):
        results = list(classifier.classify_many(inputs))
    cls_s = time.perf_counter() - start
    errors = sum(bool(r.get("error")) for r in results)
    n = len(inputs) * rounds
    print(
        f"\n{name} : {len(inputs)} avis, {words // rounds:,} mots, {rounds} tours"
        f" ({errors} en erreur)"
    )
    print(f"  classification complète : {n / cls_s:8,.0f} avis/s  {words / cls_s:10,.0f} mots/s")
    print(f"  tokenizer spaCy seul    : {n / tok_s:8,.0f} avis/s  {words / tok_s:10,.0f} mots/s")
    print(f"  rapport classification / tokenizer : {tok_s / cls_s:.2f} (objectif ≥ 0,50)")


def year_store(path: Path, count: int, gold: Path) -> tuple[int, float]:
    """A store of ``count`` notices cloned from the fixtures' shapes; (count, mean length)."""
    from tenderwatch.core.records import CALL_FOR_TENDERS, Notice, RawNotice
    from tenderwatch.core.store import Store

    shapes: list[Notice] = []
    texts = golden_inputs(gold) if gold.exists() else []
    real = ROOT / "tests" / "fixtures" / "notices-text" / "real-2016-2020.jsonl"
    with real.open(encoding="utf-8") as fh:
        texts += [
            NoticeInput(id=r["id"], text=r["text"], title=r["title"], published=r["published"])
            for r in map(json.loads, fh)
        ]
    for item in texts:
        shapes.append(
            Notice(
                id=f"bench:{item.id}",
                source="bench",
                source_id=item.id,
                form="bench",
                title=item.title or "Avis",
                nature=CALL_FOR_TENDERS,
                published=item.published or "2026-01-15",
                text=item.text,
            )
        )
    for raw in fixture_payloads():
        try:
            notice = normalise(raw)
        except Exception:
            continue
        if notice.language in (None, "fr") and notice.text:
            shapes.append(notice)
    store = Store(path)
    for k in range(count):
        shape = shapes[k % len(shapes)]
        clone = replace(shape, id=f"bench:{k}", source="bench", source_id=str(k))
        raw = RawNotice("bench", str(k), "u", "text/plain", f"{k}\n{shape.text}".encode())
        store.save(raw, clone)
    mean = sum(len(s.text or "") for s in shapes) / len(shapes)
    store.close()
    return count, mean


def measure_year(count: int, target: int, gold: Path) -> None:
    """Classify ``count`` stored notices with 1 process, then with every core; extrapolate."""
    from tenderwatch.classifier import Classifier
    from tenderwatch.classifier.parallel import ClassifierPool, default_jobs
    from tenderwatch.core.store import Store
    from tenderwatch.cycle import classify_store

    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp) / "year.db"
        started = time.perf_counter()
        _, mean = year_store(base, count, gold)
        print(
            f"base de {count} avis (longueur moyenne des modèles : {mean:,.0f} caractères)"
            f" construite en {time.perf_counter() - started:.0f} s"
        )
        cores = default_jobs()
        for jobs in dict.fromkeys((1, cores)):
            db = Path(tmp) / f"year-{jobs}.db"
            shutil.copy(base, db)
            store = Store(db)
            # Start-up (spaCy, patterns, worker processes) is paid once per run: measured
            # apart (a warm-up of a few notices), then added once to the extrapolation.
            cpu_before = _cpu_seconds()
            started = time.perf_counter()
            classifier = Classifier() if jobs == 1 else ClassifierPool(jobs)
            try:
                list(classifier.classify_many(warm_up(4 * jobs)))
                startup = time.perf_counter() - started
                steady = time.perf_counter()
                counts = classify_store(store, classifier)
                elapsed = time.perf_counter() - steady
            finally:
                if isinstance(classifier, ClassifierPool):
                    classifier.close()  # reaps the workers: their CPU time is counted below
            wall = time.perf_counter() - started
            cores = (_cpu_seconds() - cpu_before) / wall
            store.close()
            rate = counts["classified"] / elapsed
            hours = (startup + target / rate) / 3600
            print(
                f"  {jobs} processus : démarrage {startup:.1f} s, {counts['classified']} avis en"
                f" {elapsed:.1f} s, {rate:.1f} avis/s → {target:,} avis en {hours:.2f} h"
                f" (objectif < 1 h){'' if hours < 1 else ' — MANQUÉ'} ;"
                f" {cores:.2f} cœur(s) occupé(s) en moyenne, charge {os.getloadavg()[0]:.2f}"
            )


def warm_up(count: int) -> list[NoticeInput]:
    """A few short notices that start every worker (not counted in the rate)."""
    text = "Nettoyage des locaux. Le titulaire réservera 300 heures à l'insertion."
    return [NoticeInput(id=f"warm-{k}", text=text) for k in range(count)]


def _cpu_seconds() -> float:
    """CPU time of this process and of its reaped children (the workers)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gold", type=Path, default=DEFAULT_GOLD)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--year-only", action="store_true", help="only the year extrapolation")
    parser.add_argument("--notices", type=int, default=3000, help="notices measured (year)")
    parser.add_argument("--target", type=int, default=300_000, help="notices extrapolated")
    args = parser.parse_args()
    if args.year_only:
        print(f"charge de la machine (1, 5, 15 min) : {os.getloadavg()}")
        measure_year(args.notices, args.target, args.gold)
        return
    started = time.perf_counter()
    classifier = Classifier()
    print(f"chargement du classifieur : {time.perf_counter() - started:.2f} s")
    if args.gold.exists():
        measure("jeu golden", golden_inputs(args.gold), classifier, args.rounds)
    else:
        print(f"(jeu golden absent : {args.gold})")
    measure("avis français des fixtures", fixture_inputs(), classifier, args.rounds)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\nmémoire maximale du processus : {peak:.0f} Mo (objectif < 500 Mo)")


if __name__ == "__main__":
    main()
