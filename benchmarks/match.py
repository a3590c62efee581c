"""Matching benchmark: the group index against the nested loop over every group and notice.

    python benchmarks/match.py [--groups 5000] [--notices 2000] [--seed 7]

Generates a seeded random but realistic population — groups of every kind with territories of
1 to 10 départements or 1 to 3 régions (about 20 % covering all of France), CPV prefixes,
some keywords and value bounds; classified notices of which about 30 % carry a social label
and about half are allotted into 2 to 8 lots — then prints, for one process: the time of
``GroupIndex.match_all`` over every notice, the pairs (group × notice) per second that
represents, the matches found, and the nested loop of ``match()`` on a subset for comparison
(with a check that both give the same matches there). All-France groups narrow their sectors
more often (90 %) than local ones (60 %): a national group without any filter would receive
every clause of the country.

``make_groups`` and ``make_notices`` are also used by the tests (index == brute force).
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tenderwatch.notifier.geo import all_departements, all_regions  # noqa: E402
from tenderwatch.notifier.matching import GroupIndex, match  # noqa: E402
from tenderwatch.notifier.models import (  # noqa: E402
    DISABILITY_KINDS,
    SIAE_KINDS,
    SOCIAL_LABELS,
    Group,
    LotView,
    NoticeView,
)

# Sectors where clauses and reserved lots are frequent, with a weight.
CPV_CODES = {
    "77310000": 6,  # green spaces
    "77211000": 2,  # forestry
    "90910000": 6,  # cleaning
    "90919200": 4,  # office cleaning
    "90600000": 3,  # street cleaning
    "90500000": 3,  # refuse
    "45000000": 5,  # construction work
    "45210000": 4,  # building
    "45400000": 3,  # finishing
    "45233140": 3,  # roads
    "79620000": 3,  # staffing
    "55520000": 3,  # catering
    "60100000": 2,  # road transport
    "98341140": 2,  # caretaking
    "39100000": 2,  # furniture
    "30190000": 1,  # office supplies
    "72000000": 2,  # IT
    "71000000": 2,  # architecture, engineering
    "85310000": 1,  # social work
    "80500000": 1,  # training
    "79710000": 1,  # security
    "64110000": 1,  # postal
}
WORDS = [
    "entretien",
    "espaces verts",
    "nettoyage",
    "locaux",
    "voirie",
    "tonte",
    "élagage",
    "déchets",
    "blanchisserie",
    "restauration",
    "repas",
    "menuiserie",
    "peinture",
    "électricité",
    "plomberie",
    "déménagement",
    "archives",
    "numérisation",
    "reprographie",
    "conciergerie",
]
KINDS = {
    "siae": [["ACI"], ["EI"], ["AI"], ["ETTI"], ["ACI", "EI"], ["EITI"]],
    "ea_esat": [["EA"], ["ESAT"], ["EA", "ESAT"], ["EATT"]],
    "consortium": [["EI", "ETTI", "ACI", "AI"], ["ACI", "EA"], ["EI", "ESAT"]],
    "network": [list(SIAE_KINDS), list(DISABILITY_KINDS), []],
}


def _cpv(rng: random.Random, k: int) -> list[str]:
    return rng.choices(list(CPV_CODES), weights=list(CPV_CODES.values()), k=k)


def make_groups(n: int, seed: int = 7) -> list[Group]:
    """``n`` groups with a realistic mix of kinds, territories and filters."""
    rng = random.Random(seed)
    deps = sorted(all_departements())
    regions = sorted(all_regions())
    groups = []
    for i in range(n):
        kind = rng.choices(list(KINDS), weights=[50, 25, 15, 10])[0]
        group = Group(id=f"g{i}", name=f"Groupe {i}", kind=kind)
        group.structure_kinds = list(rng.choice(KINDS[kind]))
        r = rng.random()
        if r < 0.6:
            group.departements = rng.sample(deps, rng.randint(1, 10))
        elif r < 0.8:
            group.regions = rng.sample(regions, rng.randint(1, 3))
        # else: all of France (about 20 %): national networks and specialised structures,
        # which nearly always narrow the sectors.
        if rng.random() < (0.6 if r < 0.8 else 0.9):
            group.cpv_prefixes = sorted(
                {c[: rng.choice((2, 2, 3, 4))] for c in _cpv(rng, rng.randint(1, 4))}
            )
        if rng.random() < 0.15:
            group.keywords = rng.sample(WORDS, rng.randint(1, 3))
        if rng.random() < 0.1:
            group.exclude_keywords = rng.sample(WORDS, 1)
        if rng.random() < 0.2:
            group.labels = rng.sample(list(SOCIAL_LABELS), rng.randint(1, 4))
        group.awards = rng.random() < 0.1
        if rng.random() < 0.2:
            group.min_value = rng.choice((None, 10_000.0, 40_000.0))
            group.max_value = rng.choice((None, 500_000.0, 2_000_000.0))
        groups.append(group)
    return groups


def _labels(rng: random.Random) -> list[str]:
    weights = {
        "insertion_clause": 50,
        "insertion_criterion": 20,
        "reserved_siae": 12,
        "reserved_disability": 12,
        "insertion_contract": 4,
        "reserved_other": 2,
    }
    picked = set(rng.choices(list(weights), weights=list(weights.values()), k=rng.randint(1, 2)))
    return [lb for lb in SOCIAL_LABELS if lb in picked]


def make_notices(n: int, seed: int = 11) -> list[NoticeView]:
    """``n`` classified notices: ~30 % with a social label, ~half allotted into 2–8 lots."""
    rng = random.Random(seed)
    deps = sorted(all_departements())
    notices = []
    for i in range(n):
        nature = rng.choices(
            ("call_for_tenders", "award", "corrigendum", "other"), weights=[85, 5, 7, 3]
        )[0]
        words = rng.sample(WORDS, 3)
        notice = NoticeView(
            id=f"n{i}",
            title=f"{words[0].capitalize()} et {words[1]}",
            nature=nature,
            text=f"Marché de {words[0]}, {words[1]} et {words[2].upper()} pour la commune.",
            departements=rng.sample(deps, rng.choice((1, 1, 1, 2))) if rng.random() < 0.9 else [],
            cpv=_cpv(rng, rng.randint(1, 3)) if rng.random() < 0.95 else [],
            estimated_value=rng.choice((None, None, 15_000.0, 90_000.0, 300_000.0, 3_000_000.0)),
        )
        if rng.random() < 0.05:
            notice.canonical_id = f"n{max(i - 1, 0)}"  # a copy from another source
        social = rng.random() < 0.3
        allotted = rng.random() < 0.5
        labels = _labels(rng) if social else []
        if allotted:
            lots = []
            for k in range(1, rng.randint(2, 8) + 1):
                lot = LotView(id=str(k), title=f"Lot {k} : {rng.choice(WORDS)}")
                if rng.random() < 0.5:
                    lot.cpv = _cpv(rng, 1)
                if rng.random() < 0.1:
                    lot.departements = rng.sample(deps, 1)
                if rng.random() < 0.5:
                    lot.estimated_value = rng.choice((8_000.0, 60_000.0, 250_000.0, 900_000.0))
                if rng.random() < 0.03:
                    lot.status = "cancelled"
                lots.append(lot)
            if social:
                for label in labels:
                    # A reservation sits on one or two lots; a clause often on the whole notice.
                    if label.startswith("reserved") or rng.random() < 0.5:
                        for lot in rng.sample(lots, rng.randint(1, min(2, len(lots)))):
                            lot.labels.append(label)
            notice.lots = lots
        notice.labels = {label: label in labels for label in SOCIAL_LABELS}
        notice.labels["allotted"] = allotted
        notices.append(notice)
    return notices


def brute_force(groups: list[Group], notices: list[NoticeView]) -> list:
    return [m for n in notices for g in groups if (m := match(g, n)) is not None]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--groups", type=int, default=5000)
    parser.add_argument("--notices", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--subset-groups", type=int, default=500)
    parser.add_argument("--subset-notices", type=int, default=200)
    args = parser.parse_args(argv)

    groups = make_groups(args.groups, args.seed)
    notices = make_notices(args.notices, args.seed + 1)
    social = sum(1 for n in notices if n.social_labels)
    allotted = sum(1 for n in notices if n.lots)
    print(
        f"population: {len(groups)} groups, {len(notices)} notices "
        f"({social} with a social label, {allotted} allotted)"
    )

    start = time.perf_counter()
    index = GroupIndex(groups)
    built = time.perf_counter() - start
    start = time.perf_counter()
    matches = list(index.match_all(notices))
    elapsed = time.perf_counter() - start
    pairs = len(groups) * len(notices)
    print(f"index build: {built:.2f} s")
    candidates = sum(len(index.candidates(n)) for n in notices)
    print(
        f"candidates after the index: {candidates:,} pairs "
        f"({100 * candidates / (len(groups) * len(notices)):.1f} % of all pairs)"
    )
    print(
        f"GroupIndex.match_all: {elapsed:.2f} s for {pairs:,} pairs = "
        f"{pairs / elapsed:,.0f} pairs/s, {len(matches):,} matches"
    )

    sub_groups = groups[: args.subset_groups]
    sub_notices = notices[: args.subset_notices]
    sub_pairs = len(sub_groups) * len(sub_notices)
    start = time.perf_counter()
    expected = brute_force(sub_groups, sub_notices)
    brute = time.perf_counter() - start
    start = time.perf_counter()
    got = list(GroupIndex(sub_groups).match_all(sub_notices))
    indexed = time.perf_counter() - start
    print(
        f"subset {len(sub_groups)} × {len(sub_notices)} = {sub_pairs:,} pairs: nested loop "
        f"{brute:.2f} s ({sub_pairs / brute:,.0f} pairs/s), index {indexed:.3f} s "
        f"({sub_pairs / indexed:,.0f} pairs/s), ×{brute / indexed:.0f}; "
        f"same matches: {'yes' if got == expected else 'NO'} ({len(expected):,})"
    )
    print(
        f"nested loop extrapolated to the full population: {brute * pairs / sub_pairs:.1f} s "
        f"(index: {elapsed:.2f} s)"
    )
    if got != expected:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
