"""Classification benchmark: speed of the full classifier against the spaCy tokenizer alone.

    python benchmarks/classify.py [--gold PATH] [--rounds 3]

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
import resource
import sys
import time
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gold", type=Path, default=DEFAULT_GOLD)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
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
