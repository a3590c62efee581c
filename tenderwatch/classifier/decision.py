"""The rules: from cues, articles, quantities and lots to findings (evidence per label).

Called by the ``tw_context`` and ``tw_decision`` components. All offsets are in the
normalised text. A *finding* is one sentence that justifies (or, negated, contradicts) one
label, with the lots it is about.

Sentence rules (golden README and reference §8):

* ``insertion_clause`` — a clause noun ("clause d'insertion", "action d'insertion", "heures
  d'insertion"; "clause sociale" when it is not labour-law compliance), or a quantity
  (hours, % of hours, FTE, hires) for people far from employment, or an obligation for them;
  never in an award-criteria sentence, never when only encouraged or optional;
* ``insertion_criterion`` — an insertion criterion name ("performances en matière
  d'insertion professionnelle"), or insertion words in an award-criteria sentence/zone;
* ``insertion_contract`` — the object is insertion ("marché d'insertion", "prestations
  d'insertion", "activité support" with insertion words); it also voids criteria (they
  score the service bought) and clauses not named as clauses (activity volume);
* ``reserved_*`` — a reservation predicate ("est réservé", "marché réservé", "seules … peuvent
  soumissionner") with the structures or the article it reserves to. The eForms ``res-ws``
  wording names both EA/ESAT and disadvantaged people: it decides nothing by itself.
"""

from __future__ import annotations

import bisect
import re
from collections import defaultdict
from dataclasses import replace

from tenderwatch.classifier.analysis import Analysis, Cue, Finding
from tenderwatch.classifier.legal import LegalRef, article_table, lookup
from tenderwatch.classifier.lots import (
    LotMention,
    anaphora_re,
    back_anaphora_re,
    lot_count,
    relaunch,
)
from tenderwatch.classifier.quantities import Quantity
from tenderwatch.classifier.structure import Layout, clauses, field_prefix_end


def _articles_for(label: str, kind: str | None = None) -> frozenset[str]:
    """Norms the article table (``data/articles.json``) ties to a reservation label."""
    return frozenset(
        norm
        for norm, entry in article_table().items()
        if label in entry.get("labels", []) and (kind is None or entry.get("kind") == kind)
    )


#: Articles that say who a contract is reserved to (L2113-14: both SIAE and EA/ESAT).
SIAE_ARTS = _articles_for("reserved_siae")
HANDI_ARTS = _articles_for("reserved_disability")
ESS_ARTS = _articles_for("reserved_other", "ess")
PRISON_ARTS = _articles_for("reserved_other", "penitentiary")

#: Obligation words strong enough to outweigh "peut"/"pourra" in the same clause.
_STRONG_OBLIGATION_RE = re.compile(
    r"s'engag|s'oblig|devr|doi[tv]|obligatoir|impos|tenu|au moins|minimum|minimal|au minimum", re.I
)
#: What can be reserved: the contract, a lot, participation… (not "des heures de travail").
_RESERVED_SUBJECT_RE = re.compile(
    r"\b(?:marches?|lots?|participation|consultation|accord-cadre|contrat|procedure|prestations?"
    r"|execution|celui-ci|ce dernier|present|presente|reservation)\b",
    re.I,
)
_RESERVED_LABELS = ("reserved_siae", "reserved_disability", "reserved_other")
#: Between a service noun and its users: "formation de 12 demandeurs d'emploi",
#: "accompagnement vers l'emploi des bénéficiaires du RSA" (not "… heures d'accompagnement à
#: l'emploi de personnes éloignées de l'emploi": employment of people, a clause).
_SERVICE_GAP_RE = re.compile(
    r"\s*(?:vers l'emploi\s+|qualifiantes?\s+|professionnelles?\s+)?"
    r"(?:(?:des|les|de|d'|aux|du)\s*)?(?:\d+\s+)?(?:personnes\s+|publics\s+)?$",
    re.I,
)
#: Cues that make a clause; when all are in optional wording, the clause is only encouraged.
_CLAUSE_RELEVANT = frozenset(
    ("CLAUSE_STRONG", "CLAUSE_NOUN", "CLAUSE_WEAK", "CLAUSE_GENERIC", "BENEF", "INS_EMPLOY")
)
#: Articles of the insertion-contract procedure (CMP art. 30, D. 2016-360 art. 28, R2123-1).
_CONTRACT_ARTS = _articles_for("insertion_contract")
#: What an insertion clause reserves: hours, a share of the work ("500 heures sont réservées").
_HOURS_SUBJECT_RE = re.compile(
    r"\b(?:heures?|volume|temps de travail|main-d'oeuvre|postes?|embauches?)\b|%", re.I
)


def _reserved_subject(text: str, start: int, end: int) -> bool:
    """Whether the nearest thing reserved before ``end`` is the contract, a lot or
    participation rather than hours of work ("le lot 2 est réservé" vs "une partie des heures
    du marché est réservée")."""
    subjects = [m.end() for m in _RESERVED_SUBJECT_RE.finditer(text, start, end)]
    if not subjects:
        return False
    hours = [m.end() for m in _HOURS_SUBJECT_RE.finditer(text, start, end)]
    return not hours or subjects[-1] > hours[-1]


