"""``analyze.manifests``: schema/API validation (+ server dry-run) -> kubernetes_manifests_valid."""

from __future__ import annotations

from bmad.core.models import CheckResult, CheckStatus
from bmad.phases.analyze.preparation import AnalyzeRun
from bmad.ports.artifacts import AnalyzeArtifacts
from bmad.ports.phase import CheckId, PhaseContext

CHECK = CheckId("analyze.manifests", "Kubernetes manifests validated")


def run(ctx: PhaseContext, phase: AnalyzeRun) -> CheckResult:
    prepared = phase.prepare(ctx)
    validation = prepared.validation
    summary = validation.summary()
    findings = [f.to_dict() for f in validation.findings]
    file = ctx.evidence.write_json("analyze/validation.json", {"summary": summary, "findings": findings})
    errors = validation.errors
    warnings = [f for f in validation.findings if f.level == "warning"]
    notes = [f for f in validation.findings if f.level == "note"]
    ok = not errors and bool(prepared.bundle.objects)
    observed_lines = [f"{f.where}: {f.message}" for f in (errors + warnings)[:15]]
    if not prepared.bundle.objects and not errors:
        observed_lines.insert(0, "no Kubernetes objects found")
    return CHECK.result(
        CheckStatus.FAIL if not ok else (CheckStatus.WARN if warnings else CheckStatus.PASS),
        (
            f"{summary['objects']} objects: {summary['valid']} valid, {summary['invalid']} invalid, "
            f"{summary['skipped_no_schema']} skipped (no schema); {len(errors)} error(s), "
            f"{len(warnings)} warning(s); dry-run: {validation.dry_run}"
        ),
        expected=f"every object valid for Kubernetes {validation.kubernetes_version}"
        + (" (strict)" if ctx.config.analyze.strict_schemas else "")
        + ", no removed APIs, no duplicate keys, server dry-run accepted when a cluster is configured",
        observed="\n".join(observed_lines) or (f"{len(notes)} note(s)" if notes else "all valid"),
        fix="fix each finding at the file:line shown (schema paths name the field)" if not ok else "",
        evidence={
            "summary": summary,
            "errors": [f.to_dict() for f in errors[:50]],
            "warnings": [f.to_dict() for f in warnings[:50]],
            "notes": [f.to_dict() for f in notes[:50]],
        },
        metrics={"kubernetes_manifests_valid": ok},
        artifacts=AnalyzeArtifacts(manifest_validation={"summary": summary, "findings": findings}).written(),
        evidence_files=(file,),
    )
