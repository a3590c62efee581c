"""Facilitator precision over whole sets, not only the labelled sample (issue #12).

``tenderwatch evaluate --gold tests/fixtures/facilitator/gold.jsonl`` scores the 56 notices
labelled with a ``facilitator``. This script runs the extraction over *every* notice of the
golden development set and of the real sets (tests/fixtures/golden, tests/fixtures/real) and
sorts each contact it finds:

- **juste** / **faux**: the notice is labelled in the facilitator gold set and the contact
  equals / differs from the label (fields compared as ``evaluate`` does);
- for the real sets, a contact on a notice *not* in the gold set is **faux**: all 595 real
  notices were searched by hand for a clause contact and only BOAMP 21-33796 names one
  (tests/fixtures/facilitator/PROVENANCE.md);
- for the golden set, such a contact is **non vérifié** and printed, to be read.

Usage: ``python scripts/facilitator_precision.py`` (about 10 s).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tenderwatch.classifier.evaluation import FACILITATOR_FIELDS, _norm_field  # noqa: E402
from tenderwatch.classifier.facilitator import extract  # noqa: E402

FIXTURES = ROOT / "tests" / "fixtures"
SETS = [
    ("golden (synthétique)", FIXTURES / "golden" / "dev.jsonl", False),
    ("réel BOAMP/TED 2020-08", FIXTURES / "real" / "dev-2020-08.jsonl", True),
    ("réel BOAMP 2021 T1", FIXTURES / "real" / "boamp-2021q1-dev.jsonl", True),
]


def normalised(contact: dict | None) -> dict | None:
    if not contact:
        return None
    return {f: _norm_field(f, contact.get(f)) for f in FACILITATOR_FIELDS}


def percent(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f} %".replace(".", ",") if whole else "—"


def main() -> int:
    labels: dict[str, dict | None] = {}
    for line in (FIXTURES / "facilitator" / "gold.jsonl").read_text(encoding="utf-8").splitlines():
        if line.strip():
            record = json.loads(line)
            labels[record["id"]] = record.get("facilitator")
    total_found = total_right = 0
    for name, path, searched_by_hand in SETS:
        found = right = wrong = unverified = missed = 0
        to_read: list[str] = []
        for line in path.read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            record = json.loads(line)
            contact = extract(record.get("text") or "")
            known = record["id"] in labels or searched_by_hand
            expected = normalised(labels.get(record["id"]))
            if contact is None:
                missed += known and expected is not None
                continue
            found += 1
            if not known:
                unverified += 1
                organisation, quote = contact.get("organisation"), contact.get("quote")
                to_read.append(f"    {record['id']}: {organisation} — « {quote} »")
            elif normalised(contact) == expected:
                right += 1
            else:
                wrong += 1
                to_read.append(f"    FAUX {record['id']}: {contact} (attendu : {expected})")
        notices = sum(1 for line in path.read_text(encoding="utf-8").splitlines() if line.strip())
        print(
            f"{name} : {notices} avis, {found} contact(s) trouvé(s) — justes {right}, "
            f"faux {wrong}, non vérifiés {unverified}, manqués {missed} ; "
            f"précision {percent(right, right + wrong)} sur les contacts vérifiés"
        )
        for line in to_read:
            print(line)
        total_found += found
        total_right += right
    print(f"Ensemble : {total_right} contact(s) juste(s) sur {total_found} trouvé(s).")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
