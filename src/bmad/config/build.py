"""The ``build:`` section of bmad.yaml (owned by the BUILD phase).

Example::

    build:
      context: .
      containerfile: Containerfile        # detected (Containerfile, then Dockerfile) when not given
      build_args: {BASE: localhost/bmad-base:3.11}
      registry: 127.0.0.1:5000
      suites:
        - name: integration
          command: [python, -m, pytest, tests, --junitxml=reports/integration.xml]
          junit: reports/integration.xml
          environment: {compose: tests/compose.test.yml}
      vulnerabilities:
        report: reports/trivy.json
        ignore:
          - {id: CVE-2024-0001, reason: not reachable from our code, expires: 2026-12-31}
"""

from __future__ import annotations

import string
from datetime import date
from typing import Literal

from pydantic import Field, field_validator, model_validator

from bmad.config.base import Model, SecretRef

Severity = Literal["UNKNOWN", "LOW", "MEDIUM", "HIGH", "CRITICAL"]

APP_SIZE_BUDGET_MB = 500.0
ML_SIZE_BUDGET_MB = 2000.0


class HealthWait(Model):
    """Wait until a URL answers 2xx/3xx or a TCP port accepts connections."""

    url: str | None = Field(default=None, description="a URL that must answer 2xx/3xx")
    tcp: str | None = Field(default=None, description='a host:port that must accept connections, e.g. "127.0.0.1:5432"')
    timeout_seconds: float = Field(default=60.0, description="how long to wait")

    @model_validator(mode="after")
    def _one_target(self) -> HealthWait:
        if (self.url is None) == (self.tcp is None):
            raise ValueError("give exactly one of 'url' or 'tcp'")
        return self


class SuiteEnvironment(Model):
    """What a suite needs running: a compose file on the same engine, or commands plus health waits."""

    compose: str | None = Field(default=None, description="a compose file, relative to the repository")
    profiles: list[str] = Field(
        default=[], description="compose profiles to enable (services without a profile always run)"
    )
    up: list[list[str]] = Field(default=[], description="argv lists run before the suite")
    down: list[list[str]] = Field(default=[], description="argv lists run after the suite, always")
    waits: list[HealthWait] = Field(default=[], description="what must answer before the suite starts")
    ready_timeout_seconds: float = Field(default=120.0, description="how long the environment may take to come up")

    @model_validator(mode="after")
    def _something(self) -> SuiteEnvironment:
        if self.compose is None and not self.up and not self.waits:
            raise ValueError("give 'compose' or 'up' commands (with optional 'waits')")
        return self


class TestSuite(Model):
    """One test suite: a command (argv list), a timeout, an optional JUnit XML report."""

    __test__ = False  # not a pytest class

    name: str = Field(description="the suite's name (letters, digits, '-' and '_')")
    command: list[str] = Field(min_length=1, description="the command, as an argv list")
    cwd: str = Field(default=".", description="working folder, relative to the repository")
    timeout_seconds: float = Field(default=600.0, description="the suite fails past this")
    junit: str | None = Field(default=None, description="path of the JUnit XML the command writes, relative to cwd")
    env: dict[str, str] = Field(default={}, description="extra environment variables")
    environment: SuiteEnvironment | None = Field(
        default=None, description="what the suite needs running (compose file or commands)"
    )
    required: bool = Field(default=True, description="a failing optional suite only warns")

    @field_validator("name")
    @classmethod
    def _simple_name(cls, value: str) -> str:
        if not value.replace("-", "").replace("_", "").isalnum():
            raise ValueError("suite names use letters, digits, '-' and '_'")
        return value


class VulnerabilityIgnore(Model):
    """A finding accepted for a while: the reason is mandatory, and so is the expiry date."""

    id: str = Field(description="the finding's id (CVE or advisory)")
    reason: str = Field(min_length=3, description="why it is accepted (required)")
    expires: date = Field(description="the date the entry stops applying (required)")
    package: str | None = Field(default=None, description="restrict the entry to one package")


class VulnerabilityConfig(Model):
    enabled: bool = Field(default=True, description="scan the image for known vulnerabilities")
    scanner: Literal["auto", "trivy", "grype", "report"] = Field(
        default="auto", description="trivy, grype, a report file, or auto (the first installed)"
    )
    report: str | None = Field(default=None, description="a trivy or grype JSON report, relative to the repository")
    fail_on: Severity = Field(default="HIGH", description="the lowest severity that fails the check")
    only_fixed: bool = Field(default=False, description="count only findings that have a fixed version")
    ignore: list[VulnerabilityIgnore] = Field(
        default=[], description="findings accepted for a while, each with a reason and an expiry date"
    )
    missing_scanner: Literal["warn", "fail"] = Field(default="warn", description="what no scanner means: warn or fail")
    timeout_seconds: float = Field(default=900.0, description="the scan fails past this")


class SecretAllow(Model):
    fingerprint: str = Field(min_length=8, description="the finding's fingerprint, as the check reports it")
    reason: str = Field(min_length=3, description="why it is not a secret (required)")


