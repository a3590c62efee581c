"""Classification on every core (issue #9): a pool of worker processes, results in order.

The rules pipeline is pure Python under the GIL, so threads would not help: a réseau's first
start (a year of history, about 300 000 notices) only gets faster with processes. Each
worker builds its own :class:`~tenderwatch.classifier.Classifier` once (the spaCy pipeline
cannot be shared between processes) and classifies batches of notices; the parent hands
out the batches, keeps a bounded number in flight (memory stays flat however long the input)
and yields the results in the input order, so that whoever writes them — the store, a JSONL
file — does so from one process, in short transactions.

Workers are *spawned*, not forked: the parent may hold an open SQLite connection, logging
locks or the scheduler's threads, none of which survive a fork safely.
"""

from __future__ import annotations

import itertools
import multiprocessing
import os
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from tenderwatch.classifier.classifier import Classifier, NoticeInput

#: Notices per task sent to a worker: big enough to amortise pickling, small enough to
#: balance two workers and keep the in-order wait short.
BATCH_SIZE = 16
#: With ``jobs=None`` (automatic), below this many notices per extra worker one process does
#: the work: starting a worker (imports, patterns) costs about as much as 200 notices.
AUTO_MIN_PER_WORKER = 200

#: Batches handed out per worker before the oldest result is taken.
IN_FLIGHT_PER_WORKER = 4

_worker_classifier: Classifier | None = None


class ClassificationPoolError(RuntimeError):
    """A worker process died (killed, out of memory): the run stops, nothing is half-written."""


def _init_worker() -> None:
    global _worker_classifier
    _worker_classifier = Classifier()


def _classify_batch(batch: list[NoticeInput]) -> list[dict[str, Any]]:
    assert _worker_classifier is not None, "worker not initialised"
    return list(_worker_classifier.classify_many(batch, batch_size=len(batch)))


def default_jobs() -> int:
    """Every core this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


class ClassifierPool:
    """A :class:`Classifier` look-alike (``classify``, ``classify_many``) on ``jobs`` processes.

    ``jobs=None`` means every core, but only when the input is long enough to pay for the
    workers' start-up (:data:`AUTO_MIN_PER_WORKER`); an explicit ``jobs`` is obeyed as given.
    With one process the classifier runs here, in the calling process. Use as a context
    manager, or call :meth:`close`.
    """

    def __init__(self, jobs: int | None = None, *, batch_size: int = BATCH_SIZE) -> None:
        self.auto = jobs is None
        self.jobs = default_jobs() if jobs is None else max(1, jobs)
        self.batch_size = max(1, batch_size)
        self._local: Classifier | None = None
        self._executor: ProcessPoolExecutor | None = None
        #: how many processes classified the last input (for reports and tests)
        self.used_jobs = 0

    # -- public API ------------------------------------------------------------------------

    def classify(self, item: NoticeInput) -> dict[str, Any]:
        return self.local.classify(item)

    def classify_many(
        self, items: Iterable[NoticeInput], batch_size: int | None = None
    ) -> Iterator[dict[str, Any]]:
        """One result per input, in the input order (``batch_size`` is the worker's)."""
        it = iter(items)
        size = batch_size or self.batch_size
        jobs = self.jobs
        head: list[NoticeInput] = []
        if self.auto and jobs > 1:
            # Look ahead just enough to know whether the workers are worth starting.
            head = list(itertools.islice(it, AUTO_MIN_PER_WORKER * (jobs - 1)))
            jobs = min(jobs, 1 + len(head) // AUTO_MIN_PER_WORKER)
        it = itertools.chain(head, it)
        self.used_jobs = jobs
        if jobs <= 1:
            yield from self.local.classify_many(it, batch_size=max(size, 32))
            return
        yield from self._parallel(it, jobs, size)

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None

    def __enter__(self) -> ClassifierPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- internals -------------------------------------------------------------------------

    @property
    def local(self) -> Classifier:
        if self._local is None:
            self._local = Classifier()
        return self._local

    def _pool(self, jobs: int) -> ProcessPoolExecutor:
        if self._executor is None:
            self._executor = ProcessPoolExecutor(
                max_workers=jobs,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_init_worker,
            )
        return self._executor

    def _parallel(
        self, it: Iterator[NoticeInput], jobs: int, size: int
    ) -> Iterator[dict[str, Any]]:
        pool = self._pool(jobs)
        pending: deque[Future[list[dict[str, Any]]]] = deque()

        def submit() -> bool:
            batch = list(itertools.islice(it, size))
            if batch:
                pending.append(pool.submit(_classify_batch, batch))
            return bool(batch)

        # Several batches per worker in flight: results are taken in order, so a slow batch
        # (a 70 000-character notice) must not leave the other workers without work.
        for _ in range(IN_FLIGHT_PER_WORKER * jobs):
            if not submit():
                break
        try:
            while pending:
                try:
                    results = pending.popleft().result()
                except BrokenProcessPool:
                    raise ClassificationPoolError(
                        "un processus de classement s'est arrêté brutalement (mémoire ? "
                        "signal ?) : relancez avec --jobs 1 pour classer dans un seul processus"
                    ) from None
                submit()
                yield from results
        finally:
            for future in pending:
                future.cancel()
