"""Reservations (joint, res-ws ambiguity, dates) and the fusion with structured signals."""

from __future__ import annotations

from tests.classifier.helpers import evidence_of, labels_of

RES_WS = (
    "Participation réservée : La participation est réservée à des ateliers protégés et à des "
    "opérateurs économiques dont l'objet principal est l'intégration sociale et professionnelle de "
    "personnes handicapées ou défavorisées."
)


def signals(**kw) -> dict:
    base = {
        "reserved": None,
        "reserved_codes": [],
        "reserved_execution": None,
        "social_objectives": [],
        "strategic_procurement": [],
        "strategic_descriptions": [],
        "execution_conditions": [],
        "award_criteria": [],
        "social_criteria_flag": None,
        "codes": {},
    }
    base.update(kw)
    return base


def test_joint_reservation_sets_both_labels(classify):
    text = (
        "Marché réservé, en application de l'article L. 2113-14 du code de la commande publique, aux "
        "entreprises adaptées, aux établissements et services d'aide par le travail et aux structures "
        "d'insertion par l'activité économique."
    )
    assert labels_of(classify(text, published="2022-03-01")) == {
        "reserved_siae",
        "reserved_disability",
    }


def test_joint_reservation_by_the_article_alone(classify):
    text = "Le marché est réservé aux opérateurs mentionnés à l'article L. 2113-14 du code de la commande publique."
    assert labels_of(classify(text, published="2022-03-01")) == {
        "reserved_siae",
        "reserved_disability",
    }


def test_res_ws_wording_alone_decides_nothing_and_says_so(classify):
    result = classify(RES_WS, published="2024-03-01")
    assert labels_of(result) == set()
    assert {(c["label"], c["kind"]) for c in result["conflicts"]} == {
        ("reserved_siae", "uncertain"),
        ("reserved_disability", "uncertain"),
    }


def test_res_ws_wording_with_the_siae_article(classify):
    text = RES_WS + "\nConformément à l'article L. 2113-13 du code de la commande publique."
    result = classify(text, published="2024-03-01")
    assert labels_of(result) == {"reserved_siae"}
    assert result["conflicts"] == []


def test_res_ws_wording_with_structures_named(classify):
    text = RES_WS + "\nSeules les entreprises adaptées et les ESAT peuvent soumissionner."
    assert labels_of(classify(text, published="2024-03-01")) == {"reserved_disability"}


def test_res_ws_wording_before_2016_means_sheltered_workshops(classify):
    text = "Le marché est réservé à des ateliers protégés et à des opérateurs économiques dont l'objet est l'intégration sociale et professionnelle de personnes handicapées ou défavorisées."
    assert labels_of(classify(text, published="2014-05-01")) == {"reserved_disability"}


def test_no_siae_reservation_before_april_2016(classify):
    text = "Le marché est réservé aux structures d'insertion par l'activité économique."
    early = classify(text, published="2013-05-01")
    assert labels_of(early) == set()
    assert early["conflicts"] and early["conflicts"][0]["label"] == "reserved_siae"
    assert labels_of(classify(text, published="2017-05-01")) == {"reserved_siae"}


def test_reserved_without_saying_to_whom_is_reported(classify):
    text = (
        "II.1.6) Ce marché est divisé en lots : oui\n"
        "II.2.1) Intitulé : Tonte Lot nº : 1\nII.2.14) Informations complémentaires :\n"
        "II.2.1) Intitulé : Taille des haies Lot nº : 2\nII.2.14) Informations complémentaires : Marché réservé.\n"
        "Section III : Renseignements d'ordre juridique\n"
    )
    result = classify(text, published="2020-08-01")
    assert labels_of(result) == {"allotted"}
    assert {c["lot"] for c in result["conflicts"]} == {"2"}


def test_ess_and_prison_reservations(classify):
    ess = classify(
        "Ce marché est réservé aux entreprises de l'économie sociale et solidaire (article L. 2113-15)."
    )
    assert labels_of(ess) == {"reserved_other"}
    assert evidence_of(ess, "reserved_other")[0]["kind"] == "ess"
    prison = classify(
        "Le marché est réservé aux opérateurs employant des personnes détenues (article L. 2113-13-1)."
    )
    assert evidence_of(prison, "reserved_other")[0]["kind"] == "penitentiary"


