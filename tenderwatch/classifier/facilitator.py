"""Who to call about the insertion clause: the facilitator named in the notice (issue #12).

The clause facilitators (« facilitateur », « chargé(e) de mission clauses sociales »,
« référent(e) clause ») work for a PLIE, a Maison de l'emploi, a Mission locale, France
Travail, a « guichet unique » of the clauses or the buyer's own service. Notices name them in
one sentence of the execution conditions, sometimes with a person, a phone and an e-mail.

Precision comes first — no contact is better than a wrong one:

* a sentence counts only with a facilitator role, or an organisation plus a support cue
  (« accompagne », « le suivi est assuré par », « se rapprocher de »…), and with clause
  wording within the sentence or the text just before it;
* France Travail and the Missions locales are often named only as the source of the people
  to hire (« demandeurs d'emploi inscrits à France Travail »): such a mention is not a contact;
* a phone, an e-mail or a person is taken only from the facilitator's own sentence (or the
  next sentence of the same paragraph when it opens with « Tél. », « Contact », « Mme »…);
* the buyer's identification and contact lines (section I.1, « Nom du contact »…) never
  yield a facilitator nor lend it their phone.

All words and patterns live in ``data/facilitator.json``.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass
from functools import cache
from typing import Any

from tenderwatch.classifier.resources import data
from tenderwatch.core.wording import FACILITATOR_KIND_FR

#: Abbreviations whose period does not end a sentence (« M. Dupont », « Tél. 04… »).
_ABBREVIATIONS = frozenset(
    {"m", "mm", "mme", "mlle", "dr", "st", "art", "n", "cf", "tél", "tel", "p", "r", "av", "bd"}
)
_BOUNDARY = re.compile(r"[.!?](?=\s+[A-ZÀ-ÖØ-Ý«\"(]|[A-ZÀ-ÖØ-Ý][a-zà-öø-ÿ])")
_WORD_BEFORE = re.compile(r"([A-Za-zÀ-ÖØ-öø-ÿ]+)$")
#: How far (characters) around the mentions a long sentence is read for contact details.
_REACH = 300
#: Most lines a buyer block (« I.1) Nom et adresses » …) may span.
_BLOCK_LINES = 40
#: How far back the subject of a candidate-source phrase is looked for.
_SUBJECT_REACH = 200
#: How far back clause wording is looked for when the mention's sentence has none.
_CONTEXT_BEFORE = 400
#: Words of the organisation's complement (« du Pays de Vitré »).
# (the separator may be empty: a match starts after a word boundary or an apposition comma)
_COMPLEMENT_WORD = re.compile(r"(\s*['’]\s*|\s*-\s*|\s*)([A-Za-zÀ-ÖØ-öø-ÿ]+)")
_LEADING_CONNECTORS = re.compile(r"^(?:(?:de|du|des|la|le|les|l|d|au|aux|à)\b\s*['’]?\s*)+", re.I)


@dataclass(frozen=True)
class _Lookups:
    organisations: list[tuple[str, re.Pattern[str], bool]]  # kind, pattern, weak
    roles: list[re.Pattern[str]]
    support: re.Pattern[str]
    clause: re.Pattern[str]
    source: re.Pattern[str]
    public: re.Pattern[str]
    company: re.Pattern[str]
    connectors: frozenset[str]
    nouns: frozenset[str]
    stop_words: frozenset[str]
    adjective_suffixes: tuple[str, ...]
    max_words: int
    buyer_nouns: re.Pattern[str]
    apposition: re.Pattern[str]
    buyer_lines: list[re.Pattern[str]]
    buyer_blocks: list[tuple[re.Pattern[str], re.Pattern[str]]]
    follow: re.Pattern[str]
    phone: re.Pattern[str]
    email: re.Pattern[str]
    name: re.Pattern[str]
    role_name: re.Pattern[str]


@cache
def lookups() -> _Lookups:
    """The compiled lookups of ``data/facilitator.json`` (compiled once)."""
    d = data("facilitator.json")
    i = re.IGNORECASE
    comp = d["complement"]
    return _Lookups(
        organisations=[
            (o["kind"], re.compile(o["pattern"], 0 if o.get("case") else i), bool(o.get("weak")))
            for o in d["organisations"]
        ],
        roles=[re.compile(p, i) for p in d["roles"]],
        support=re.compile(d["support_cues"], i),
        clause=re.compile(d["clause_context"], i),
        source=re.compile(d["candidate_source"], i),
        public=re.compile(d["public_nouns"], i),
        company=re.compile(d["company_nouns"], i),
        connectors=frozenset(comp["connectors"]),
        nouns=frozenset(comp["nouns"]),
        stop_words=frozenset(comp["stop_words"]),
        adjective_suffixes=tuple(comp["adjective_suffixes"]),
        max_words=int(comp["max_words"]),
        buyer_nouns=re.compile(d["buyer_nouns"]),
        apposition=re.compile(d["apposition"]),
        # « ^ » is a line start: these are searched in the whole text between line bounds
        buyer_lines=[re.compile(p, i | re.M) for p in d["buyer_lines"]],
        buyer_blocks=[
            (re.compile(b["start"], i | re.M), re.compile(b["end"], i | re.M))
            for b in d["buyer_blocks"]
        ],
        follow=re.compile(d["follow_cues"], i),
        phone=re.compile(d["phone"]),
        email=re.compile(d["email"], i),
        name=re.compile(d["name"]),
        role_name=re.compile(d["role_name"]),
    )


def kind_label(kind: str | None) -> str | None:
    """The French name of an organisation kind (« PLIE », « Maison de l'emploi »…)."""
    return FACILITATOR_KIND_FR.get(kind) if kind else None


# -- text layout ----------------------------------------------------------------------------


def _lines(text: str) -> list[tuple[int, int]]:
    spans, start = [], 0
    for m in re.finditer(r"\n", text):
        spans.append((start, m.start()))
        start = m.end()
    spans.append((start, len(text)))
    return spans


def _sentences(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """Sentence spans of one line; a period after an abbreviation or inside a number, an
    e-mail or a URL does not end a sentence (the boundary needs a capital after it)."""
    spans, s = [], start
    line = text[start:end]
    for m in _BOUNDARY.finditer(line):
        word = _WORD_BEFORE.search(line[: m.start()])
        if word and word.group(1).lower() in _ABBREVIATIONS:
            continue
        spans.append((s, start + m.end()))
        s = start + m.end()
    spans.append((s, end))
    return [(a, b) for a, b in spans if text[a:b].strip()]


def _buyer_lines(text: str, lines: list[tuple[int, int]], candidates: set[int]) -> set[int]:
    """Among ``candidates`` (line indexes), those that identify the buyer or give its general
    contact: a buyer line itself (« Nom du contact : … »), or a line inside a buyer block
    (« I.1) Nom et adresses » … « I.2) »)."""
    lk = lookups()
    flagged = {i for i in candidates if any(p.search(text, *lines[i]) for p in lk.buyer_lines)}
    starts = [a for a, _ in lines]
    for start, end in lk.buyer_blocks:
        for m in start.finditer(text):
            first = bisect_right(starts, m.start()) - 1
            if starts[first] != m.start() and text[starts[first] : m.start()].strip():
                continue  # the heading must open its line
            flagged.add(first)
            for i in range(first + 1, min(len(lines), first + _BLOCK_LINES)):
                if end.search(text, *lines[i]):
                    break
                flagged.add(i)
    return flagged


def _trigger_lines(text: str, lines: list[tuple[int, int]]) -> set[int]:
    """Indexes of the lines that name a role or an organisation: the only ones read (one
    pass over the text per pattern keeps a 5 MB notice fast)."""
    lk = lookups()
    starts = [a for a, _ in lines]
    found: set[int] = set()
    for pattern in [*lk.roles, *(p for _, p, _ in lk.organisations)]:
        for m in pattern.finditer(text):
            found.add(bisect_right(starts, m.start()) - 1)
    return found


# -- one sentence ---------------------------------------------------------------------------


def _extend(text: str, end: int, limit: int) -> int:
    """End of an organisation's complement: « PLIE » → « PLIE du Pays de Vitré »; stops at
    a verb or any other lowercase word (« … de la métropole assiste »), at punctuation and
    at contact words (« Tél. »)."""
    lk = lookups()
    pos = good = end
    words = 0
    after_noun = False
    while words < lk.max_words:
        m = _COMPLEMENT_WORD.match(text, pos, limit)
        if not m:
            break
        word = m.group(2)
        low = word.lower()
        if word in lk.stop_words:
            break
        if low in lk.connectors:
            pos = m.end()
            after_noun = False
            continue
        # « du bassin rennais »: a place adjective only right after a noun of the name
        adjective = after_noun and m.group(1).isspace() and low.endswith(lk.adjective_suffixes)
        if word[0].isupper() or low in lk.nouns or adjective:
            pos = good = m.end()
            words += 1
            after_noun = True
            continue
        break
    return good


def _is_source(text: str, sentence_start: int, org_start: int) -> bool:
    """« demandeurs d'emploi inscrits à France Travail »: the organisation is where the
    people to hire come from, not a contact (unless a company is the nearer subject:
    « les entreprises sont accompagnées par le PLIE »)."""
    lk = lookups()
    # the subject is near: a bounded look-back keeps a huge one-line text linear
    before = text[max(sentence_start, org_start - _SUBJECT_REACH) : org_start]
    if not lk.source.search(before[-60:]):
        return False
    publics = [m.start() for m in lk.public.finditer(before)]
    companies = [m.start() for m in lk.company.finditer(before)]
    if not publics:
        return False  # « les heures seront suivies par le PLIE »: nobody is sent
    return not companies or publics[-1] > companies[-1]


@dataclass
class _Candidate:
    organisation: str | None
    kind: str | None
    name: str | None
    phone: str | None
    email: str | None
    start: int
    end: int
    role: bool
    order: int

    def score(self) -> tuple[int, int]:
        contacts = sum(x is not None for x in (self.name, self.phone, self.email))
        return (2 * contacts + int(self.role) + int(self.organisation is not None), -self.order)


def _organisations(text: str, a: int, b: int) -> list[tuple[int, int, str, bool]]:
    """Organisation matches in ``text[a:b]`` as (start, end of the complement, kind, weak);
    overlapping matches keep the earliest, longest one."""
    found: list[tuple[int, int, str, bool]] = []
    for kind, pattern, weak in lookups().organisations:
        for m in pattern.finditer(text, a, b):
            found.append((m.start(), m.end(), kind, weak))
    found.sort(key=lambda x: (x[0], -x[1]))
    kept: list[tuple[int, int, str, bool]] = []
    for start, end, kind, weak in found:
        if kept and start < kept[-1][1]:
            continue
        kept.append((start, _extend(text, end, b), kind, weak))
    return kept


def _sentence_candidate(
    text: str, a: int, b: int, follow: tuple[int, int] | None, order: int
) -> _Candidate | None:
    lk = lookups()
    sentence = text[a:b]
    roles = [m for p in lk.roles for m in p.finditer(text, a, b)]
    orgs = [o for o in _organisations(text, a, b) if not _is_source(text, a, o[0])]
    if not roles:
        # an organisation alone: it must be the one helping with the clause
        if not orgs or not lk.support.search(sentence):
            return None
        if all(o[3] for o in orgs) and not any(
            lk.support.search(text, o[1], min(b, o[1] + 80))
            or lk.support.search(text, max(a, o[0] - 80), o[0])
            for o in orgs
        ):
            return None
    context_from = max(0, a - _CONTEXT_BEFORE)
    if not lk.clause.search(text, context_from, b):
        return None  # « facilitateur BIM », the Maison de l'emploi as a building
    role = min(roles, key=lambda m: m.start()) if roles else None
    organisation = kind = None
    if orgs:
        if role is not None:
            # the organisation nearest to the role (« le facilitateur du PLIE de … »)
            org = min(orgs, key=lambda o: abs(o[0] - role.end()))
        else:
            org = orgs[0]
        organisation, kind = _clean(text[org[0] : org[1]]), org[2]
        marks = [org[0], org[1]]
    else:
        assert role is not None
        marks = [role.start(), role.end()]
        complement_end = _extend(text, role.end(), b)
        apposed = lk.apposition.match(text, role.end(), b)
        if complement_end == role.end() and apposed:
            # « chargée de mission clauses sociales, Ville de Montreuil, tél. … »
            complement_end = _extend(text, apposed.end(), b)
        complement = _LEADING_CONNECTORS.sub("", text[role.end() : complement_end].strip(" ,"))
        if complement and lk.buyer_nouns.search(complement):
            organisation, kind = _clean(complement), "service_acheteur"
            marks[1] = complement_end
    if role is not None:
        marks += [role.start(), role.end()]
    lo, hi = min(marks), max(marks)
    w_start, w_end = max(a, lo - _REACH), min(b, hi + _REACH)
    windows = [(w_start, w_end)]
    if follow is not None:
        windows.append(follow)
    name = phone = email = None
    for ws, we in windows:
        phone = phone or _first(lk.phone, text, ws, we)
        email = email or _first(lk.email, text, ws, we)
        name = name or _first(lk.name, text, ws, we)
    if name is None:
        for after in (role.end() if role else None, hi):
            if after is not None:
                m = lk.role_name.match(text, after, w_end)
                if m:
                    name = m.group(1)
                    break
    # the quote is the sentence, or only the part read of a very long one (flattened texts)
    end = follow[1] if follow is not None and (phone or email or name) else w_end
    start = w_start
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return _Candidate(organisation, kind, name, phone, email, start, end, role is not None, order)


def _first(pattern: re.Pattern[str], text: str, a: int, b: int) -> str | None:
    m = pattern.search(text, a, b)
    return _clean(m.group(0)) if m else None


def _clean(value: str) -> str:
    return " ".join(value.split()).strip(" ,;:")


# -- public API -----------------------------------------------------------------------------


def extract(text: str) -> dict[str, Any] | None:
    """The clause facilitator of a notice, or ``None``.

    ``{"organisation", "kind", "name", "phone", "email", "quote", "start", "end"}``: the
    organisation as written (« PLIE du Pays de Vitré »), its ``kind`` (``plie``,
    ``maison_emploi``, ``mission_locale``, ``france_travail``, ``guichet_unique``,
    ``service_acheteur`` or ``None`` for « le facilitateur du territoire »), the person, phone
    and e-mail when the facilitator's sentence gives them, and the evidence span
    (``text[start:end] == quote``). When several sentences qualify, the one with the most
    contact details wins, then the first.
    """
    if not text:
        return None
    lines = _lines(text)
    wanted = _trigger_lines(text, lines)
    buyer = _buyer_lines(text, lines, wanted)
    lk = lookups()
    best: _Candidate | None = None
    order = 0
    for index in sorted(wanted - buyer):
        la, lb = lines[index]
        sentences = _sentences(text, la, lb)
        for k, (a, b) in enumerate(sentences):
            follow = None
            if k + 1 < len(sentences) and lk.follow.search(text[sentences[k + 1][0] : lb]):
                follow = sentences[k + 1]
            candidate = _sentence_candidate(text, a, b, follow, order)
            order += 1
            if candidate is not None and (best is None or candidate.score() > best.score()):
                best = candidate
    if best is None:
        return None
    return {
        "organisation": best.organisation,
        "kind": best.kind,
        "name": best.name,
        "phone": best.phone,
        "email": best.email,
        "quote": text[best.start : best.end],
        "start": best.start,
        "end": best.end,
    }
