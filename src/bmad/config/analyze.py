"""The ``analyze:`` section of bmad.yaml (owned by the ANALYZE phase).

Every threshold users dispute (CPU limits, UID floor, minimum replicas, registry allow-list,
pull policy ...) is a setting here, with the default documented in docs/analyze.md.
"""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import Field, field_validator

from bmad.config.base import Model

ChangeType = Literal[
    "production_api",
    "schema_migration",
    "security_patch",
    "infrastructure",
    "dependency_update",
    "config_tuning",
    "development",
]


class Suppression(Model):
    """Ignore one check for matching objects. ``reason`` and ``expires`` are required."""

    check: str  # a catalog id, or "*" for every check
    reason: str = Field(min_length=3)
    expires: date
    namespace: str | None = None
    kind: str | None = None
    name: str | None = None
    container: str | None = None


class RequiredSecret(Model):
    name: str
    keys: list[str] = []
    namespace: str | None = None


class RiskConfig(Model):
    """How ``bmad assess`` reads a change (path patterns are fnmatch globs on repo paths)."""

    change_type: ChangeType | None = None  # force a change type instead of inferring it
    migration_paths: list[str] = [
        "*migrations/*",
        "*alembic/versions/*",
        "*db/migrate/*",
        "*.sql",
        "*schema.prisma",
        "*flyway/*",
        "*liquibase/*",
    ]
    security_paths: list[str] = [
        "*auth*",
        "*security*",
        "*crypto*",
        "*tls*",
        "*cert*",
        "*jwt*",
        "*oauth*",
        "*permission*",
        "*rbac*",
        "*secret*",
        "*password*",
        "*.pem",
        "*networkpolic*",
    ]
    dependency_paths: list[str] = [
        "requirements*.txt",
        "*/requirements*.txt",
        "pyproject.toml",
        "*/pyproject.toml",
        "poetry.lock",
        "*/poetry.lock",
        "uv.lock",
        "Pipfile*",
        "package.json",
        "package-lock.json",
        "yarn.lock",
        "pnpm-lock.yaml",
        "go.mod",
        "go.sum",
        "Cargo.toml",
        "Cargo.lock",
        "Gemfile*",
        "pom.xml",
        "build.gradle*",
    ]
    infrastructure_paths: list[str] = [
        "k8s/*",
        "*/k8s/*",
        "kubernetes/*",
        "*/kubernetes/*",
        "manifests/*",
        "deploy/*",
        "helm/*",
        "charts/*",
        "*.tf",
        "Containerfile",
        "Dockerfile",
        "*/Containerfile",
        "*/Dockerfile",
        "docker-compose*.y*ml",
    ]
    config_paths: list[str] = [
        "*.yaml",
        "*.yml",
        "*.json",
        "*.toml",
        "*.ini",
        "*.cfg",
        "*.conf",
        "*.env",
        "*.properties",
    ]
    doc_paths: list[str] = ["*.md", "*.rst", "*.txt", "docs/*", "LICENSE*", ".gitignore"]


class AnalyzeConfig(Model):
    manifests: str | None = None  # folder of Kubernetes manifests; detected when not given
    kubernetes_version: str = "1.30"
    strict_schemas: bool = True  # unknown fields are errors (kubeconform -strict)
    crd_schemas: list[str] = []  # folders of {kind}_{version}.json or {group}/{kind}_{version}.json
    reject_missing_schemas: bool = False  # custom resources without a schema fail instead of "skipped"
    max_file_mb: float = 10.0
    default_namespace: str | None = None  # namespace of objects that declare none
    server_dry_run: bool = True  # when a Kubernetes target is configured
    attestations: str = "attestations.yaml"  # relative to bmad.yaml
    suppressions: list[Suppression] = []
    required_secrets: list[RequiredSecret] = []
    # Gate
    min_readiness_percent: float = Field(default=100.0, ge=0, le=100)
    # Disputed thresholds
    require_cpu_limits: bool = False
    require_memory_limits: bool = True
    uid_floor: int = Field(default=1000, ge=1)
    min_replicas: int = Field(default=2, ge=1)
    allowed_registries: list[str] = []  # empty: any registry (the check reports not applicable)
    pull_policy: Literal["Always", "IfNotPresent", "any"] = "any"
    require_digest_pinning: bool = False
    max_cpu: str | None = None  # e.g. "4"; a container asking for more fails
    max_memory: str | None = None  # e.g. "8Gi"
    allowed_host_paths: list[str] = []
    required_dashboards: int = Field(default=4, ge=0)
    min_alert_rules: int = Field(default=1, ge=0)
    external_configmaps: list[str] = []  # created outside the bundle
    external_service_accounts: list[str] = []
    disabled_checks: list[str] = []  # catalog ids reported "not applicable: disabled in bmad.yaml"
    risk: RiskConfig = RiskConfig()

    @field_validator("kubernetes_version")
    @classmethod
    def _version(cls, value: str) -> str:
        parts = value.lstrip("v").split(".")
        if len(parts) < 2 or not all(p.isdigit() for p in parts):
            raise ValueError("must look like 1.30 or 1.30.2")
        return value.lstrip("v")
