"""Award linking benchmark (issue #12): how long ``awards_to_link`` and ``link_awards`` take.

    python benchmarks/awards.py [--awards 2000]

Stores N calls for tenders (2 lots, an insertion clause of 450 hours on lot 2, a synthetic
classification written as the classifier leaves it, 300 buyers) and N award notices linked to
them through their procedure, then prints the time of ``awards_to_link`` over every notice
id (what one notification cycle passes after a first classification) and of ``link_awards``
on the awards it returns, with the rows written. The setup (storing the notices) is not
timed. A first run over a year of BOAMP awards is this times about fifty.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tenderwatch.core.records import (  # noqa: E402
    AWARD,
    CALL_FOR_TENDERS,
    Lot,
    Notice,
    NoticeLink,
    RawNotice,
)
from tenderwatch.core.store import Store  # noqa: E402
from tenderwatch.notifier.awards import awards_to_link, link_awards  # noqa: E402


def build(store: Store, count: int) -> None:
    """Store ``count`` calls with their classification and ``count`` awards."""
    results = []
    for i in range(count):
        call_id, award_id = f"26-{i:05d}", f"27-{i:05d}"
        call = Notice(
            id=f"boamp:{call_id}",
            source="boamp",
            source_id=call_id,
            form="bench",
            title=f"Travaux du groupe scolaire {i}",
            nature=CALL_FOR_TENDERS,
            published="2026-06-01",
            buyer_siret=str(21260362500000 + i % 300),
            departements=["26"],
            cpv=["45453000"],
            text="x",
            lots=[Lot(lot_id="1", title="Gros œuvre"), Lot(lot_id="2", title="Peinture")],
        )
        store.save(RawNotice("boamp", call_id, "u", "t", f"c{i}".encode()), call)
        results.append(
            {
                "id": call.id,
                "model_version": "bench",
                "labels": {"insertion_clause": True, "allotted": True},
                "lots": [{"id": "1", "labels": []}, {"id": "2", "labels": ["insertion_clause"]}],
                "insertion_hours": 450,
                "evidence": [
                    {"label": "insertion_clause", "lot": "2", "quote": "450 heures", "hours": 450}
                ],
            }
        )
        award = Notice(
            id=f"boamp:{award_id}",
            source="boamp",
            source_id=award_id,
            form="bench",
            title=f"Travaux du groupe scolaire {i}",
            nature=AWARD,
            published="2026-09-01",
            lots=[
                Lot(lot_id="1", result="awarded", winners=["Maçonnerie"]),
                Lot(lot_id="2", result="awarded", winners=["Peintures"]),
            ],
            links=[NoticeLink(kind="corrects", target=call.id)],
        )
        store.save(RawNotice("boamp", award_id, "u", "t", f"a{i}".encode()), award)
    store.save_classifications(results)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--awards", type=int, default=2000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        store = Store(Path(folder) / "bench.db")
        build(store, args.awards)
        ids = [r[0] for r in store.db.execute("SELECT id FROM notices")]
        started = time.perf_counter()
        todo = awards_to_link(store, ids)
        found = time.perf_counter() - started
        started = time.perf_counter()
        report = link_awards(store, todo)
        linked = time.perf_counter() - started
        print(f"{len(ids)} avis : awards_to_link {found:.2f} s ({len(todo)} attributions)")
        print(
            f"link_awards {linked:.2f} s, {report.rows} ligne(s),"
            f" {linked / max(len(todo), 1) * 1000:.2f} ms par attribution"
        )
        store.close()


if __name__ == "__main__":
    main()
