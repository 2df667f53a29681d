"""``analyze.readiness``: score, checklist % and the hard gate -> readiness_checklist_complete."""

from __future__ import annotations

from pathlib import Path

from bmad.core.models import CheckResult, CheckStatus
from bmad.phases.analyze.formats import to_junit, to_sarif
from bmad.phases.analyze.preparation import AnalyzeRun
from bmad.phases.analyze.readiness import READINESS_FILE, ReadinessReport
from bmad.phases.analyze.readiness_data import ItemStatus
from bmad.ports.artifacts import AnalyzeArtifacts
from bmad.ports.evidence import EvidenceSink
from bmad.ports.phase import CheckId, PhaseContext

CHECK = CheckId("analyze.readiness", "Production readiness checklist")
SARIF_FILE = "analyze/readiness.sarif"
JUNIT_FILE = "analyze/readiness.junit.xml"
# From this many findings (about 200 objects) the report's JSON and SARIF evidence files are written
# aside (bmad.core.aside): below it they take a few milliseconds, less than a child costs.
ASIDE_FINDINGS = 1000


def run(ctx: PhaseContext, phase: AnalyzeRun) -> CheckResult:
    prepared = phase.prepare(ctx)
    report = prepared.report
    data = report.to_dict()
    config_name = _config_name(ctx)

    def write_large(evidence: EvidenceSink) -> None:
        evidence.write_json(READINESS_FILE, data)
        # SARIF for tools, not people: without indentation json's C encoder writes it (2 MB for 1,000 objects)
        evidence.write_text(SARIF_FILE, to_sarif(data, default_file=config_name).to_json(indent=None))

    large = (READINESS_FILE, SARIF_FILE)
    if sum(len(item.findings) for item in report.items) >= ASIDE_FINDINGS:
        # megabytes to encode and redact: a forked child writes the two large files while this process
        # writes the JUnit XML (a tenth of the work: the child's share is the longer one) and records the phase
        ctx.evidence.write_aside(large, write_large)
    else:
        write_large(ctx.evidence)
    ctx.evidence.write_text(JUNIT_FILE, to_junit(data).to_xml())
    files = (*large, JUNIT_FILE)
    threshold = ctx.config.analyze.min_readiness_percent
    critical = report.critical_failures
    status, reasons = _gate(report, threshold)
    counts = report.counts()
    # The report is the phase's artifact, not this check's too: a check's artifacts are merged into its
    # phase's, and the ledger and phase.json kept both copies (a megabyte each for 1,000 objects).
    ctx.add_artifacts(
        AnalyzeArtifacts(readiness={**data, "items": [report.capped_item(i) for i in report.items]}).written()
    )
    return CHECK.result(
        status,
        (
            f"{report.complete_percent}% complete ({counts['pass']} pass, {counts['fail']} fail, "
            f"{counts['skipped']} skipped, {counts['not_applicable']} n/a of {len(report.items)}); "
            f"score {report.overall_score}"
        ),
        expected=f"no critical failure and ≥ {threshold}% of applicable items passing",
        observed="; ".join(reasons) or "met",
        fix="\n".join(f"{i.entry.id}: {i.entry.fix}" for i in critical)
        or ("see the failing items of each category" if status is CheckStatus.FAIL else "")
        or ("make the skipped items checkable (see each category's fix)" if status is CheckStatus.WARN else ""),
        evidence={
            "category_scores": data["category_scores"],
            "overall_score": report.overall_score,
            "critical_failures": data["critical_failures"],
            "suppression_notes": report.suppression_notes,
            "manifests": prepared.manifests_dir,
        },
        metrics={"readiness_checklist_complete": report.complete_percent},
        evidence_files=files,
    )


def _gate(report: ReadinessReport, threshold: float) -> tuple[CheckStatus, list[str]]:
    """The hard gate: no critical failure, and the checklist at least ``threshold`` % complete."""
    critical = report.critical_failures
    status = CheckStatus.PASS
    reasons = []
    if critical:
        status = CheckStatus.FAIL
        reasons.append("critical item(s) failed: " + ", ".join(i.entry.id for i in critical))
    if report.complete_percent >= threshold:
        return status, reasons
    # Skipped items could not be checked (e.g. no vulnerability scanner ran): unknown, not failed.
    # When only they hold the checklist below the threshold the gate warns - and warnings fail
    # production environments (warn_as_fail) - the way BUILD treats a missing scanner.
    counts = report.counts()
    applicable = len(report.items) - counts["not_applicable"]
    if_known = 100.0 * (counts["pass"] + counts["skipped"]) / applicable if applicable else 0.0
    skipped_ids = [i.entry.id for i in report.items if i.status is ItemStatus.SKIPPED]
    if if_known >= threshold:
        if status is not CheckStatus.FAIL:
            status = CheckStatus.WARN
        reasons.append(
            f"checklist {report.complete_percent}% complete, below analyze.min_readiness_percent {threshold} "
            f"only because {len(skipped_ids)} item(s) could not be checked: {', '.join(skipped_ids)}"
        )
    else:
        status = CheckStatus.FAIL
        reasons.append(
            f"checklist {report.complete_percent}% complete, below analyze.min_readiness_percent {threshold}"
        )
    return status, reasons


def _config_name(ctx: PhaseContext) -> str:
    return Path(ctx.config.source_path).name if ctx.config.source_path else "bmad.yaml"