_RESERVATION_ARTS = SIAE_ARTS | HANDI_ARTS | ESS_ARTS | PRISON_ARTS | {"ORD2015:36", "ORD2015:36-I"}
_UNSPECIFIED_RE = re.compile(
    r"^\W*(?:[\w'-]+\W+){0,4}?(?:reserve|reservee|reserves|reservees)\W*$|:\s*oui\b[^a-z]*$",
    re.I,
)
_ONLY_RE = re.compile(
    r"\bseul(?:e)?s\b[^.;]{0,250}?\b(?:peuvent|pourront|sont admis|sont autorises)\b", re.I
)
_TOTAL_BEFORE_RE = re.compile(
    r"(?:\bsoit\b|\btotal\b|au total|\bglobal\b|\bglobale\b|\bensemble\b|\bcumul\w*|en tout"
    r"|\bau global\b|volume total)[^.;\d]{0,30}$",
    re.I,
)
_TOTAL_AFTER_RE = re.compile(r"\s*(?:au total|en tout|au global|reparties?\b|repartis\b)", re.I)
_EACH_RE = re.compile(
    r"\b(?:chaque (?:titulaire|lot|attributaire|entreprise)|par lot|chacun des lots|son lot"
    r"|pour chacun des|de chaque lot)\b",
    re.I,
)
_EACH_AFTER_RE = re.compile(r"\s*(?:chacun|chacune|par lot|pour chaque lot)\b", re.I)
#: Between a total and its parts: "250 heures, soit 120 … et 130 …", "dont", "réparties".
_BREAKDOWN_RE = re.compile(r"\b(?:soit|dont|reparti\w*|ventil\w*|decompos\w*)\b", re.I)
#: "Tranche 1 (tranche ferme) : 295 heures", "120 heures en tranche ferme"
_FIRM_BEFORE_RE = re.compile(r"(?:tranche ferme|\bTF\b)\)?\s?[:=-]?\s?$", re.I)
_FIRM_AFTER_RE = re.compile(r"\s*(?:en|pour la|sur la|de la)?\s*(?:tranche ferme|TF\b)", re.I)
_CRIT_SAME_LOT_RE = re.compile(r"\blot\s*(?:n\s*°\s*)?(\d{1,3})\b", re.I)


# -- context -----------------------------------------------------------------------------


def filter_cues(cues: list[Cue]) -> list[int]:
    """Indices of the cues to keep: a confuser removes every cue it overlaps ("insertion
    paysagère", "places réservées", "se réserve le droit"); the res-ws wording removes the
    structure cues inside it ("ateliers protégés", "personnes … défavorisées")."""
    confusers = [(s, e) for label, s, e in cues if label == "CONFUSER"]
    res_ws = [(s, e) for label, s, e in cues if label == "RES_WS"]
    keep = []
    for i, (label, start, end) in enumerate(cues):
        if label != "CONFUSER" and any(cs < end and start < ce for cs, ce in confusers):
            continue
        if label.startswith("STRUCT_") and any(ws <= start and end <= we for ws, we in res_ws):
            continue
        keep.append(i)
    return keep


def negation(text: str, layout: Layout, cues: list[Cue]) -> tuple[set[Cue], set[Cue]]:
    """Cues cancelled by a negation and cues made optional, within their clause.

    A negation cancels a cue that follows it in the same clause with no comma or colon in
    between ("aucune clause sociale", "ne comporte pas de clause") or that it follows
    closely ("Clause sociale : non", "Marché réservé : non", "… est reportée sur").
    """
    negated: set[Cue] = set()
    optional: set[Cue] = set()
    by_sentence: dict[int, list[Cue]] = defaultdict(list)
    for cue in cues:
        by_sentence[layout.sentence_of(cue[1])].append(cue)
    for si, sent_cues in by_sentence.items():
        negs = [c for c in sent_cues if c[0] == "NEG"]
        opts = [c for c in sent_cues if c[0] == "OPTIONAL"]
        if not negs and not opts:
            continue
        s, e = layout.sentences[si]
        parts = clauses(text, s, e)
        starts = [p[0] for p in parts]

        def part_of(pos: int, starts: list[int] = starts) -> int:
            return bisect.bisect_right(starts, pos) - 1

        for cue in sent_cues:
            if cue[0] in ("NEG", "OPTIONAL", "CONFUSER"):
                continue
            part = part_of(cue[1])
            for neg in negs:
                if part_of(neg[1]) != part:
                    continue
                if neg[1] <= cue[1]:
                    between = text[neg[2] : cue[1]]
                    if cue[1] - neg[2] <= 80 and not re.search(r"[,:]", between):
                        negated.add(cue)
                        break
                elif 0 <= neg[1] - cue[2] <= 20:
                    negated.add(cue)
                    break
            if any(part_of(o[1]) == part for o in opts):
                optional.add(cue)
    return negated, optional


# -- decision ----------------------------------------------------------------------------


def _in(spans_starts: list[int], items: list, start: int, end: int) -> list:
    """Items (sorted by start, with ``.start``) whose start is in ``[start, end)``."""
    lo = bisect.bisect_left(spans_starts, start)
    hi = bisect.bisect_left(spans_starts, end)
    return items[lo:hi]


