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

from datetime import date
from typing import Literal

from pydantic import Field, field_validator, model_validator

from bmad.config.base import Model, SecretRef

Severity = Literal["UNKNOWN", "LOW", "MEDIUM", "HIGH", "CRITICAL"]

APP_SIZE_BUDGET_MB = 500.0
ML_SIZE_BUDGET_MB = 2000.0


class HealthWait(Model):
    """Wait until a URL answers 2xx/3xx or a TCP port accepts connections."""

    url: str | None = None
    tcp: str | None = None  # "127.0.0.1:5432"
    timeout_seconds: float = 60.0

    @model_validator(mode="after")
    def _one_target(self) -> HealthWait:
        if (self.url is None) == (self.tcp is None):
            raise ValueError("give exactly one of 'url' or 'tcp'")
        return self


class SuiteEnvironment(Model):
    """What a suite needs running: a compose file on the same engine, or commands plus health waits."""

    compose: str | None = None  # path relative to the repository
    up: list[list[str]] = []  # argv lists run before the suite
    down: list[list[str]] = []  # argv lists run after the suite, always
    waits: list[HealthWait] = []
    ready_timeout_seconds: float = 120.0

    @model_validator(mode="after")
    def _something(self) -> SuiteEnvironment:
        if self.compose is None and not self.up and not self.waits:
            raise ValueError("give 'compose' or 'up' commands (with optional 'waits')")
        return self


class TestSuite(Model):
    """One test suite: a command (argv list), a timeout, an optional JUnit XML report."""

    __test__ = False  # not a pytest class

    name: str
    command: list[str] = Field(min_length=1)
    cwd: str = "."  # relative to the repository
    timeout_seconds: float = 600.0
    junit: str | None = None  # path of the JUnit XML the command writes, relative to cwd
    env: dict[str, str] = {}
    environment: SuiteEnvironment | None = None
    required: bool = True  # a failing optional suite only warns

    @field_validator("name")
    @classmethod
    def _simple_name(cls, value: str) -> str:
        if not value.replace("-", "").replace("_", "").isalnum():
            raise ValueError("suite names use letters, digits, '-' and '_'")
        return value


class VulnerabilityIgnore(Model):
    """A finding accepted for a while: the reason is mandatory, and so is the expiry date."""

    id: str
    reason: str = Field(min_length=3)
    expires: date
    package: str | None = None  # restrict the entry to one package


class VulnerabilityConfig(Model):
    enabled: bool = True
    scanner: Literal["auto", "trivy", "grype", "report"] = "auto"
    report: str | None = None  # a trivy or grype JSON report, relative to the repository
    fail_on: Severity = "HIGH"
    only_fixed: bool = False  # count only findings that have a fixed version
    ignore: list[VulnerabilityIgnore] = []
    missing_scanner: Literal["warn", "fail"] = "warn"
    timeout_seconds: float = 900.0


class SecretAllow(Model):
    fingerprint: str = Field(min_length=8)
    reason: str = Field(min_length=3)


class LayerSecretsConfig(Model):
    enabled: bool = True
    layers: Literal["own", "all"] = "own"  # "own": skip the layers of the base image
    max_file_bytes: int = 2_000_000
    allow: list[SecretAllow] = []


class PushConfig(Model):
    enabled: bool = True
    retries: int = Field(default=4, ge=0, le=10)
    backoff_seconds: float = Field(default=0.5, ge=0)
    username: SecretRef | None = None  # default: REGISTRY_USERNAME / REGISTRY_PASSWORD, then ~/.docker/config.json
    password: SecretRef | None = None
    tls_verify: bool | None = None  # default: off for loopback registries, on otherwise
    timeout_seconds: float = 600.0


class GitTagConfig(Model):
    enabled: bool = True
    name: str = "bmad/{environment}/{short_sha}"
    push: bool = True  # when the remote exists
    remote: str = "origin"


class BuildConfig(Model):
    containerfile: str | None = None  # detected (Containerfile, then Dockerfile) when not given
    context: str = "."
    registry: str = "127.0.0.1:5000"
    image: str | None = None  # repository name inside the registry; default: service name
    tags: list[str] = ["{short_sha}", "latest"]  # templates: {sha} {short_sha} {environment} {service}
    build_args: dict[str, str] = {}
    target: str | None = None
    labels: dict[str, str] = {}
    source_url: str | None = None  # org.opencontainers.image.source; default: the git remote URL
    build_timeout_seconds: float = 1800.0
    image_kind: Literal["app", "ml"] = "app"
    size_budget_mb: float | None = None  # default 500 (app) or 2000 (ml)
    test_time_target_seconds: float = 300.0
    suites: list[TestSuite] = []
    parallel_suites: bool = False  # suites run one after another (they may share ports); always beside the build
    vulnerabilities: VulnerabilityConfig = VulnerabilityConfig()
    layer_secrets: LayerSecretsConfig = LayerSecretsConfig()
    push: PushConfig = PushConfig()
    git_tag: GitTagConfig = GitTagConfig()

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
