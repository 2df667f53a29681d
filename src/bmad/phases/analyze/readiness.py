"""Run the catalog: evaluate every entry over what it applies to, apply suppressions, score.

Score (documented in docs/analyze.md):

* Each item has a weight by severity: critical 10, high 5, medium 3, low 1, info 0.
* An item counts when it is applicable: pass, fail or skipped (skipped = could not find out,
  never a pass). Not-applicable items are left out.
* Category score = 100 x (weight of passed items) / (weight of applicable items); overall
  score the same over every category. An item whose only failures are suppressed passes.
* ``readiness_checklist_complete`` = 100 x passed items / applicable items (unweighted: the
  guide's "checklist % complete").
* Hard gate: any critical item failing fails ANALYZE whatever the score.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import field
from typing import Any

from bmad.core.datatypes import datatype
from bmad.phases.analyze.catalog import catalog
from bmad.phases.analyze.context import EvalContext
from bmad.phases.analyze.evaluators import EVALUATORS
from bmad.phases.analyze.manifests import ManifestObject, paused_gc
from bmad.phases.analyze.readiness_data import (
    NA,
    CatalogEntry,
    Category,
    Fail,
    Finding,
    ItemResult,
    ItemStatus,
    Location,
    Scope,
    Severity,
    Skip,
)
from bmad.phases.analyze.suppressions import SuppressionSet
from bmad.phases.gpu_scope import NOT_REQUESTED


@datatype
class _Tally:
    passed: int = 0
    evaluated: int = 0
    findings: list[Finding] = field(default_factory=list)
    na: list[str] = field(default_factory=list)
    skips: list[str] = field(default_factory=list)


def _record(
    tally: _Tally,
    entry: CatalogEntry,
    verdict: Any,
    suppressions: SuppressionSet,
    obj: ManifestObject | None,
    container: str | None,
    location: Location,
) -> None:
    tally.evaluated += 1
    if verdict is None:
        tally.passed += 1
    elif isinstance(verdict, Fail):
        if obj is not None:
            location = Location(
                obj.namespace,
                obj.kind,
                obj.name,
                container,
                obj.file,
                obj.line_of(verdict.path) if verdict.path else location.line or obj.line,
            )
        reason = suppressions.reason_for(entry.id, obj, container)
        tally.findings.append(Finding(entry.id, verdict.message, location, reason))
    elif isinstance(verdict, NA):
        tally.evaluated -= 1
        tally.na.append(verdict.reason)
    elif isinstance(verdict, Skip):
        tally.skips.append(verdict.reason)
    else:  # a bundle evaluator's list of (Location, Fail)
        items = list(verdict)
        if not items:
            tally.passed += 1
        for loc, fail in items:
            reason = suppressions.reason_for(entry.id, None, None)
            tally.findings.append(Finding(entry.id, fail.message, loc, reason))


_NOWHERE = Location()


def evaluate_entry(entry: CatalogEntry, ctx: EvalContext, suppressions: SuppressionSet) -> ItemResult:
    if entry.id in ctx.settings.disabled_checks:
        return ItemResult(entry, ItemStatus.NOT_APPLICABLE, "disabled in bmad.yaml (analyze.disabled_checks)")
    fn = EVALUATORS[entry.evaluator].fn
    params = entry.params
    tally = _Tally()
    matched = 0
    bundle = ctx.bundle
    kinds = entry.applies_to
    if entry.scope is Scope.CONTAINER:
        for obj in bundle.workloads:
            if kinds and obj.kind not in kinds:
                continue
            for container, path in obj.containers():
                matched += 1
                verdict = fn(container, path, obj, ctx, params)
                if verdict is None:  # the common case, kept cheap
                    tally.passed += 1
                    tally.evaluated += 1
                    continue
                name = str(container.get("name") or f"#{path[-1]}")
                _record(tally, entry, verdict, suppressions, obj, name, _NOWHERE)
    elif entry.scope is Scope.POD:
        for obj in bundle.workloads:
            if kinds and obj.kind not in kinds:
                continue
            matched += 1
            verdict = fn(obj, ctx, params)
            if verdict is None:
                tally.passed += 1
                tally.evaluated += 1
            else:
                _record(tally, entry, verdict, suppressions, obj, None, _NOWHERE)
    elif entry.scope is Scope.OBJECT:
        candidates = bundle.of_kind(*kinds) if kinds else bundle.objects
        for obj in candidates:
            matched += 1
            verdict = fn(obj, ctx, params)
            if verdict is None:
                tally.passed += 1
                tally.evaluated += 1
            else:
                _record(tally, entry, verdict, suppressions, obj, None, _NOWHERE)
    elif entry.scope is Scope.COMPOSE:
        matched = _evaluate_compose(entry, fn, ctx, tally, suppressions)
    else:
        matched = 1
        _record(tally, entry, fn(ctx, params), suppressions, None, None, _NOWHERE)

    return _conclude(entry, tally, matched)


def _evaluate_compose(
    entry: CatalogEntry, fn: Callable[..., Any], ctx: EvalContext, tally: _Tally, suppressions: SuppressionSet
) -> int:
    """Each GPU service of the compose file; findings point at the file and the service's line."""
    compose = ctx.compose
    if compose is None or compose.problem or not compose.services:
        verdict: NA | Skip = NA(f"{NOT_REQUESTED} (no compose file)")
        if compose is not None:
            verdict = Skip(compose.problem) if compose.problem else NA(compose.not_applicable)
        _record(tally, entry, verdict, suppressions, None, None, _NOWHERE)
        return 1
    for service in compose.services:
        where = Location(name=service.name, file=compose.source, line=service.line)
        _record(tally, entry, fn(service, ctx, entry.params), suppressions, None, service.name, where)
    return len(compose.services)