def test_sheltered_programmes(classify):
    assert labels_of(
        classify("L'exécution du marché est limitée au cadre de programmes d'emplois protégés.")
    ) == {"reserved_disability"}


# -- structured signals ------------------------------------------------------------------


def test_res_ws_flag_without_text_gives_no_label_but_a_conflict(classify):
    result = classify(
        "Nettoyage des locaux municipaux.", signals=signals(reserved_codes=["res-ws"])
    )
    assert labels_of(result) == set()
    assert {c["structured"] for c in result["conflicts"]} == {"BT-71=res-ws"}


def test_res_ws_flag_with_text_naming_siae(classify):
    text = "Le marché est réservé aux structures d'insertion par l'activité économique (art. L. 2113-13)."
    result = classify(text, published="2024-01-01", signals=signals(reserved_codes=["res-ws"]))
    assert labels_of(result) == {"reserved_siae"}
    assert result["conflicts"] == []


def test_bt736_yes_is_a_disability_reservation(classify):
    result = classify("Entretien des espaces verts.", signals=signals(reserved_execution="yes"))
    assert labels_of(result) == {"reserved_disability"}
    (record,) = evidence_of(result, "reserved_disability")
    assert (
        record["source"] == "structured"
        and record["quote"] == ""
        and record["start"] == record["end"] == 0
    )
    assert result["conflicts"][0]["structured"] == "BT-736=yes"


def test_res_pub_ser_is_reserved_other(classify):
    result = classify("Services culturels.", signals=signals(reserved_codes=["res-pub-ser"]))
    assert labels_of(result) == {"reserved_other"}


def test_a_structured_no_never_suppresses_a_clear_text_yes(classify):
    text = "Le lot 2 est réservé aux entreprises adaptées et aux ESAT (article L. 2113-12)."
    result = classify(text, signals=signals(reserved=False))
    assert labels_of(result) == {"reserved_disability"}
    conflict = next(c for c in result["conflicts"] if c["kind"] == "conflict")
    assert conflict == {
        "label": "reserved_disability",
        "structured": "reserved=false",
        "text": True,
        "lot": None,
        "kind": "conflict",
        "note": conflict["note"],
    }


def test_opp_with_execution_conditions_is_clause_evidence(classify):
    result = classify(
        "Collecte des déchets.",
        signals=signals(
            social_objectives=["opp"],
            execution_conditions=[
                "Le titulaire réserve 2 000 heures à des personnes éloignées de l'emploi."
            ],
        ),
    )
    assert labels_of(result) == {"insertion_clause"}
    assert evidence_of(result, "insertion_clause")[0]["source"] == "structured"


def test_opp_alone_is_uncertain(classify):
    result = classify("Collecte des déchets.", signals=signals(social_objectives=["opp"]))
    assert labels_of(result) == set()
    assert result["conflicts"][0]["structured"] == "BT-775=opp"


def test_lot_signals_stay_on_their_lot(classify):
    lots = [
        {"lot_id": "LOT-0001", "title": "Agence centre", "signals": signals()},
        {
            "lot_id": "LOT-0002",
            "title": "Agence nord",
            "signals": signals(reserved_execution="yes"),
        },
    ]
    result = classify(
        "Entretien des espaces verts.", lots=lots, signals=signals(reserved_execution="yes")
    )
    assert result["labels"]["allotted"]
    assert {lot["id"]: lot["labels"] for lot in result["lots"]} == {
        "1": [],
        "2": ["reserved_disability"],
    }


def test_insertion_criterion_from_structured_award_criteria(classify):
    criteria = [
        {"type": "price", "name": "Prix", "description": None, "weight": 60.0},
        {
            "type": "quality",
            "name": "Performances en matière d'insertion professionnelle",
            "description": None,
            "weight": 10.0,
        },
    ]
    result = classify("Nettoyage.", signals=signals(award_criteria=criteria))
    assert labels_of(result) == {"insertion_criterion"}
