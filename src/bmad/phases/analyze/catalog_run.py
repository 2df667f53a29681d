"""The catalog evaluated over a large bundle by two processes (issue 13).

Evaluating 180 entries over 1,000 objects takes longer than validating them, and both run on one core
(the interpreter lock). From :data:`ASIDE_OBJECTS` objects a forked child (:mod:`bmad.core.aside`)
evaluates entries while this process validates the bundle and runs the server dry-run, then both take
the entries left: each takes the next entry's number from one pipe (:func:`bmad.core.aside.share`),
so neither waits for the other longer than one entry takes. The child hands back its items' results,
findings and the suppression notes each raised. An entry whose evaluator reads what validation
leaves (``after_validation``) is evaluated here, after it; in the child, what validation will leave
in the context is :class:`_Pending`, whose every use raises, so an evaluator that reads it unflagged
is handed back undone and evaluated here too (never judged on a validation that had not run).

The report is the one one process makes: items in catalog order, the same findings, and the
suppression notes in the order evaluating every entry in catalog order writes them (each entry's notes
are kept, wherever it ran, and replayed in that order). A child that fails, dies or is too late
(:func:`bmad.core.aside.patience`) hands back nothing and its entries are evaluated here.
"""

from __future__ import annotations

import pickle
import time
from collections.abc import Iterator, Sequence
from types import TracebackType
from typing import Any

from bmad.core import aside
from bmad.phases.analyze.catalog import catalog
from bmad.phases.analyze.context import EvalContext
from bmad.phases.analyze.evaluators import EVALUATORS
from bmad.phases.analyze.manifests import paused_gc
from bmad.phases.analyze.readiness import ReadinessReport, evaluate_entry, score
from bmad.phases.analyze.readiness_data import CatalogEntry, Finding, ItemResult, ItemStatus, Location
from bmad.phases.analyze.suppressions import SuppressionSet

# From this many objects a child takes a share of the entries. The corpus of 1,000 objects: entries
# 250 ms and validation 85 ms in one process (on a host where a run takes 1.3 s); a child costs a
# fork (a few ms), pickling its findings and rebuilding them here (~10 ms for 2,500 findings).
ASIDE_OBJECTS = 200

# What a child hands back for each entry it evaluated: its number, status, reason, passed, evaluated,
# findings (check id, message, location fields, suppression reason) and the notes it raised.
_Sent = tuple[int, str, str, int, int, list[tuple[str, str, tuple[Any, ...], str | None]], list[str]]


class _NotValidatedYet(Exception):
    """An evaluator in the child used what validation leaves in the context."""


class _Pending:
    """In the child, each field of the context that validation and the server dry-run fill: any use raises."""

    def __getattr__(self, name: str) -> Any:
        raise _NotValidatedYet(name)

    def _refuse(self, *args: object) -> Any:
        raise _NotValidatedYet()

    __bool__ = __iter__ = __len__ = __contains__ = __getitem__ = __eq__ = __ne__ = _refuse
    __str__ = __repr__ = __format__ = __hash__ = _refuse


# The context's fields that validation and the server dry-run fill (bmad.phases.analyze.preparation).
_FILLED_BY_VALIDATION = ("schema_results", "dry_run", "dry_run_note", "dry_run_error")


