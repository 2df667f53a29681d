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

import string
from datetime import date
from typing import Literal

from bmad.config.base import Model, SecretRef, config_model, setting

Severity = Literal["UNKNOWN", "LOW", "MEDIUM", "HIGH", "CRITICAL"]

APP_SIZE_BUDGET_MB = 500.0
ML_SIZE_BUDGET_MB = 2000.0


@config_model
class HealthWait(Model):
    """Wait until a URL answers 2xx/3xx or a TCP port accepts connections."""

    url: str | None = setting(default=None, description="a URL that must answer 2xx/3xx")
    tcp: str | None = setting(
        default=None, description='a host:port that must accept connections, e.g. "127.0.0.1:5432"'
    )
    timeout_seconds: float = setting(default=60.0, description="how long to wait")

    def after_validation(self) -> None:
        if (self.url is None) == (self.tcp is None):
            raise ValueError("give exactly one of 'url' or 'tcp'")


@config_model
class SuiteEnvironment(Model):
    """What a suite needs running: a compose file on the same engine, or commands plus health waits."""

    compose: str | None = setting(default=None, description="a compose file, relative to the repository")
    profiles: list[str] = setting(
        default=[], description="compose profiles to enable (services without a profile always run)"
    )
    up: list[list[str]] = setting(default=[], description="argv lists run before the suite")
    down: list[list[str]] = setting(default=[], description="argv lists run after the suite, always")
    waits: list[HealthWait] = setting(default=[], description="what must answer before the suite starts")
    ready_timeout_seconds: float = setting(default=120.0, description="how long the environment may take to come up")

    def after_validation(self) -> None:
        if self.compose is None and not self.up and not self.waits:
            raise ValueError("give 'compose' or 'up' commands (with optional 'waits')")


def _suite_name(value: str) -> str:
    if not value.replace("-", "").replace("_", "").isalnum():
        raise ValueError("suite names use letters, digits, '-' and '_'")
    return value


@config_model
class TestSuite(Model):
    """One test suite: a command (argv list), a timeout, an optional JUnit XML report."""

    __test__ = False  # not a pytest class

    name: str = setting(description="the suite's name (letters, digits, '-' and '_')", check=_suite_name)
    command: list[str] = setting(min_length=1, description="the command, as an argv list")
    cwd: str = setting(default=".", description="working folder, relative to the repository")
    timeout_seconds: float = setting(default=600.0, description="the suite fails past this")
    junit: str | None = setting(default=None, description="path of the JUnit XML the command writes, relative to cwd")
    env: dict[str, str] = setting(default={}, description="extra environment variables")
    environment: SuiteEnvironment | None = setting(
        default=None, description="what the suite needs running (compose file or commands)"
    )
    required: bool = setting(default=True, description="a failing optional suite only warns")


@config_model
class VulnerabilityIgnore(Model):
    """A finding accepted for a while: the reason is mandatory, and so is the expiry date."""

    id: str = setting(description="the finding's id (CVE or advisory)")
    reason: str = setting(min_length=3, description="why it is accepted (required)")
    expires: date = setting(description="the date the entry stops applying (required)")
    package: str | None = setting(default=None, description="restrict the entry to one package")


@config_model
class VulnerabilityConfig(Model):
    enabled: bool = setting(default=True, description="scan the image for known vulnerabilities")
    scanner: Literal["auto", "trivy", "grype", "report"] = setting(
        default="auto", description="trivy, grype, a report file, or auto (the first installed)"
    )
    report: str | None = setting(default=None, description="a trivy or grype JSON report, relative to the repository")
    fail_on: Severity = setting(default="HIGH", description="the lowest severity that fails the check")
    only_fixed: bool = setting(default=False, description="count only findings that have a fixed version")
    ignore: list[VulnerabilityIgnore] = setting(
        default=[], description="findings accepted for a while, each with a reason and an expiry date"
    )
    missing_scanner: Literal["warn", "fail"] = setting(
        default="warn", description="what no scanner means: warn or fail"
    )
    timeout_seconds: float = setting(default=900.0, description="the scan fails past this")


@config_model
class SecretAllow(Model):
    fingerprint: str = setting(min_length=8, description="the finding's fingerprint, as the check reports it")
    reason: str = setting(min_length=3, description="why it is not a secret (required)")