class _Sentence:
    """The cues of one sentence, split into kept and negated, with helpers."""

    def __init__(self, text: str, analysis: Analysis, si: int, cues: list[Cue]) -> None:
        layout = analysis.layout
        assert layout is not None
        self.text = text
        self.si = si
        self.start, self.end = layout.sentences[si]
        self.cues = cues
        self.pos: dict[str, list[Cue]] = defaultdict(list)
        self.neg: dict[str, list[Cue]] = defaultdict(list)
        for cue in cues:
            (self.neg if cue in analysis.negated else self.pos)[cue[0]].append(cue)
        self.optional = analysis.optional
        self.parts = clauses(text, self.start, self.end)
        line = layout.line_of(self.start)
        self.line = line
        self.in_criteria = layout.criteria_lines[line] or bool(
            self.pos.get("CRIT_WORD") or self.neg.get("CRIT_WORD")
        )
        self.heading_line = layout.heading_lines[line]

    def has(self, *labels: str) -> bool:
        return any(self.pos.get(label) for label in labels)

    def part_of(self, pos: int) -> tuple[int, int]:
        for part in self.parts:
            if part[0] <= pos <= part[1]:
                return part
        return self.parts[-1]

    def same_part(self, a: Cue, labels: tuple[str, ...]) -> bool:
        ps, pe = self.part_of(a[1])
        return any(ps <= c[1] < pe for label in labels for c in self.pos.get(label, []))

    def cue_text(self, cue: Cue) -> str:
        return self.text[cue[1] : cue[2]]


def _quote_span(text: str, start: int, end: int, anchor: int) -> tuple[int, int]:
    """The evidence quote: the ";"-part of the sentence that holds the main cue (criteria
    are listed with ";"), without its leading field label and final period."""
    parts = clauses(text, start, end)
    if len(parts) > 1:
        for ps, pe in parts:
            if ps <= anchor <= pe and pe - ps >= 25:
                start, end = ps, pe
                break
    prefix_end = field_prefix_end(text, start, end)
    if prefix_end <= anchor:
        start = prefix_end
    while start < end and text[start] in " \t;:-":
        start += 1
    while end > start and text[end - 1] in " \t.;:,":
        end -= 1
    return start, end


def _best_ref(refs: list[LegalRef], label: str) -> LegalRef | None:
    """The reference that supports ``label`` (by the article table), else ``None``; for a
    list or range ("L2111-1 et L2112-2") the norm is the one that supports the label.
    Procurement texts come before the labour code ("L. 5132-4 du code du travail")."""
    for ref in sorted(refs, key=lambda r: r.generation is None):
        for norm in ref.norms:
            entry = lookup(norm)
            if entry and label in entry.get("labels", []):
                return ref if norm == ref.norm else replace(ref, norm=norm, also=())
    return None


