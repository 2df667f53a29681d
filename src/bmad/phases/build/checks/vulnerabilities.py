"""build.vulnerabilities: no finding at or above ``fail_on`` (fixable only, when asked), ignore list honoured."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bmad.config.build import VulnerabilityConfig
from bmad.core.models import CheckResult, CheckStatus, MetricValue
from bmad.phases.build.checks import image
from bmad.phases.build.containerfile import containerfile_in_repo
from bmad.phases.build.gates import VulnerabilityVerdict, evaluate_vulnerabilities, finding_dict, vulnerabilities_sarif
from bmad.phases.build.ports import BuildPorts
from bmad.phases.build.results import gate_disabled
from bmad.phases.build.workspace import BuildWorkspace
from bmad.ports.artifacts import BuiltImage
from bmad.ports.phase import CheckId, PhaseContext
from bmad.ports.scanner import SEVERITIES, ScanReport, VulnerabilityScanner, severity_rank

CHECK = CheckId("build.vulnerabilities", "No vulnerabilities at or above the gate")
NEEDS = (image.CHECK.id,)
GATE_METRICS = (
    "vulnerabilities_critical",
    "vulnerabilities_high",
    "vulnerabilities_critical_gated",
    "vulnerabilities_high_gated",
)
TOOLS = ("trivy", "grype")  # scanners that read the exported image; "report" reads a file


def run(ctx: PhaseContext, ports: BuildPorts, work: BuildWorkspace) -> CheckResult:
    config = ctx.config.build.vulnerabilities
    if not config.enabled:
        return gate_disabled(CHECK, "build.vulnerabilities.enabled")
    scanner = choose_scanner(config.scanner, ports.scanners)
    if scanner is None or not scanner.available():
        return _no_scanner(config)
    built = BuiltImage.from_artifacts(ctx.artifacts())
    archive = work.exported_image(ports.images, built.image_id) if scanner.name in TOOLS else None
    report: ScanReport = scanner.scan(image_ref=built.image_ref, archive=archive, evidence=ctx.evidence)
    verdict = evaluate_vulnerabilities(
        report.findings,
        fail_on=config.fail_on,
        only_fixed=config.only_fixed,
        ignore=config.ignore,
        today=ports.today(),
    )
    sarif = vulnerabilities_sarif(
        verdict,
        tool=report.tool,
        image=built.image_ref,
        containerfile=containerfile_in_repo(ctx.config.build, ctx.config.repository_dir),
        report=report,
    )
    sarif_file = ctx.evidence.write_text("build/vulnerabilities.sarif", sarif.to_json())
    return gate_result(config, report, verdict, built.image_id, sarif_file)


def choose_scanner(wanted: str, scanners: Mapping[str, VulnerabilityScanner]) -> VulnerabilityScanner | None:
    """The configured scanner; for ``auto`` the first installed tool, else the report reader."""
    if wanted == "auto":
        for name in TOOLS:
            found = scanners.get(name)
            if found is not None and found.available():
                return found
        return scanners.get("report")
    return scanners.get(wanted)


def _no_scanner(config: VulnerabilityConfig) -> CheckResult:
    return CHECK.result(
        CheckStatus.FAIL if config.missing_scanner == "fail" else CheckStatus.WARN,
        "no vulnerability scanner ran: trivy/grype not installed and no report configured",
        expected=f"a scan with no findings at or above {config.fail_on}",
        observed=f"scanner '{config.scanner}' not available",
        fix="install trivy or grype, or set build.vulnerabilities.report to a JSON report of this image",
        metrics=dict.fromkeys(GATE_METRICS),
    )


def gate_result(
    config: VulnerabilityConfig, report: ScanReport, verdict: VulnerabilityVerdict, image_id: str, sarif_file: str
) -> CheckResult:
    """The check's result: the gate's verdict, the figures it counted, and a note when the report is stale."""
    critical = verdict.counts.get("CRITICAL", 0)
    high = verdict.counts.get("HIGH", 0)
    evidence = _evidence(config, report, verdict)
    metrics: dict[str, MetricValue] = {
        "vulnerabilities_critical": critical,
        "vulnerabilities_high": high,
        "vulnerabilities_critical_gated": verdict.counted.get("CRITICAL", 0),
        "vulnerabilities_high_gated": verdict.counted.get("HIGH", 0),
    }
    stale = report.image_id is not None and report.image_id != image_id
    if stale:
        evidence["note"] = "the report names another image id than the one built"
    problems = _problems(config, report, verdict)
    if problems:
        return CHECK.failed(
            "; ".join(problems) + ("; the report is for another image id" if stale else ""),
            expected=f"no findings at or above {config.fail_on}" + (" with a fix" if config.only_fixed else ""),
            observed=_observed(config, verdict),
            fix="upgrade the affected packages/base image; to accept a finding for a while add it to "
            "build.vulnerabilities.ignore with a reason and an expiry date (renew expired ones)"
            + ("; produce the report from this build's image" if stale else ""),
            evidence=evidence,
            metrics=metrics,
            evidence_files=(sarif_file,),
        )
    return CHECK.result(
        CheckStatus.WARN if stale else CheckStatus.PASS,
        f"{critical} critical, {high} high ({len(verdict.ignored)} ignored) by {report.tool}"
        + ("; the report is for another image id" if stale else ""),
        expected=f"no findings at or above {config.fail_on}",
        observed=f"{critical} critical, {high} high",
        fix="produce the report from this build's image" if stale else "",
        evidence=evidence,
        metrics=metrics,
        evidence_files=(sarif_file,),
    )


def _observed(config: VulnerabilityConfig, verdict: VulnerabilityVerdict) -> str:
    """What the gate counted, by severity from CRITICAL down to the threshold (at least critical and high)."""
    threshold = min(severity_rank(config.fail_on), severity_rank("HIGH"))
    levels = [s for s in reversed(SEVERITIES) if severity_rank(s) >= threshold and s != "UNKNOWN"]
    figures = verdict.counted if config.only_fixed else verdict.counts
    observed = ", ".join(f"{figures.get(s, 0)} {s.lower()}" for s in levels)
    return observed + (" with a fix" if config.only_fixed else "")


def _problems(config: VulnerabilityConfig, report: ScanReport, verdict: VulnerabilityVerdict) -> list[str]:
    problems = []
    if verdict.blocking:
        ids = ", ".join(sorted({f.id for f in verdict.blocking})[:5])
        problems.append(f"{len(verdict.blocking)} finding(s) at or above {config.fail_on}: {ids}")
    for finding, entry in verdict.expired:
        problems.append(f"ignore entry for {finding.id} expired on {entry.expires} ({finding.severity})")
    if report.secrets:
        problems.append(f"{report.tool} reported {len(report.secrets)} secret(s) in {report.scanned}")
    return problems


def _evidence(config: VulnerabilityConfig, report: ScanReport, verdict: VulnerabilityVerdict) -> dict[str, Any]:
    return {
        "scanner": report.tool,
        "scanner_version": report.tool_version,
        "report_file": report.source_file,
        "report_image_id": report.image_id,
        "fail_on": config.fail_on,
        "only_fixed": config.only_fixed,
        "findings_total": len(report.findings),
        "by_severity": verdict.counts,
        "blocking": [finding_dict(f) for f in verdict.blocking[:100]],
        "ignored": [{**finding_dict(f), "reason": e.reason, "expires": str(e.expires)} for f, e in verdict.ignored],
        "expired_ignores": [{"id": f.id, "package": f.package, "expired": str(e.expires)} for f, e in verdict.expired],
        "unused_ignores": [{"id": e.id, "expires": str(e.expires)} for e in verdict.unused_ignores],
        "unfixed_not_counted": verdict.unfixed_skipped,
        "reported_secrets": [{"rule": s.rule, "target": s.target, "layer": s.layer} for s in report.secrets],
    }
