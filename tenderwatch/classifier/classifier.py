"""The classifier: one spaCy pipeline, many notices, one result dict per notice.

The result is the architecture contract (``docs/architecture.md`` §Contracts 1), extended:
``max_lots_per_bidder``, ``conflicts``, ``error``, ``warnings``, and extra keys on evidence
records (``source``, ``negated``, ``percent``, ``fte``, ``kind``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from tenderwatch.classifier import chunks
from tenderwatch.classifier.analysis import Analysis, Finding
from tenderwatch.classifier.facilitator import extract as extract_facilitator
from tenderwatch.classifier.fusion import conflict, fuse, signal_scopes, structured_evidence
from tenderwatch.classifier.labels import LABELS, SOCIAL_LABELS, confidence_level
from tenderwatch.classifier.legal import generation_from_date
from tenderwatch.classifier.lots import complete_ids, normalise_lot_id
from tenderwatch.classifier.pipeline import build_nlp

#: Bump whenever rules, patterns or lookups change: the store reclassifies on a new version.
#: 12.1: lots on real notices; 12.2: labels, confidence and hours on real notices (issue #9).
MODEL_VERSION = "rules-2026.12.2"
#: The hard limit: texts longer than this are cut before analysis, and the result says so
#: (``truncated``, a warning, « texte tronqué » in ``notices show`` and the alerts). Below it a
#: long text is analysed whole, in chunks (:mod:`tenderwatch.classifier.chunks`): real notices
#: stay far below (the longest eForms notice with 100 lots is about 250 000 characters); the
#: cap keeps a broken 50 MB input to about fifteen seconds and a bounded memory.
MAX_CHARS = 5_000_000

_FRENCH_RE = re.compile(r"\b(?:le|la|les|des|du|de|et|est|pour|aux|une|marche|lot)\b", re.I)
_ENGLISH_RE = re.compile(r"\b(?:the|and|of|to|for|is|with|shall|contract|tender)\b", re.I)


@dataclass
class NoticeInput:
    """One notice to classify (``signals``/``lots`` as ``asdict`` of the harvest records)."""

    id: str
    text: str
    title: str | None = None
    published: str | None = None  # YYYY-MM-DD, used to infer the legal generation
    signals: dict | None = None
    lots: list[dict] | None = None  # [{"lot_id": "1", "title": ..., "signals": {...}}]


def empty_result(notice_id: str, error: str | None = None) -> dict[str, Any]:
    """An all-negative result (with ``error`` when the notice could not be classified)."""
    return {
        "id": notice_id,
        "model_version": MODEL_VERSION,
        "labels": dict.fromkeys(LABELS, False),
        "lots": [],
        "insertion_hours": None,
        "evidence": [],
        "max_lots_per_bidder": None,
        "conflicts": [],
        "error": error,
        "warnings": [],
        # the text was longer than MAX_CHARS: its end was not read
        "truncated": False,
        # additive keys (issue 9): insertion hours stated as a rate, the labels whose only
        # evidence is generic form wording (to check in the CCAP), a confidence per true label
        "insertion_rate": None,
        "unspecified": [],
        "confidence": {},
        # additive key (issue 12): who to call about the clause, quoted from the text, or None
        "facilitator": None,
    }


def _language_warning(text: str) -> str | None:
    sample = text[:5000]
    french = len(_FRENCH_RE.findall(sample))
    english = len(_ENGLISH_RE.findall(sample))
    if len(sample.split()) >= 20 and french < max(5, english):
        return "texte probablement non français : règles françaises appliquées"
    return None


@dataclass
class _Prepared:
    item: NoticeInput
    notice_id: str
    text: str
    warnings: list[str]
    error: str | None = None
    truncated: bool = False


class Classifier:
    """Builds the spaCy pipeline once; classifies notices one by one or in batches."""

    def __init__(self) -> None:
        self.nlp = build_nlp()

    # -- public API -------------------------------------------------------------------

    def classify(self, item: NoticeInput) -> dict[str, Any]:
        """Classify one notice."""
        return next(iter(self.classify_many([item], batch_size=1)))

    def classify_many(
        self, items: Iterable[NoticeInput], batch_size: int = 32
    ) -> Iterator[dict[str, Any]]:
        """Classify notices with ``nlp.pipe``; one result per input, in the same order.

        Never raises because of one notice: a notice that fails gets ``{"error": …}``.
        """
        batch: list[NoticeInput] = []
        for item in items:
            batch.append(item)
            if len(batch) >= max(1, batch_size):
                yield from self._run(batch)
                batch = []
        if batch:
            yield from self._run(batch)

    # -- internals --------------------------------------------------------------------

    def _prepare(self, item: Any) -> _Prepared:
        notice_id = str(getattr(item, "id", "") or "")
        text = getattr(item, "text", None)
        if not isinstance(item, NoticeInput):
            return _Prepared(item, notice_id, "", [], "entrée invalide : NoticeInput attendu")
        if not isinstance(text, str):
            return _Prepared(item, notice_id, "", [], "champ « text » manquant ou non textuel")
        warnings: list[str] = []
        truncated = len(text) > MAX_CHARS
        if truncated:
            limit = f"{MAX_CHARS:,}".replace(",", "\u00a0")
            warnings.append(f"texte tronqué : seuls les {limit} premiers caractères sont analysés")
            text = text[:MAX_CHARS]
        if not text.strip():
            return _Prepared(item, notice_id, "", warnings, truncated=truncated)
        lang = _language_warning(text)
        if lang:
            warnings.append(lang)
        return _Prepared(item, notice_id, text, warnings, truncated=truncated)

    def _run(self, batch: list[NoticeInput]) -> Iterator[dict[str, Any]]:
        prepared = [self._prepare(item) for item in batch]
        todo = [
            p
            for p in prepared
            if p.error is None and p.text and len(p.text) <= chunks.SINGLE_DOC_CHARS
        ]
        docs: dict[int, Any] = {}
        for p in prepared:
            if p.error is None and len(p.text) > chunks.SINGLE_DOC_CHARS:
                try:
                    docs[id(p)] = self._analyse_long(p.text)
                except Exception as exc:
                    p.error = f"échec de l'analyse : {type(exc).__name__}: {exc}"[:300]
        try:
            for p, doc in zip(
                todo, self.nlp.pipe([p.text for p in todo], batch_size=len(todo) or 1), strict=True
            ):
                docs[id(p)] = doc
        except Exception:  # one bad text must not sink the batch: redo them one by one
            for p in todo:
                docs.pop(id(p), None)
            for p in todo:
                try:
                    docs[id(p)] = self.nlp(p.text)
                except Exception as exc:
                    p.error = f"échec de l'analyse : {type(exc).__name__}: {exc}"[:300]
        for p in prepared:
            if p.error is not None:
                yield empty_result(p.notice_id, p.error)
                continue
            try:
                yield self._result(p, docs.get(id(p)))
            except Exception as exc:
                yield empty_result(
                    p.notice_id, f"échec de l'analyse : {type(exc).__name__}: {exc}"[:300]
                )

    def _analyse_long(self, text: str) -> Any:
        """A text too long for one doc, analysed in overlapping chunks and merged into one
        analysis (offsets into ``text``); returned on a doc-like object for :meth:`_result`."""
        pieces = chunks.split(text)
        analyses: list[Analysis] = []
        for i, chunk in enumerate(pieces):
            analysis = self.nlp(chunk.text(text))._.tw
            analyses.append(analysis)
            if i + 1 < len(pieces):
                chunks.carry_lot_header(text, chunk, analysis, pieces[i + 1])
        return _MergedDoc(chunks.merge(analyses, pieces))

    def _labels_of_text(self, text: str) -> set[str]:
        """Positive labels the text rules find in a short structured field (BT-70, BT-734)."""
        doc = self.nlp(text[:20000])
        return {f.label for f in doc._.tw.findings if not f.negated}

    def _result(self, prepared: _Prepared, doc: Any) -> dict[str, Any]:
        """Assemble the contract's result from the pipeline's findings and the signals."""
        item = prepared.item
        result = empty_result(prepared.notice_id)
        result["warnings"] = list(prepared.warnings)
        result["truncated"] = prepared.truncated
        published = item.published if isinstance(item.published, str) else None
        date_generation = generation_from_date(published)
        analysis: Analysis | None = doc._.tw if doc is not None else None
        if analysis is None:
            result["error"] = "texte vide : seules les données structurées sont lues"
        conflicts: list[dict[str, Any]] = []
        findings = self._apply_dates(
            list(analysis.findings) if analysis else [], date_generation, conflicts
        )
        positive = [f for f in findings if not f.negated and f.label in SOCIAL_LABELS]
        lot_titles, structured_ids = self._lot_list(prepared.text, analysis, item.lots)
        # Two or more structured lots mean allotted, unless the form itself answers that the
        # procedure is not divided (legacy BOAMP DIV_EN_LOTS/NON next to duplicated LOT entries).
        undivided = "non" in ((item.signals or {}).get("codes") or {}).get("lot_division", [])
        allotted = bool(analysis and analysis.allotted) or (
            len(set(structured_ids)) >= 2 and not undivided
        )
        if allotted:
            for f in positive:
                for lot_id in f.lots or ():
                    lot_titles.setdefault(lot_id, None)
            # « Allotissement : 11 lots » with no list, or a form that details lot 1 of 24:
            # the stated count gives lots 1..N (titles only where the text has them)
            full = complete_ids(list(lot_titles), analysis.lot_count if analysis else None)
            if full:
                lot_titles = {lot_id: lot_titles.get(lot_id) for lot_id in full}
        lot_ids = list(lot_titles)

        text_labels: dict[str, set[str | None]] = {}
        for f in positive:
            text_labels.setdefault(f.label, set()).update(f.lots or [None])
        scopes = signal_scopes(item.signals, item.lots, normalise_lot_id)
        s_evidence, s_conflicts, s_labels = (
            fuse(scopes, text_labels, self._labels_of_text) if scopes else ([], [], {})
        )
        conflicts.extend(s_conflicts)
        lot_labels = self._lot_labels(lot_ids, findings, positive, analysis, s_labels)
        social = {f.label for f in positive} | set(s_labels)
        if allotted and lot_ids:
            # The union of the lots' labels is the notice's: a label no statement could
            # place on a lot belongs to all of them.
            for label in social:
                if not any(label in labels for labels in lot_labels.values()):
                    for labels in lot_labels.values():
                        labels.add(label)
        result["labels"] = {label: label in social for label in LABELS}
        result["labels"]["allotted"] = allotted
        if allotted:
            result["lots"] = [
                {
                    "id": lot,
                    "title": lot_titles[lot],
                    "labels": [x for x in LABELS if x in lot_labels[lot]],
                }
                for lot in lot_ids
            ]
        result["insertion_hours"] = self._total_hours(analysis, positive)
        evidence = self._evidence(prepared.text, analysis, findings, date_generation, allotted)
        evidence += s_evidence
        if allotted and structured_ids and not any(e["label"] == "allotted" for e in evidence):
            evidence.append(structured_evidence("allotted", None, "lots", str(len(structured_ids))))
        result["evidence"] = evidence
        result["max_lots_per_bidder"] = analysis.max_lots_per_bidder if analysis else None
        result["conflicts"] = conflicts
        result["insertion_rate"] = next(
            (f.rate for f in positive if f.label == "insertion_clause" and f.rate), None
        )
        clause_evidence = [
            e for e in evidence if e["label"] == "insertion_clause" and not e["negated"]
        ]
        if clause_evidence and all(e.get("unspecified") for e in clause_evidence):
            result["unspecified"] = ["insertion_clause"]
        result["confidence"] = confidence(result["labels"], evidence)
        result["facilitator"] = extract_facilitator(prepared.text)
        return result

    @staticmethod
    def _lot_list(
        text: str, analysis: Analysis | None, structured: list[dict] | None
    ) -> tuple[dict[str, str | None], list[str]]:
        """Lot id → title, from the text's lot headers (titles quoted from the input), then
        the structured lots; and the structured lot ids."""
        titles: dict[str, str | None] = {}
        if analysis is not None:
            for header in analysis.lots.headers:
                title = None
                if header.title is not None:
                    s, e = analysis.offsets.span(*header.title)
                    title = text[s:e]
                if titles.get(header.lot_id) is None:
                    titles[header.lot_id] = title
        structured_ids = []
        for lot in structured or []:
            if not isinstance(lot, dict):
                continue
            lot_id = normalise_lot_id(lot.get("lot_id") or lot.get("id"))
            if lot_id:
                structured_ids.append(lot_id)
                if titles.get(lot_id) is None:
                    title = lot.get("title")
                    titles[lot_id] = title if isinstance(title, str) else None
        return titles, structured_ids

    @staticmethod
    def _lot_labels(
        lot_ids: list[str],
        findings: list[Finding],
        positive: list[Finding],
        analysis: Analysis | None,
        structured: dict[str, set[str | None]],
    ) -> dict[str, set[str]]:
        """Social labels per lot: a statement naming lots goes to those lots, a whole-notice
        statement to every lot except those excluded ("le lot 3 n'est pas concerné")."""
        lot_labels: dict[str, set[str]] = {lot_id: set() for lot_id in lot_ids}
        negated_lots: dict[str, set[str]] = {}
        for f in findings:
            if f.negated and f.lots:
                negated_lots.setdefault(f.label, set()).update(f.lots)
        explicit = {f.label for f in positive if f.lots and not f.weak}
        for f in positive:
            if f.weak and not f.lots and f.label in explicit:
                continue  # "Le suivi est assuré par le PLIE": the clause's lots are named elsewhere
            if f.lots:
                targets = [lot for lot in f.lots if lot not in f.excluded]
            else:
                blocked = set(f.excluded) | negated_lots.get(f.label, set())
                targets = [lot for lot in lot_ids if lot not in blocked]
            for lot in targets:
                if lot in lot_labels:
                    lot_labels[lot].add(f.label)
        if analysis is not None:
            for lot, source in analysis.criteria_same_as.items():
                if lot in lot_labels and "insertion_criterion" in lot_labels.get(source, set()):
                    lot_labels[lot].add("insertion_criterion")
        for label, lots in structured.items():
            for lot in lots:
                for target in [lot] if lot is not None else lot_ids:
                    if target in lot_labels:
                        lot_labels[target].add(label)
        return lot_labels

    @staticmethod
    def _apply_dates(
        findings: list[Finding], generation: str | None, conflicts: list[dict[str, Any]]
    ) -> list[Finding]:
        """Law versus date: no SIAE reservation before April 2016 (CMP art. 15 allowed only
        EA/ESAT), so an ambiguous res-ws wording then means EA/ESAT; a remaining res-ws
        wording becomes an ``uncertain`` conflict, not a label."""
        kept: list[Finding] = []
        clause_lots = {
            lot
            for f in findings
            if f.label == "insertion_clause" and not f.negated
            for lot in (f.lots or [None])
        }
        for f in findings:
            if f.label == "clause_opp":
                # eForms "Objectif social promu : possibilités d'emploi des chômeurs…" printed
                # without any execution clause in the text: worth a look, not a label
                if not clause_lots or (
                    f.lots and None not in clause_lots and not set(f.lots) & clause_lots
                ):
                    for lot in f.lots or [None]:
                        conflicts.append(
                            conflict(
                                "insertion_clause",
                                None,
                                "ambiguous",
                                lot,
                                "uncertain",
                                "objectif social « emploi des chômeurs de longue durée et "
                                "des personnes défavorisées » affiché sans clause d'insertion "
                                "lisible dans l'avis",
                            )
                        )
                continue
            article_generation = f.legal.generation if f.legal else None
            if (
                f.label == "reserved_siae"
                and not f.negated
                and generation == "CMP"
                and article_generation in (None, "CMP")
            ):
                conflicts.append(
                    conflict(
                        "reserved_siae",
                        None,
                        True,
                        None,
                        "uncertain",
                        "réservation aux SIAE impossible avant avril 2016 : à vérifier",
                    )
                )
                continue
            if f.label == "reserved_ws":
                if generation == "CMP":
                    f.label = "reserved_disability"
                    kept.append(f)
                    continue
                note = (
                    "marché réservé, sans préciser à quelles structures"
                    if f.kind == "unspecified"
                    else "participation réservée aux ateliers protégés et opérateurs d'insertion, "
                    "sans article ni structure pour trancher"
                )
                for label in ("reserved_siae", "reserved_disability"):
                    for lot in f.lots or [None]:
                        conflicts.append(conflict(label, None, "ambiguous", lot, "uncertain", note))
                continue
            kept.append(f)
        return kept

    @staticmethod
    def _total_hours(analysis: Analysis | None, positive: list[Finding]) -> int | float | None:
        """Total obligatory hours: one figure per distinct sentence (eForms repeats them per
        lot); a sentence giving the total of the others is not added twice."""
        if analysis is None or analysis.layout is None:
            return None
        layout = analysis.layout
        per_sentence: dict[str, float] = {}
        for f in positive:
            if f.label != "insertion_clause" or not f.hours:
                continue
            s, e = layout.sentences[f.sentence]
            key = " ".join(analysis.text[s:e].lower().split())
            per_sentence[key] = f.hours
        totals = list(per_sentence.values())
        if not totals:
            return None
        biggest = max(totals)
        rest = sum(totals) - biggest
        total = biggest if len(totals) > 1 and abs(rest - biggest) < 0.5 else sum(totals)
        return int(total) if float(total).is_integer() else round(total, 2)

    @staticmethod
    def _evidence(
        text: str,
        analysis: Analysis | None,
        findings: list[Finding],
        generation: str | None,
        allotted: bool,
    ) -> list[dict[str, Any]]:
        if analysis is None:
            return []
        offsets = analysis.offsets
        records: list[dict[str, Any]] = []
        seen: set[tuple] = set()

        def legal(f: Finding) -> dict[str, Any] | None:
            if f.legal is None:
                return None
            s, e = offsets.span(f.legal.start, f.legal.end)
            return {
                "raw": text[s:e],
                "norm": f.legal.norm,
                "generation": f.legal.generation or generation,
            }

        if allotted and analysis.allotment_evidence:
            s, e = offsets.span(*analysis.allotment_evidence)
            records.append(_record("allotted", None, text, s, e))
        elif not allotted and analysis.allotment_negative:
            s, e = offsets.span(*analysis.allotment_negative)
            records.append(_record("allotted", None, text, s, e, negated=True))
        for f in findings:
            s, e = offsets.span(f.start, f.end)
            for lot in f.lots or (None,):
                key = (f.label, lot, s, e, f.negated)
                if key in seen:
                    continue
                seen.add(key)
                hours = (
                    f.lot_hours.get(lot, f.hours if lot is None or len(f.lots or ()) <= 1 else None)
                    if lot
                    else f.hours
                )
                record = _record(f.label, lot, text, s, e, negated=f.negated)
                record.update(legal_basis=legal(f), hours=hours, percent=f.percent)
                if f.fte:
                    record["fte"] = f.fte
                if f.kind:
                    record["kind"] = f.kind
                if not f.negated:
                    record["score"] = f.score
                    if f.unspecified:
                        record["unspecified"] = True
                    if f.rate:
                        record["rate"] = f.rate
                    if f.firm_hours:
                        record["firm_hours"] = f.firm_hours
                records.append(record)
        return records


class _MergedDoc:
    """Stands for a spaCy doc where :meth:`Classifier._result` only reads ``doc._.tw``."""

    def __init__(self, analysis: Analysis) -> None:
        self._ = _Extensions(analysis)


@dataclass
class _Extensions:
    tw: Analysis


#: Score of a structured form flag (eForms/TED codes): the buyer ticked it.
STRUCTURED_SCORE = 0.95
#: Score of the text's allotment evidence ("Division en lots : oui", a list of lots).
ALLOTTED_SCORE = 0.9
#: Added to the best score when two or more distinct statements support the same label.
AGREEMENT_BONUS = 0.05


def confidence(labels: dict[str, bool], evidence: list[dict[str, Any]]) -> dict[str, dict]:
    """``{label: {"score", "level"}}`` for every true label: the best score of its
    evidence (structured flags count :data:`STRUCTURED_SCORE`), plus :data:`AGREEMENT_BONUS`
    when several distinct statements agree; the level is :func:`labels.confidence_level`."""
    out: dict[str, dict] = {}
    for label, value in labels.items():
        if not value:
            continue
        records = [e for e in evidence if e["label"] == label and not e.get("negated")]
        # allotment evidence is a form answer or a lot list: no weak reading of it
        default = ALLOTTED_SCORE if label == "allotted" else 0.7
        # A structured record may carry its own, lower score (DECP considerationsSociales,
        # often boilerplate: « probable » alone, ADR 0013).
        scores = [
            float(e.get("score", STRUCTURED_SCORE))
            if e.get("source") == "structured"
            else float(e.get("score", default))
            for e in records
        ]
        score = max(scores, default=0.7)
        if len({(e.get("quote"), e.get("field")) for e in records}) >= 2:
            score = min(0.99, score + AGREEMENT_BONUS)
        score = round(score, 2)
        out[label] = {"score": score, "level": confidence_level(score)}
    return out


def _record(
    label: str, lot: str | None, text: str, start: int, end: int, negated: bool = False
) -> dict[str, Any]:
    return {
        "label": label,
        "lot": lot,
        "quote": text[start:end],
        "start": start,
        "end": end,
        "legal_basis": None,
        "hours": None,
        "percent": None,
        "source": "text",
        "negated": negated,
    }