class LayerSecretsConfig(Model):
    enabled: bool = Field(default=True, description="scan the image's layers for secrets")
    layers: Literal["own", "all"] = Field(
        default="own", description='"own": skip the layers of the base image; "all": scan every layer'
    )
    max_file_bytes: int = Field(default=2_000_000, description="larger files are not scanned")
    allow: list[SecretAllow] = Field(default=[], description="findings that are not secrets")


class PushConfig(Model):
    enabled: bool = Field(default=True, description="push the image to the registry")
    retries: int = Field(default=4, ge=0, le=10, description="retries after a failed push")
    backoff_seconds: float = Field(default=0.5, ge=0, description="first pause between retries (doubled each time)")
    username: SecretRef | None = Field(
        default=None, description="default: REGISTRY_USERNAME / REGISTRY_PASSWORD, then ~/.docker/config.json"
    )
    password: SecretRef | None = Field(default=None, description="the registry password (with username)")
    tls_verify: bool | None = Field(default=None, description="default: off for loopback registries, on otherwise")
    timeout_seconds: float = Field(default=600.0, description="the push fails past this")


class SbomConfig(Model):
    enabled: bool = Field(default=True, description="write a CycloneDX JSON SBOM of the pushed image (syft)")
    missing_tool: Literal["warn", "fail"] = Field(default="warn", description="what syft not installed means")
    timeout_seconds: float = Field(default=600.0, description="the SBOM fails past this")


class GitTagConfig(Model):
    enabled: bool = Field(default=True, description="tag the released commit")
    name: str = Field(
        default="bmad/{environment}/{short_sha}",
        description="the tag's template: {environment} {short_sha} {sha} {service}",
    )
    push: bool = Field(default=True, description="push the tag when the remote exists")
    remote: str = Field(default="origin", description="the remote the tag is pushed to")

    @field_validator("name")
    @classmethod
    def _known_placeholders(cls, value: str) -> str:
        return checked_template(value)


TEMPLATE_FIELDS = frozenset({"environment", "short_sha", "sha", "service"})


def checked_template(template: str) -> str:
    """``template`` when it names only {environment} {short_sha} {sha} {service}; else a ValueError."""
    try:
        names = {field for _, field, _, _ in string.Formatter().parse(template) if field is not None}
    except ValueError as exc:
        raise ValueError(f"not a valid template: {exc}") from None
    unknown = sorted(names - TEMPLATE_FIELDS)
    if unknown:
        raise ValueError(f"unknown placeholder {{{unknown[0]}}}: use {{environment}} {{short_sha}} {{sha}} {{service}}")
    return template


class BuildConfig(Model):
    containerfile: str | None = Field(
        default=None, description="detected (Containerfile, then Dockerfile) when not given"
    )
    context: str = Field(default=".", description="the build context, relative to the repository")
    registry: str = Field(default="127.0.0.1:5000", description="the registry images are pushed to")
    image: str | None = Field(default=None, description="repository name inside the registry; default: service name")
    tags: list[str] = Field(
        default=["{short_sha}", "latest"], description="templates: {sha} {short_sha} {environment} {service}"
    )
    build_args: dict[str, str] = Field(default={}, description="build arguments")

    target: str | None = Field(default=None, description="the build stage to stop at")
    labels: dict[str, str] = Field(default={}, description="extra image labels")
    source_url: str | None = Field(
        default=None, description="org.opencontainers.image.source; default: the git remote URL"
    )
    build_timeout_seconds: float = Field(default=1800.0, description="the build fails past this")
    image_kind: Literal["app", "ml"] = Field(default="app", description="app or ml: chooses the default size budget")
    size_budget_mb: float | None = Field(default=None, description="default 500 (app) or 2000 (ml)")
    test_time_target_seconds: float = Field(
        default=300.0, description="the test suites together should finish within this"
    )
    suites: list[TestSuite] = Field(default=[], description="test suites run against the build")
    parallel_suites: bool = Field(
        default=False,
        description=(
            "run the suites at once instead of one after another (they may share ports); always beside the build"
        ),
    )
    vulnerabilities: VulnerabilityConfig = Field(
        default_factory=VulnerabilityConfig, description="the vulnerability scan"
    )
    layer_secrets: LayerSecretsConfig = Field(
        default_factory=LayerSecretsConfig, description="the scan of the image's layers for secrets"
    )
    push: PushConfig = Field(default_factory=PushConfig, description="pushing the image")
    sbom: SbomConfig = Field(default_factory=SbomConfig, description="the SBOM of the pushed image")
    git_tag: GitTagConfig = Field(default_factory=GitTagConfig, description="the git tag of the released commit")

    @property
    def effective_size_budget_mb(self) -> float:
        if self.size_budget_mb is not None:
            return self.size_budget_mb
        return ML_SIZE_BUDGET_MB if self.image_kind == "ml" else APP_SIZE_BUDGET_MB

    @field_validator("suites")
    @classmethod
    def _unique_suites(cls, value: list[TestSuite]) -> list[TestSuite]:
        names = [s.name for s in value]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"suite names must be unique: {', '.join(dupes)}")
        return value

    @field_validator("tags")
    @classmethod
    def _known_tag_placeholders(cls, value: list[str]) -> list[str]:
        return [checked_template(tag) for tag in value]