class CatalogRun:
    """One evaluation of the catalog (``entries``) over ``ctx``'s bundle; :meth:`report` once.

    A context manager: leaving it without :meth:`report` (validation raised) kills the child."""

    def __init__(self, ctx: EvalContext, suppressions: SuppressionSet, entries: Sequence[CatalogEntry]) -> None:
        self._ctx = ctx
        self._suppressions = suppressions
        self._entries = list(entries)
        self._base_notes = list(suppressions.notes)  # raised before any entry: expired suppressions
        self._items: dict[int, ItemResult] = {}
        self._heard: dict[int, list[str]] = {}
        self.evaluated_here: list[int] = []  # the numbers of the entries this process evaluated, in order
        shared = [i for i, entry in enumerate(self._entries) if not _after_validation(entry)]
        self._here_only = [i for i, entry in enumerate(self._entries) if _after_validation(entry)]
        self._sharing: aside.Sharing | None = None
        if len(ctx.bundle.objects) >= ASIDE_OBJECTS:
            self._sharing = aside.share(shared, self._evaluated_there)
        if self._sharing is None:
            self._here_only = list(range(len(self._entries)))

    @property
    def child(self) -> int | None:
        """The process id of the child evaluating a share, when one was started."""
        return self._sharing.pid if self._sharing is not None else None

    def _evaluated_there(self, numbers: Iterator[int]) -> bytes:
        """In the child: every entry it takes, evaluated, pickled as :data:`_Sent`."""
        sent: list[_Sent] = []
        for name in _FILLED_BY_VALIDATION:
            setattr(self._ctx, name, _Pending())
        with paused_gc():
            for number in numbers:
                try:
                    item = self._evaluate(number)
                except _NotValidatedYet:
                    continue  # evaluated in the parent, after validation
                findings = [(f.check_id, f.message, _location_fields(f.location), f.suppressed) for f in item.findings]
                sent.append(
                    (number, item.status.value, item.reason, item.passed, item.evaluated, findings, self._heard[number])
                )
        return pickle.dumps(sent, protocol=pickle.HIGHEST_PROTOCOL)

    def report(self) -> ReadinessReport:
        """The readiness report: the entries left evaluated here, the child's results added."""
        started = time.monotonic()
        with paused_gc():
            for number in self._here_only:
                self._evaluate(number)
            if self._sharing is not None:
                for number in self._sharing.taken_here():
                    self._evaluate(number)
                self._add_theirs(self._sharing.result(aside.patience(time.monotonic() - started)))
            for number in range(len(self._entries)):  # the child's, when it handed nothing back
                if number not in self._items:
                    self._evaluate(number)
        heard = [note for number in range(len(self._entries)) for note in self._heard[number]]
        self._suppressions.renote(self._base_notes, heard)
        items = [self._items[number] for number in range(len(self._entries))]
        return score(items, notes=self._suppressions.notes, suppressions_enabled=self._suppressions.enabled)

    def _evaluate(self, number: int) -> ItemResult:
        self._heard[number] = self._suppressions.hearing()
        self.evaluated_here.append(number)
        item = self._items[number] = evaluate_entry(self._entries[number], self._ctx, self._suppressions)
        return item

    def _add_theirs(self, result: bytes | None) -> None:
        if result is None:
            return
        sent: list[_Sent] = pickle.loads(result)  # noqa: S301 - our own child's bytes
        for number, status, reason, passed, evaluated, findings, heard in sent:
            entry = self._entries[number]
            self._items[number] = ItemResult(
                entry,
                ItemStatus(status),
                reason,
                [Finding(check_id, message, Location(*where), why) for check_id, message, where, why in findings],
                passed,
                evaluated,
            )
            self._heard[number] = heard

    def __enter__(self) -> CatalogRun:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, traceback: TracebackType | None
    ) -> None:
        if self._sharing is not None:
            self._sharing.stop()  # after report(): reaped already; else killed and reaped


def start_catalog(
    ctx: EvalContext, suppressions: SuppressionSet, entries: Sequence[CatalogEntry] | None = None
) -> CatalogRun:
    """The catalog's evaluation begun: by a child, on a large bundle, while this process validates."""
    return CatalogRun(ctx, suppressions, catalog() if entries is None else entries)


def _after_validation(entry: CatalogEntry) -> bool:
    return EVALUATORS[entry.evaluator].after_validation


def _location_fields(location: Location) -> tuple[Any, ...]:
    return (location.namespace, location.kind, location.name, location.container, location.file, location.line)
