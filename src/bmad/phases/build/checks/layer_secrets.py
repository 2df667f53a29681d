"""build.layer_secrets: no secret in any layer's files (the base image's own layers skipped) or in the image's Env."""

from __future__ import annotations

from typing import Any

from bmad.core.models import CheckResult
from bmad.phases.build.checks import image
from bmad.phases.build.containerfile import containerfile_in_repo
from bmad.phases.build.gates import secrets_sarif
from bmad.phases.build.ports import BuildPorts
from bmad.phases.build.results import gate_disabled
from bmad.phases.build.workspace import BuildWorkspace
from bmad.ports.artifacts import BuiltImage, LayerSecretsFound
from bmad.ports.images import ImageEngine, ImageInfo
from bmad.ports.phase import CheckId, PhaseContext
from bmad.ports.scanner import LayerScanResult, SecretFinding

CHECK = CheckId("build.layer_secrets", "No secrets in image layers")
NEEDS = (image.CHECK.id,)
EXPECTED = "no secrets in any layer or in the image's Env"


def run(ctx: PhaseContext, ports: BuildPorts, work: BuildWorkspace) -> CheckResult:
    config = ctx.config.build.layer_secrets
    if not config.enabled:
        return gate_disabled(CHECK, "build.layer_secrets.enabled")
    built = BuiltImage.from_artifacts(ctx.artifacts())
    inspected = ports.images.inspect(built.image_id)
    if config.layers == "own":
        skip, base_note = base_layers(ports.images, built.base_image, inspected)
    else:
        skip, base_note = frozenset(), "all layers"
    archive = work.exported_image(ports.images, built.image_id)
    scan = ports.layer_secrets.scan(archive, skip_diff_ids=skip, max_file_bytes=config.max_file_bytes)
    # Values found just now are registered for redaction: rewrite the build log through the redacting sink.
    if work.build_log:
        ctx.evidence.write_text("build/image-build.log", "\n".join(work.build_log) + "\n")
    allowed = {entry.fingerprint for entry in config.allow}
    sarif = secrets_sarif(
        scan.findings,
        allowed,
        image=built.image_ref,
        containerfile=containerfile_in_repo(ctx.config.build, ctx.config.repository_dir),
    )
    sarif_file = ctx.evidence.write_text("build/layer-secrets.sarif", sarif.to_json())
    evidence = _evidence(scan, allowed, base_note)
    blocking = [f for f in scan.findings if f.fingerprint not in allowed]
    if blocking:
        return _found(blocking, evidence, sarif_file)
    return CHECK.passed(
        f"{scan.files_scanned} files in {scan.layers_scanned} layer(s) scanned, no secrets"
        + (f" ({len(scan.findings)} allow-listed)" if scan.findings else ""),
        expected=EXPECTED,
        observed="none",
        evidence=evidence,
        evidence_files=(sarif_file,),
        artifacts=LayerSecretsFound(secrets_in_image=0).to_artifacts(),
    )


def base_layers(images: ImageEngine, base: str | None, built: ImageInfo | None) -> tuple[frozenset[str], str]:
    """The layers the image shares with its base image (not scanned: not ours), and a note saying so."""
    if base is None:
        return frozenset(), "no base image (FROM scratch)"
    base_info = images.inspect(base)
    if base_info is None or built is None:
        return frozenset(), f"base image {base} not found in the engine: every layer scanned"
    prefix = []
    for ours, theirs in zip(built.diff_ids, base_info.diff_ids, strict=False):
        if ours != theirs:
            break
        prefix.append(ours)
    return frozenset(prefix), f"{len(prefix)} layer(s) of base image {base} skipped"


def _found(blocking: list[SecretFinding], evidence: dict[str, Any], sarif_file: str) -> CheckResult:
    where = "; ".join(
        f"{f.rule} in {f.location} (layer {(f.layer or 'config')[:19]}, {f.created_by or 'unknown step'})"
        for f in blocking[:5]
    )
    return CHECK.failed(
        f"{len(blocking)} secret(s) in the image: {where}",
        expected=EXPECTED,
        observed=f"{len(blocking)} finding(s)",
        fix="remove the secret from the build context/Containerfile (a later layer deleting it does not help), "
        "rotate it, and pass secrets at run time; allow-list false positives by fingerprint in "
        "build.layer_secrets.allow",
        evidence=evidence,
        evidence_files=(sarif_file,),
        # Read by ANALYZE (SC-046): secrets that are not allow-listed.
        artifacts=LayerSecretsFound(secrets_in_image=len(blocking)).to_artifacts(),
    )


def _evidence(scan: LayerScanResult, allowed: set[str], base_note: str) -> dict[str, Any]:
    findings = [
        {
            "rule": f.rule,
            "location": f.location,
            "line": f.line,
            "value": f.masked,
            "layer": f.layer,
            "layer_index": f.layer_index,
            "created_by": f.created_by,
            "fingerprint": f.fingerprint,
            "allowed": f.fingerprint in allowed,
        }
        for f in scan.findings
    ]
    return {
        "layers_total": scan.layers_total,
        "layers_scanned": scan.layers_scanned,
        "layers_skipped": scan.layers_skipped,
        "base": base_note,
        "files_scanned": scan.files_scanned,
        "files_skipped": scan.files_skipped,
        "findings": findings[:100],
        "unused_allow": sorted(allowed - {f.fingerprint for f in scan.findings}),
    }
