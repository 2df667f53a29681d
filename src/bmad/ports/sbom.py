"""Software bill of materials: a generator that writes a CycloneDX JSON SBOM of an exported image."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from bmad.core.datatypes import datatype
from bmad.ports.evidence import EvidenceSink


@datatype(frozen=True)
class Sbom:
    """An SBOM written to ``path``: its format, the tool that made it and how many components it lists."""

    path: Path
    components: int
    tool: str
    tool_version: str | None = None
    spec_version: str | None = None


class SbomGenerator(Protocol):
    name: str

    def available(self) -> bool: ...

    def generate(self, *, archive: Path, output: Path, evidence: EvidenceSink) -> Sbom:
        """Write a CycloneDX JSON SBOM of the docker-archive ``archive`` to ``output``."""
        ...