def _conclude(entry: CatalogEntry, tally: _Tally, matched: int) -> ItemResult:
    """The item's status from what its evaluator said about each thing it looked at."""
    result = ItemResult(entry, ItemStatus.PASS, findings=tally.findings, passed=tally.passed, evaluated=tally.evaluated)
    if result.failures:
        result.status = ItemStatus.FAIL
        result.reason = result.failures[0].message
    elif tally.passed or result.suppressed:
        result.status = ItemStatus.PASS
        result.reason = f"{len(result.suppressed)} suppressed" if result.suppressed else ""
    elif tally.skips:
        result.status = ItemStatus.SKIPPED
        result.reason = tally.skips[0]
    else:
        result.status = ItemStatus.NOT_APPLICABLE
        if matched == 0:
            wanted = ", ".join(entry.applies_to) if entry.applies_to else "workloads"
            result.reason = f"no {wanted} in the bundle"
        else:
            result.reason = tally.na[0] if tally.na else "does not apply"
    return result


@datatype
class ReadinessReport:
    items: list[ItemResult]
    category_scores: dict[Category, float | None]
    overall_score: float | None
    complete_percent: float
    suppression_notes: list[str] = field(default_factory=list)
    suppressions_enabled: bool = True
    # each item's dict and its capped form, made once (by the item's id): not part of the report's value
    _dicts: dict[int, dict[str, Any]] = field(default_factory=dict, repr=False, compare=False)
    _capped: dict[int, dict[str, Any]] = field(default_factory=dict, repr=False, compare=False)
    _brief: dict[int, dict[str, Any]] = field(default_factory=dict, repr=False, compare=False)

    def item_dict(self, item: ItemResult) -> dict[str, Any]:
        """``item.to_dict()``, one object however often it is asked for: the report, the readiness
        artifact and the category checks' evidence then share it, and phase.json and the ledger encode
        a shared dict once (a thousand objects' findings, a megabyte). Callers do not change it."""
        made = self._dicts.get(id(item))
        if made is None:
            made = self._dicts.setdefault(id(item), item.to_dict())  # one object even when two threads race
        return made

    def capped_item(self, item: ItemResult) -> dict[str, Any]:
        """:meth:`item_dict` with at most :data:`MAX_FINDINGS_PER_ITEM` findings, one object too."""
        made = self._capped.get(id(item))
        if made is None:
            made = self._capped.setdefault(id(item), capped_item(self.item_dict(item)))
        return made

    def evidence_item(self, item: ItemResult) -> dict[str, Any]:
        """:meth:`item_dict` with at most :data:`EVIDENCE_FINDINGS_PER_ITEM` findings, for a category
        check's evidence (the readiness artifact and analyze/readiness.json hold the rest); one object."""
        made = self._brief.get(id(item))
        if made is None:
            made = self._brief.setdefault(id(item), capped_item(self.item_dict(item), EVIDENCE_FINDINGS_PER_ITEM))
        return made

    @property
    def critical_failures(self) -> list[ItemResult]:
        return [i for i in self.items if i.status is ItemStatus.FAIL and i.entry.severity is Severity.CRITICAL]

    def by_category(self, category: Category) -> list[ItemResult]:
        return [i for i in self.items if i.entry.category is category]

    def counts(self, items: Sequence[ItemResult] | None = None) -> dict[str, int]:
        counts = {status.value: 0 for status in ItemStatus}
        for item in self.items if items is None else items:
            counts[item.status.value] += 1
        counts["suppressed"] = sum(len(i.suppressed) for i in (self.items if items is None else items))
        return counts

    def to_dict(self) -> dict[str, Any]:
        return {
            "readiness_checklist_complete": self.complete_percent,
            "overall_score": self.overall_score,
            "category_scores": {c.value: s for c, s in self.category_scores.items()},
            "counts": self.counts(),
            "critical_failures": [i.entry.id for i in self.critical_failures],
            "suppressions_enabled": self.suppressions_enabled,
            "suppression_notes": list(self.suppression_notes),
            "items": [self.item_dict(i) for i in self.items],
        }