def _evaluate(sent: _Sentence, refs: list[LegalRef], qtys: list[Quantity]) -> list[Finding]:
    """The findings of one sentence (lots not yet assigned)."""
    found: list[Finding] = []
    text = sent.text
    arts = {norm for ref in refs for norm in ref.norms}
    hours = [q for q in qtys if q.kind == "hours"]
    rates = [q for q in qtys if q.kind == "rate"]
    pct = [q for q in qtys if q.kind == "percent" and q.of_hours]
    fte = [q for q in qtys if q.kind == "fte"]

    prefix_end = field_prefix_end(text, sent.start, sent.end)

    def add(label: str, anchor: Cue | None, negated: bool = False, **kw) -> Finding:
        a = anchor[1] if anchor else sent.start
        qs, qe = _quote_span(text, sent.start, sent.end, a)
        finding = Finding(label, qs, qe, sent.si, negated=negated, **kw)
        if not negated:
            finding.legal = _best_ref(refs, label)
        found.append(finding)
        return finding

    benef = sent.has("BENEF")
    ins = sent.has("INS_EMPLOY")

    # -- reservations ------------------------------------------------------------------
    only = _ONLY_RE.search(text, sent.start, sent.end)
    reserve = sent.pos.get("RESERVE", [])
    reservation_hit = False
    if reserve and not only:
        # "une partie des heures est réservée aux SIAE" is a clause, not a reserved contract:
        # what is reserved must be the contract, a lot or participation — also when a
        # reservation article is cited as the basis of the clause ("Les heures d'insertion
        # sont réservées aux publics … (L. 2113-13)"); with the article and no subject at all
        # ("Réservé aux SIAE (L2113-13)") the article says what is reserved
        reserve = [
            c
            for c in reserve
            if _reserved_subject(text, max(sent.start, c[1] - 60), c[2])
            or (
                arts & _RESERVATION_ARTS
                and not _HOURS_SUBJECT_RE.search(text, max(sent.start, c[1] - 60), c[2])
            )
        ]
    if (reserve or only) and not sent.has("BOILERPLATE"):
        # the predicate of the statement, not the one of its heading ("Marchés réservés : …")
        after = [c for c in reserve if c[1] >= prefix_end]
        anchor = (after or reserve or [None])[0]
        siae = sent.has("STRUCT_SIAE") or bool(arts & SIAE_ARTS)
        handi = sent.has("STRUCT_HANDI") or bool(arts & HANDI_ARTS)
        ess = sent.has("STRUCT_ESS") or bool(arts & ESS_ARTS)
        prison = sent.has("STRUCT_PRISON") or bool(arts & PRISON_ARTS)
        if siae:
            add("reserved_siae", anchor)
        if handi:
            add("reserved_disability", anchor)
        if prison:
            add("reserved_other", anchor, kind="penitentiary")
        elif ess:
            add("reserved_other", anchor, kind="ess")
        if not (siae or handi or ess or prison):
            if sent.has("RES_WS"):
                add("reserved_ws", anchor, kind="res-ws")
            elif anchor is not None and _UNSPECIFIED_RE.search(
                text[min(prefix_end, anchor[1]) : sent.end]
            ):
                # "Marché réservé." / "…réservation de tout ou partie du marché : Oui": reserved,
                # to whom is not said here (often in the next line, else to check by hand)
                add("reserved_ws", anchor, kind="unspecified")
        reservation_hit = siae or handi or ess or prison
    elif sent.has("RES_WS") and not sent.has("BOILERPLATE"):
        add("reserved_ws", sent.pos["RES_WS"][0], kind="res-ws")
    for cue in sent.neg.get("RESERVE", []):
        add("reserved_siae", cue, negated=True)
        add("reserved_disability", cue, negated=True)
    if sent.has("SHELTERED"):
        add("reserved_disability", sent.pos["SHELTERED"][0], kind="sheltered-programme")
    for cue in sent.neg.get("SHELTERED", []):
        add("reserved_disability", cue, negated=True)

    # -- insertion contract -------------------------------------------------------------
    contract = sent.pos.get("INS_CONTRACT", [])
    # "prestations de qualification", "objet est l'accompagnement", "activité support" name an
    # insertion contract only with insertion or beneficiary words in the same clause (equipment
    # is qualified too, users are accompanied)
    people_cues = ("INS_EMPLOY", "BENEF")
    support = [
        c
        for c in sent.pos.get("CONTRACT_SUPPORT", []) + sent.pos.get("INS_CONTRACT_WEAK", [])
        if sent.same_part(c, people_cues)
    ]
    if contract or arts & _CONTRACT_ARTS:
        pass
    elif sent.has("CLAUSE_STRONG", "CLAUSE_WEAK", "CLAUSE_NOUN"):
        # "l'encadrement technique des salariés en insertion recrutés au titre de la clause
        # sociale": how a clause is carried out, not the object of the contract
        support = []
    if not sent.in_criteria and (contract or support):
        finding = add("insertion_contract", (contract or support)[0])
        contract_arts = arts & _CONTRACT_ARTS
        finding.score = 0.95 if contract_arts else 0.85 if contract and (ins or benef) else 0.7
        # only the support wording: dropped when the notice states an insertion clause
        finding.weak = not contract and not contract_arts

    # -- insertion criterion ------------------------------------------------------------
    generic_crit = sent.pos.get("CRIT_GENERIC", [])
    crit_cues = [
        c
        for c in sent.pos.get("INS_CRIT", [])
        if not any(g[1] < c[2] and c[1] < g[2] for g in generic_crit)
    ]
    explicit_crit = bool(crit_cues)
    if sent.in_criteria and not crit_cues:
        crit_cues = (
            sent.pos.get("INS_EMPLOY", [])
            + sent.pos.get("BENEF", [])
            + sent.pos.get("CLAUSE_STRONG", [])
            + sent.pos.get("INS_BARE", [])
            # "Critères : prix 60 % ; respect de la clause sociale 10 %"
            + [c for c in sent.pos.get("CLAUSE_WEAK", []) if not sent.same_part(c, ("LABOUR_LAW",))]
        )
    if crit_cues:
        finding = add("insertion_criterion", crit_cues[0])
        finding.score = 0.95 if finding.legal else 0.85 if explicit_crit else 0.7
    else:
        negated_crit = sent.neg.get("INS_CRIT", [])
        if not negated_crit and sent.in_criteria:
            negated_crit = sent.neg.get("INS_EMPLOY", [])
        if negated_crit:
            add("insertion_criterion", negated_crit[0], negated=True)

    # -- insertion clause ---------------------------------------------------------------
    if not sent.in_criteria:
        # "une clause obligatoire d'exécution d'insertion par l'activité économique": a clause
        # noun followed closely by insertion words (not by an organisation name: "clause de
        # reprise du personnel … Maison de l'emploi")
        insertion_words = [
            c for c in sent.pos.get("INS_EMPLOY", []) if "insertion" in sent.cue_text(c)
        ]
        strong = sent.pos.get("CLAUSE_STRONG", []) + [
            c
            for c in sent.pos.get("CLAUSE_NOUN", [])
            if sent.same_part(c, ("INS_EMPLOY",))
            and any(0 <= w[1] - c[2] <= 80 or 0 <= c[1] - w[2] <= 80 for w in insertion_words)
        ]
        weak = [
            c
            for c in sent.pos.get("CLAUSE_WEAK", [])
            if not sent.same_part(c, ("LABOUR_LAW",))
            and not (sent.heading_line and sent.end - c[2] <= 3)
        ]
        # the form wording "conditions d'exécution à caractère social" is voided by a
        # description that is not insertion (labour law, anti-discrimination) in the sentence
        generic = [
            c
            for c in sent.pos.get("CLAUSE_GENERIC", [])
            + [
                c
                for c in sent.pos.get("CONSIDERATION_SOCIAL", [])
                if sent.same_part(c, ("CLAUSE_NOUN",))
            ]
            if not (sent.has("LABOUR_LAW") and not (benef or ins or strong))
        ]
        people = benef or ins
        named = strong + weak + generic
        measured = bool(hours or pct or fte or rates)
        # an obligation or a hiring verb counts only in the clause (";"-part) of the people
        bound = any(
            sent.same_part(c, ("BENEF",))
            for c in sent.pos.get("OBLIG", []) + sent.pos.get("HIRE", [])
        ) or any(
            # "le titulaire devra mettre en oeuvre un dispositif d'insertion professionnelle"
            sent.same_part(c, ("OBLIG",))
            and sent.same_part(c, ("CONTRACTOR",))
            and not sent.same_part(c, ("LABOUR_LAW",))
            for c in insertion_words
        )
        service_users = any(
            0 <= b[1] - n[2] <= 40 and _SERVICE_GAP_RE.match(text, n[2], b[1])
            for n in sent.pos.get("SERVICE_NOUN", [])
            for b in sent.pos.get("BENEF", [])
        )
        if service_users and not strong:
            # the people are the users of the service bought (training of jobseekers): their
            # hours are the service's volume, the verbs its description
            measured = bound = False
            people = False
        if named or (measured and people) or bound:
            anchor = (named or sent.pos.get("BENEF") or sent.pos.get("INS_EMPLOY") or [None])[0]
            relevant = [c for c in sent.cues if c[0] in _CLAUSE_RELEVANT]
            optional = bool(relevant) and all(c in sent.optional for c in relevant)
            if optional and anchor is not None:
                ps, pe = sent.part_of(anchor[1])
                if _STRONG_OBLIGATION_RE.search(text, ps, pe) or any(
                    ps <= q.start < pe for q in hours + pct + fte
                ):
                    optional = False
            if reservation_hit and not strong and not (hours or pct):
                pass  # "réservé aux SIAE … proportion minimale de travailleurs défavorisés"
            elif not optional:
                clause_word = any("clause" in sent.cue_text(c).lower() for c in named)
                finding = add(
                    "insertion_clause",
                    anchor,
                    percent=pct[0].value if pct else None,
                    fte=sum(q.value for q in fte) or None,
                    clause_word=clause_word,
                    named=bool(strong),
                    weak=not strong and not measured,
                    # only the form's generic wording ("clause sociale", "conditions
                    # d'exécution à caractère social"): what it asks is in the CCAP
                    unspecified=not (strong or measured or people or bound),
                )
                if rates:
                    finding.rate = {"hours": _num(rates[0].value), "per": rates[0].per}
                finding.score = _clause_score(finding, strong, measured, people)
    if sent.has("OPP_TEXT") and not any(f.label == "insertion_clause" for f in found):
        add("clause_opp", sent.pos["OPP_TEXT"][0], kind="opp")
    for label in ("CLAUSE_STRONG", "CLAUSE_WEAK", "CLAUSE_GENERIC", "CONSIDERATION_SOCIAL"):
        if sent.neg.get(label) and not any(f.label == "insertion_clause" for f in found):
            add("insertion_clause", sent.neg[label][0], negated=True)
            break
    for f in found:
        if f.label in _RESERVED_LABELS and not f.negated:
            # a reservation is a predicate plus the structures or the article it reserves to
            f.score = 0.95 if f.legal is not None else 0.85
    return found


