"""Build ``tenderwatch/replay/data/`` (the notices the offline replay serves) from the
recorded fixtures in ``tests/fixtures/``.

    python scripts/build_replay_data.py

BOAMP: the 5 real API records verbatim; the DILA XML notices (3.2.5 and v230) turned into
API-shaped records by ``boamp_xml_to_record``; one corrigendum derived from a real record.
TED: the real French notices (eForms and R2.0.9), and the TED form of BOAMP notice 26-87466
(its eForms part with the OASIS namespaces), so that the BOAMP/TED link can be seen.
"""

from __future__ import annotations

import json
import re
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tenderwatch.crawler.normalise.boamp import boamp_xml_to_record  # noqa: E402
from tenderwatch.crawler.normalise.eforms import normalise_eforms_bytes  # noqa: E402
from tenderwatch.crawler.normalise.ted_r209 import normalise_ted_r209_bytes  # noqa: E402
from tenderwatch.replay.derive import derive_corrigendum, ted_form_of_boamp_eforms  # noqa: E402

FIXTURES = ROOT / "tests" / "fixtures"
OUT = ROOT / "tenderwatch" / "replay" / "data"
TED_EFORMS_FR = [
    "2024-OJS015-00041387",
    "2024-OJS017-00047522",
    "2024-OJS044-00129266",
    "2024-OJS074-00219998",
]
DERIVED_TED_NUMBER = "700001-2026"


def dumps(record: dict) -> str:
    return json.dumps(record, ensure_ascii=False, separators=(",", ":"))


def boamp_records() -> list[str]:
    page = json.loads(
        (FIXTURES / "boamp-api" / "boamp-where-date.json").read_text(encoding="utf-8")
    )
    real = page["data"]["results"]
    records = [dumps(r) for r in real]
    for folder in ("boamp-xml-v3", "boamp-xml-v230"):
        for path in sorted((FIXTURES / folder).glob("*.xml")):
            records.append(dumps(boamp_xml_to_record(path.read_bytes())))
    initial = next(r for r in real if r["idweb"] == "26-7298")
    records.append(
        dumps(
            derive_corrigendum(
                initial,
                idweb="26-9100",
                published="2026-01-28",
                deadline="2026-02-23T12:00:00.000+01:00",
            )
        )
    )
    return records


def ted_entries() -> list[tuple[dict, bytes]]:
    entries = []
    for name in TED_EFORMS_FR:
        body = (FIXTURES / "ted-eforms" / "ted-rdf-mapping-eforms" / f"{name}.xml").read_bytes()
        notice = normalise_eforms_bytes(body)
        entries.append((notice, body))
    for path in sorted((FIXTURES / "ted-r209").glob("*.xml")):
        body = path.read_bytes()
        notice = normalise_ted_r209_bytes(body)
        # The buyer's country (CODED_DATA_SECTION/NOTICE_DATA/ISO_COUNTRY): French buyers only.
        if re.search(rb'<ISO_COUNTRY VALUE="FR"', body):
            entries.append((notice, body))
    # The TED publication of BOAMP 26-87466 (derived: BOAMP's eForms with OASIS namespaces).
    body = ted_form_of_boamp_eforms((FIXTURES / "boamp-xml-v3" / "26-87466.xml").read_bytes())
    notice = normalise_eforms_bytes(body, source_id=DERIVED_TED_NUMBER)
    notice.published = boamp_xml_to_record(
        (FIXTURES / "boamp-xml-v3" / "26-87466.xml").read_bytes()
    )["dateparution"]
    entries.append((notice, body))
    return entries


def main() -> None:
    if OUT.exists():
        for sub in ("boamp", "ted"):
            shutil.rmtree(OUT / sub, ignore_errors=True)
    (OUT / "boamp").mkdir(parents=True, exist_ok=True)
    (OUT / "ted" / "xml").mkdir(parents=True, exist_ok=True)
    records = boamp_records()
    (OUT / "boamp" / "records.jsonl").write_text("\n".join(records) + "\n", encoding="utf-8")
    index = []
    for notice, body in ted_entries():
        number = notice.source_id
        index.append(
            {
                "publication-number": number,
                "publication-date": f"{notice.published}+01:00",
                "notice-type": notice.form,
                "buyer-country": ["FRA"],
            }
        )
        (OUT / "ted" / "xml" / f"{number}.xml").write_bytes(body)
    (OUT / "ted" / "index.json").write_text(json.dumps(index, indent=1) + "\n", encoding="utf-8")
    print(f"{len(records)} enregistrements BOAMP, {len(index)} avis TED écrits dans {OUT}")


if __name__ == "__main__":
    main()
