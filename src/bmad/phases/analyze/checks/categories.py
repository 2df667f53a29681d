"""``analyze.readiness.<category>``: one result per catalog category, failures with their fix."""

from __future__ import annotations

from collections.abc import Callable

from bmad.core.models import CheckResult, CheckStatus
from bmad.phases.analyze.preparation import AnalyzeRun
from bmad.phases.analyze.readiness import READINESS_FILE
from bmad.phases.analyze.readiness_data import Category, ItemResult, ItemStatus, Severity
from bmad.ports.phase import CheckId, PhaseContext


def check_id(category: Category) -> CheckId:
    return CheckId(f"analyze.readiness.{category.slug}", f"Readiness: {category.value}")


def runner(category: Category) -> Callable[[PhaseContext, AnalyzeRun], CheckResult]:
    def run(ctx: PhaseContext, phase: AnalyzeRun) -> CheckResult:
        report = phase.prepare(ctx).report
        items = report.by_category(category)
        counts = report.counts(items)
        failed = [i for i in items if i.status is ItemStatus.FAIL]
        skipped = [i for i in items if i.status is ItemStatus.SKIPPED]
        serious = [i for i in failed if i.entry.severity in (Severity.CRITICAL, Severity.HIGH)]
        status = CheckStatus.FAIL if serious else (CheckStatus.WARN if failed or skipped else CheckStatus.PASS)
        score = report.category_scores.get(category)
        observed = [_failure_line(item) for item in failed]
        observed += [f"{i.entry.id} skipped: {i.reason}" for i in skipped]
        return check_id(category).result(
            status,
            (
                f"{counts['pass']} pass, {counts['fail']} fail, {counts['skipped']} skipped, "
                f"{counts['not_applicable']} n/a, {counts['suppressed']} suppressed; "
                f"score {score if score is not None else 'n/a'}"
            ),
            expected="every applicable item passes",
            observed="\n".join(observed) or "all applicable items pass",
            fix="\n".join(f"{i.entry.id}: {i.entry.fix}" for i in failed + skipped),
            evidence={
                "score": score,
                "counts": counts,
                "items": [report.evidence_item(i) for i in items if i.status is not ItemStatus.PASS or i.findings],
                "all_findings": READINESS_FILE,
            },
        )

    return run


def _failure_line(item: ItemResult) -> str:
    first = item.failures[0]
    where = first.location.logical if first.location.kind else (first.location.file or "")
    more = f" (+{len(item.failures) - 1} more)" if len(item.failures) > 1 else ""
    return (
        f"{item.entry.id} [{item.entry.severity.value}] {item.entry.title}: "
        f"{where + ': ' if where else ''}{first.message}{more}"
    )
