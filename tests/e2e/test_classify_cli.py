"""``tenderwatch classify`` and ``evaluate``: the JSONL contract of architecture.md, the store
mode (only what the current model version has not classified), the evaluation report."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from tenderwatch.classifier import LABELS, MODEL_VERSION
from tenderwatch.cli import main
from tenderwatch.core.records import CALL_FOR_TENDERS, Notice, RawNotice
from tenderwatch.core.store import Store

CLAUSE = (
    "Conditions d'exécution : conformément à l'article L. 2112-2 du code de la commande publique, "
    "le titulaire réservera au moins 1 200 heures de travail à des personnes éloignées de l'emploi."
)
RESERVED = (
    "Le lot n° 2 est réservé aux structures d'insertion par l'activité économique mentionnées à "
    "l'article L. 5132-4 du code du travail, en application de l'article L. 2113-13 du code de la "
    "commande publique."
)
NEGATIVE = "Nettoyage des locaux. Marché réservé : non. Le pouvoir adjudicateur se réserve le droit de ne pas donner suite."


def write_jsonl(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def run(args: list[str]) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, args)
    return result.exit_code, result.stdout, result.stderr


def test_file_mode_writes_one_line_per_input_in_order(tmp_path: Path) -> None:
    src = write_jsonl(
        tmp_path / "in.jsonl",
        [
            json.dumps({"id": "a", "text": CLAUSE, "published": "2024-05-02"}),
            "{pas du json",
            json.dumps({"id": "b", "text": NEGATIVE}),
            json.dumps({"id": "c"}),
            json.dumps(
                {"id": "d", "title": "Entretien", "text": RESERVED, "published": "2023-01-10"}
            ),
        ],
    )
    out = tmp_path / "out.jsonl"
    code, _, err = run(
        ["classify", "--input", str(src), "--output", str(out), "--db", str(tmp_path / "t.db")]
    )
    assert code == 0, err
    results = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [r["id"] for r in results] == ["a", "ligne 2", "b", "c", "d"]
    assert all(r["model_version"] == MODEL_VERSION for r in results)
    assert all(set(r["labels"]) == set(LABELS) for r in results)
    assert results[1]["error"].startswith("JSON invalide")
    assert "text" in results[3]["error"]
    assert results[0]["labels"]["insertion_clause"] is True
    assert results[2]["labels"] == dict.fromkeys(LABELS, False)
    assert results[4]["labels"]["reserved_siae"] is True


def test_file_mode_evidence_quotes_the_input_text(tmp_path: Path) -> None:
    text = "Marché de travaux.\u00a0" + CLAUSE.replace("'", "\u2019")
    src = write_jsonl(
        tmp_path / "in.jsonl", [json.dumps({"id": "x", "text": text, "published": "2024-05-02"})]
    )
    out = tmp_path / "out.jsonl"
    assert run(["classify", "--input", str(src), "--output", str(out)])[0] == 0
    result = json.loads(out.read_text(encoding="utf-8"))
    assert result["evidence"]
    for ev in result["evidence"]:
        assert text[ev["start"] : ev["end"]] == ev["quote"]
    clause = [ev for ev in result["evidence"] if ev["label"] == "insertion_clause"]
    assert clause[0]["legal_basis"]["norm"] == "CCP:L2112-2"
    assert result["insertion_hours"] == 1200


def test_output_without_input_is_a_usage_error(tmp_path: Path) -> None:
    code, _, _err = run(
        ["classify", "--output", str(tmp_path / "o.jsonl"), "--db", str(tmp_path / "t.db")]
    )
    assert code == 2


def save(store: Store, notice_id: str, text: str) -> None:
    notice = Notice(
        id=f"boamp:{notice_id}",
        source="boamp",
        source_id=notice_id,
        form="test",
        title="Avis",
        nature=CALL_FOR_TENDERS,
        published="2024-05-02",
        text=text,
    )
    raw = RawNotice(
        source="boamp",
        source_id=notice_id,
        url="u",
        content_type="application/json",
        body=text.encode(),
    )
    store.save(raw, notice)


def test_store_mode_classifies_each_notice_once_per_model_version(tmp_path: Path) -> None:
    db = tmp_path / "t.db"
    store = Store(db)
    save(store, "24-1", CLAUSE)
    save(store, "24-2", NEGATIVE)
    code, _out, err = run(["classify", "--db", str(db)])
    assert code == 0, err
    assert "2 avis à classer" in err
    rows = {r["notice_id"]: r for r in store.db.query("SELECT * FROM classifications")}
    assert set(rows) == {"boamp:24-1", "boamp:24-2"}
    assert rows["boamp:24-1"]["positive"] == "insertion_clause"
    assert rows["boamp:24-1"]["model_version"] == MODEL_VERSION
    _, _, err = run(["classify", "--db", str(db)])
    assert "0 avis à classer" in err
    assert store.db["classifications"].count == 2


def test_a_new_model_version_reclassifies(store: Store) -> None:
    save(store, "24-1", CLAUSE)
    store.save_classifications([{"id": "boamp:24-1", "model_version": "old-1", "labels": {}}])
    assert [r["id"] for r in store.notices_to_classify("old-1")] == []
    assert [r["id"] for r in store.notices_to_classify(MODEL_VERSION)] == ["boamp:24-1"]


def test_evaluate_prints_every_label_micro_macro_and_lots(tmp_path: Path) -> None:
    gold = {
        "id": "g1",
        "source": "synthetic",
        "url": None,
        "published": "2024-05-02",
        "title": "t",
        "text": CLAUSE,
        "labels": {**dict.fromkeys(LABELS, False), "insertion_clause": True},
        "lots": [],
        "insertion_hours": 1200,
        "evidence": [],
        "notes": "",
    }
    path = write_jsonl(tmp_path / "gold.jsonl", [json.dumps(gold)])
    code, out, err = run(["evaluate", "--gold", str(path)])
    assert code == 0, err
    for label in LABELS:
        assert label in out
    assert "micro" in out.lower() and "macro" in out.lower()
    assert "lots" in out.lower()


@pytest.mark.parametrize("content", ["{pas du json\n"])
def test_evaluate_rejects_a_broken_gold_file(tmp_path: Path, content: str) -> None:
    path = tmp_path / "gold.jsonl"
    path.write_text(content, encoding="utf-8")
    code, out, err = run(["evaluate", "--gold", str(path)])
    assert code == 1
    assert "JSON invalide" in (out + err)


def test_a_notice_whose_content_changed_is_classified_again(tmp_path: Path) -> None:
    db = tmp_path / "t.db"
    store = Store(db)
    save(store, "24-1", NEGATIVE)
    run(["classify", "--db", str(db)])
    assert store.classification("boamp:24-1")["labels"]["insertion_clause"] is False
    save(store, "24-1", CLAUSE)  # the same notice re-published with a clause
    _, _, err = run(["classify", "--db", str(db)])
    assert "1 avis à classer" in err
    assert store.classification("boamp:24-1")["labels"]["insertion_clause"] is True
