"""Bad scanner reports, attestation files and Kubernetes manifests: each is one clear error (or
finding) naming the file, and the line where there is one; exit 2; no traceback; fast."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from bmad.adapters.scanners import read_report_file
from bmad.phases.analyze.attestations import load_attestations
from bmad.phases.analyze.manifest_files import read_manifest_file
from tests.core.test_yaml_limits import alias_bomb
from tests.hostile.corpus import TIME_BOUND_SECONDS, Case, assert_refused, cases


def _trivy(vulnerability: object) -> str:
    return json.dumps({"SchemaVersion": 2, "Results": [{"Target": "img", "Vulnerabilities": [vulnerability]}]})


def _grype(match: object) -> str:
    return json.dumps({"matches": [match]})


def _deep_json(depth: int) -> str:
    return '{"Results": ' + "[" * depth + "]" * depth + "}"


REPORTS: dict[str, tuple[str, str]] = {
    "empty file": ("", "not JSON"),
    "not JSON": ("SchemaVersion: 2 # <-\n", "not JSON"),
    "truncated JSON": ('{\n"SchemaVersion": 2,\n"Results": [ # <-\n', "not JSON"),
    "trailing comma": ('{\n"matches": [],\n} # <-\n', "not JSON"),
    "a list": ("[1, 2]", "not a trivy"),
    "a string": ('"trivy"', "not a trivy"),
    "unknown object": ('{"vulns": []}', "not a trivy"),
    "trivy Results an object": ('{"SchemaVersion": 2, "Results": {}}', "$.Results: expected an array"),
    "trivy result a string": ('{"SchemaVersion": 2, "Results": ["x"]}', "expected an object"),
    "trivy Vulnerabilities a number": (
        '{"SchemaVersion": 2, "Results": [{"Target": "x", "Vulnerabilities": 3}]}',
        "Vulnerabilities: expected an array",
    ),
    "trivy Severity a mapping": (_trivy({"VulnerabilityID": "CVE-1", "Severity": {"a": 1}}), "Severity"),
    "trivy Severity a number": (_trivy({"VulnerabilityID": "CVE-1", "Severity": 9}), "Severity"),
    "trivy id a list": (_trivy({"VulnerabilityID": ["CVE-1"], "Severity": "HIGH"}), "VulnerabilityID"),
    "trivy Results a string": ('{"SchemaVersion": 2, "Results": "all fine"}', "$.Results: expected an array"),
    "trivy deeply nested": (_deep_json(100_000), "nests too deeply"),
    "grype matches an object": ('{"matches": {}}', "'matches' list"),
    "grype match a number": ('{"matches": [1]}', "expected an object"),
    "grype vulnerability a list": (_grype({"vulnerability": []}), "vulnerability: expected an object"),
    "grype severity a list": (_grype({"vulnerability": {"id": "CVE-1", "severity": ["High"]}}), "severity"),
    "grype artifact a string": (
        _grype({"vulnerability": {"id": "CVE-1", "severity": "High"}, "artifact": "x"}),
        "artifact: expected an object",
    ),
    "binary": ("\x00\x01\x02", "not JSON"),
}


@pytest.mark.parametrize("case", cases(REPORTS))
def test_bad_scanner_report_is_one_clear_error(case: Case, tmp_path: Path) -> None:
    path = tmp_path / "report.json"
    path.write_text(case.text, encoding="utf-8")
    assert_refused(lambda: read_report_file(path), case, file=str(path))


def test_missing_scanner_report_names_the_file(tmp_path: Path) -> None:
    case = Case("missing", "", "scan report not found")
    assert_refused(lambda: read_report_file(tmp_path / "nope.json"), case, file=str(tmp_path / "nope.json"))


ATTESTATIONS: dict[str, tuple[str, str]] = {
    "a scalar": ("yes\n", "expected a list of attestations"),
    "attestations a mapping": ("attestations: {a: 1}\n", "expected a list of attestations"),
    "entry a string": ("- on-call ready # <-\n", "attestation #1 must be a mapping"),
    "entry a list": ("- item: a\n  who: b\n  when: 2026-01-01\n- [x] # <-\n", "attestation #2 must be a mapping"),
    "unknown key": ("- item: a # <-\n  who: b\n  when: 2026-01-01\n  signed: true\n", "unknown key(s) signed"),
    "no item": ("- who: b # <-\n  when: 2026-01-01\n", "needs 'item'"),
    "no who": ("- item: a # <-\n  when: 2026-01-01\n", "needs 'who'"),
    "no when": ("- item: a # <-\n  who: b\n", "needs 'when'"),
    "when not a date": ("- item: a # <-\n  who: b\n  when: yesterday\n", "'when' must be a date"),
    "expires not a date": ("- item: a # <-\n  who: b\n  when: 2026-01-01\n  expires: soon\n", "'expires' must be"),
    "YAML syntax": ("- item: [a\n", "invalid YAML"),
    "tab indentation": ("- item: a\n\twho: b # <-\n", "YAML"),
    "alias bomb": (alias_bomb(), "alias bomb"),
    "recursive alias": ("- &a [*a]\n", "recursive alias"),
    "deep nesting": ("- " + "[" * 5000 + "]" * 5000 + "\n", "nests deeper than"),
    "binary": ("- item: a\x00\n", "not a text file"),
}


@pytest.mark.parametrize("case", cases(ATTESTATIONS))
def test_bad_attestations_file_is_one_clear_error(case: Case, tmp_path: Path) -> None:
    path = tmp_path / "attestations.yaml"
    path.write_text(case.text, encoding="utf-8")
    assert_refused(lambda: load_attestations(path), case, file=str(path))


def test_oversized_attestations_file_is_refused_unread(tmp_path: Path) -> None:
    path = tmp_path / "attestations.yaml"
    path.write_text("# x\n" * 1_000_000, encoding="utf-8")
    assert_refused(lambda: load_attestations(path), Case("big", "", "the limit is"), file=str(path))


def _indented(text: str) -> str:
    return "".join(f"  {line}\n" for line in text.splitlines())


MANIFESTS: dict[str, tuple[str, str]] = {
    "YAML syntax": ("apiVersion: v1\nkind: [Service\n", "not valid YAML"),
    "tab indentation": ("apiVersion: v1\nkind: Service\nmetadata:\n\tname: x # <-\n", "not valid YAML"),
    "duplicate key": ("apiVersion: v1\nkind: Service\nkind: Pod # <-\n", "duplicate key 'kind'"),
    "a list document": ("- a # <-\n- b\n", "expected a Kubernetes object"),
    "a scalar document": ("hello # <-\n", "expected a Kubernetes object"),
    "no kind": ("apiVersion: v1 # <-\nmetadata: {name: x}\n", "kind"),
    "no apiVersion": ("kind: Service # <-\nmetadata: {name: x}\n", "apiVersion"),
    "alias bomb": (alias_bomb(), "alias bomb"),
    "recursive alias": ("a: &a [*a] # <-\n", "recursive alias"),
    "deep nesting": ("a: " + "[" * 5000 + "]" * 5000 + " # <-\n", "nests deeper than"),
    # Each document is walked only when its own text holds an anchor: a bomb after an anchor-free
    # document, after one with text outside ASCII (indices in characters), anchored on its root.
    "bomb in a later document": (
        "kind: Service\napiVersion: v1\nmetadata: {name: a}\n---\n" + alias_bomb(),
        "alias bomb",
    ),
    "bomb after non-ASCII text": (
        "kind: Service\napiVersion: v1\nmetadata: {name: ÄÖÜ-✓-日本}\n---\n" + alias_bomb(),
        "alias bomb",
    ),
    "recursive alias after non-ASCII text": (
        "kind: Service\napiVersion: v1\nmetadata: {name: a, annotations: {d: " + "日" * 200 + "}}\n---\n&r [*r]\n",
        "recursive alias",
    ),
    "bomb anchored on its root": (
        "kind: Service\napiVersion: v1\nmetadata: {name: a}\n--- &r\n" + _indented(alias_bomb()),
        "alias bomb",
    ),
    "second document broken": ("kind: Service\napiVersion: v1\nmetadata: {name: a}\n---\nkind: [\n", "not valid"),
    "python tag": ("apiVersion: v1 # <-\nkind: !!python/object:os.system {}\n", "missing required field"),
    "binary": ("apiVersion: v1\x00\n", "not a text file"),
    "invalid UTF-8": ("", "not valid UTF-8"),
}


@pytest.mark.parametrize("case", cases(MANIFESTS))
def test_bad_manifest_is_a_finding_with_file_and_line(case: Case, tmp_path: Path) -> None:
    path = tmp_path / "deploy.yaml"
    if case.name == "invalid UTF-8":
        path.write_bytes(b"apiVersion: v1\nkind: \xff\xfe\n")
    else:
        path.write_text(case.text, encoding="utf-8")
    started = time.perf_counter()
    _, findings = read_manifest_file(path, display="deploy.yaml", max_bytes=5_000_000)
    assert time.perf_counter() - started < TIME_BOUND_SECONDS
    assert findings, case.name
    first = findings[0]
    assert first.file == "deploy.yaml" and case.says in first.message, first
    if case.line is not None:
        assert first.line == case.line, first
    elif "bomb" not in case.name:
        assert first.line is not None, first


def test_oversized_manifest_is_a_finding_not_read(tmp_path: Path) -> None:
    path = tmp_path / "big.yaml"
    path.write_text("a: 1\n" * 300_000, encoding="utf-8")
    _, findings = read_manifest_file(path, display="big.yaml", max_bytes=1_000_000)
    assert [f.code for f in findings] == ["too_large"]
