"""The CycloneDX JSON reader behind build.sbom (a document in syft's documented shape)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bmad.adapters.sbom import SyftSbomGenerator, read_cyclonedx
from bmad.core.errors import AdapterError

DATA = Path(__file__).resolve().parents[1] / "data" / "cyclonedx"


def test_cyclonedx_components_spec_and_generator_version() -> None:
    sbom = read_cyclonedx(DATA / "syft-image.json", tool="syft")
    assert (sbom.components, sbom.spec_version, sbom.tool_version) == (2, "1.6", "1.18.1")


def test_not_a_cyclonedx_document_is_an_adapter_error(tmp_path: Path) -> None:
    other = tmp_path / "sbom.json"
    other.write_text('{"spdxVersion": "SPDX-2.3"}')
    with pytest.raises(AdapterError, match="not a CycloneDX JSON document"):
        read_cyclonedx(other, tool="syft")


def test_a_missing_program_is_not_available() -> None:
    assert not SyftSbomGenerator(program="/nonexistent/syft").available()