@config_model
class LayerSecretsConfig(Model):
    enabled: bool = setting(default=True, description="scan the image's layers for secrets")
    layers: Literal["own", "all"] = setting(
        default="own", description='"own": skip the layers of the base image; "all": scan every layer'
    )
    max_file_bytes: int = setting(default=2_000_000, description="larger files are not scanned")
    allow: list[SecretAllow] = setting(default=[], description="findings that are not secrets")


@config_model
class PushConfig(Model):
    enabled: bool = setting(default=True, description="push the image to the registry")
    retries: int = setting(default=4, ge=0, le=10, description="retries after a failed push")
    backoff_seconds: float = setting(default=0.5, ge=0, description="first pause between retries (doubled each time)")
    username: SecretRef | None = setting(
        default=None, description="default: REGISTRY_USERNAME / REGISTRY_PASSWORD, then ~/.docker/config.json"
    )
    password: SecretRef | None = setting(default=None, description="the registry password (with username)")
    tls_verify: bool | None = setting(default=None, description="default: off for loopback registries, on otherwise")
    timeout_seconds: float = setting(default=600.0, description="the push fails past this")


@config_model
class SbomConfig(Model):
    enabled: bool = setting(default=True, description="write a CycloneDX JSON SBOM of the pushed image (syft)")
    missing_tool: Literal["warn", "fail"] = setting(default="warn", description="what syft not installed means")
    timeout_seconds: float = setting(default=600.0, description="the SBOM fails past this")


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


@config_model
class GitTagConfig(Model):
    enabled: bool = setting(default=True, description="tag the released commit")
    name: str = setting(
        default="bmad/{environment}/{short_sha}",
        description="the tag's template: {environment} {short_sha} {sha} {service}",
        check=checked_template,
    )
    push: bool = setting(default=True, description="push the tag when the remote exists")
    remote: str = setting(default="origin", description="the remote the tag is pushed to")


def _unique_suites(value: list[TestSuite]) -> list[TestSuite]:
    names = [s.name for s in value]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise ValueError(f"suite names must be unique: {', '.join(dupes)}")
    return value


def _known_tag_placeholders(value: list[str]) -> list[str]:
    return [checked_template(tag) for tag in value]


@config_model
class BuildConfig(Model):
    containerfile: str | None = setting(
        default=None, description="detected (Containerfile, then Dockerfile) when not given"
    )
    context: str = setting(default=".", description="the build context, relative to the repository")
    registry: str = setting(default="127.0.0.1:5000", description="the registry images are pushed to")
    image: str | None = setting(default=None, description="repository name inside the registry; default: service name")
    tags: list[str] = setting(
        default=["{short_sha}", "latest"],
        description="templates: {sha} {short_sha} {environment} {service}",
        check=_known_tag_placeholders,
    )
    build_args: dict[str, str] = setting(default={}, description="build arguments")

    target: str | None = setting(default=None, description="the build stage to stop at")
    labels: dict[str, str] = setting(default={}, description="extra image labels")
    source_url: str | None = setting(
        default=None, description="org.opencontainers.image.source; default: the git remote URL"
    )
    build_timeout_seconds: float = setting(default=1800.0, description="the build fails past this")
    image_kind: Literal["app", "ml"] = setting(default="app", description="app or ml: chooses the default size budget")
    size_budget_mb: float | None = setting(default=None, description="default 500 (app) or 2000 (ml)")
    test_time_target_seconds: float = setting(
        default=300.0, description="the test suites together should finish within this"
    )
    suites: list[TestSuite] = setting(default=[], description="test suites run against the build", check=_unique_suites)
    parallel_suites: bool = setting(
        default=False,
        description=(
            "run the suites at once instead of one after another (they may share ports); always beside the build"
        ),
    )
    vulnerabilities: VulnerabilityConfig = setting(
        default_factory=VulnerabilityConfig, description="the vulnerability scan"
    )
    layer_secrets: LayerSecretsConfig = setting(
        default_factory=LayerSecretsConfig, description="the scan of the image's layers for secrets"
    )
    push: PushConfig = setting(default_factory=PushConfig, description="pushing the image")
    sbom: SbomConfig = setting(default_factory=SbomConfig, description="the SBOM of the pushed image")
    git_tag: GitTagConfig = setting(default_factory=GitTagConfig, description="the git tag of the released commit")

    @property
    def effective_size_budget_mb(self) -> float:
        if self.size_budget_mb is not None:
            return self.size_budget_mb
        return ML_SIZE_BUDGET_MB if self.image_kind == "ml" else APP_SIZE_BUDGET_MB