def _num(value: float) -> int | float:
    return int(value) if float(value).is_integer() else value


def _clause_score(finding: Finding, strong: list[Cue], measured: bool, people: bool) -> float:
    """How sure one clause statement is: an article or a figure makes it « sûr »; a clause
    noun with its beneficiaries too; generic wording (« clause sociale », « conditions
    d'exécution à caractère social ») or beneficiaries with a verb stay « probable »."""
    if finding.legal is not None and (strong or measured or people):
        return 0.95
    if measured and (strong or people):
        return 0.95
    if measured or (strong and people):
        return 0.9
    if strong:
        return 0.85
    if finding.legal is not None:
        return 0.75
    if people:
        return 0.7
    return 0.6


def _scope(
    text: str, analysis: Analysis, finding: Finding, mentions: list[LotMention], all_lots: bool
) -> None:
    """Set the lots a finding is about: lots named in its sentence, else the lot section it
    sits in, else the whole notice (``None``)."""
    named = [m for m in mentions if not m.excluded]
    excluded = [lot for m in mentions if m.excluded for lot in m.ids]
    if named:
        finding.lots = tuple(dict.fromkeys(lot for m in named for lot in m.ids))
    elif not all_lots:
        section = _section_of(analysis, finding.start)
        if section is not None:
            finding.lots = (section,)
    finding.excluded = tuple(excluded)


