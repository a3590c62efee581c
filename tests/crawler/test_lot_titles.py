"""Lot titles without the form's field labels (issue #8).

Alerts printed ``Lot 3 – Lot 3 : Mise sous pli…`` (demonstration notice 99-0002) and
``lot 1 « Intitulé : Prestations de remorquage… »`` (real BOAMP 16-186394): the normalisers
kept the label or the lot number the buyer wrote in the title field, and wrote BOAMP lot
titles into the text as ``Lot 1 – Intitulé : …``, which the classifier reads as a lot header
whose title is ``Intitulé : …``. Every normaliser now cleans the title with
``common.clean_lot_title`` and BOAMP heads each lot's text with its clean title.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import date
from functools import cache
from pathlib import Path

import pytest

from tenderwatch.classifier import Classifier, NoticeInput
from tenderwatch.core.records import Notice, RawNotice
from tenderwatch.crawler.normalise import normalise
from tenderwatch.crawler.normalise.boamp import normalise_boamp_record, normalise_boamp_xml
from tenderwatch.crawler.normalise.common import clean_lot_title
from tenderwatch.crawler.normalise.eforms import normalise_eforms_bytes
from tenderwatch.crawler.normalise.ted_r209 import normalise_ted_r209_bytes
from tenderwatch.demo import demo_notices, demo_record

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
BOAMP_16_186394 = FIXTURES / "boamp-xml-v230" / "test-pub.xml"  # Ville de Paris, remorquage
EFORMS_FR = FIXTURES / "ted-eforms" / "ted-rdf-mapping-eforms" / "2024-OJS198-00611835.xml"
R209_UK = FIXTURES / "ted-r209" / "20-156983-001-EXP.xml"  # "Lot 1: Aberdeen City"


# --- the function ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("title", "lot_id", "expected"),
    [
        ("Lot 3 : Mise sous pli et conditionnement", "3", "Mise sous pli et conditionnement"),
        ("Description : Lot 1 : Nettoyage des bureaux", "1", "Nettoyage des bureaux"),
        ("Intitulé : Prestations de remorquage.", "1", "Prestations de remorquage"),
        ("INTITULE : Tonte", "1", "Tonte"),
        ("Objet du lot : Taille des haies ;", "2", "Taille des haies"),
        ("Lot n° 2 - Vitrerie", "2", "Vitrerie"),
        ("Lot n°03 : Peinture", "3", "Peinture"),
        ("Lot 1 – Lot 1 : Contrat de support", "1", "Contrat de support"),
        ("Lot 12A : Serrurerie", "12A", "Serrurerie"),
        ("LOTE 1: EQUIPAMIENTOS", "1", "EQUIPAMIENTOS"),
        ("Lotto 2 - Servizi", "2", "Servizi"),
    ],
)
def test_labels_and_own_lot_number_are_stripped(title: str, lot_id: str, expected: str) -> None:
    assert clean_lot_title(title, lot_id) == expected


@pytest.mark.parametrize(
    ("title", "lot_id"),
    [
        ("Lot 2 : Vitrerie", "5"),  # another lot's number says something
        ("Lot 3 réservé aux ESAT", "3"),  # no separator: the number is part of the sentence
        ("Lot 1.2 Voirie", "1"),  # a sub-lot, not "Lot 1." followed by a title
        ("Lots 1 et 2 : Peinture", "1"),
    ],
)
def test_meaningful_prefixes_are_kept(title: str, lot_id: str) -> None:
    assert clean_lot_title(title, lot_id) == title


@pytest.mark.parametrize("title", ["Lot 1", "Lot No: 1", "Description :", "", None])
def test_nothing_left_is_none(title: str | None) -> None:
    assert clean_lot_title(title, "1") is None


def test_a_title_is_one_line() -> None:
    assert clean_lot_title("Title (BT-21-Lot)\nvol3", "1") == "Title (BT-21-Lot) vol3"


# --- real and demonstration notices ------------------------------------------------------------


@cache
def boamp_16_186394() -> Notice:
    return normalise_boamp_xml(BOAMP_16_186394.read_bytes())


@cache
def demo(idweb: str) -> Notice:
    entries = demo_notices()["day1"] + demo_notices()["day2"]
    entry = next(e for e in entries if e["idweb"] == idweb)
    return normalise_boamp_record(demo_record(entry, date(2026, 12, 3)))


def test_boamp_16_186394_is_the_fixture() -> None:
    assert boamp_16_186394().id == "boamp:16-186394"


def test_boamp_16_186394_lot_titles() -> None:
    assert [lot.title for lot in boamp_16_186394().lots] == [
        "Prestations de remorquage pour les véhicules légers de la ville de Paris",
        "Prestations de remorquage pour les poids lourds de la ville de Paris",
    ]


def test_boamp_16_186394_text_heads_the_lot_with_its_title() -> None:
    assert (
        "Lot 1 : Prestations de remorquage pour les véhicules légers de la ville de Paris"
        in boamp_16_186394().text
    )


def test_boamp_16_186394_text_has_no_title_label_in_lot_headers() -> None:
    assert "– Intitulé :" not in boamp_16_186394().text


def test_demo_lot_titles_without_their_number() -> None:
    assert [lot.title for lot in demo("99-0002").lots] == [
        "Nettoyage des bureaux de la rue du Lac",
        "Nettoyage de la vitrerie",
        "Mise sous pli et conditionnement du courrier interne",
    ]


def test_demo_lot_description_keeps_what_the_buyer_wrote() -> None:
    # The demonstration data is a realistic FNSimple lot (description only, number in front):
    # it is right as it is; the normaliser derives the title.
    assert demo("99-0002").lots[2].description == (
        "Lot 3 : Mise sous pli et conditionnement du courrier interne"
    )


def test_demo_text_writes_a_title_only_description_once() -> None:
    assert demo("99-0002").text.count("Mise sous pli et conditionnement du courrier interne") == 1


def test_eforms_lot_titles_without_their_number() -> None:
    lots = normalise_eforms_bytes(EFORMS_FR.read_bytes()).lots
    assert [lot.title for lot in lots][:3] == [
        "Contrat de support ICT et fourniture d’un RMM",
        "Fourniture et gestion de licences Microsoft/office ou équivalentes",
        "Wifi et sa sécurisation",
    ]


def test_eforms_text_does_not_repeat_the_lot_number() -> None:
    assert "Lot 1 : Lot 1" not in normalise_eforms_bytes(EFORMS_FR.read_bytes()).text


def test_r209_lot_titles_without_their_number() -> None:
    lots = normalise_ted_r209_bytes(R209_UK.read_bytes()).lots
    assert sorted((lot.lot_id, lot.title) for lot in lots)[:2] == [
        ("1", "Aberdeen City"),
        ("2", "Aberdeenshire North"),
    ]


def real_fixture_notices() -> list[tuple[str, Notice]]:
    """Every recorded notice the readers handle, through the dispatching ``normalise``."""
    out: list[tuple[str, Notice]] = []
    page = json.loads((FIXTURES / "boamp-api" / "boamp-where-date.json").read_text("utf-8"))
    for record in page["data"]["results"]:
        out.append((f"boamp-api/{record['idweb']}", normalise_boamp_record(record)))
    for folder, source in (
        ("boamp-xml-v230", "boamp"),
        ("boamp-xml-v3", "boamp"),
        ("ted-r208-defence", "ted"),
        ("ted-r209", "ted"),
        ("ted-r209-f20", "ted"),
        ("ted-eforms", "ted"),
    ):
        for path in sorted((FIXTURES / folder).rglob("*.xml")):
            raw = RawNotice(source, path.stem, "u", "application/xml", path.read_bytes())
            out.append((f"{folder}/{path.name}", normalise(raw)))
    return out


def test_every_reader_cleans_its_lot_titles() -> None:
    # A title still carrying a label or its own "Lot N :" is one a reader did not clean.
    dirty = [
        (name, lot.lot_id, lot.title)
        for name, notice in real_fixture_notices()
        for lot in notice.lots
        if lot.title and clean_lot_title(lot.title, lot.lot_id) != lot.title
    ]
    assert dirty == []


# --- what an alert shows: the classifier's lot titles -------------------------------------------


@pytest.fixture(scope="module")
def classified() -> dict[str, dict]:
    notices = [boamp_16_186394(), demo("99-0002")]
    inputs = [
        NoticeInput(
            id=n.id,
            text=n.text,
            title=n.title,
            published=n.published,
            signals=asdict(n.signals),
            lots=[
                {"lot_id": lot.lot_id, "title": lot.title, "signals": asdict(lot.signals)}
                for lot in n.lots
            ],
        )
        for n in notices
    ]
    return {r["id"]: r for r in Classifier().classify_many(inputs)}


def test_classifier_reads_the_clean_title_of_16_186394(classified: dict[str, dict]) -> None:
    lots = classified["boamp:16-186394"]["lots"]
    assert lots[0]["title"] == (
        "Prestations de remorquage pour les véhicules légers de la ville de Paris"
    )


def test_classifier_reads_the_clean_title_of_demo_lot_3(classified: dict[str, dict]) -> None:
    lots = {lot["id"]: lot["title"] for lot in classified["boamp:99-0002"]["lots"]}
    assert lots["3"] == "Mise sous pli et conditionnement du courrier interne"
