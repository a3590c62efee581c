"""Which notices concern which groups, and why.

:func:`match` is a pure function of a :class:`~notifier.models.Group` and a
:class:`~notifier.models.NoticeView`: no I/O, no clock. It returns a
:class:`~notifier.models.Match` with the labels and the lots that concern the group and short
French reasons, or ``None``. :func:`explain_no_match` says, in French, why a notice (or some of
its lots) did not reach a group. :class:`GroupIndex` finds the candidate groups of a notice
through inverted indexes (wanted label, département, CPV prefix) and runs :func:`match` on
those only; its results equal the nested loop over every group and notice.

The rules, in the order they are applied:

1. Only canonical notices (``canonical_id`` is ``None`` or the notice's own id): a copy of a
   notice published on another source is never sent again.
2. Nature: calls for tenders; award notices only to groups with ``awards = true``.
   Corrigenda and cancellations are not matched here: they are sent as updates to the groups
   that received the original notice.
3. Exclusion keywords (any found: no match) and keywords (one must be found), case-,
   accent- and punctuation-insensitive, whole words (a trailing ``*`` allows any ending),
   on the title, the text and the lot titles.
4. Per *unit* — each lot of an allotted notice, or the whole notice otherwise:

   - the social labels of the unit: the lot's own labels plus the notice's labels that no lot
     carries (a clause written once for the whole procedure applies to every lot);
   - eligibility (``notifier/eligibility.json``): a unit reserved to SIAE (L. 2113-13) or to
     EA/ESAT (L. 2113-12) is answerable only by a group with such members; both at once
     (L. 2113-14) by either; a ``marché d'insertion`` counts only for groups with SIAE members;
     clauses, criteria and other reservations count for everyone;
   - only the labels the group wants count; a unit with none left does not concern it;
   - territory: the unit's départements (the lot's, else the notice's) must meet the group's
     départements and the départements of its régions; an empty territory is all of France;
     a unit with no known département reaches only all-France groups;
   - CPV: one of the unit's codes (the lot's, else the notice's) starts with one of the
     group's prefixes; a unit without any CPV code passes (said in the reasons);
   - value bounds on the lot's value (or the notice's when not allotted); an unknown value
     passes ("montant non précisé"); a lot with no value of its own fails a minimum that
     the notice's total is already below.

   A notice matches when at least one unit does; ``Match.lots`` names those lots.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import cache, lru_cache
from importlib import resources

from tenderwatch.notifier.geo import (
    departement_codes,
    departement_name,
    fold,
    region_code,
    region_name,
)
from tenderwatch.notifier.geo import departements_of_region as _region_departements
from tenderwatch.notifier.models import (
    CONFIDENCE_LEVELS,
    SOCIAL_LABELS,
    STRUCTURE_KINDS,
    Group,
    Match,
    NoticeView,
)

__all__ = ["GroupIndex", "explain_no_match", "match", "match_award_contact"]

CALL_FOR_TENDERS = "call_for_tenders"
AWARD = "award"
UPDATE_NATURES = ("corrigendum", "cancellation")


# ---------------------------------------------------------------------------------------------
# The eligibility table
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LabelRule:
    """How one social label routes (one entry of ``eligibility.json``)."""

    label: str
    restricted_to: frozenset[str] | None  # audiences; None = every group
    gate: bool  # a legal restriction on who may bid for the unit
    style: str  # "reservation" or "feature": how the reason is phrased
    phrase: str
    legal_basis: str


@dataclass(frozen=True)
class EligibilityRules:
    """The whole table: audiences (sets of structure kinds), label rules, joint reservation."""

    audiences: dict[str, frozenset[str]]
    audience_names: dict[str, str]
    labels: dict[str, LabelRule]
    joint_labels: frozenset[str]
    joint_phrase: str
    joint_legal_basis: str
    skip_lot_statuses: frozenset[str]


@cache
def eligibility_rules() -> EligibilityRules:
    """Load ``notifier/eligibility.json`` once and check it covers every social label."""
    raw = json.loads(
        resources.files("tenderwatch.notifier").joinpath("eligibility.json").read_text(encoding="utf-8")
    )
    audiences = {name: frozenset(a["kinds"]) for name, a in raw["audiences"].items()}
    unknown = {k for kinds in audiences.values() for k in kinds} - set(STRUCTURE_KINDS)
    if unknown:
        raise ValueError(f"eligibility.json : types de structure inconnus {sorted(unknown)}")
    labels = {}
    for label, spec in raw["labels"].items():
        restricted = spec.get("restricted_to")
        if restricted is not None and not set(restricted) <= set(audiences):
            raise ValueError(f"eligibility.json : public inconnu pour {label}")
        labels[label] = LabelRule(
            label=label,
            restricted_to=None if restricted is None else frozenset(restricted),
            gate=bool(spec.get("gate", False)),
            style=spec.get("style", "feature"),
            phrase=spec["phrase"],
            legal_basis=spec.get("legal_basis", ""),
        )
    if set(labels) != set(SOCIAL_LABELS):
        raise ValueError("eligibility.json : il faut une règle par label social")
    joint = raw["joint"]
    return EligibilityRules(
        audiences=audiences,
        audience_names={name: a["name"] for name, a in raw["audiences"].items()},
        labels=labels,
        joint_labels=frozenset(joint["labels"]),
        joint_phrase=joint["phrase"],
        joint_legal_basis=joint["legal_basis"],
        skip_lot_statuses=frozenset(raw.get("skip_lot_statuses", [])),
    )


# ---------------------------------------------------------------------------------------------
# A group's filters, compiled once
# ---------------------------------------------------------------------------------------------


_Words = tuple[tuple[str, re.Pattern[str]], ...]


@dataclass(frozen=True)
class _Filters:
    """A group's filters in the form matching reads them (built by ``_compile_filters``)."""

    territory: frozenset[str] | None  # None: all of France
    via_region: dict[str, str]  # département -> région code, when only the région names it
    cpv: tuple[str, ...]
    keywords: _Words
    any_keyword: re.Pattern[str] | None
    excludes: _Words
    any_exclude: re.Pattern[str] | None
    wanted: frozenset[str]
    audiences: frozenset[str]
    members: tuple[tuple[str, tuple[str, ...]], ...]  # (audience, the group's kinds in it)
    counted: frozenset[str]  # labels that can count for this group at all


