"""Image scanners: vulnerability reports (trivy, grype) and secrets in image layers, in one model each."""

from __future__ import annotations

from dataclasses import field
from pathlib import Path
from typing import Protocol

from bmad.core.datatypes import datatype
from bmad.ports.evidence import EvidenceSink

SEVERITIES = ("UNKNOWN", "NEGLIGIBLE", "LOW", "MEDIUM", "HIGH", "CRITICAL")
_RANK = {name: index for index, name in enumerate(SEVERITIES)}


def normalise_severity(value: object) -> str:
    """Upper-case severity name from either tool (grype uses Title-case, 'Negligible')."""
    text = str(value or "").strip().upper()
    return text if text in _RANK else "UNKNOWN"


def severity_rank(value: str) -> int:
    return _RANK.get(normalise_severity(value), 0)


@datatype(frozen=True)
class Vulnerability:
    """One vulnerable package a scanner reported, with its severity and fixed version."""

    id: str
    package: str
    installed: str
    fixed: str | None  # None when no fixed version is known
    severity: str  # one of SEVERITIES
    layer: str | None = None  # diff id or digest of the layer that brought the package
    title: str = ""
    url: str | None = None
    target: str = ""  # what the tool scanned (OS packages, a lock file ...)

    @property
    def fixable(self) -> bool:
        return bool(self.fixed)


@datatype(frozen=True)
class ReportedSecret:
    """A secret a scanner reported (trivy ``Secrets[]``); ``match`` is already masked by the tool."""

    rule: str
    title: str
    severity: str
    target: str
    line: int | None = None
    layer: str | None = None
    created_by: str | None = None


@datatype(frozen=True)
class ScanReport:
    """A scanner's report on one image or repository, in one model for trivy and grype."""

    tool: str  # "trivy" | "grype"
    tool_version: str | None = None
    artifact: str | None = None
    image_id: str | None = None
    size_bytes: int | None = None
    os: str | None = None
    eosl: bool | None = None
    findings: tuple[Vulnerability, ...] = ()
    secrets: tuple[ReportedSecret, ...] = ()
    source_file: str | None = None
    artifact_type: str | None = None  # trivy ArtifactType / grype source.type: container_image, repository ...

    @property
    def scanned(self) -> str:
        """What the report scanned: "the repository" for a repository or file-system scan, else "the image"."""
        kind = (self.artifact_type or "").lower()
        return "the repository" if kind in ("repository", "filesystem", "directory", "file") else "the image"


class VulnerabilityScanner(Protocol):
    name: str

    def available(self) -> bool: ...

    def scan(self, *, image_ref: str, archive: Path | None, evidence: EvidenceSink) -> ScanReport:
        """Scan the image (the exported archive when given). Raises AdapterError when the tool fails."""
        ...


@datatype(frozen=True)
class SecretFinding:
    """A secret found in an image. Holds no value: ``masked`` shows at most a short prefix."""

    rule: str
    location: str  # file path inside the image, or "config:Env[NAME]"
    line: int | None
    masked: str
    fingerprint: str  # stable across rebuilds: allow-list key
    layer: str | None = None  # diff id of the layer holding the file
    layer_index: int | None = None
    created_by: str | None = None  # the Containerfile instruction that made the layer (redacted)


@datatype
class LayerScanResult:
    """The secrets found in an image's layers, and how many layers and files were scanned or skipped."""

    findings: list[SecretFinding] = field(default_factory=list)
    layers_total: int = 0
    layers_scanned: int = 0
    layers_skipped: list[str] = field(default_factory=list)
    files_scanned: int = 0
    files_skipped: int = 0


class LayerSecretScanner(Protocol):
    def scan(self, archive: Path, *, skip_diff_ids: frozenset[str], max_file_bytes: int) -> LayerScanResult:
        """Walk every layer of a docker-archive and the image config's Env.

        Every found value is registered for redaction before this returns.
        """
        ...
