"""The ``analyze:`` section of bmad.yaml (owned by the ANALYZE phase).

Every threshold users dispute (CPU limits, UID floor, minimum replicas, registry allow-list,
pull policy ...) is a setting here, with the default documented in docs/analyze.md.
"""

from datetime import date
from typing import Literal

from bmad.config.base import Model, config_model, setting

ChangeType = Literal[
    "production_api",
    "schema_migration",
    "security_patch",
    "infrastructure",
    "dependency_update",
    "config_tuning",
    "development",
]


def _kubernetes_version(value: str) -> str:
    parts = value.lstrip("v").split(".")
    if len(parts) < 2 or not all(p.isdigit() for p in parts):
        raise ValueError("must look like 1.30 or 1.30.2")
    return value.lstrip("v")


@config_model
class Suppression(Model):
    """Ignore one check for matching objects. ``reason`` and ``expires`` are required."""

    check: str = setting(description='a catalog check id, or "*" for every check')
    reason: str = setting(min_length=3, description="why the finding is accepted (required)")
    expires: date = setting(description="the date the suppression stops applying (required)")
    namespace: str | None = setting(default=None, description="only objects in this namespace")
    kind: str | None = setting(default=None, description="only objects of this kind")
    name: str | None = setting(default=None, description="only the object with this name")
    container: str | None = setting(default=None, description="only this container")


@config_model
class RequiredSecret(Model):
    name: str = setting(description="the Secret the bundle needs")
    keys: list[str] = setting(default=[], description="keys the Secret must hold")
    namespace: str | None = setting(default=None, description="its namespace; default: the objects' namespace")


@config_model
class NotApplicable(Model):
    """An attestation item that cannot apply to this service, and why (e.g. SC-055 for a service without auth)."""

    id: str = setting(description="the catalog id of an attestation item")
    reason: str = setting(min_length=3, description="why it cannot apply (required)")


@config_model
class RiskConfig(Model):
    """How ``bmad assess`` reads a change (path patterns are fnmatch globs on repo paths)."""

    change_type: ChangeType | None = setting(default=None, description="force a change type instead of inferring it")
    migration_paths: list[str] = setting(
        default=[
            "*migrations/*",
            "*alembic/versions/*",
            "*db/migrate/*",
            "*.sql",
            "*schema.prisma",
            "*flyway/*",
            "*liquibase/*",
        ],
        description="paths whose change means a schema migration",
    )
    security_paths: list[str] = setting(
        default=[
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
        ],
        description="paths whose change means a security change",
    )
    dependency_paths: list[str] = setting(
        default=[
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
        ],
        description="paths whose change means a dependency update",
    )
    infrastructure_paths: list[str] = setting(
        default=[
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
        ],
        description="paths whose change means an infrastructure change",
    )
    config_paths: list[str] = setting(
        default=[
            "*.yaml",
            "*.yml",
            "*.json",
            "*.toml",
            "*.ini",
            "*.cfg",
            "*.conf",
            "*.env",
            "*.properties",
        ],
        description="paths whose change means configuration tuning",
    )
    doc_paths: list[str] = setting(
        default=["*.md", "*.rst", "*.txt", "docs/*", "LICENSE*", ".gitignore"],
        description="paths whose change carries no risk (documentation)",
    )


@config_model
class AnalyzeConfig(Model):
    manifests: str | None = setting(
        default=None, description="a folder of Kubernetes manifests; detected when not given"
    )
    kubernetes_version: str = setting(
        default="1.30", description="the Kubernetes version the schemas are checked against", check=_kubernetes_version
    )
    strict_schemas: bool = setting(default=True, description="unknown fields are errors (kubeconform -strict)")
    crd_schemas: list[str] = setting(
        default=[], description="folders of {kind}_{version}.json or {group}/{kind}_{version}.json"
    )
    reject_missing_schemas: bool = setting(
        default=False, description='custom resources without a schema fail instead of "skipped"'
    )
    max_file_mb: float = setting(default=10.0, description="larger manifest files are refused")
    default_namespace: str | None = setting(default=None, description="namespace of objects that declare none")
    server_dry_run: bool = setting(
        default=True, description="dry-run the bundle on the server when a Kubernetes target is configured"
    )
    attestations: str = setting(default="attestations.yaml", description="the attestations file, relative to bmad.yaml")
    suppressions: list[Suppression] = setting(
        default=[], description="checks ignored for matching objects, each with a reason and an expiry date"
    )
    required_secrets: list[RequiredSecret] = setting(
        default=[], description="Secrets the bundle needs to find in the cluster"
    )
    # Gate
    min_readiness_percent: float = setting(
        default=100.0, ge=0, le=100, description="the readiness score (percent) the gate needs"
    )
    # Disputed thresholds
    require_cpu_limits: bool = setting(default=False, description="containers must set a CPU limit")
    require_memory_limits: bool = setting(default=True, description="containers must set a memory limit")
    uid_floor: int = setting(default=1000, ge=1, description="the lowest user id a container may run as")
    min_replicas: int = setting(default=2, ge=1, description="the fewest replicas a workload may run")
    allowed_registries: list[str] = setting(
        default=[],
        description="registries images may come from; empty: any registry (the check reports not applicable)",
    )
    pull_policy: Literal["Always", "IfNotPresent", "any"] = setting(
        default="any", description='the image pull policy containers must use ("any": no rule)'
    )
    require_digest_pinning: bool = setting(default=False, description="images must be pinned by digest")
    max_cpu: str | None = setting(default=None, description='e.g. "4"; a container asking for more fails')
    max_memory: str | None = setting(default=None, description='e.g. "8Gi"; a container asking for more fails')
    allowed_host_paths: list[str] = setting(default=[], description="hostPath volumes that are allowed")
    required_dashboards: int = setting(default=4, ge=0, description="how many dashboards the bundle must ship")
    min_alert_rules: int = setting(default=1, ge=0, description="how many alert rules the bundle must ship")
    external_configmaps: list[str] = setting(default=[], description="ConfigMaps created outside the bundle")
    external_service_accounts: list[str] = setting(default=[], description="ServiceAccounts created outside the bundle")
    disabled_checks: list[str] = setting(
        default=[], description='catalog ids reported "not applicable: disabled in bmad.yaml"'
    )
    not_applicable: list[NotApplicable] = setting(
        default=[], description="attestation items that cannot apply to this service, each with a reason"
    )
    risk: RiskConfig = setting(default_factory=RiskConfig, description="how 'bmad assess' reads a change")