def _keyword_pattern(keyword: str) -> str | None:
    """A regex over folded text: whole words; a trailing ``*`` allows any ending."""
    star = keyword.rstrip().endswith("*")
    folded = fold(keyword.rstrip().rstrip("*"))
    if not folded:
        return None
    return r"\b" + re.escape(folded) + (r"[0-9a-z]*" if star else "") + r"\b"


def _compile_words(words: Sequence[str]) -> tuple[_Words, re.Pattern[str] | None]:
    """Each word's own pattern (to name the one found) and one alternation (to search fast)."""
    pairs = [(w, p) for w in words if (p := _keyword_pattern(w))]
    singles = tuple((w, re.compile(p)) for w, p in pairs)
    combined = re.compile("|".join(f"(?:{p})" for _, p in pairs)) if pairs else None
    return singles, combined


@lru_cache(maxsize=65536)
def _compile_filters(
    departements: tuple[str, ...],
    regions: tuple[str, ...],
    cpv: tuple[str, ...],
    keywords: tuple[str, ...],
    excludes: tuple[str, ...],
    labels: tuple[str, ...],
    kinds: tuple[str, ...],
) -> _Filters:
    """Compile a group's filters: territory expanded to départements, keyword regexes, the
    audiences its members belong to and the labels that can count for it."""
    territory: set[str] | None = None
    via_region: dict[str, str] = {}
    if departements or regions:
        territory = set()
        for dep in departements:
            territory.update(departement_codes(dep) or (str(dep),))
        for reg in regions:
            code = region_code(reg)
            if code is None:
                continue  # refused by groups.check_groups; a hand-built Group just gains nothing
            for dep in _region_departements(code):
                if dep not in territory:
                    via_region[dep] = code
            territory.update(_region_departements(code))
    rules = eligibility_rules()
    audiences = frozenset(a for a, ks in rules.audiences.items() if ks.intersection(kinds))
    members = tuple(
        (a, tuple(dict.fromkeys(k for k in kinds if k in rules.audiences[a])))
        for a in sorted(audiences)
    )
    wanted = frozenset(labels) & frozenset(SOCIAL_LABELS)
    counted = frozenset(
        label
        for label in wanted
        if (restricted := rules.labels[label].restricted_to) is None or restricted & audiences
    )
    kw, any_kw = _compile_words(keywords)
    ex, any_ex = _compile_words(excludes)
    return _Filters(
        territory=None if territory is None else frozenset(territory),
        via_region=via_region,
        cpv=tuple(c for c in cpv if c),
        keywords=kw,
        any_keyword=any_kw,
        excludes=ex,
        any_exclude=any_ex,
        wanted=wanted,
        audiences=audiences,
        members=members,
        counted=counted,
    )