def _section_of(analysis: Analysis, pos: int) -> str | None:
    for start, end, lot_id in analysis.lots.sections:
        if start <= pos <= end:
            return lot_id
    return None


def _hours_of_sentence(
    text: str, start: int, end: int, hours: list[Quantity], mentions: list[LotMention], n_lots: int
) -> tuple[float | None, dict[str, float]]:
    """Total insertion hours stated by one sentence, and hours per lot when broken down."""
    if not hours:
        return None, {}
    lot_hours: dict[str, float] = {}
    for q in hours:
        near = [
            m
            for m in mentions
            if len(m.ids) == 1 and (0 <= q.start - m.end <= 40 or 0 <= m.start - q.end <= 25)
        ]
        if near:
            best = min(near, key=lambda m: min(abs(q.start - m.end), abs(m.start - q.end)))
            lot_hours.setdefault(best.ids[0], q.value)
    values = [q.value for q in hours]
    if (
        len(values) >= 3
        and values[0] == max(values)
        and abs(sum(values) - 2 * values[0]) < 0.5
        and _BREAKDOWN_RE.search(text, hours[0].end, hours[1].start)
    ):
        # "250 heures, soit 120 heures en tranche ferme et 130 heures en tranche optionnelle":
        # one figure is the sum of the others, which break it down
        return max(values), lot_hours
    totals = [
        q
        for q in hours
        if _TOTAL_BEFORE_RE.search(text, max(start, q.start - 40), q.start)
        or _TOTAL_AFTER_RE.match(text, q.end)
    ]
    if totals and (
        len(hours) > 1
        or _TOTAL_BEFORE_RE.search(text, max(start, totals[-1].start - 40), totals[-1].start)
    ):
        return max(q.value for q in totals), lot_hours
    total = 0.0
    for q in hours:
        value = q.value
        if _EACH_AFTER_RE.match(text, q.end):
            before = [m for m in mentions if 0 <= q.start - m.end <= 40]
            if before:
                value *= len(before[-1].ids)
        total += value
    if len(hours) == 1 and n_lots > 1 and _EACH_RE.search(text, start, end) and not mentions:
        total = hours[0].value * n_lots
    return total, lot_hours


def decide(text: str, analysis: Analysis, cues: list[Cue]) -> None:
    """Fill ``analysis.findings``, allotment and hours from the cues of the notice."""
    layout = analysis.layout
    if layout is None or not layout.sentences:
        return
    by_sentence: dict[int, list[Cue]] = defaultdict(list)
    for cue in cues:
        by_sentence[layout.sentence_of(cue[1])].append(cue)
    refs = analysis.legal
    ref_starts = [r.start for r in refs]
    qtys = analysis.quantities
    q_starts = [q.start for q in qtys]
    mentions = analysis.mentions
    m_starts = [m.start for m in mentions]
    findings: list[Finding] = []
    #: sentence index → its insertion-clause finding (for "Cet engagement représente …")
    last_clause: dict[int, Finding] = {}
    for si in sorted(by_sentence):
        sent_cues = by_sentence[si]
        labels = {c[0] for c in sent_cues}
        if labels <= {
            "NEG",
            "OPTIONAL",
            "CONFUSER",
            "OBLIG",
            "CRIT_WORD",
            "ALLOT_POS",
            "ALLOT_NEG",
            "LOTS_TECH",
            "LABOUR_LAW",
            "BOILERPLATE",
            "ALL_LOTS",
            "CLAUSE_NOUN",
            "CRIT_GENERIC",
            "SERVICE_NOUN",
            "CONTRACTOR",
        }:
            if "ALLOT_POS" not in labels and "ALLOT_NEG" not in labels:
                continue
        sent = _Sentence(text, analysis, si, sent_cues)
        s, e = sent.start, sent.end
        sent_refs = _in(ref_starts, refs, s, e)
        sent_qtys = _in(q_starts, qtys, s, e)
        sent_mentions = _in(m_starts, mentions, s, e)
        if sent.has("CRIT_SAME"):
            lot = _section_of(analysis, s)
            if lot is not None:
                m = _CRIT_SAME_LOT_RE.search(text, s, e)
                source = (
                    m.group(1)
                    if m
                    else (analysis.lots.headers[0].lot_id if analysis.lots.headers else "1")
                )
                analysis.criteria_same_as[lot] = source
        sentence_findings = _evaluate(sent, sent_refs, sent_qtys)
        previous = last_clause.get(si - 1)
        follow: Finding | None = None
        if (
            previous is not None
            and sent.has("CLAUSE_ANAPHOR")
            and not any(f.label == "insertion_clause" for f in sentence_findings)
            and any(q.kind in ("hours", "rate") for q in sent_qtys)
        ):
            # "… réaliser une action d'insertion … . Cet engagement représente 700 heures":
            # the figures of the clause stated just before
            anchor = sent.pos["CLAUSE_ANAPHOR"][0]
            qs, qe = _quote_span(text, s, e, anchor[1])
            follow = Finding("insertion_clause", qs, qe, si, lots=previous.lots, named=True)
            rate = next((q for q in sent_qtys if q.kind == "rate"), None)
            if rate is not None:
                follow.rate = {"hours": _num(rate.value), "per": rate.per}
            follow.score = 0.9
            sentence_findings.append(follow)
        all_lots = sent.has("ALL_LOTS")
        line_start, line_end = layout.lines[sent.line]
        line_excluded = tuple(
            lot
            for m in _in(m_starts, mentions, line_start, line_end)
            if m.excluded
            for lot in m.ids
        )
        for finding in sentence_findings:
            if finding is follow and follow.lots is not None:
                continue  # keeps the lots of the clause it continues
            _scope(text, analysis, finding, sent_mentions, all_lots)
            if finding.lots is None and line_excluded:
                # "Chaque titulaire … . Le lot 3 n'est pas concerné." (same paragraph)
                finding.excluded = tuple(dict.fromkeys(finding.excluded + line_excluded))
            if finding.label == "insertion_clause" and not finding.negated:
                last_clause[si] = finding
        findings.extend(sentence_findings)
    _anaphoric_scope(text, analysis, findings)
    _allotment(text, analysis, cues)
    _resolve_res_ws(text, analysis, findings, cues)
    contracts = [f for f in findings if f.label == "insertion_contract" and not f.negated]
    if contracts and all(f.weak for f in contracts) and any(
        f.label == "insertion_clause" and not f.negated and (f.named or f.clause_word)
        for f in findings
    ):
        # "activité support", "encadrement technique", "mise en situation de travail" in a
        # notice with an insertion clause describe how the clause is carried out
        findings = [f for f in findings if f not in contracts]
    contract_sentences = {
        f.sentence for f in findings if f.label == "insertion_contract" and not f.negated
    }
    if contract_sentences:
        # In an insertion contract the criterion scores the insertion service bought and the
        # hours of work describe its volume (golden README): only a clause stated as such,
        # outside the description of the service, stays.
        findings = [
            f
            for f in findings
            if f.negated
            or f.label not in ("insertion_criterion", "insertion_clause")
            or (
                f.label == "insertion_clause"
                and (f.clause_word or (f.named and f.sentence not in contract_sentences))
            )
        ]
    _hours(text, analysis, findings)
    analysis.findings = findings


