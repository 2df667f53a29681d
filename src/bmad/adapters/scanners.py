"""Vulnerability scanners: trivy and grype (run with argument lists, JSON output) and their report files.

The ``parse_*`` functions are pure: they read the tools' real JSON shapes (trivy SchemaVersion 2,
grype ``matches[]``) into one model and tolerate fields that older versions do not write.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

from bmad.adapters._process import run_command
from bmad.core.errors import AdapterError, ConfigError
from bmad.ports.evidence import EvidenceSink
from bmad.ports.scanner import ReportedSecret, ScanReport, Vulnerability, normalise_severity

MAX_REPORT_BYTES = 200 * 1024 * 1024


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ("" if value is None else str(value))


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def detect_format(data: Any) -> str | None:
    """``"trivy"``, ``"grype"`` or None for a parsed JSON report."""
    if not isinstance(data, dict):
        return None
    if "SchemaVersion" in data or "Results" in data or "ArtifactName" in data:
        return "trivy"
    if "matches" in data:
        return "grype"
    return None


def parse_trivy_report(data: Any) -> ScanReport:
    """Read ``trivy image --format json`` output (SchemaVersion 2)."""
    if not isinstance(data, dict):
        raise ValueError("a trivy report is a JSON object")
    schema = data.get("SchemaVersion")
    if schema is not None and schema != 2:
        raise ValueError(f"trivy report SchemaVersion {schema} is not supported (expected 2)")
    metadata = _dict(data.get("Metadata"))
    os_info = _dict(metadata.get("OS"))
    size = _int(metadata.get("Size"))
    if size is None:
        layer_sizes = [_int(_dict(layer).get("Size")) for layer in _list(metadata.get("Layers"))]
        if layer_sizes and all(s is not None for s in layer_sizes):
            size = sum(s for s in layer_sizes if s is not None)
    findings: list[Vulnerability] = []
    secrets: list[ReportedSecret] = []
    for result in _list(data.get("Results")):
        result = _dict(result)
        target = _str(result.get("Target"))
        for vuln in _list(result.get("Vulnerabilities")):
            vuln = _dict(vuln)
            layer = _dict(vuln.get("Layer"))
            findings.append(
                Vulnerability(
                    id=_str(vuln.get("VulnerabilityID")) or "UNKNOWN-ID",
                    package=_str(vuln.get("PkgName")) or _str(vuln.get("PkgID")).split("@")[0],
                    installed=_str(vuln.get("InstalledVersion")),
                    fixed=_str(vuln.get("FixedVersion")) or None,
                    severity=normalise_severity(vuln.get("Severity")),
                    layer=_str(layer.get("DiffID")) or _str(layer.get("Digest")) or None,
                    title=_str(vuln.get("Title")),
                    url=_str(vuln.get("PrimaryURL")) or None,
                    target=target,
                )
            )
        for secret in _list(result.get("Secrets")):
            secret = _dict(secret)
            layer = _dict(secret.get("Layer"))
            secrets.append(
                ReportedSecret(
                    rule=_str(secret.get("RuleID")),
                    title=_str(secret.get("Title")),
                    severity=normalise_severity(secret.get("Severity")),
                    target=target,
                    line=_int(secret.get("StartLine")),
                    layer=_str(layer.get("DiffID")) or _str(layer.get("Digest")) or None,
                    created_by=_str(layer.get("CreatedBy")) or None,
                )
            )
    eosl = os_info.get("EOSL")
    return ScanReport(
        tool="trivy",
        tool_version=_str(_dict(data.get("Trivy")).get("Version")) or None,
        artifact=_str(data.get("ArtifactName")) or None,
        image_id=_str(metadata.get("ImageID")) or None,
        size_bytes=size,
        os=" ".join(p for p in (_str(os_info.get("Family")), _str(os_info.get("Name"))) if p) or None,
        eosl=eosl if isinstance(eosl, bool) else None,
        findings=tuple(findings),
        secrets=tuple(secrets),
    )


def parse_grype_report(data: Any) -> ScanReport:
    """Read ``grype -o json`` output (``matches[]``, ``source``, ``distro``, ``descriptor``)."""
    if not isinstance(data, dict) or not isinstance(data.get("matches", []), list):
        raise ValueError("a grype report is a JSON object with a 'matches' list")
    findings: list[Vulnerability] = []
    for match in _list(data.get("matches")):
        match = _dict(match)
        vuln = _dict(match.get("vulnerability"))
        artifact = _dict(match.get("artifact"))
        fix = _dict(vuln.get("fix"))
        versions = [_str(v) for v in _list(fix.get("versions")) if v]
        fixed = ", ".join(versions) if versions and fix.get("state", "fixed") in ("fixed", "") else None
        if fixed is None and not fix and vuln.get("fixedInVersion"):  # grype before fix{} existed
            fixed = _str(vuln.get("fixedInVersion"))
        layer = None
        for location in _list(artifact.get("locations")):
            layer = _str(_dict(location).get("layerID")) or None
            if layer:
                break
        urls = [_str(u) for u in _list(vuln.get("urls")) if u]
        findings.append(
            Vulnerability(
                id=_str(vuln.get("id")) or "UNKNOWN-ID",
                package=_str(artifact.get("name")),
                installed=_str(artifact.get("version")),
                fixed=fixed,
                severity=normalise_severity(vuln.get("severity")),
                layer=layer,
                title=_str(vuln.get("description"))[:200],
                url=_str(vuln.get("dataSource")) or (urls[0] if urls else None),
                target=_str(artifact.get("type")),
            )
        )
    source = _dict(data.get("source"))
    target = _dict(source.get("target"))
    distro = _dict(data.get("distro"))
    descriptor = _dict(data.get("descriptor"))
    return ScanReport(
        tool="grype",
        tool_version=_str(descriptor.get("version")) or None,
        artifact=_str(target.get("userInput")) or None,
        image_id=_str(target.get("imageID")) or None,
        size_bytes=_int(target.get("imageSize")),
        os=" ".join(p for p in (_str(distro.get("name")), _str(distro.get("version"))) if p) or None,
        findings=tuple(findings),
    )


def parse_report(data: Any) -> ScanReport:
    kind = detect_format(data)
    if kind == "trivy":
        return parse_trivy_report(data)
    if kind == "grype":
        return parse_grype_report(data)
    raise ValueError("not a trivy (SchemaVersion/Results) or grype (matches) JSON report")


def read_report_file(path: Path) -> ScanReport:
    """Read a trivy or grype JSON report; a missing or malformed file is a ConfigError naming it."""
    try:
        size = path.stat().st_size
        if size > MAX_REPORT_BYTES:
            raise ConfigError(f"scan report is {size} bytes; the limit is {MAX_REPORT_BYTES}", file=str(path))
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(
            "scan report not found", file=str(path), hint="run trivy/grype with JSON output to this path"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"scan report cannot be read: {exc}", file=str(path)) from None
    except json.JSONDecodeError as exc:
        raise ConfigError(f"scan report is not JSON: {exc.msg}", file=str(path), line=exc.lineno) from None
    try:
        report = parse_report(data)
    except ValueError as exc:
        raise ConfigError(str(exc), file=str(path)) from None
    return ScanReport(**{**report.__dict__, "source_file": str(path)})


class ReportFileScanner:
    """Reads a report produced elsewhere (CI step, another machine)."""

    name = "report"

    def __init__(self, path: Path) -> None:
        self.path = path

    def available(self) -> bool:
        return True

    def scan(self, *, image_ref: str, archive: Path | None, evidence: EvidenceSink) -> ScanReport:
        return read_report_file(self.path)


class _ToolScanner:
    name = ""

    def __init__(self, *, program: str | None = None, timeout: float = 900.0) -> None:
        self.program = program or self.name
        self.timeout = timeout

    def available(self) -> bool:
        return shutil.which(self.program) is not None

    def argv(self, *, image_ref: str, archive: Path | None, output: Path) -> list[str]:
        raise NotImplementedError

    def parse(self, data: Any) -> ScanReport:
        raise NotImplementedError

    def scan(self, *, image_ref: str, archive: Path | None, evidence: EvidenceSink) -> ScanReport:
        with tempfile.TemporaryDirectory(prefix="bmad-scan-") as tmp:
            output = Path(tmp) / "report.json"
            result = run_command(
                self.argv(image_ref=image_ref, archive=archive, output=output),
                system=self.name,
                timeout=self.timeout,
                evidence=evidence,
                label=f"{self.name} scan",
            )
            if not result.ok or not output.exists():
                raise AdapterError(self.name, "scanning the image", result.tail(5), status=result.exit_code)
            raw = output.read_text(encoding="utf-8", errors="replace")
        evidence.write_text(f"build/{self.name}-report.json", raw)
        try:
            return self.parse(json.loads(raw))
        except (ValueError, json.JSONDecodeError) as exc:
            raise AdapterError(self.name, "reading its JSON report", str(exc)) from None


class TrivyScanner(_ToolScanner):
    name = "trivy"

    def argv(self, *, image_ref: str, archive: Path | None, output: Path) -> list[str]:
        argv = [self.program, "image", "--format", "json", "--output", str(output), "--quiet"]
        argv += ["--scanners", "vuln,secret"]
        argv += ["--input", str(archive)] if archive is not None else [image_ref]
        return argv

    def parse(self, data: Any) -> ScanReport:
        return parse_trivy_report(data)


class GrypeScanner(_ToolScanner):
    name = "grype"

    def argv(self, *, image_ref: str, archive: Path | None, output: Path) -> list[str]:
        source = f"docker-archive:{archive}" if archive is not None else image_ref
        return [self.program, source, "-o", "json", "--file", str(output), "-q"]

    def parse(self, data: Any) -> ScanReport:
        return parse_grype_report(data)