def _score(items: Sequence[ItemResult]) -> float | None:
    applicable = [i for i in items if i.status is not ItemStatus.NOT_APPLICABLE]
    total = sum(i.entry.severity.weight for i in applicable)
    if not applicable:
        return None
    if total == 0:
        return 100.0 if all(i.status is ItemStatus.PASS for i in applicable) else 0.0
    passed = sum(i.entry.severity.weight for i in applicable if i.status is ItemStatus.PASS)
    return round(100.0 * passed / total, 1)


def score(
    items: Sequence[ItemResult], *, notes: Sequence[str] = (), suppressions_enabled: bool = True
) -> ReadinessReport:
    applicable = [i for i in items if i.status is not ItemStatus.NOT_APPLICABLE]
    passed = sum(1 for i in applicable if i.status is ItemStatus.PASS)
    complete = round(100.0 * passed / len(applicable), 1) if applicable else 0.0
    return ReadinessReport(
        items=list(items),
        category_scores={c: _score([i for i in items if i.entry.category is c]) for c in Category},
        overall_score=_score(items),
        complete_percent=complete,
        suppression_notes=list(notes),
        suppressions_enabled=suppressions_enabled,
    )


def run_catalog(
    ctx: EvalContext,
    *,
    suppressions: SuppressionSet | None = None,
    entries: Sequence[CatalogEntry] | None = None,
) -> ReadinessReport:
    suppressions = suppressions or SuppressionSet(ctx.settings.suppressions, today=ctx.today)
    with paused_gc():
        items = [evaluate_entry(entry, ctx, suppressions) for entry in (entries if entries is not None else catalog())]
    return score(items, notes=suppressions.notes, suppressions_enabled=suppressions.enabled)


MAX_FINDINGS_PER_ITEM = 200  # an item's findings in the readiness artifact (the ledger, phase.json)
# An item's findings in its category check's evidence: the same item is in the readiness artifact
# (200 findings) and analyze/readiness.json (all), so the evidence shows the first few and says
# where the rest are; a thousand objects' findings were otherwise recorded twice (a megabyte).
EVIDENCE_FINDINGS_PER_ITEM = 10
READINESS_FILE = "analyze/readiness.json"  # the evidence file of analyze.readiness: every finding


def capped_item(item: dict[str, Any], limit: int = MAX_FINDINGS_PER_ITEM) -> dict[str, Any]:
    """An item of the readiness report with at most ``limit`` findings and, when some were left out,
    ``findings_truncated`` (how many); the evidence file analyze/readiness.json keeps them all."""
    findings = item["findings"]
    if len(findings) <= limit:
        return item
    return {**item, "findings": findings[:limit], "findings_truncated": len(findings) - limit}
