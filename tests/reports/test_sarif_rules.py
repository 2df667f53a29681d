"""SARIF written by bmad: GitHub's security-severity only on security rules; informationUri names the docs."""

from __future__ import annotations

from typing import Any

import pytest

from bmad.core.sarif import DOCS_URI, SarifLog, docs_uri
from bmad.phases.analyze.formats import to_sarif


def _item(item_id: str, category: str, severity: str) -> dict[str, Any]:
    return {
        "id": item_id,
        "title": f"item {item_id}",
        "category": category,
        "severity": severity,
        "status": "fail",
        "fix": "fix it",
        "findings": [{"message": "found", "file": "k8s/app.yaml", "line": 3}],
    }


def test_security_severity_only_on_security_rules() -> None:
    """Guards against a YAML parse error (a reliability item) shown as a 9.5 security alert."""
    report = {
        "items": [
            _item("IS-001", "Infrastructure & Scaling", "critical"),
            _item("SC-012", "Security & Compliance", "critical"),
        ]
    }
    rules = {r["id"]: r for r in to_sarif(report).to_dict()["runs"][0]["tool"]["driver"]["rules"]}
    assert "security-severity" not in rules["IS-001"]["properties"]
    assert rules["SC-012"]["properties"]["security-severity"] == "9.5"


def test_security_severity_needs_the_security_tag() -> None:
    log = SarifLog()
    run = log.run("t")
    run.rule("A", short="a", tags=["reliability"], security_severity="9.5")
    run.rule("B", short="b", tags=["Security", "secret"], security_severity="9.0")
    rules = {r["id"]: r for r in log.to_dict()["runs"][0]["tool"]["driver"]["rules"]}
    assert "security-severity" not in rules["A"]["properties"]
    assert rules["B"]["properties"]["security-severity"] == "9.0"


def test_information_uri_names_the_docs() -> None:
    """Guards against a run without informationUri, or one pointing at no documentation."""
    log = SarifLog()
    log.run("bmad-build-layer-secrets")
    driver = log.to_dict()["runs"][0]["tool"]["driver"]
    assert driver["informationUri"].startswith(docs_uri()) and "/docs" in driver["informationUri"]
    assert docs_uri("checks.md").endswith("/docs/checks.md")
    assert DOCS_URI.endswith("/docs")


def test_every_sarif_writer_points_at_a_page_of_the_project_docs() -> None:
    """Guards: BUILD's gate passed its own informationUri ("https://github.com/bmad", no docs) and
    ANALYZE another hard-coded one; both now name a page of :func:`docs_uri`, the one place the URI lives."""
    from bmad.phases.build.gates import VulnerabilityVerdict, secrets_sarif, vulnerabilities_sarif

    def uri(log: SarifLog) -> str:
        return str(log.to_dict()["runs"][0]["tool"]["driver"]["informationUri"])

    verdict = VulnerabilityVerdict()
    assert uri(vulnerabilities_sarif(verdict, tool="trivy", image="reg/app:1", containerfile=None)) == docs_uri(
        "build.md"
    )
    assert uri(secrets_sarif([], set(), image="reg/app:1", containerfile=None)) == docs_uri("build.md")
    assert uri(to_sarif({"items": [_item("A", "Security & Compliance", "high")]})) == docs_uri("checks.md")
    with pytest.raises(TypeError):  # a writer cannot name a URI of its own any more
        SarifLog().run("t", information_uri="https://example.invalid")  # type: ignore[call-arg]