def _anaphoric_scope(text: str, analysis: Analysis, findings: list[Finding]) -> None:
    """« …7 % des heures à l'insertion. Cette clause s'applique aux lots 2 et 4. »: the next
    sentence refers back to the statement (« cette clause », « elle ») and names its lots;
    the statement takes them (« ne concerne pas le lot 3 » excludes them instead). Only
    statements with no lots of their own are rescoped."""
    layout = analysis.layout
    if layout is None or not analysis.mentions or not findings:
        return
    pattern = anaphora_re()
    m_starts = [m.start for m in analysis.mentions]
    by_sentence: dict[int, list[Finding]] = defaultdict(list)
    for f in findings:
        if f.lots is None and not f.negated:
            by_sentence[f.sentence].append(f)
    for si, group in by_sentence.items():
        if si + 1 >= len(layout.sentences):
            continue
        s, e = layout.sentences[si + 1]
        m = pattern.match(text, s, e)
        named = _in(m_starts, analysis.mentions, s, e) if m else []
        if not named:
            continue
        negative = bool(re.search(r"\bne\s+\S+$|\bne\b", text[s : m.end()], re.I))
        ids = tuple(dict.fromkeys(x for n in named if not (n.excluded or negative) for x in n.ids))
        excluded = tuple(x for n in named if n.excluded or negative for x in n.ids)
        for f in group:
            if ids:
                f.lots = ids
            if excluded:
                f.excluded = tuple(dict.fromkeys(f.excluded + excluded))
    # « Le lot n° 4 est réservé. Il est réservé aux entreprises adaptées… »: the pronoun
    # takes the lots the sentence before names
    back = back_anaphora_re()
    for si, group in by_sentence.items():
        s, e = layout.sentences[si]
        if si == 0 or not back.match(text, s, e):
            continue
        ps, pe = layout.sentences[si - 1]
        ids = tuple(
            dict.fromkeys(
                x for n in _in(m_starts, analysis.mentions, ps, pe) if not n.excluded for x in n.ids
            )
        )
        if ids:
            for f in group:
                if f.lots is None:
                    f.lots = ids


