"""The spaCy pipeline: components, sentence boundaries, normalisation offsets, patterns."""

from __future__ import annotations

import random

import pytest

from tenderwatch.classifier.normalise import normalise
from tenderwatch.classifier.pipeline import load_patterns
from tenderwatch.classifier.resources import pattern_files, patterns

COMPONENTS = [
    "tw_cues",
    "tw_acronyms",
    "tw_layout",
    "tw_lots",
    "tw_legal",
    "tw_quantities",
    "tw_context",
    "tw_decision",
]


def test_blank_french_pipeline_with_registered_components(clf):
    assert clf.nlp.lang == "fr"
    assert clf.nlp.pipe_names == COMPONENTS
    assert clf.nlp.get_pipe("tw_cues").__class__.__name__ == "SpanRuler"


@pytest.mark.parametrize(
    "text",
    [
        "Conformément à l'art. 14 du CMP, le titulaire s'engage.",
        "Voir l'article L. 2112-2 du code de la commande publique et le lot n°. 3 du marché.",
        "Les modalités sont détaillées au CCAP, cf. article 9, et au RC.",
        "Contact : M. Dupont, Mme Martin.",
    ],
)
def test_no_sentence_break_after_abbreviations(clf, text):
    assert len(list(clf.nlp(text).sents)) == 1


def test_sentence_breaks_on_periods_lines_and_missing_spaces(clf):
    doc = clf.nlp("Première phrase. Deuxième phrase.\nTroisième ligne.Quatrième collée")
    assert [s.text.strip() for s in doc.sents] == [
        "Premiere phrase.",
        "Deuxieme phrase.",
        "Troisieme ligne.",
        "Quatrieme collee",
    ]


def test_spans_for_cues_articles_and_quantities(clf):
    doc = clf.nlp(
        "Clause d'insertion (art. L. 2112-2) : 1 200 heures pour des personnes éloignées de l'emploi."
    )
    assert {s.label_ for s in doc.spans["tw_cues"]} >= {"CLAUSE_STRONG", "BENEF"}
    assert [s.label_ for s in doc.spans["tw_legal"]] == ["CCP:L2112-2"]
    assert [(s.label_, s.text) for s in doc.spans["tw_qty"]] == [("HOURS", "1 200 heures")]


def test_normalisation_keeps_a_map_back_to_the_input():
    text = "Œuvre d’art – « réservé » 1\u202f200\u00a0h&nbsp;<b>SIAE</b> rÃ©servÃ©e e\u0301te\u0301 économique.Critères (lots 1)clauses"
    norm, offsets = normalise(text)
    assert "oeuvre d'art - " in norm.lower() and "1 200 h" in norm and "reservee" in norm
    for word in norm.split():
        start = norm.index(word)
        s, e = offsets.span(start, start + len(word))
        assert normalise(text[s:e])[0].strip() == word or word in normalise(text[s:e])[0]


def test_normalisation_offsets_are_monotonic_on_random_text():
    rng = random.Random(7)
    alphabet = [*list("abcdeéèàçœ’ –\xa0\u202f.\n;)ABC"), "&amp;", "<p>", "Ã©", "é"]
    for _ in range(200):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 60)))
        norm, offsets = normalise(text)
        previous = 0
        for i in range(len(norm) + 1):
            start = offsets.start(i) if i < len(norm) else len(text)
            assert 0 <= start <= len(text)
            assert start >= previous
            previous = start
        assert offsets.end(len(norm)) == len(text)


def test_pattern_files_load_and_expand():
    names = pattern_files()
    assert {
        "clause.jsonl",
        "criterion.jsonl",
        "reservation.jsonl",
        "contract.jsonl",
        "allotment.jsonl",
        "context.jsonl",
    } <= set(names)
    for name in names:
        for row in patterns(name):
            assert set(row) >= {"label", "pattern"}
    lower, orth = load_patterns()
    assert len(lower) > 1000 and orth
    assert {"label": "BENEF", "pattern": "eloignees de l'emploi"} in lower
