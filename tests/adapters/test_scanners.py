"""trivy and grype reports in the tools' real JSON shapes, new and older versions, into one finding model."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from bmad.adapters.scanners import (
    GrypeScanner,
    ReportFileScanner,
    TrivyScanner,
    detect_format,
    parse_grype_report,
    parse_trivy_report,
    read_report_file,
)
from bmad.core.errors import AdapterError, ConfigError
from bmad.ledger.evidence import EvidenceFolder

DATA = Path(__file__).resolve().parents[1] / "data"


def _load(tool: str, name: str) -> object:
    return json.loads((DATA / tool / name).read_text())


def test_trivy_current_report_vulnerabilities_secrets_and_size() -> None:
    report = parse_trivy_report(_load("trivy", "image-current.json"))
    assert report.tool == "trivy" and report.tool_version == "0.68.1"
    assert report.size_bytes == 48234496
    assert report.os == "debian 12.5"
    by_id = {f.id: f for f in report.findings}
    assert set(by_id) == {"CVE-2099-0001", "CVE-2099-0002", "CVE-2099-0003"}
    high = by_id["CVE-2099-0001"]
    assert (high.package, high.installed, high.fixed, high.severity) == ("libfoo1", "1.0-1", "1.0-2", "HIGH")
    assert high.layer == "sha256:7d7f4c4b0b1d6b9ac3c1c3f2a0a7e2d2c2b1f4a1e5c6d7b8a9f0e1d2c3b4a5f6"
    assert by_id["CVE-2099-0002"].fixed is None and not by_id["CVE-2099-0002"].fixable
    assert by_id["CVE-2099-0002"].severity == "CRITICAL"
    (secret,) = report.secrets
    assert secret.rule == "aws-access-key-id" and secret.target == "/app/.env" and secret.line == 3
    assert secret.created_by == "COPY . /app # buildkit"


def test_trivy_older_report_without_size_status_or_version() -> None:
    report = parse_trivy_report(_load("trivy", "image-older.json"))
    assert report.tool_version is None
    assert report.size_bytes is None  # no Metadata.Size and no Layers before 2025 releases
    assert report.eosl is True
    assert [f.severity for f in report.findings] == ["MEDIUM", "CRITICAL"]
    assert report.findings[1].package == "musl" and report.findings[1].fixed == "1.1.22-r3"
    assert report.secrets == ()


def test_trivy_size_falls_back_to_layer_sizes() -> None:
    data = _load("trivy", "image-current.json")
    assert isinstance(data, dict)
    del data["Metadata"]["Size"]
    assert parse_trivy_report(data).size_bytes == 30000000 + 18234496


def test_trivy_clean_image_has_results_without_vulnerabilities() -> None:
    data = {"SchemaVersion": 2, "ArtifactName": "x", "Results": [{"Target": "x (debian 12)", "Class": "os-pkgs"}]}
    assert parse_trivy_report(data).findings == ()


def test_trivy_other_schema_version_is_refused() -> None:
    with pytest.raises(ValueError, match="SchemaVersion 1"):
        parse_trivy_report({"SchemaVersion": 1, "Results": []})


def test_grype_current_report() -> None:
    report = parse_grype_report(_load("grype", "image-current.json"))
    assert report.tool == "grype" and report.tool_version == "0.84.0"
    assert report.size_bytes == 48234496 and report.os == "debian 12"
    zlib, negligible, wont_fix = report.findings
    assert (zlib.id, zlib.package, zlib.severity, zlib.fixed) == (
        "CVE-2099-0101",
        "zlib1g",
        "HIGH",
        "1:1.2.13.dfsg-1+deb12u1",
    )
    assert zlib.layer == "sha256:7d7f4c4b0b1d6b9ac3c1c3f2a0a7e2d2c2b1f4a1e5c6d7b8a9f0e1d2c3b4a5f6"
    assert negligible.severity == "NEGLIGIBLE" and negligible.fixed is None
    assert wont_fix.severity == "CRITICAL" and wont_fix.fixed is None


def test_grype_older_report_with_fixed_in_version() -> None:
    report = parse_grype_report(_load("grype", "image-older.json"))
    (finding,) = report.findings
    assert finding.fixed == "1.1.1g-r0" and finding.severity == "HIGH"
    assert report.size_bytes is None and report.tool_version == "0.7.0"


def test_detect_format() -> None:
    assert detect_format(_load("trivy", "image-older.json")) == "trivy"
    assert detect_format(_load("grype", "image-older.json")) == "grype"
    assert detect_format({"something": []}) is None


def test_report_file_errors_name_the_file_and_line(tmp_path: Path) -> None:
    missing = tmp_path / "nope.json"
    with pytest.raises(ConfigError, match="scan report not found"):
        read_report_file(missing)
    broken = tmp_path / "broken.json"
    broken.write_text('{\n  "SchemaVersion": 2,\n  "Results": [\n')
    with pytest.raises(ConfigError) as info:
        read_report_file(broken)
    assert info.value.file == str(broken) and info.value.line is not None
    other = tmp_path / "other.json"
    other.write_text('{"bomFormat": "CycloneDX"}')
    with pytest.raises(ConfigError, match="not a trivy"):
        read_report_file(other)


def test_report_file_scanner_reads_either_format(tmp_path: Path) -> None:
    evidence = EvidenceFolder(tmp_path / "evidence")
    scanner = ReportFileScanner(DATA / "grype" / "image-current.json")
    report = scanner.scan(image_ref="x", archive=None, evidence=evidence)
    assert report.tool == "grype" and report.source_file.endswith("image-current.json")  # type: ignore[union-attr]


def _stand_in(tmp_path: Path, name: str, report: Path) -> Path:
    """A stand-in scanner program: records its argv and writes a report in the real format."""
    folder = tmp_path / "bin"
    folder.mkdir(exist_ok=True)
    program = folder / name
    program.write_text(
        "#!/usr/bin/env python3\n"
        "import json, sys, shutil\n"
        f"open({str(tmp_path / 'argv.json')!r}, 'w').write(json.dumps(sys.argv[1:]))\n"
        "args = sys.argv[1:]\n"
        "out = args[args.index('--output') + 1] if '--output' in args else args[args.index('--file') + 1]\n"
        f"shutil.copy({str(report)!r}, out)\n"
    )
    program.chmod(program.stat().st_mode | stat.S_IXUSR)
    return program


def test_trivy_runs_on_the_exported_archive(tmp_path: Path) -> None:
    program = _stand_in(tmp_path, "trivy", DATA / "trivy" / "image-current.json")
    archive = tmp_path / "image.tar"
    archive.write_bytes(b"")
    evidence = EvidenceFolder(tmp_path / "evidence")
    scanner = TrivyScanner(program=str(program))
    assert scanner.available()
    report = scanner.scan(image_ref="reg/app:1", archive=archive, evidence=evidence)
    argv = json.loads((tmp_path / "argv.json").read_text())
    assert argv[:3] == ["image", "--format", "json"] and argv[-2:] == ["--input", str(archive)]
    assert len(report.findings) == 3
    assert (evidence.root / "build" / "trivy-report.json").is_file()


def test_grype_runs_on_a_docker_archive(tmp_path: Path) -> None:
    program = _stand_in(tmp_path, "grype", DATA / "grype" / "image-current.json")
    archive = tmp_path / "image.tar"
    archive.write_bytes(b"")
    report = GrypeScanner(program=str(program)).scan(
        image_ref="reg/app:1", archive=archive, evidence=EvidenceFolder(tmp_path / "evidence")
    )
    argv = json.loads((tmp_path / "argv.json").read_text())
    assert argv[0] == f"docker-archive:{archive}" and "json" in argv
    assert report.tool == "grype"


def test_scanner_failure_is_an_adapter_error(tmp_path: Path) -> None:
    program = tmp_path / "trivy"
    program.write_text("#!/bin/sh\necho 'FATAL image scan error: unable to open archive' >&2\nexit 1\n")
    program.chmod(0o755)
    scanner = TrivyScanner(program=str(program))
    with pytest.raises(AdapterError, match="unable to open archive"):
        scanner.scan(image_ref="x", archive=None, evidence=EvidenceFolder(tmp_path / "evidence"))
    assert not TrivyScanner(program=os.path.join(str(tmp_path), "absent")).available()


# --- wrong shapes are clear errors naming the JSON path (hardening) ---------------------------


def _write(tmp_path: Path, data: object) -> Path:
    path = tmp_path / "report.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def test_trivy_severity_of_the_wrong_type_is_an_error_with_its_path(tmp_path: Path) -> None:
    report = {
        "SchemaVersion": 2,
        "Results": [{"Target": "app", "Vulnerabilities": [{"VulnerabilityID": "CVE-1", "Severity": {"x": 1}}]}],
    }
    with pytest.raises(ConfigError) as caught:
        read_report_file(_write(tmp_path, report))
    assert "$.Results[0].Vulnerabilities[0].Severity: expected a severity string, found an object" in str(caught.value)
    assert caught.value.file == str(tmp_path / "report.json")


def test_grype_matches_of_the_wrong_type_is_an_error_with_its_path(tmp_path: Path) -> None:
    report = {"matches": [{"vulnerability": {"id": "CVE-2", "severity": "High", "urls": "not-a-list"}}]}
    with pytest.raises(ConfigError, match=r"\$\.matches\[0\]\.vulnerability\.urls: expected an array, found a string"):
        read_report_file(_write(tmp_path, report))


def test_deeply_nested_report_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "deep.json"
    path.write_text('{"Results": ' + "[" * 100_000 + "]" * 100_000 + "}", encoding="utf-8")
    with pytest.raises(ConfigError, match="nests too deeply"):
        read_report_file(path)


@pytest.mark.timeout(60)
def test_a_report_path_that_is_a_fifo_or_a_device_is_refused_at_once(tmp_path: Path) -> None:
    """Before, a FIFO nobody writes to waited forever on its open; a link to /dev/zero (size 0, under
    the limit) was read without end."""
    fifo = tmp_path / "trivy.json"
    os.mkfifo(fifo)
    with pytest.raises(ConfigError, match="scan report is not JSON"):  # read as empty
        read_report_file(fifo)
    zero = tmp_path / "grype.json"
    zero.symlink_to("/dev/zero")
    with pytest.raises(ConfigError, match="scan report cannot be read: it is a device or socket, not a file"):
        read_report_file(zero)
