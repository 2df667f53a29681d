"""Everything BUILD talks to, built by the engine's wiring and handed to every check."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import field
from datetime import UTC, date, datetime

from bmad.core.datatypes import datatype
from bmad.core.spans import SpanKind, sleeper
from bmad.ports.images import ImageEngine
from bmad.ports.registry import Registry
from bmad.ports.release_tag import ReleaseTagger
from bmad.ports.sbom import SbomGenerator
from bmad.ports.scanner import LayerSecretScanner, VulnerabilityScanner
from bmad.ports.tests_runner import CommandRunner, TestEnvironments

_RETRY_PAUSE = sleeper(SpanKind.REGISTRY, "push: backing off before a retry")


@datatype
class BuildPorts:
    """Everything the phase talks to; the engine's wiring builds the adapters."""

    images: ImageEngine
    registry: Registry
    layer_secrets: LayerSecretScanner
    tagger: ReleaseTagger
    runner: CommandRunner
    environments: TestEnvironments
    # "trivy", "grype" (installed tools) and the report reader under "report" (when a report is configured).
    scanners: Mapping[str, VulnerabilityScanner] = field(default_factory=dict)
    sbom: SbomGenerator | None = None  # syft, when the wiring found it
    source_url: str | None = None  # org.opencontainers.image.source (bmad.yaml, else the git remote)
    sleep: Callable[[float], None] = _RETRY_PAUSE
    today: Callable[[], date] = lambda: datetime.now(UTC).date()
