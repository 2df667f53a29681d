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
from bmad.core.files import read_bounded
from bmad.ports.evidence import EvidenceSink
from bmad.ports.scanner import ReportedSecret, ScanReport, Vulnerability, normalise_severity

MAX_REPORT_BYTES = 200 * 1024 * 1024


class ReportShapeError(ValueError):
    """A field bmad reads has the wrong type; ``path`` is its JSON path (``$.Results[0].Severity``)."""

    def __init__(self, path: str, expected: str, value: Any) -> None:
        super().__init__(f"{path}: expected {expected}, found {_json_type(value)}")
        self.path = path


def _json_type(value: Any) -> str:
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    return "null"


class _Node:
    """A JSON value with its path: missing or null fields read as empty (older tool versions omit
    them), but a field of the wrong type is a :class:`ReportShapeError` naming its path."""

    __slots__ = ("path", "value")

    def __init__(self, value: Any, path: str = "$") -> None:
        self.value = value
        self.path = path

    def obj(self, key: str) -> _Node:
        value = self._get(key)
        if value is not None and not isinstance(value, dict):
            raise ReportShapeError(f"{self.path}.{key}", "an object", value)
        return _Node(value or {}, f"{self.path}.{key}")

    def items(self, key: str) -> list[_Node]:
        value = self._get(key)
        if value is not None and not isinstance(value, list):
            raise ReportShapeError(f"{self.path}.{key}", "an array", value)
        return [_Node(item, f"{self.path}.{key}[{i}]") for i, item in enumerate(value or [])]

    def as_obj(self) -> _Node:
        if not isinstance(self.value, dict):
            raise ReportShapeError(self.path, "an object", self.value)
        return self

    def text(self, key: str) -> str:
        value = self._get(key)
        if value is None:
            return ""
        if isinstance(value, str):
            return value
        if isinstance(value, int | float) and not isinstance(value, bool):
            return str(value)
        raise ReportShapeError(f"{self.path}.{key}", "a string", value)

    def integer(self, key: str) -> int | None:
        value = self._get(key)
        if value is None:
            return None
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise ReportShapeError(f"{self.path}.{key}", "an integer", value)

    def flag(self, key: str) -> bool | None:
        value = self._get(key)
        if value is None or isinstance(value, bool):
            return value
        raise ReportShapeError(f"{self.path}.{key}", "a boolean", value)

    def severity(self, key: str) -> str:
        value = self._get(key)
        if value is not None and not isinstance(value, str):
            raise ReportShapeError(f"{self.path}.{key}", "a severity string", value)
        return normalise_severity(value)

    def _get(self, key: str) -> Any:
        return self.as_obj().value.get(key)


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
    root = _Node(data)
    schema = root.integer("SchemaVersion")
    if schema is not None and schema != 2:
        raise ValueError(f"trivy report SchemaVersion {schema} is not supported (expected 2)")
    metadata = root.obj("Metadata")
    os_info = metadata.obj("OS")
    findings: list[Vulnerability] = []
    secrets: list[ReportedSecret] = []
    for result in root.items("Results"):
        target = result.text("Target")
        findings += [_trivy_vulnerability(vuln, target) for vuln in result.items("Vulnerabilities")]
        secrets += [_trivy_secret(secret, target) for secret in result.items("Secrets")]
    return ScanReport(
        tool="trivy",
        tool_version=root.obj("Trivy").text("Version") or None,
        artifact=root.text("ArtifactName") or None,
        image_id=metadata.text("ImageID") or None,
        size_bytes=_trivy_size(metadata),
        os=" ".join(p for p in (os_info.text("Family"), os_info.text("Name")) if p) or None,
        eosl=os_info.flag("EOSL"),
        findings=tuple(findings),
        secrets=tuple(secrets),
        artifact_type=root.text("ArtifactType") or None,
    )


