"""tenderwatch classifier: social clauses, reservations and allotment in French public
procurement notices, per notice and per lot, with the evidence.

A rules pipeline on ``spacy.blank("fr")`` (see :mod:`tenderwatch.classifier.pipeline`); patterns in
``classifier/patterns/*.jsonl``, lookups in ``classifier/data``.

>>> from classifier import Classifier, NoticeInput, explain
>>> result = Classifier().classify(NoticeInput(id="x", text="…", published="2024-05-02"))
"""

from tenderwatch.classifier.classifier import LABELS, MODEL_VERSION, Classifier, NoticeInput
from tenderwatch.classifier.explain import explain

__all__ = ["LABELS", "MODEL_VERSION", "Classifier", "NoticeInput", "explain"]
