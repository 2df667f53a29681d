"""Pure BUILD logic: the vulnerability gate, JUnit counts, Containerfile stages, the config section."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from bmad.config.build import BuildConfig, VulnerabilityIgnore
from bmad.config.validate import ValidationError, validate
from bmad.phases.build.containerfile import detect_containerfile, parse_containerfile
from bmad.phases.build.gates import evaluate_vulnerabilities, vulnerabilities_sarif
from bmad.phases.build.junit import parse_junit_text
from bmad.ports.scanner import Vulnerability

TODAY = date(2026, 6, 1)


def _v(id_: str, severity: str, *, fixed: str | None = "2", package: str = "pkg") -> Vulnerability:
    return Vulnerability(id=id_, package=package, installed="1", fixed=fixed, severity=severity)


def _ignore(id_: str, expires: date, package: str | None = None) -> VulnerabilityIgnore:
    return VulnerabilityIgnore(id=id_, reason="accepted risk", expires=expires, package=package)


def test_default_gate_blocks_high_and_critical_only() -> None:
    verdict = evaluate_vulnerabilities(
        [_v("A", "LOW"), _v("B", "MEDIUM"), _v("C", "HIGH"), _v("D", "CRITICAL")],
        fail_on="HIGH",
        only_fixed=False,
        ignore=[],
        today=TODAY,
    )
    assert [f.id for f in verdict.blocking] == ["C", "D"]
    assert verdict.counts == {"LOW": 1, "MEDIUM": 1, "HIGH": 1, "CRITICAL": 1}
    assert not verdict.passed


def test_only_fixed_ignores_findings_without_a_fix() -> None:
    verdict = evaluate_vulnerabilities(
        [_v("C", "HIGH", fixed=None), _v("D", "CRITICAL")], fail_on="HIGH", only_fixed=True, ignore=[], today=TODAY
    )
    assert [f.id for f in verdict.blocking] == ["D"] and verdict.unfixed_skipped == 1


def test_ignore_valid_expired_package_scoped_and_unused() -> None:
    findings = [_v("C", "HIGH", package="libc"), _v("D", "CRITICAL"), _v("E", "HIGH", package="zlib")]
    ignore = [
        _ignore("C", date(2026, 6, 1)),  # the expiry day itself still counts
        _ignore("D", date(2026, 5, 31)),
        _ignore("E", date(2027, 1, 1), package="openssl"),  # other package: does not apply
        _ignore("Z", date(2027, 1, 1)),
    ]
    verdict = evaluate_vulnerabilities(findings, fail_on="HIGH", only_fixed=False, ignore=ignore, today=TODAY)
    assert [f.id for f, _ in verdict.ignored] == ["C"]
    assert [f.id for f, _ in verdict.expired] == ["D"]
    assert [f.id for f in verdict.blocking] == ["E"]
    assert {e.id for e in verdict.unused_ignores} == {"E", "Z"}
    assert verdict.counts == {"CRITICAL": 1, "HIGH": 1}


def test_duplicates_across_targets_count_once_and_fail_on_critical() -> None:
    verdict = evaluate_vulnerabilities(
        [_v("C", "HIGH"), _v("C", "HIGH"), _v("D", "CRITICAL")],
        fail_on="CRITICAL",
        only_fixed=False,
        ignore=[],
        today=TODAY,
    )
    assert verdict.counts == {"HIGH": 1, "CRITICAL": 1} and [f.id for f in verdict.blocking] == ["D"]


def test_sarif_marks_ignored_findings_as_suppressed() -> None:
    verdict = evaluate_vulnerabilities(
        [_v("C", "HIGH"), _v("D", "CRITICAL")],
        fail_on="HIGH",
        only_fixed=False,
        ignore=[_ignore("C", date(2027, 1, 1))],
        today=TODAY,
    )
    sarif = vulnerabilities_sarif(verdict, tool="trivy", image="reg/app:1", containerfile="Containerfile").to_dict()
    results = {r["ruleId"]: r for r in sarif["runs"][0]["results"]}
    assert sarif["version"] == "2.1.0"
    assert results["C"]["suppressions"][0]["kind"] == "external" and "suppressions" not in results["D"]
    assert results["D"]["level"] == "error"


def test_junit_counts_and_failing_names() -> None:
    text = """<?xml version="1.0"?>
    <testsuites time="1.5">
      <testsuite name="a" tests="99">
        <testcase classname="t.a" name="ok"/>
        <testcase classname="t.a" name="bad"><failure message="boom"/></testcase>
        <testcase classname="t.a" name="err"><error message="E"/></testcase>
        <testcase classname="t.a" name="later"><skipped/></testcase>
      </testsuite>
      <testsuite name="b"><testcase name="plain"/></testsuite>
    </testsuites>"""
    summary = parse_junit_text(text)
    assert (summary.total, summary.passed, summary.failed, summary.errors, summary.skipped) == (5, 2, 1, 1, 1)
    assert summary.failing == ["t.a::bad", "t.a::err"] and summary.seconds == 1.5
    single = parse_junit_text('<testsuite time="0.2"><testcase name="x"/></testsuite>')
    assert single.total == 1 and single.seconds == 0.2
    with pytest.raises(ValueError, match="not a JUnit report"):
        parse_junit_text("<html/>")
    with pytest.raises(ValueError, match="not valid JUnit XML"):
        parse_junit_text("<testsuite>")


def test_containerfile_stages_and_final_base(tmp_path: Path) -> None:
    path = tmp_path / "Containerfile"
    path.write_text(
        "# syntax=docker/dockerfile:1\n"
        "ARG BASE=docker.io/library/python:3.11-slim\n"
        "FROM --platform=linux/amd64 ${BASE} AS builder\n"
        "RUN pip install \\\n    --prefix /install app\n"
        "FROM builder as runtime\n"
        "COPY --from=builder /install /usr/local\n"
    )
    info = parse_containerfile(path, {"BASE": "localhost/base:1"})
    assert info.multi_stage and [s.name for s in info.stages] == ["builder", "runtime"]
    assert info.final_base() == "localhost/base:1"
    assert parse_containerfile(path).final_base() == "docker.io/library/python:3.11-slim"
    path.write_text("FROM scratch\nCOPY x /x\n")
    assert parse_containerfile(path).final_base() is None and not parse_containerfile(path).multi_stage


def test_containerfile_detection(tmp_path: Path) -> None:
    assert detect_containerfile(tmp_path, None, base=tmp_path) is None
    (tmp_path / "Dockerfile").write_text("FROM scratch\n")
    assert detect_containerfile(tmp_path, None, base=tmp_path) == tmp_path / "Dockerfile"
    (tmp_path / "Containerfile").write_text("FROM scratch\n")
    assert detect_containerfile(tmp_path, None, base=tmp_path) == tmp_path / "Containerfile"
    assert (
        detect_containerfile(tmp_path, "docker/Prod.Dockerfile", base=tmp_path) == tmp_path / "docker/Prod.Dockerfile"
    )


def test_build_config_budgets_and_validation() -> None:
    assert BuildConfig().effective_size_budget_mb == 500
    assert BuildConfig(image_kind="ml").effective_size_budget_mb == 2000
    assert BuildConfig(image_kind="ml", size_budget_mb=3000).effective_size_budget_mb == 3000
    with pytest.raises(ValidationError, match="unique"):
        validate(BuildConfig, {"suites": [{"name": "a", "command": ["true"]}, {"name": "a", "command": ["x"]}]})
    with pytest.raises(ValidationError, match="expires"):
        validate(BuildConfig, {"vulnerabilities": {"ignore": [{"id": "CVE-1", "reason": "because"}]}})
    with pytest.raises(ValidationError, match="secret values are never written"):
        validate(BuildConfig, {"push": {"password": "hunter2"}})
