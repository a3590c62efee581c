"""``tenderwatch classify`` on every core (issue #9): the same results with one process and
with two, in the store and in file mode, in the input order; progress on stderr; -q silent.

The store is filled with every recorded fixture notice (normalised by the harvest), the 53
real notices of ``tests/fixtures/notices-text`` (clauses, lots, hours) and one real notice
padded past 400 000 characters (classified in chunks). The CLI runs as a real process
(``python -m tenderwatch``), whose workers are real spawned processes.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tenderwatch.classifier import MODEL_VERSION
from tenderwatch.classifier.parallel import AUTO_MIN_PER_WORKER, ClassifierPool
from tenderwatch.core.records import CALL_FOR_TENDERS, Notice, RawNotice
from tenderwatch.core.store import Store
from tests.conftest import FIXTURES
from tests.e2e.test_classify_fixtures import real_french_notices

REAL_TEXTS = FIXTURES / "notices-text" / "real-2016-2020.jsonl"
#: What a classification says, compared between runs (not when it was made).
COLUMNS = (
    "notice_id, model_version, labels, positive, lots, insertion_hours, evidence, conflicts,"
    " max_lots_per_bidder, error, content_hash, confidence, truncated, warnings"
)

pytestmark = pytest.mark.timeout(600)


def real_texts() -> list[dict]:
    with REAL_TEXTS.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def text_notice(notice_id: str, title: str, text: str, published: str) -> tuple[RawNotice, Notice]:
    notice = Notice(
        id=f"boamp:{notice_id}",
        source="boamp",
        source_id=notice_id,
        form="test",
        title=title,
        nature=CALL_FOR_TENDERS,
        published=published,
        text=text,
    )
    raw = RawNotice("boamp", notice_id, "u", "text/plain", text.encode())
    return raw, notice


@pytest.fixture(scope="module")
def filled_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    db = tmp_path_factory.mktemp("parallel") / "base.db"
    store = Store(db)
    for raw, notice in real_french_notices().values():
        store.save(raw, notice)
    texts = real_texts()
    for row in texts:
        store.save(*text_notice(row["id"], row["title"], row["text"], row["published"]))
    long_text = "\n\n".join(r["text"] for r in texts[20:35]) + "\n\n"
    long_text = long_text * (410_000 // len(long_text) + 1) + texts[6]["text"]
    store.save(*text_notice("long-1", "Avis très long", long_text, "2020-08-15"))
    store.close()
    return db


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TENDERWATCH_")}
    return subprocess.run(
        [sys.executable, "-m", "tenderwatch", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=500,
        check=False,
    )


def classifications(db: Path) -> dict[str, tuple]:
    store = Store(db)
    rows = store.db.execute(f"SELECT {COLUMNS} FROM classifications").fetchall()
    store.close()
    return {row[0]: tuple(row) for row in rows}


def test_store_mode_gives_the_same_results_with_one_and_two_processes(
    filled_db: Path, tmp_path: Path
) -> None:
    one, two = tmp_path / "one.db", tmp_path / "two.db"
    shutil.copy(filled_db, one)
    shutil.copy(filled_db, two)
    first = run_cli("classify", "--db", str(one), "--jobs", "1")
    assert first.returncode == 0, first.stderr
    second = run_cli("classify", "--db", str(two), "--jobs", "2")
    assert second.returncode == 0, second.stderr
    a, b = classifications(one), classifications(two)
    total = len(a)
    assert total >= 100
    assert a == b
    assert "(1 processus)" in first.stdout and "(2 processus)" in second.stdout
    # progress on stderr (not a terminal here: the last page's line), summary on stdout
    assert f"{total} avis à classer avec le modèle {MODEL_VERSION}" in second.stderr
    assert f"classés : {total}/{total} (" in second.stderr and "avis/s" in second.stderr
    # the padded notice was read whole (its clause is at the end), nothing truncated
    assert "0 texte(s) tronqué(s)" in second.stdout
    long = json.loads(b["boamp:long-1"][2])
    assert long["insertion_clause"] is True and b["boamp:long-1"][12] == 0
    positives = [row for row in b.values() if row[3] and row[3] != "allotted"]
    assert len(positives) >= 15  # the comparison is not only between empty results
    # nothing is left to do for either
    again = run_cli("classify", "--db", str(two), "--jobs", "2")
    assert "0 avis à classer" in again.stderr


def test_file_mode_keeps_the_order_and_the_results_with_two_processes(tmp_path: Path) -> None:
    rows = real_texts()
    lines = [
        json.dumps(
            {"id": r["id"], "text": r["text"], "title": r["title"], "published": r["published"]}
        )
        for r in rows
    ]
    lines.insert(10, "{pas du json")  # an error line keeps its place too
    src = tmp_path / "in.jsonl"
    src.write_text("\n".join(lines) + "\n", encoding="utf-8")
    outputs = {}
    for jobs in ("1", "2"):
        out = tmp_path / f"out-{jobs}.jsonl"
        done = run_cli("classify", "--input", str(src), "--output", str(out), "--jobs", jobs)
        assert done.returncode == 0, done.stderr
        outputs[jobs] = out.read_text(encoding="utf-8")
    assert outputs["1"] == outputs["2"]
    ids = [json.loads(line)["id"] for line in outputs["2"].splitlines()]
    expected = [r["id"] for r in rows]
    expected.insert(10, "ligne 11")
    assert ids == expected


def test_quiet_prints_nothing(filled_db: Path, tmp_path: Path) -> None:
    db = tmp_path / "q.db"
    shutil.copy(filled_db, db)
    done = run_cli("-q", "classify", "--db", str(db), "--jobs", "1", "--limit", "5")
    assert done.returncode == 0, done.stderr
    assert done.stdout == "" and done.stderr == ""
    assert len(classifications(db)) == 5


def test_automatic_jobs_stay_in_one_process_for_a_small_input() -> None:
    rows = real_texts()
    from tenderwatch.classifier import NoticeInput

    inputs = [NoticeInput(id=r["id"], text=r["text"]) for r in rows[:5]]
    with ClassifierPool(None) as pool:
        pool.jobs = 2  # as on a two-core machine, whatever this one has
        results = list(pool.classify_many(inputs))
        assert pool.used_jobs == 1
    assert [r["id"] for r in results] == [i.id for i in inputs]
    assert len(inputs) < AUTO_MIN_PER_WORKER
