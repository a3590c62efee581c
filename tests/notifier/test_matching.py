"""Matching: eligibility, lots, territory, keywords, values, natures; the index equals the loop."""

import pytest

from benchmarks.match import brute_force, make_groups, make_notices
from tenderwatch.notifier.matching import GroupIndex, eligibility_rules, explain_no_match, match
from tenderwatch.notifier.models import SOCIAL_LABELS, Group, LotView, NoticeView


def group(**kw) -> Group:
    kw.setdefault("id", "g")
    kw.setdefault("name", kw["id"])
    kw.setdefault("kind", "network")
    return Group(**kw)


ACI = dict(id="aci", kind="siae", structure_kinds=["ACI"])
EA = dict(id="ea", kind="ea_esat", structure_kinds=["EA", "ESAT"])


def notice(labels=("insertion_clause",), lots=None, **kw) -> NoticeView:
    kw.setdefault("id", "n1")
    kw.setdefault("title", "Entretien des espaces verts")
    kw.setdefault("nature", "call_for_tenders")
    kw.setdefault("departements", ["26"])
    kw.setdefault("cpv", ["77310000"])
    flags = {label: label in labels for label in SOCIAL_LABELS}
    flags["allotted"] = bool(lots)
    return NoticeView(labels=flags, lots=lots or [], **kw)


def reserved(label: str) -> NoticeView:
    """An allotted notice whose lot 2 only carries ``label``."""
    return notice(
        labels=(label,),
        lots=[LotView(id="1"), LotView(id="2", labels=[label]), LotView(id="3")],
    )


# --- eligibility ------------------------------------------------------------------------------


def test_disability_lot_not_sent_to_aci_only_group() -> None:
    assert match(group(**ACI), reserved("reserved_disability")) is None


def test_disability_lot_sent_to_ea_group() -> None:
    m = match(group(**EA), reserved("reserved_disability"))
    assert m is not None and m.lots == ["2"] and m.labels == ["reserved_disability"]


def test_siae_lot_not_sent_to_ea_group() -> None:
    assert match(group(**EA), reserved("reserved_siae")) is None


def test_siae_lot_sent_to_aci_group() -> None:
    m = match(group(**ACI), reserved("reserved_siae"))
    assert m is not None and m.lots == ["2"]


@pytest.mark.parametrize("members", [ACI, EA])
def test_joint_reservation_reaches_both(members: dict) -> None:
    joint = notice(
        labels=("reserved_siae", "reserved_disability"),
        lots=[LotView(id="4", labels=["reserved_siae", "reserved_disability"])],
    )
    m = match(group(**members), joint)
    assert m is not None and m.lots == ["4"]
    assert any("L. 2113-14" in r for r in m.reasons)


@pytest.mark.parametrize("members", [ACI, EA, dict(id="geiq", structure_kinds=["GEIQ"])])
def test_clause_reaches_everyone(members: dict) -> None:
    assert match(group(**members), notice(labels=("insertion_clause",))) is not None


def test_insertion_contract_only_to_siae_groups() -> None:
    n = notice(labels=("insertion_contract",))
    assert match(group(**ACI), n) is not None
    assert match(group(**EA), n) is None


def test_group_without_members_gets_no_reserved_lot() -> None:
    assert match(group(), reserved("reserved_siae")) is None


def test_reserved_lot_with_clause_stays_closed_to_the_other_audience() -> None:
    n = notice(
        labels=("reserved_disability", "insertion_clause"),
        lots=[LotView(id="1", labels=["reserved_disability", "insertion_clause"])],
    )
    assert match(group(**ACI), n) is None


def test_only_wanted_labels_count() -> None:
    g = group(**ACI, labels=["reserved_siae"])
    assert match(g, notice(labels=("insertion_clause",))) is None
    assert match(g, notice(labels=("reserved_siae",))) is not None


def test_eligibility_table_covers_every_social_label() -> None:
    assert set(eligibility_rules().labels) == set(SOCIAL_LABELS)


# --- lots -------------------------------------------------------------------------------------