def _filters(group: Group) -> _Filters:
    # Keyed on the filter values, not on the object: a Group is mutable and unhashable.
    return _compile_filters(
        tuple(group.departements),
        tuple(group.regions),
        tuple(group.cpv_prefixes),
        tuple(group.keywords),
        tuple(group.exclude_keywords),
        tuple(group.labels),
        tuple(group.structure_kinds),
    )


# ---------------------------------------------------------------------------------------------
# A notice, cut into units (its lots, or itself)
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Unit:
    lot_id: str | None  # None: the whole notice
    status: str | None
    labels: tuple[str, ...]  # social labels, in SOCIAL_LABELS order
    departements: tuple[str, ...]
    departements_own: bool  # the lot's own places (else the notice's)
    cpv: tuple[str, ...]
    cpv_own: bool
    value: float | None
    total: float | None  # the notice's total value, for a lot without its own
    skipped: bool  # a cancelled lot
    allowed: frozenset[str] | None  # audiences that may answer a reserved unit; None: anyone
    gate_phrase: str | None  # "réservé aux SIAE", for the near-miss line


@lru_cache(maxsize=256)
def _gate(labels: tuple[str, ...]) -> tuple[frozenset[str] | None, str | None]:
    """The audiences allowed to answer a unit carrying ``labels`` (None when it is not
    reserved) and the phrase that says so."""
    rules = eligibility_rules()
    gates = [lb for lb in labels if rules.labels[lb].gate and rules.labels[lb].restricted_to]
    if not gates:
        return None, None
    allowed = frozenset(a for lb in gates for a in rules.labels[lb].restricted_to or ())
    if rules.joint_labels <= set(gates):
        return allowed, rules.joint_phrase
    return allowed, rules.labels[gates[0]].phrase


def _unit(
    lot_id: str | None,
    status: str | None,
    labels: tuple[str, ...],
    departements: tuple[str, ...],
    departements_own: bool,
    cpv: tuple[str, ...],
    cpv_own: bool,
    value: float | None,
    total: float | None,
) -> _Unit:
    allowed, phrase = _gate(labels)
    return _Unit(
        lot_id=lot_id,
        status=status,
        labels=labels,
        departements=departements,
        departements_own=departements_own,
        cpv=cpv,
        cpv_own=cpv_own,
        value=value,
        total=total,
        skipped=status in eligibility_rules().skip_lot_statuses,
        allowed=allowed,
        gate_phrase=phrase,
    )


def _units(notice: NoticeView) -> list[_Unit]:
    notice_labels = notice.social_labels
    if not notice.lots:
        return [
            _unit(
                None,
                None,
                tuple(notice_labels),
                tuple(notice.departements),
                False,
                tuple(notice.cpv),
                False,
                notice.estimated_value,
                None,
            )
        ]
    on_lots = {label for lot in notice.lots for label in lot.labels}
    notice_wide = {label for label in notice_labels if label not in on_lots}
    units = []
    for lot in notice.lots:
        labels = notice_wide | set(lot.labels)
        units.append(
            _unit(
                str(lot.id),
                lot.status,
                tuple(label for label in SOCIAL_LABELS if label in labels),
                tuple(lot.departements or notice.departements),
                bool(lot.departements),
                tuple(lot.cpv or notice.cpv),
                bool(lot.cpv),
                lot.estimated_value,
                notice.estimated_value if lot.estimated_value is None else None,
            )
        )
    return units


def _confident_units(
    group: Group, notice: NoticeView, units: list[_Unit], fails: list[str] | None
) -> list[_Unit]:
    """``units`` without the labels the classifier is less sure of than the group's
    ``min_confidence`` (« sûr » keeps only the sure ones; « probable », the default, all)."""
    wanted = CONFIDENCE_LEVELS.index(group.min_confidence)
    dropped = {
        label
        for label in notice.social_labels
        if CONFIDENCE_LEVELS.index(notice.confidence_level(label)) > wanted
    }
    if not dropped:
        return units
    if fails is not None:
        rules = eligibility_rules()
        for label in (lb for lb in SOCIAL_LABELS if lb in dropped):
            level = notice.confidence_level(label)
            _note(
                fails,
                f"{rules.labels[label].phrase} : détection « {level} », votre groupe ne retient "
                f"que les détections « {group.min_confidence} » (min_confidence)",
            )
    return [
        _unit(
            u.lot_id,
            u.status,
            tuple(label for label in u.labels if label not in dropped),
            u.departements,
            u.departements_own,
            u.cpv,
            u.cpv_own,
            u.value,
            u.total,
        )
        for u in units
    ]