def _allotment(text: str, analysis: Analysis, cues: list[Cue]) -> None:
    positive = [c for c in cues if c[0] == "ALLOT_POS" and c not in analysis.negated]
    negative = [c for c in cues if c[0] == "ALLOT_NEG"] + [
        c for c in cues if c[0] == "ALLOT_POS" and c in analysis.negated
    ]
    technical = any(c[0] == "LOTS_TECH" for c in cues)
    ids = list(dict.fromkeys(h.lot_id for h in analysis.lots.headers))
    # « Allotissement : 11 lots », « comporte 8 lots », « NOMBRE DE LOTS 24 »: the count may
    # sit on the line after its label, where no phrase cue reaches (lots.lot_count)
    stated = lot_count(text)
    count = stated[0] if stated else None
    if count is None:
        for cue in positive:
            m = re.search(r"\b(\d{1,3})\s+lots\b", text[cue[1] : cue[2]])
            if m:
                count = int(m.group(1))
                break
    analysis.lot_count = count
    if analysis.lots.single_lot_marker and not ids:
        allotted = False
    elif negative and not (positive and len(ids) >= 2):
        allotted = False
    elif count is not None and not (technical and not positive):
        allotted = count >= 2
    elif positive and len(ids) == 1:
        # « divisé en lots : oui » over a single lot: lot 1 is the whole contract; a lot
        # numbered further (« Lot nº : 04 ») is one lot of a larger operation, unless the
        # notice relaunches that lot alone
        allotted = ids[0] != "1" and not relaunch(text)
    elif positive:
        allotted = True
    else:
        allotted = len(ids) >= 2 and not technical
    analysis.allotted = allotted
    layout = analysis.layout
    assert layout is not None
    if positive:
        s, e = layout.sentences[layout.sentence_of(positive[0][1])]
        analysis.allotment_evidence = _quote_span(text, s, e, positive[0][1])
    elif stated:
        analysis.allotment_evidence = (stated[1], stated[2])
    elif analysis.lots.headers:
        h = analysis.lots.headers[0]
        analysis.allotment_evidence = (h.line_start, h.line_end)
    if negative:
        s, e = layout.sentences[layout.sentence_of(negative[0][1])]
        analysis.allotment_negative = _quote_span(text, s, e, negative[0][1])


def _resolve_res_ws(
    text: str, analysis: Analysis, findings: list[Finding], cues: list[Cue]
) -> None:
    """The res-ws wording becomes SIAE and/or EA-ESAT when the notice names the article or the
    structures; it is dropped when another sentence already states the reservation."""
    ambiguous = [f for f in findings if f.label == "reserved_ws"]
    if not ambiguous:
        return
    typed = ("reserved_siae", "reserved_disability")
    norms = {n for r in analysis.legal for n in r.norms}
    layout = analysis.layout
    assert layout is not None
    boiler_sentences = {layout.sentence_of(c[1]) for c in cues if c[0] == "BOILERPLATE"}
    struct = {
        c[0]
        for c in cues
        if c[0] in ("STRUCT_SIAE", "STRUCT_HANDI")
        and c not in analysis.negated
        and layout.sentence_of(c[1]) not in boiler_sentences
    }
    siae = bool(norms & SIAE_ARTS) or "STRUCT_SIAE" in struct
    handi = bool(norms & HANDI_ARTS) or "STRUCT_HANDI" in struct
    for finding in ambiguous:
        # "réservation : oui" is settled by any typed reservation (ESS, prison included); the
        # res-ws wording only by an EA/ESAT or SIAE one
        labels = typed + (("reserved_other",) if finding.kind == "unspecified" else ())
        overlapping = [
            f
            for f in findings
            if f.label in labels
            and not f.negated
            and (f.lots is None or finding.lots is None or set(f.lots) & set(finding.lots))
        ]
        if overlapping:
            findings.remove(finding)
            continue
        if siae or handi:
            findings.remove(finding)
            ref = next((r for r in analysis.legal if set(r.norms) & (SIAE_ARTS | HANDI_ARTS)), None)
            for label, flag in (("reserved_siae", siae), ("reserved_disability", handi)):
                if flag:
                    findings.append(
                        Finding(
                            label,
                            finding.start,
                            finding.end,
                            finding.sentence,
                            finding.lots,
                            ref,
                            kind="res-ws",
                            # the form's wording settled by the article: sure; by structures
                            # named elsewhere in the notice: probable
                            score=0.9 if ref is not None else 0.75,
                        )
                    )


def _hours(text: str, analysis: Analysis, findings: list[Finding]) -> None:
    """Hours per clause finding (``finding.hours``); the notice total is summed later."""
    layout = analysis.layout
    assert layout is not None
    qtys = [q for q in analysis.quantities if q.kind == "hours"]
    q_starts = [q.start for q in qtys]
    m_starts = [m.start for m in analysis.mentions]
    n_lots = len({h.lot_id for h in analysis.lots.headers}) if analysis.allotted else 1
    for finding in findings:
        if finding.label != "insertion_clause" or finding.negated:
            continue
        s, e = layout.sentences[finding.sentence]
        sent_hours = _in(q_starts, qtys, s, e)
        sent_mentions = _in(m_starts, analysis.mentions, s, e)
        lots_here = n_lots if finding.lots is None else len(finding.lots)
        total, lot_hours = _hours_of_sentence(text, s, e, sent_hours, sent_mentions, lots_here)
        finding.hours = total
        finding.lot_hours = lot_hours
        firm = [
            q.value
            for q in sent_hours
            if _FIRM_BEFORE_RE.search(text, max(s, q.start - 40), q.start)
            or _FIRM_AFTER_RE.match(text, q.end, min(e, q.end + 25))
        ]
        if firm and len(firm) < len(sent_hours):
            finding.firm_hours = sum(firm)