def test_per_lot_matching_names_the_right_lots() -> None:
    n = notice(
        labels=("reserved_siae", "reserved_disability"),
        lots=[
            LotView(id="1", labels=["reserved_siae"]),
            LotView(id="2", labels=["reserved_disability"]),
            LotView(id="3", labels=["reserved_siae"]),
            LotView(id="4"),
        ],
    )
    assert match(group(**ACI), n).lots == ["1", "3"]
    assert match(group(**EA), n).lots == ["2"]


def test_reason_names_lot_law_and_member_kind() -> None:
    m = match(group(**ACI), reserved("reserved_siae"))
    assert "Lot 2 réservé aux SIAE (L. 2113-13) — votre groupe compte des ACI" in m.reasons


def test_notice_wide_clause_applies_to_every_lot() -> None:
    n = notice(labels=("insertion_clause",), lots=[LotView(id="1"), LotView(id="2")])
    m = match(group(), n)
    assert m.lots == ["1", "2"]
    assert "Lots 1 et 2 : clause d'insertion en condition d'exécution (L. 2112-2)" in m.reasons


def test_lot_outside_cpv_filter_is_left_out() -> None:
    n = notice(
        labels=("insertion_clause",),
        lots=[LotView(id="1", cpv=["77310000"]), LotView(id="2", cpv=["45210000"])],
    )
    assert match(group(cpv_prefixes=["77"]), n).lots == ["1"]


def test_lot_value_bounds() -> None:
    n = notice(
        labels=("insertion_clause",),
        lots=[LotView(id="1", estimated_value=20_000), LotView(id="2", estimated_value=900_000)],
    )
    assert match(group(max_value=100_000), n).lots == ["1"]


def test_cancelled_lot_is_left_out() -> None:
    n = notice(
        labels=("insertion_clause",), lots=[LotView(id="1", status="cancelled"), LotView(id="2")]
    )
    assert match(group(), n).lots == ["2"]


def test_explain_names_the_lot_reserved_to_others() -> None:
    assert "Lot 2 réservé aux EA/ESAT : votre groupe n'en compte pas" in explain_no_match(
        group(**ACI), reserved("reserved_disability")
    )


# --- territory --------------------------------------------------------------------------------


def test_territory_by_departement() -> None:
    m = match(group(departements=["26"]), notice())
    assert "Département 26 (Drôme) dans votre territoire" in m.reasons


def test_territory_via_region() -> None:
    m = match(group(regions=["84"]), notice(departements=["69"]))
    assert m is not None
    assert "Département 69 (Rhône, région Auvergne-Rhône-Alpes) dans votre territoire" in m.reasons


def test_outside_territory() -> None:
    g = group(regions=["11"])
    assert match(g, notice(departements=["38"])) is None
    assert "Hors territoire : département 38 (Isère)" in explain_no_match(
        g, notice(departements=["38"])
    )


def test_unknown_place_only_to_all_france_groups() -> None:
    n = notice(departements=[])
    assert match(group(departements=["26"]), n) is None
    m = match(group(), n)
    assert "Lieu d'exécution non précisé — votre groupe couvre toute la France" in m.reasons


def test_lot_place_wins_over_notice_place() -> None:
    n = notice(lots=[LotView(id="1", departements=["38"]), LotView(id="2")], departements=["26"])
    assert match(group(departements=["26"]), n).lots == ["2"]


# --- keywords ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "title", ["Tonte des espaces verts", "TONTE DES ESPACES VERTS", "Espaces-verts"]
)
def test_keyword_ignores_case_and_punctuation(title: str) -> None:
    m = match(group(keywords=["Espaces verts"]), notice(title=title))
    assert m is not None and "Mot-clé « Espaces verts » trouvé" in m.reasons


def test_keyword_ignores_accents() -> None:
    assert match(group(keywords=["électricité"]), notice(title="Travaux d'electricite")) is not None
    assert match(group(keywords=["electricite"]), notice(title="Lot ÉLECTRICITÉ")) is not None


def test_keyword_matches_whole_words_only() -> None:
    assert match(group(keywords=["vert"]), notice(title="Espaces verts")) is None