def _trivy_size(metadata: _Node) -> int | None:
    size = metadata.integer("Size")
    if size is None:
        layer_sizes = [layer.as_obj().integer("Size") for layer in metadata.items("Layers")]
        if layer_sizes and all(s is not None for s in layer_sizes):
            size = sum(s for s in layer_sizes if s is not None)
    return size


def _trivy_layer(item: _Node) -> str | None:
    layer = item.obj("Layer")
    return layer.text("DiffID") or layer.text("Digest") or None


def _trivy_vulnerability(vuln: _Node, target: str) -> Vulnerability:
    vuln = vuln.as_obj()
    return Vulnerability(
        id=vuln.text("VulnerabilityID") or "UNKNOWN-ID",
        package=vuln.text("PkgName") or vuln.text("PkgID").split("@")[0],
        installed=vuln.text("InstalledVersion"),
        fixed=vuln.text("FixedVersion") or None,
        severity=vuln.severity("Severity"),
        layer=_trivy_layer(vuln),
        title=vuln.text("Title"),
        url=vuln.text("PrimaryURL") or None,
        target=target,
    )


def _trivy_secret(secret: _Node, target: str) -> ReportedSecret:
    secret = secret.as_obj()
    return ReportedSecret(
        rule=secret.text("RuleID"),
        title=secret.text("Title"),
        severity=secret.severity("Severity"),
        target=target,
        line=secret.integer("StartLine"),
        layer=_trivy_layer(secret),
        created_by=secret.obj("Layer").text("CreatedBy") or None,
    )


def parse_grype_report(data: Any) -> ScanReport:
    """Read ``grype -o json`` output (``matches[]``, ``source``, ``distro``, ``descriptor``)."""
    if not isinstance(data, dict) or not isinstance(data.get("matches", []), list):
        raise ValueError("a grype report is a JSON object with a 'matches' list")
    root = _Node(data)
    findings = [_grype_finding(match.as_obj()) for match in root.items("matches")]
    target = root.obj("source").obj("target")
    distro = root.obj("distro")
    return ScanReport(
        tool="grype",
        tool_version=root.obj("descriptor").text("version") or None,
        artifact=target.text("userInput") or None,
        image_id=target.text("imageID") or None,
        size_bytes=target.integer("imageSize"),
        os=" ".join(p for p in (distro.text("name"), distro.text("version")) if p) or None,
        findings=tuple(findings),
        artifact_type=root.obj("source").text("type") or None,
    )


def _grype_fixed(vuln: _Node) -> str | None:
    fix = vuln.obj("fix")
    versions = [v.value for v in fix.items("versions") if isinstance(v.value, str) and v.value]
    state = fix.text("state") if "state" in fix.value else "fixed"
    fixed = ", ".join(versions) if versions and state in ("fixed", "") else None
    if fixed is None and not fix.value and vuln.text("fixedInVersion"):  # grype before fix{} existed
        fixed = vuln.text("fixedInVersion")
    return fixed


def _grype_finding(match: _Node) -> Vulnerability:
    vuln = match.obj("vulnerability")
    artifact = match.obj("artifact")
    layer = next(
        (loc.as_obj().text("layerID") for loc in artifact.items("locations") if loc.as_obj().text("layerID")), None
    )
    urls = [u.value for u in vuln.items("urls") if isinstance(u.value, str) and u.value]
    return Vulnerability(
        id=vuln.text("id") or "UNKNOWN-ID",
        package=artifact.text("name"),
        installed=artifact.text("version"),
        fixed=_grype_fixed(vuln),
        severity=vuln.severity("severity"),
        layer=layer,
        title=vuln.text("description")[:200],
        url=vuln.text("dataSource") or (urls[0] if urls else None),
        target=artifact.text("type"),
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
        data = json.loads(read_bounded(path, MAX_REPORT_BYTES).decode("utf-8"))  # a FIFO or a device: refused
    except RecursionError:
        raise ConfigError("scan report nests too deeply to be a trivy or grype report", file=str(path)) from None
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
        except (ValueError, RecursionError) as exc:
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
