"""Every French notice among the recorded fixtures, normalised by the harvest, is classified;
the hard negatives of shared/samples/INDEX.csv come out negative; and the expected labels of
the real samples are listed here, decided by reading each notice (not copied from output).

Sources of the expectations: INDEX.csv's curated notes (the only real French positive is
19-090974, reserved to EA/ESAT under article 36-I of the 2015 ordonnance) and each form's
own lot division (DIV_EN_LOTS, lot lists, lot decisions of award notices).
"""

from __future__ import annotations

import json
from dataclasses import asdict

import pytest

from tenderwatch.classifier import Classifier, NoticeInput
from tenderwatch.classifier.labels import SOCIAL_LABELS
from tenderwatch.core.records import RawNotice
from tenderwatch.crawler.normalise import normalise
from tests.conftest import FIXTURES

SOCIAL = set(SOCIAL_LABELS)

# Real notices with a social label, and why.
POSITIVES = {
    # "le présent marché est reservé aux entreprises adaptées … à des établissements et
    # services d'aide par le travail" (art. 36-I ord. 2015-899). The form also ticks
    # RESERVED_ORGANISATIONS_SERVICE_MISSION (eForms res-pub-ser: reserved_other) although the
    # text does not say so: both are kept and the disagreement is reported as a conflict.
    "ted-r209/19-090974-001-EXP.xml": {"reserved_disability", "reserved_other"},
    "ted-r209-converted-eforms/19-090974-001-EXP.xml": {"reserved_disability", "reserved_other"},
}

# Real notices divided into lots (the form's division flag, its lot list, or per-lot award
# decisions); every other real French fixture is not allotted.
ALLOTTED = {
    "boamp-api:26-7113",  # 4 lots (isolation, toiture, menuiserie, peinture)
    "boamp-api:26-7308",  # 7 lots, one per URSSAF site
    "boamp-api:26-7319",  # "Relance_Lot 2 … et Lot 5"
    "boamp-xml-v3/26-87466.xml",  # LOT-0001, LOT-0002
    "boamp-xml-v230/test-pub.xml",  # DIV_EN_LOTS OUI, 2 lots
    "boamp-xml-v230/test-pub-5.xml",  # DIV_EN_LOTS OUI, 2 lots
    "boamp-xml-v230/test-attribution-12.xml",  # DIV_EN_LOTS OUI, 21 lots
    "boamp-xml-v230/test-attribution-4.xml",  # award decisions for lots 1, 2 and 3
    "ted-eforms/ted-rdf-conversion-pipeline/547670-2023.xml",  # 3 lots
    "ted-eforms/ted-rdf-mapping-eforms/2024-OJS017-00047522.xml",  # 2 lots (verre, papier)
    "ted-eforms/ted-rdf-mapping-eforms/2024-OJS065-00191534.xml",  # 5 lots
    "ted-eforms/ted-rdf-mapping-eforms/2024-OJS198-00611835.xml",  # 6 lots
    "ted-eforms/ted-rdf-mapping-eforms/2024-OJS198-00612681.xml",  # 25 lots
    "ted-r209/18-412273-001-EXP.xml",  # 5 lots
    "ted-r209/21-298854-001-EXP.xml",  # 6 lots
    "ted-r209-converted-eforms/21-298854-001-EXP.xml",  # the same, converted
}