def test_keyword_star_allows_any_ending() -> None:
    assert match(group(keywords=["nettoy*"]), notice(title="Nettoyage des locaux")) is not None


def test_keyword_in_text_or_lot_title() -> None:
    assert (
        match(group(keywords=["tonte"]), notice(title="Marché", text="Tonte des pelouses"))
        is not None
    )
    lots = [LotView(id="1", title="Tonte")]
    assert match(group(keywords=["tonte"]), notice(title="Marché", lots=lots)) is not None


def test_missing_keyword_blocks() -> None:
    assert match(group(keywords=["plomberie"]), notice()) is None


def test_exclusion_keyword_blocks() -> None:
    g = group(exclude_keywords=["ESPACES VERTS"])
    assert match(g, notice()) is None
    assert "Mot exclu « ESPACES VERTS » trouvé" in explain_no_match(g, notice())


# --- values -----------------------------------------------------------------------------------


def test_value_within_bounds() -> None:
    assert match(group(min_value=10_000, max_value=100_000), notice(estimated_value=50_000))


def test_value_below_minimum() -> None:
    assert match(group(min_value=10_000), notice(estimated_value=5_000)) is None


def test_value_above_maximum() -> None:
    assert match(group(max_value=10_000), notice(estimated_value=50_000)) is None


def test_unknown_value_passes_and_says_so() -> None:
    m = match(group(min_value=10_000), notice(estimated_value=None))
    assert m is not None and "Montant non précisé" in m.reasons


def test_lot_without_value_fails_a_minimum_the_total_is_below() -> None:
    n = notice(lots=[LotView(id="1")], estimated_value=5_000)
    assert match(group(min_value=10_000), n) is None


# --- natures and copies -----------------------------------------------------------------------


def test_award_only_when_asked() -> None:
    n = notice(nature="award")
    assert match(group(), n) is None
    assert match(group(awards=True), n) is not None


@pytest.mark.parametrize("nature", ["corrigendum", "cancellation", "other"])
def test_other_natures_are_not_matched(nature: str) -> None:
    assert match(group(awards=True), notice(nature=nature)) is None


def test_non_canonical_notice_never_matched() -> None:
    n = notice(id="ted:1", canonical_id="boamp:1")
    assert match(group(), n) is None
    assert GroupIndex([group()]).candidates(n) == []


def test_canonical_notice_pointing_to_itself_is_matched() -> None:
    assert match(group(), notice(id="boamp:1", canonical_id="boamp:1")) is not None


def test_notice_without_social_label_is_not_matched() -> None:
    assert match(group(), notice(labels=())) is None


def test_match_does_not_touch_its_inputs() -> None:
    g, n = group(**ACI, regions=["Auvergne-Rhône-Alpes"]), reserved("reserved_siae")
    before = (repr(g), repr(n))
    match(g, n)
    explain_no_match(g, n)
    assert (repr(g), repr(n)) == before


# --- the index --------------------------------------------------------------------------------


def test_index_equals_brute_force_on_a_random_population() -> None:
    groups, notices = make_groups(400, seed=3), make_notices(300, seed=4)
    expected = brute_force(groups, notices)
    assert len(expected) > 100  # the population does match
    assert list(GroupIndex(groups).match_all(notices)) == expected


def test_index_prunes_candidates() -> None:
    groups, notices = make_groups(600, seed=5), make_notices(200, seed=6)
    index = GroupIndex(groups)
    social = [n for n in notices if n.social_labels and n.nature == "call_for_tenders"]
    assert sum(len(index.candidates(n)) for n in social) < len(social) * len(groups) / 3


def test_index_candidates_keep_configuration_order() -> None:
    groups = [group(id="b", departements=["26"]), group(id="a"), group(id="c", regions=["84"])]
    assert [g.id for g in GroupIndex(groups).candidates(notice())] == ["b", "a", "c"]


def test_explain_agrees_with_match() -> None:
    groups, notices = make_groups(150, seed=8), make_notices(150, seed=9)
    for n in notices:
        for g in groups:
            m = match(g, n)
            misses = explain_no_match(g, n)
            if m is None and n.social_labels and n.nature == "call_for_tenders":
                assert misses, (g, n)