@lru_cache(maxsize=4096)
def _fold_parts(parts: tuple[str, ...]) -> str:
    # One folded line per part, so that a phrase cannot run from the title into the text.
    return "\n".join(fold(p) for p in parts if p)


def _folded(notice: NoticeView) -> str:
    return _fold_parts((notice.title, notice.text, *(lot.title or "" for lot in notice.lots)))


# ---------------------------------------------------------------------------------------------
# French wording
# ---------------------------------------------------------------------------------------------


def _euros(value: float) -> str:
    return f"{value:,.0f}".replace(",", " ") + " €"


@lru_cache(maxsize=1024)
def _dep(code: str, region: str | None = None) -> str:
    """``"26 (Drôme)"``, or ``"69 (Rhône, région Auvergne-Rhône-Alpes)"`` when the group
    covers it through its région."""
    name = departement_name(code)
    inner = ", ".join(x for x in (name, f"région {region_name(region)}" if region else None) if x)
    return f"{code} ({inner})" if inner else code


def _deps(codes: Sequence[str], via_region: dict[str, str] | None = None) -> str:
    word = "département" if len(codes) == 1 else "départements"
    via = via_region or {}
    return f"{word} {', '.join(_dep(c, via.get(c)) for c in codes)}"


@lru_cache(maxsize=4096)
def _territory_reason(deps: tuple[str, ...], regions: tuple[str | None, ...]) -> str:
    text = _deps(deps, {d: r for d, r in zip(deps, regions, strict=True) if r})
    return f"{text[0].upper()}{text[1:]} dans votre territoire"


