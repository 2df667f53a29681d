"""Human table, JSON, JUnit XML and SARIF 2.1.0 renderings of a readiness report."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from bmad.core.junit import JUnitCase, JUnitReport
from bmad.core.models import PhaseName, PhaseResult, PhaseStatus
from bmad.core.sarif import SarifLog, logical_location
from bmad.phases.analyze.catalog import catalog
from bmad.phases.analyze.formats import render, to_junit, to_sarif
from bmad.phases.analyze.readiness import run_catalog
from tests.phases.analyze.fixtures import build
from tests.phases.analyze.mutations import annotate_for_tests, sc_set, seq


@pytest.fixture(scope="module")
def report() -> dict[str, object]:
    mutation = seq(
        sc_set("privileged", True),
        sc_set("readOnlyRootFilesystem", False),
        annotate_for_tests("SC-017", "writes to /var/cache"),
    )
    return run_catalog(build(mutation, validate=True)).to_dict()


def test_table_groups_by_category_with_fix_for_each_failure(report: dict[str, object]) -> None:
    text = render(report, "table")
    sections = [line for line in text.splitlines() if line and not line.startswith(" ")]
    assert sections[0].startswith("Testing & QA")
    assert any(s.startswith("Security & Compliance") for s in sections)
    lines = text.splitlines()
    index = next(i for i, line in enumerate(lines) if "SC-012" in line)
    assert "[critical]" in lines[index]
    assert "shop/Deployment/web/web (k8s/all.yaml:" in lines[index + 1]
    assert lines[index + 2].strip().startswith("fix: Remove securityContext.privileged")
    assert any("suppressed" in line and "writes to /var/cache" in line for line in lines)
    assert "critical failures: SC-012" in text


def test_json_round_trips(report: dict[str, object]) -> None:
    data = json.loads(render(report, "json", extra={"secrets_configured": True}))
    assert data["schema"] == "bmad.analyze/1"
    assert data["secrets_configured"] is True
    assert len(data["items"]) == len(catalog())


def test_junit_has_a_suite_per_category(report: dict[str, object]) -> None:
    root = ET.fromstring(to_junit(report).to_xml())
    suites = {s.get("name"): s for s in root.findall("testsuite")}
    assert len(suites) == 5
    security = suites["Security & Compliance"]
    case = next(c for c in security.findall("testcase") if c.get("name", "").startswith("SC-012 "))
    failure = case.find("failure")
    assert failure is not None and "privileged" in (failure.get("message") or "")
    assert "fix:" in (failure.text or "")
    assert case.get("file") == "k8s/all.yaml" and int(case.get("line") or 0) > 1
    suppressed = next(c for c in security.findall("testcase") if c.get("name", "").startswith("SC-017 "))
    assert suppressed.find("failure") is None
    assert any(p.get("name") == "suppressed" for p in suppressed.iter("property"))
    assert int(root.get("failures") or 0) >= 1
    assert int(root.get("tests") or 0) == len(catalog())


def test_sarif_is_usable_by_code_scanning(report: dict[str, object]) -> None:
    data = json.loads(to_sarif(report, default_file="bmad.yaml").to_json())
    assert data["version"] == "2.1.0" and data["$schema"].endswith("sarif-2.1.0.json")
    run = data["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    assert [r["id"] for r in rules] == [e.id for e in catalog()]
    assert all(r["shortDescription"]["text"] and r["help"]["text"] for r in rules)
    by_rule = {r["id"]: r for r in rules}
    assert by_rule["SC-012"]["properties"]["security-severity"] == "9.5"
    assert by_rule["SC-012"]["defaultConfiguration"]["level"] == "error"
    results = {r["ruleId"]: r for r in run["results"]}
    privileged = results["SC-012"]
    assert privileged["level"] == "error"
    assert rules[privileged["ruleIndex"]]["id"] == "SC-012"
    location = privileged["locations"][0]
    assert location["physicalLocation"]["artifactLocation"] == {"uri": "k8s/all.yaml", "uriBaseId": "%SRCROOT%"}
    assert location["physicalLocation"]["region"]["startLine"] > 1
    assert location["logicalLocations"][0]["fullyQualifiedName"] == "shop/Deployment/web/web"
    assert results["SC-017"]["suppressions"][0]["kind"] == "external"
    assert "writes to /var/cache" in results["SC-017"]["suppressions"][0]["justification"]
    for result in run["results"]:  # GitHub needs a location with a line on every result
        assert result["locations"][0]["physicalLocation"]["region"]["startLine"] >= 1


def test_sarif_builder_api_and_errors(tmp_path: Path) -> None:
    log = SarifLog()
    run = log.run("scanner", version="1.0")
    run.rule("CVE-2099-1", short="libfoo overflow", level="error", security_severity="9.8")
    run.result(
        "CVE-2099-1",
        message="libfoo 1.0 in layer 3",
        level="error",
        file="/abs/Containerfile",
        line=4,
        logical=[logical_location("image/app@sha256:x", kind="module")],
    )
    run.result("NEW", message="auto-declared rule", level="note")
    data = json.loads(log.to_json())
    first = data["runs"][0]["results"][0]
    assert first["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "file:///abs/Containerfile"
    assert [r["id"] for r in data["runs"][0]["tool"]["driver"]["rules"]] == ["CVE-2099-1", "NEW"]
    with pytest.raises(ValueError, match="SARIF level"):
        run.result("X", message="m", level="fatal")
    written = log.write(tmp_path / "out" / "scan.sarif")
    assert json.loads(written.read_text())["version"] == "2.1.0"


def test_junit_writer_escapes_and_counts(tmp_path: Path) -> None:
    junit = JUnitReport("suite")
    suite = junit.suite("a")
    suite.add(JUnitCase("ok", "c"))
    suite.add(JUnitCase("bad <&>", "c", status="fail", message="boom \x01", body="details"))
    suite.add(JUnitCase("later", "c", status="skip", message="n/a"))
    with pytest.raises(ValueError):
        suite.add(JUnitCase("x", "c", status="weird"))
    root = ET.fromstring(junit.to_xml())
    assert (root.get("tests"), root.get("failures"), root.get("skipped")) == ("3", "1", "1")
    assert junit.write(tmp_path / "j.xml").read_text().startswith("<?xml")


def test_cli_renderer_for_the_generic_analyze_command(report: dict[str, object], tmp_path: Path) -> None:
    from bmad.cli.analyze import render_analyze
    from bmad.core.errors import UsageError

    result = PhaseResult(
        PhaseName.ANALYZE, PhaseStatus.FAILED, metrics={"secrets_configured": True}, artifacts={"readiness": report}
    )
    assert "Security & Compliance" in render_analyze(result, fmt="table")
    note = render_analyze(result, fmt="sarif", output=tmp_path / "analyze.sarif")
    assert "wrote sarif" in note
    assert json.loads((tmp_path / "analyze.sarif").read_text())["version"] == "2.1.0"
    with pytest.raises(UsageError):
        render_analyze(result, fmt="html")
    with pytest.raises(UsageError):
        render_analyze(PhaseResult(PhaseName.ANALYZE, PhaseStatus.FAILED), fmt="json")


def test_bmad_checklist_command() -> None:
    from tests.cli.invoke import invoke

    result = invoke(["checklist", "--json", "--category", "security"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["count"] == sum(1 for e in catalog() if e.category.slug == "security")
    assert all(c["category"] == "Security & Compliance" for c in data["checks"])
    text = invoke(["checklist"])
    assert f"{len(catalog())} checks" in text.output
    assert invoke(["checklist", "--category", "nope"]).exit_code == 2


def test_docs_checks_md_is_current() -> None:
    from bmad.phases.analyze.catalog import render_markdown

    docs = Path(__file__).resolve().parents[3] / "docs" / "checks.md"
    assert docs.read_text(encoding="utf-8") == render_markdown() + "\n", (
        "regenerate: bmad checklist --markdown > docs/checks.md"
    )
