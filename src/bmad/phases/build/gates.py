"""Pure gate logic of the BUILD phase: vulnerabilities (severity, fixable, ignore list with expiry) and SARIF."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import field
from datetime import date

from bmad.config.build import VulnerabilityIgnore
from bmad.core.datatypes import datatype
from bmad.core.sarif import SarifLog, SarifRun, level_for_severity
from bmad.ports.scanner import ScanReport, SecretFinding, Vulnerability, severity_rank


@datatype
class VulnerabilityVerdict:
    """The vulnerability gate's decision: what blocks, what the ignore list let through or let expire."""

    blocking: list[Vulnerability] = field(default_factory=list)
    ignored: list[tuple[Vulnerability, VulnerabilityIgnore]] = field(default_factory=list)
    expired: list[tuple[Vulnerability, VulnerabilityIgnore]] = field(default_factory=list)
    below_threshold: int = 0
    unfixed_skipped: int = 0
    unused_ignores: list[VulnerabilityIgnore] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)  # by severity, ignored entries excluded
    counted: dict[str, int] = field(default_factory=dict)  # by severity, as the gate counts (only_fixed applied)

    @property
    def passed(self) -> bool:
        return not self.blocking and not self.expired


def _matches(entry: VulnerabilityIgnore, finding: Vulnerability) -> bool:
    if entry.id.upper() != finding.id.upper():
        return False
    return entry.package is None or entry.package == finding.package


def evaluate_vulnerabilities(
    findings: Sequence[Vulnerability],
    *,
    fail_on: str,
    only_fixed: bool,
    ignore: Sequence[VulnerabilityIgnore],
    today: date,
) -> VulnerabilityVerdict:
    """Blocking = at or above ``fail_on`` (fixable only, when asked), not covered by a valid ignore entry.

    A finding covered only by an expired entry is reported as expired and fails the gate (whatever its severity
    would otherwise allow), so an expired waiver never passes silently.
    """
    verdict = VulnerabilityVerdict()
    threshold = severity_rank(fail_on)
    used: set[int] = set()
    counts: Counter[str] = Counter()
    counted: Counter[str] = Counter()
    for finding in _unique(findings):
        entries = [(i, e) for i, e in enumerate(ignore) if _matches(e, finding)]
        valid = [(i, e) for i, e in entries if e.expires >= today]
        if valid:
            used.add(valid[0][0])
            verdict.ignored.append((finding, valid[0][1]))
            continue
        counts[finding.severity] += 1
        if entries or not only_fixed or finding.fixable:
            counted[finding.severity] += 1
        relevant = severity_rank(finding.severity) >= threshold
        if entries:
            used.add(entries[0][0])
            if relevant:
                verdict.expired.append((finding, entries[0][1]))
                continue
        if not relevant:
            verdict.below_threshold += 1
        elif only_fixed and not finding.fixable:
            verdict.unfixed_skipped += 1
        else:
            verdict.blocking.append(finding)
    verdict.unused_ignores = [e for i, e in enumerate(ignore) if i not in used]
    verdict.counts = dict(counts)
    verdict.counted = dict(counted)
    return verdict


def _unique(findings: Sequence[Vulnerability]) -> list[Vulnerability]:
    """One finding per (id, package, installed version): tools list the same CVE per layer or target."""
    seen: dict[tuple[str, str, str], Vulnerability] = {}
    for finding in findings:
        seen.setdefault((finding.id, finding.package, finding.installed), finding)
    return list(seen.values())


def finding_dict(finding: Vulnerability) -> dict[str, object]:
    return {
        "id": finding.id,
        "package": finding.package,
        "installed": finding.installed,
        "fixed": finding.fixed,
        "severity": finding.severity,
        "layer": finding.layer,
        "title": finding.title[:160],
    }


def vulnerabilities_sarif(
    verdict: VulnerabilityVerdict,
    *,
    tool: str,
    image: str,
    containerfile: str | None,
    report: ScanReport | None = None,
) -> SarifLog:
    """The gate's findings, then the secrets ``report`` lists (rule and file only, never the value)."""
    log = SarifLog()
    run = log.run("bmad-build-vulnerabilities", docs_page="build.md")
    entries: list[tuple[Vulnerability, str | None]] = [(f, None) for f in verdict.blocking]
    entries += [(f, f"ignored until {e.expires}: {e.reason}") for f, e in verdict.ignored]
    entries += [(f, None) for f, _ in verdict.expired]
    for finding, suppression in entries:
        level = level_for_severity(finding.severity)
        run.rule(
            finding.id,
            short=finding.title or finding.id,
            help_uri=finding.url,
            level=level,
            tags=["security", "vulnerability", tool],
            security_severity={"CRITICAL": "9.5", "HIGH": "8.0", "MEDIUM": "5.5", "LOW": "3.0"}.get(
                finding.severity, "0.0"
            ),
        )
        fixed = f", fixed in {finding.fixed}" if finding.fixed else ", no fix yet"
        run.result(
            finding.id,
            level=level,
            message=f"{finding.package} {finding.installed} in {image}: {finding.id} ({finding.severity}{fixed})",
            file=containerfile,
            line=1 if containerfile else None,
            suppression=suppression,
            fingerprint=f"{finding.id}:{finding.package}:{finding.installed}",
            properties={"package": finding.package, "installed": finding.installed, "layer": finding.layer},
        )
    if report is not None:
        _reported_secrets(run, report, image=image)
    return log


def _reported_secrets(run: SarifRun, report: ScanReport, *, image: str) -> None:
    """One result per secret the scanner listed: its rule id, the file in the image or repository, the line."""
    in_repository = report.scanned == "the repository"
    for secret in report.secrets:
        rule = secret.rule or "secret"
        run.rule(
            rule,
            short=secret.title or f"Secret ({rule})",
            level="error",
            tags=["security", "secret", report.tool],
            security_severity="9.0",
        )
        where = "the repository" if in_repository else image
        line = f" line {secret.line}" if secret.line else ""
        run.result(
            rule,
            level="error",
            message=f"{report.tool} found a secret ({rule}) in {secret.target}{line} of {where}",
            file=secret.target or None,
            line=secret.line,
            file_base=None if in_repository else "IMAGEROOT",
            fingerprint=f"{rule}:{secret.target}:{secret.line or 0}",
            properties={"target": secret.target, "layer": secret.layer, "scanned": report.scanned},
        )


def secrets_sarif(
    findings: Sequence[SecretFinding], allowed: set[str], *, image: str, containerfile: str | None
) -> SarifLog:
    log = SarifLog()
    run = log.run("bmad-build-layer-secrets", docs_page="build.md")
    for finding in findings:
        run.rule(
            finding.rule,
            short=f"Secret in image layer ({finding.rule})",
            level="error",
            tags=["security", "secret"],
            security_severity="9.0",
        )
        where = f"layer {finding.layer}" if finding.layer else "image config"
        run.result(
            finding.rule,
            level="error",
            message=f"{finding.rule} in {finding.location} ({where}; made by: {finding.created_by or 'unknown'}) "
            f"value {finding.masked} in {image}",
            file=containerfile,
            line=1 if containerfile else None,
            suppression="allow-listed by fingerprint" if finding.fingerprint in allowed else None,
            fingerprint=finding.fingerprint,
            properties={"layer": finding.layer, "location": finding.location, "fingerprint": finding.fingerprint},
        )
    return log