def _list_fr(items: Sequence[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " et " + items[-1]


def _members_text(
    members: tuple[tuple[str, tuple[str, ...]], ...], audiences: Iterable[str]
) -> str:
    wanted = set(audiences)
    kinds = [k for a, ks in members if a in wanted for k in ks]
    return f"votre groupe compte des {_list_fr(list(dict.fromkeys(kinds)))}"


@lru_cache(maxsize=4096)
def _label_parts(
    unit_labels: tuple[str, ...],
    counted: tuple[str, ...],
    members: tuple[tuple[str, tuple[str, ...]], ...],
    audiences: frozenset[str],
) -> tuple[tuple[str, str], ...]:
    """``(style, text)`` per counted label, reservations first, one for a joint reservation.

    The text has no subject yet: ``_render_labels`` puts "Lot 3", "Lots 1 et 3" or "Marché"
    in front, so that a clause repeated on every lot is said once.
    """
    rules = eligibility_rules()
    out = []
    joint = rules.joint_labels <= set(unit_labels)
    done_joint = False
    for label in sorted(counted, key=lambda lb: rules.labels[lb].style != "reservation"):
        rule = rules.labels[label]
        if joint and label in rules.joint_labels:
            if done_joint:
                continue
            done_joint = True
            aud = {a for lb in rules.joint_labels for a in rules.labels[lb].restricted_to or ()}
            text = f"{rules.joint_phrase} ({rules.joint_legal_basis}) — "
            out.append(("reservation", text + _members_text(members, aud & audiences)))
            continue
        text = f"{rule.phrase} ({rule.legal_basis})" if rule.legal_basis else rule.phrase
        if rule.restricted_to:
            text += " — " + _members_text(members, rule.restricted_to & audiences)
        out.append((rule.style, text))
    return tuple(out)


def _lots_subject(lot_ids: list[str]) -> str:
    return f"Lot {lot_ids[0]}" if len(lot_ids) == 1 else f"Lots {_list_fr(lot_ids)}"


@lru_cache(maxsize=4096)
def _render_labels(
    parts: tuple[tuple[str | None, tuple[tuple[str, str], ...]], ...],
) -> tuple[str, ...]:
    """Sentences from ``(lot_id, parts)`` pairs, merging lots that share a sentence.
    (Cached: the groups of one notice share a handful of combinations.)"""
    lots_of: dict[tuple[str, str], list[str]] = {}
    for lot_id, unit_parts in parts:
        for part in unit_parts:
            lots_of.setdefault(part, [])
            if lot_id is not None:
                lots_of[part].append(lot_id)
    out = []
    for (style, text), lot_ids in lots_of.items():
        if not lot_ids:  # the whole notice
            out.append(f"Marché {text}" if style == "reservation" else text[0].upper() + text[1:])
        elif style == "reservation":
            verb = text if len(lot_ids) == 1 else re.sub(r"^réservé\b", "réservés", text)
            out.append(f"{_lots_subject(lot_ids)} {verb}")
        else:
            out.append(f"{_lots_subject(lot_ids)} : {text}")
    return tuple(out)


# ---------------------------------------------------------------------------------------------
# Evaluation
# ---------------------------------------------------------------------------------------------


@dataclass
class _UnitResult:
    labels: list[str]
    label_parts: tuple[tuple[str, str], ...]
    in_territory: list[str]
    unknown_place: bool
    cpv_hit: tuple[str, str] | None  # (code, prefix)
    unknown_cpv: bool
    value: float | None  # known and within the bounds
    value_unknown: bool  # the group has bounds and the unit's value is unknown


def _note(fails: list[str], message: str) -> None:
    if message not in fails:
        fails.append(message)


def _label_misses(f: _Filters, unit: _Unit, who: str, fails: list[str]) -> None:
    """Explain mode: why none of the unit's labels counts for the group."""
    rules = eligibility_rules()
    for label in unit.labels:
        rule = rules.labels[label]
        if label not in f.wanted:
            _note(fails, f"{who} : {rule.phrase} — label « {label} » non suivi par votre groupe")
        elif not rule.gate:  # a gate was already explained
            _note(fails, f"{who} : {rule.phrase} : votre groupe n'en compte pas")


def _evaluate_unit(
    f: _Filters, group: Group, unit: _Unit, allotted: bool, fails: list[str] | None
) -> _UnitResult | None:
    """The unit's result for the group, or None. In explain mode (``fails`` is a list) every
    check runs and says why it failed; otherwise the first failure returns."""
    if not unit.labels:
        return None  # a lot without any social label is not worth a near-miss line
    who = f"Lot {unit.lot_id}" if allotted else "Marché"
    ok = True
    if unit.skipped:
        if fails is None:
            return None
        ok = False
        _note(fails, f"{who} annulé")
    if unit.allowed is not None and not (unit.allowed & f.audiences):
        if fails is None:
            return None
        ok = False
        _note(fails, f"{who} {unit.gate_phrase} : votre groupe n'en compte pas")
    counted = [lb for lb in unit.labels if lb in f.counted]
    if not counted:
        if fails is None:
            return None
        ok = False
        _label_misses(f, unit, who, fails)

    # Territory.
    in_territory: list[str] = []
    unknown_place = not unit.departements
    if f.territory is not None:
        if not unknown_place:
            in_territory = [d for d in unit.departements if d in f.territory]
        if not in_territory:
            if fails is None:
                return None
            ok = False
            if unknown_place:  # neither the lot nor the notice says where
                _note(
                    fails,
                    "Lieu d'exécution non précisé : seuls les groupes couvrant toute la France "
                    "reçoivent cet avis",
                )
            else:
                where = _deps(unit.departements)
                own = unit.departements_own and allotted
                _note(
                    fails,
                    f"{who} hors territoire : {where}" if own else f"Hors territoire : {where}",
                )

    # CPV.
    cpv_hit: tuple[str, str] | None = None
    unknown_cpv = not unit.cpv
    if f.cpv and not unknown_cpv:
        cpv_hit = next(((c, p) for c in unit.cpv for p in f.cpv if c.startswith(p)), None)
        if cpv_hit is None:
            if fails is None:
                return None
            ok = False
            codes = ", ".join(unit.cpv[:3]) + ("…" if len(unit.cpv) > 3 else "")
            head = f"{who} hors de vos secteurs" if unit.cpv_own and allotted else "Hors secteurs"
            _note(fails, f"{head} : CPV {codes} (vos préfixes : {', '.join(f.cpv)})")

    # Value.
    value_ok: float | None = None
    value_unknown = False
    lo, hi = group.min_value, group.max_value
    if lo is not None or hi is not None:
        problem = None
        if unit.value is not None:
            if lo is not None and unit.value < lo:
                problem = f"estimé {_euros(unit.value)} sous votre minimum ({_euros(lo)})"
            elif hi is not None and unit.value > hi:
                problem = f"estimé {_euros(unit.value)} au-dessus de votre maximum ({_euros(hi)})"
            else:
                value_ok = unit.value
        elif lo is not None and unit.total is not None and unit.total < lo:
            # A lot without a value of its own is worth at most the whole notice.
            problem = f"total de l'avis {_euros(unit.total)} sous votre minimum ({_euros(lo)})"
        else:
            value_unknown = True
        if problem is not None:
            if fails is None:
                return None
            ok = False
            own = allotted and unit.value is not None
            _note(fails, f"{who} : montant {problem}" if own else f"Montant {problem}")
    if not ok:
        return None
    return _UnitResult(
        labels=counted,
        label_parts=_label_parts(unit.labels, tuple(counted), f.members, f.audiences),
        in_territory=in_territory,
        unknown_place=unknown_place,
        cpv_hit=cpv_hit,
        unknown_cpv=unknown_cpv,
        value=value_ok,
        value_unknown=value_unknown,
    )


def _evaluate(
    group: Group,
    f: _Filters,
    notice: NoticeView,
    units: list[_Unit],
    fails: list[str] | None,
) -> Match | None:
    """Match ``notice`` against ``group``; ``fails`` (explain mode) collects the near misses."""
    explain = fails is not None

    def stop(message: str) -> None:
        if fails is not None and message not in fails:
            fails.append(message)

    if notice.canonical_id not in (None, notice.id):
        stop(f"Doublon : seul l'avis d'origine ({notice.canonical_id}) est envoyé")
        return None
    if notice.nature == AWARD:
        if not group.awards:
            stop("Avis d'attribution : votre groupe ne suit pas les attributions (awards)")
            return None
    elif notice.nature in UPDATE_NATURES:
        stop(
            "Rectificatif ou annulation : envoyé en mise à jour aux groupes qui ont reçu "
            "l'avis initial"
        )
        return None
    elif notice.nature != CALL_FOR_TENDERS:
        stop(f"Avis de nature « {notice.nature} » : pas d'alerte")
        return None

    units = _confident_units(group, notice, units, fails)
    labels_anywhere = {lb for u in units for lb in u.labels}
    if not labels_anywhere:
        stop("Aucune clause sociale ni réservation détectée")
        return None
    if not explain and not (labels_anywhere & f.counted):
        return None  # fast path: nothing this group could count

    keyword_reason = None
    blocked = False  # explain mode goes on after a keyword failure, to list the rest
    if f.any_exclude is not None or f.any_keyword is not None:
        text = _folded(notice)
        if f.any_exclude is not None and f.any_exclude.search(text):
            found = [w for w, p in f.excludes if p.search(text)]
            stop(f"Mot exclu « {found[0]} » trouvé")
            if not explain:
                return None
            blocked = True
        if f.any_keyword is not None:
            if f.any_keyword.search(text):
                found = [w for w, p in f.keywords if p.search(text)]
                keyword_reason = f"Mot-clé « {found[0]} » trouvé"
            else:
                stop(f"Aucun de vos mots-clés trouvé ({', '.join(w for w, _ in f.keywords)})")
                if not explain:
                    return None
                blocked = True

    allotted = bool(notice.lots)
    results: list[tuple[_Unit, _UnitResult]] = []
    for unit in units:
        result = _evaluate_unit(f, group, unit, allotted, fails)
        if result is not None:
            results.append((unit, result))
    if not results or blocked:
        return None
    return _build_match(group, f, notice, results, keyword_reason, allotted)


def _build_match(
    group: Group,
    f: _Filters,
    notice: NoticeView,
    results: list[tuple[_Unit, _UnitResult]],
    keyword_reason: str | None,
    allotted: bool,
) -> Match:
    labels_set = {lb for _, r in results for lb in r.labels}
    reasons = list(_render_labels(tuple((u.lot_id, r.label_parts) for u, r in results)))
    if f.territory is None:
        if any(r.unknown_place for _, r in results):
            reasons.append("Lieu d'exécution non précisé — votre groupe couvre toute la France")
        else:
            reasons.append("Votre groupe couvre toute la France")
    else:
        deps = tuple(dict.fromkeys(d for _, r in results for d in r.in_territory))
        reasons.append(_territory_reason(deps, tuple(f.via_region.get(d) for d in deps)))
    if f.cpv:
        hits = list(dict.fromkeys(r.cpv_hit for _, r in results if r.cpv_hit))
        if hits:
            code, prefix = hits[0]
            reasons.append(f"Code CPV {code} dans vos secteurs (préfixe {prefix})")
        if any(r.unknown_cpv for _, r in results):
            reasons.append("Code CPV non précisé : avis gardé par précaution")
    if keyword_reason:
        reasons.append(keyword_reason)
    for unit, r in results:
        if r.value is not None:
            who = f"Lot {unit.lot_id} : montant" if allotted else "Montant"
            reasons.append(f"{who} estimé {_euros(r.value)} dans vos bornes")
    unknown = [u.lot_id for u, r in results if r.value_unknown]
    if unknown:
        lots = [x for x in unknown if x is not None]
        where = f" ({_lots_subject(lots).lower()})" if lots else ""
        reasons.append(f"Montant non précisé{where}")
    if notice.nature == AWARD:
        reasons.append("Avis d'attribution (vous suivez les attributions)")
    return Match(
        group_id=group.id,
        notice_id=notice.id,
        labels=[lb for lb in SOCIAL_LABELS if lb in labels_set],
        lots=[u.lot_id for u, _ in results if u.lot_id is not None] if allotted else [],
        reasons=list(dict.fromkeys(reasons)),
    )


# ---------------------------------------------------------------------------------------------
# Public API
# ---------------------------------------------------------------------------------------------


def match(group: Group, notice: NoticeView) -> Match | None:
    """The match of ``notice`` for ``group`` with its French reasons, or ``None``. Pure."""
    return _evaluate(group, _filters(group), notice, _units(notice), None)


def explain_no_match(group: Group, notice: NoticeView) -> list[str]:
    """Why ``notice`` (or some of its lots) does not reach ``group``, in short French sentences
    ("Lot 2 réservé aux EA/ESAT : votre groupe n'en compte pas", "Hors territoire :
    département 38 (Isère)"). For a notice that matches, the lots left out; ``[]`` when the
    whole notice concerns the group."""
    fails: list[str] = []
    _evaluate(group, _filters(group), notice, _units(notice), fails)
    return fails


@dataclass(frozen=True)
class AwardContactRules:
    """``eligibility.json`` → ``award_contact``: the insertion labels that make a winner worth
    calling, and the structure kinds that can act on it, by route (staff provision,
    sub-contracting) with the French phrase of each route."""

    labels: tuple[str, ...]
    routes: tuple[tuple[str, frozenset[str], str], ...]  # (route, kinds, phrase)


@cache
def award_contact_rules() -> AwardContactRules:
    """Load the « attributaire à démarcher » table once and check its kinds and labels."""
    raw = json.loads(
        resources.files("tenderwatch.notifier").joinpath("eligibility.json").read_text(encoding="utf-8")
    )["award_contact"]
    routes = tuple(
        (name, frozenset(spec["kinds"]), spec["phrase"]) for name, spec in raw["routes"].items()
    )
    unknown = {k for _, kinds, _ in routes for k in kinds} - set(STRUCTURE_KINDS)
    if unknown or not set(raw["labels"]) <= set(SOCIAL_LABELS):
        raise ValueError("eligibility.json : award_contact cite un type ou un label inconnu")
    return AwardContactRules(labels=tuple(raw["labels"]), routes=routes)


def match_award_contact(
    group: Group,
    *,
    lot_id: str | None,
    labels: Sequence[str],
    departements: Sequence[str],
    cpv: Sequence[str],
    fails: list[str] | None = None,
) -> list[str] | None:
    """The French reasons why an awarded lot with an insertion clause concerns ``group`` as
    an « attributaire à démarcher » alert, or None (``fails`` collects why not).

    The group must not have opted out (``awards_indirect``), must count a structure kind
    that can act for the winner (the ``award_contact`` routes of the eligibility table),
    must follow one of the lot's insertion labels, and the lot must lie in its territory and
    sectors, with the same rules as the other alerts (unknown place: all-France groups only;
    unknown CPV passes). Keywords and value bounds are not applied: they describe what the
    group answers itself, not the contracts it can serve as a sub-contractor or staff."""
    rules = award_contact_rules()
    f = _filters(group)
    who = f"Lot {lot_id}" if lot_id else "Marché"
    note = fails.append if fails is not None else (lambda _message: None)
    if not group.awards_indirect:
        note("Votre groupe ne reçoit pas les attributaires à démarcher (awards_indirect = false)")
        return None
    routes = [
        (phrase, [k for k in group.structure_kinds if k in kinds])
        for _, kinds, phrase in rules.routes
        if kinds.intersection(group.structure_kinds)
    ]
    if not routes:
        note(
            "Aucune structure de votre groupe ne peut proposer mise à disposition ni "
            "sous-traitance"
        )
        return None
    wanted = [lb for lb in rules.labels if lb in labels and lb in f.wanted]
    if not wanted:
        note(f"{who} : pas de clause d'insertion suivie par votre groupe")
        return None
    reasons = [
        f"{who} : {eligibility_rules().labels[wanted[0]].phrase} — le titulaire doit trouver "
        "des heures d'insertion"
    ]
    reasons += [
        f"Votre groupe compte des {', '.join(kinds)} : {phrase}" for phrase, kinds in routes
    ]
    deps = tuple(departements)
    if f.territory is None:
        reasons.append("Votre groupe couvre toute la France")
    else:
        inside = tuple(d for d in deps if d in f.territory)
        if not inside:
            note(
                "Lieu d'exécution non précisé : seuls les groupes couvrant toute la France "
                "reçoivent cet avis"
                if not deps
                else f"{who} hors territoire : {_deps(deps)}"
            )
            return None
        reasons.append(_territory_reason(inside, tuple(f.via_region.get(d) for d in inside)))
    if f.cpv and cpv:
        hit = next(((c, p) for c in cpv for p in f.cpv if c.startswith(p)), None)
        if hit is None:
            note(f"{who} hors de vos secteurs : CPV {', '.join(list(cpv)[:3])}")
            return None
        reasons.append(f"Code CPV {hit[0]} dans vos secteurs (préfixe {hit[1]})")
    elif f.cpv:
        reasons.append("Code CPV non précisé : avis gardé par précaution")
    return reasons


def _bits(mask: int) -> Iterator[int]:
    """Indexes of the set bits of ``mask``, lowest first."""
    while mask:
        low = mask & -mask
        yield low.bit_length() - 1
        mask ^= low


class GroupIndex:
    """Groups indexed by wanted label, by département and by CPV prefix.

    A group's entry is a bit in an integer mask per key; the candidates of a notice are the
    intersection of the three unions (plus the "all France" and "no CPV filter" buckets), and
    :func:`match` runs on those only. ``match_all`` yields exactly what the nested loop
    ``for notice in notices: for group in groups: match(group, notice)`` yields, in that order.
    """

    def __init__(self, groups: Iterable[Group]) -> None:
        self.groups: list[Group] = list(groups)
        self._filters = [_filters(g) for g in self.groups]
        self._by_label: dict[str, int] = {}
        self._by_dep: dict[str, int] = {}
        self._all_france = 0
        self._by_cpv: dict[str, int] = {}
        self._no_cpv = 0
        self._awards = 0
        for i, (group, f) in enumerate(zip(self.groups, self._filters, strict=True)):
            bit = 1 << i
            for label in f.counted:
                self._by_label[label] = self._by_label.get(label, 0) | bit
            if f.territory is None:
                self._all_france |= bit
            else:
                for dep in f.territory:
                    self._by_dep[dep] = self._by_dep.get(dep, 0) | bit
            if not f.cpv:
                self._no_cpv |= bit
            else:
                for prefix in f.cpv:
                    self._by_cpv[prefix] = self._by_cpv.get(prefix, 0) | bit
            if group.awards:
                self._awards |= bit
        self._everyone = (1 << len(self.groups)) - 1

    def _mask(self, notice: NoticeView, units: list[_Unit]) -> int:
        if notice.canonical_id not in (None, notice.id):
            return 0
        if notice.nature == CALL_FOR_TENDERS:
            mask = self._everyone
        elif notice.nature == AWARD:
            mask = self._awards
        else:
            return 0
        by_label = 0
        for label in {lb for u in units for lb in u.labels}:
            by_label |= self._by_label.get(label, 0)
        mask &= by_label
        if not mask:
            return 0
        by_dep = self._all_france
        for dep in {d for u in units for d in u.departements}:
            by_dep |= self._by_dep.get(dep, 0)
        mask &= by_dep
        if not mask:
            return 0
        if all(u.cpv for u in units):  # a unit without CPV passes every CPV filter
            by_cpv = self._no_cpv
            for code in {c for u in units for c in u.cpv}:
                for n in range(1, len(code) + 1):
                    by_cpv |= self._by_cpv.get(code[:n], 0)
            mask &= by_cpv
        return mask

    def candidates(self, notice: NoticeView) -> list[Group]:
        """The groups that the indexes cannot rule out for ``notice``, in configuration order."""
        return [self.groups[i] for i in _bits(self._mask(notice, _units(notice)))]

    def match_all(self, notices: Iterable[NoticeView]) -> Iterator[Match]:
        """Every match of every notice, notice by notice, groups in configuration order."""
        for notice in notices:
            units = _units(notice)
            for i in _bits(self._mask(notice, units)):
                m = _evaluate(self.groups[i], self._filters[i], notice, units, None)
                if m is not None:
                    yield m