# INDEX.csv's French hard negatives (its notes quoted).
HARD_NEGATIVES = {
    "boamp-xml-v230/test-pub-2.xml": "travailleurs handicapés only in L5212 employment-obligation boilerplate",
    "boamp-xml-v230/test-pub-3.xml": '"logements sociaux" + PRESTATION_RESERVEE_OUI (reserved profession)',
    "boamp-xml-v230/test-pub-4.xml": "travailleurs handicapés only in L5212 employment-obligation boilerplate",
    "boamp-xml-v230/test-pub-7.xml": "travailleurs handicapés only in L5212 employment-obligation boilerplate",
    "boamp-xml-v230/test-pub-8.xml": "L5212 boilerplate; DIV_EN_LOTS NON although two identical LOT entries",
    "boamp-xml-v230/test-pub.xml": "environmental criteria and execution conditions only",
    "ted-eforms/ted-rdf-mapping-eforms/2024-OJS017-00047522.xml": "travailleurs handicapés only in DC1 boilerplate",
    "ted-eforms/ted-rdf-mapping-eforms/2024-OJS044-00129266.xml": "design contest for building an ESAT",
    "ted-r209/20-179994-001-EXP.xml": '"insertion dans le site" (architecture)',
}

REAL_FOLDERS = (
    "boamp-api",
    "boamp-xml-v3",
    "boamp-xml-v230",
    "ted-eforms",
    "ted-r209",
    "ted-r209-converted-eforms",
)


def real_french_notices() -> dict[str, tuple[RawNotice, object]]:
    out = {}
    for record in json.loads((FIXTURES / "boamp-api" / "boamp-where-date.json").read_text("utf-8"))[
        "data"
    ]["results"]:
        raw = RawNotice(
            "boamp", record["idweb"], "u", "application/json", json.dumps(record).encode()
        )
        out[f"boamp-api:{record['idweb']}"] = raw
    for folder in REAL_FOLDERS[1:]:
        source = "boamp" if folder.startswith("boamp") else "ted"
        for path in sorted((FIXTURES / folder).rglob("*.xml")):
            out[str(path.relative_to(FIXTURES))] = RawNotice(
                source, path.stem, "u", "application/xml", path.read_bytes()
            )
    notices = {}
    for key, raw in out.items():
        notice = normalise(raw)
        if notice.language in (None, "fr"):
            notices[key] = (raw, notice)
    return notices


@pytest.fixture(scope="module")
def results() -> dict[str, dict]:
    notices = real_french_notices()
    classifier = Classifier()
    inputs = [
        NoticeInput(
            id=key,
            text=n.text,
            title=n.title,
            published=n.published,
            signals=asdict(n.signals),
            lots=[
                {"lot_id": lot.lot_id, "title": lot.title, "signals": asdict(lot.signals)}
                for lot in n.lots
            ],
        )
        for key, (_, n) in notices.items()
    ]
    return {r["id"]: r for r in classifier.classify_many(inputs)}


def positive(result: dict) -> set[str]:
    return {k for k, v in result["labels"].items() if v}


def test_every_french_fixture_notice_is_classified(results: dict[str, dict]) -> None:
    assert len(results) >= 45  # 5 API records, 21 BOAMP XML, French TED eForms and R2.0.9
    assert not [key for key, r in results.items() if r.get("error")]


def test_the_hard_negatives_come_out_negative(results: dict[str, dict]) -> None:
    for key, why in HARD_NEGATIVES.items():
        assert positive(results[key]) & SOCIAL == set(), f"{key}: {why}"


def test_the_real_samples_have_their_expected_labels(results: dict[str, dict]) -> None:
    wrong = {}
    for key, result in results.items():
        expected = set(POSITIVES.get(key, set())) | ({"allotted"} if key in ALLOTTED else set())
        if positive(result) != expected:
            wrong[key] = (sorted(positive(result)), sorted(expected))
    assert wrong == {}


def test_the_structured_text_disagreement_is_reported(results: dict[str, dict]) -> None:
    conflicts = results["ted-r209/19-090974-001-EXP.xml"]["conflicts"]
    assert {c["label"] for c in conflicts} == {"reserved_other"}
    evidence = [
        e
        for e in results["ted-r209/19-090974-001-EXP.xml"]["evidence"]
        if e["label"] == "reserved_disability" and e["source"] == "text"
    ]
    assert "entreprises adaptées" in evidence[0]["quote"]
    assert evidence[0]["legal_basis"]["norm"] == "ORD2015:36-I"
