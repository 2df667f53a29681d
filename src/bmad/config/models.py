"""The root of ``bmad.yaml``: one file per service, with named environments."""

import re
from pathlib import Path
from typing import Annotated, Literal

from bmad.config.analyze import AnalyzeConfig
from bmad.config.base import Check, Model, SecretRef, config_model, setting
from bmad.config.build import BuildConfig
from bmad.config.deploy import DeployConfig, TargetConfig
from bmad.config.gpu import GpuConfig
from bmad.config.measure import MeasureConfig, MonitoringConfig
from bmad.config.notifications import NotificationsConfig
from bmad.config.reports import ReportsConfig

RiskLevel = Literal["low", "medium", "high"]
_NAME = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")


def _environment_name(name: str) -> str:
    if not _NAME.match(name):
        raise ValueError(f"environment name {name!r} must be a DNS label")
    return name


# validated as a key, so an error points at the key's own line (pydantic's loc ends in "[key]")
EnvironmentName = Annotated[str, Check(_environment_name)]


def _dns_label(value: str) -> str:
    if not _NAME.match(value):
        raise ValueError("must be a DNS label: lower-case letters, digits and '-', at most 63 characters")
    return value


@config_model
class ServiceConfig(Model):
    name: str = setting(check=_dns_label, description="the service's name (a DNS label)")
    repository: str = setting(
        default=".", description="the git repository, relative to bmad.yaml (the release version is its HEAD commit)"
    )
    owner: str | None = setting(default=None, description="who owns the service")
    description: str | None = setting(default=None, description="what the service does")


@config_model
class EnvironmentConfig(Model):
    risk: RiskLevel = setting(default="medium", description="low, medium or high")
    production: bool = setting(
        default=False, description="a production environment: refuses a dirty tree and treats warnings as failures"
    )
    warn_as_fail: bool | None = setting(default=None, description="default: true for production or high risk")
    allow_dirty: bool | None = setting(default=None, description="default: false for production")
    target: TargetConfig = setting(default_factory=TargetConfig, description="where DEPLOY runs the service")
    monitoring: MonitoringConfig = setting(
        default_factory=MonitoringConfig,
        description="where Prometheus, the Pushgateway, Alertmanager and Grafana answer",
    )
    notifications: NotificationsConfig = setting(
        default_factory=NotificationsConfig,
        description="Slack, Teams, webhook and e-mail notifications of this environment",
    )

    @property
    def warnings_fail(self) -> bool:
        if self.warn_as_fail is not None:
            return self.warn_as_fail
        return self.production or self.risk == "high"

    @property
    def dirty_allowed(self) -> bool:
        if self.allow_dirty is not None:
            return self.allow_dirty
        return not self.production


@config_model
class LedgerConfig(Model):
    url: str | None = setting(
        default=None, description="BMAD_LEDGER_URL overrides; default sqlite:///<state_dir>/ledger.db"
    )
    lock_lease_seconds: float = setting(
        default=30.0, description="an environment's lock is taken over when not renewed for this long"
    )
    signing_key: SecretRef | None = setting(
        default=None,
        description="a key ({env: NAME} or {file: path}) that signs the chain hashes in phase records (HMAC-SHA256)",
    )


# git-check-ref-format(1): what a branch name may not hold or look like
_BAD_REF = re.compile(r"\.\.|@\{|//|[\x00-\x20\x7f~^:?*\[\\]|^/|/$|\.$|(^|/)\.|\.lock(/|$)")


def _branch_name(value: str) -> str:
    if not value or _BAD_REF.search(value):
        raise ValueError(
            "must be a git branch name (git check-ref-format): no '..', '@{', '//', spaces, control "
            "characters or any of ~^:?*[\\; no part starting with '.' or ending in '.lock'; not ending in '/' or '.'"
        )
    return value


@config_model
class RecordsConfig(Model):
    """Where phase records are committed (see docs/records.md)."""

    enabled: bool = setting(default=True, description="commit a record of each phase")
    branch: str = setting(default="bmad/records", check=_branch_name, description="the branch records are committed to")
    push: bool = setting(default=False, description="push the branch after each record")
    remote: str = setting(default="origin", description="the remote it is pushed to")


@config_model
class BmadConfig(Model):
    version: Literal[1] = setting(default=1, description="the file format's version")
    service: ServiceConfig = setting(description="the service")
    environments: dict[EnvironmentName, EnvironmentConfig] = setting(
        min_length=1,
        description=(
            "Named environments with their risk level. production refuses a dirty tree and treats warnings as "
            "failures (override with allow_dirty / warn_as_fail)."
        ),
    )
    state_dir: str = setting(
        default=".bmad", description="ledger (SQLite) and evidence folders; BMAD_LEDGER_URL for PostgreSQL"
    )
    secrets: dict[str, SecretRef] = setting(
        default={}, description="named secret references ({env: NAME} or {file: path})"
    )
    ledger: LedgerConfig = setting(default_factory=LedgerConfig, description="the ledger's database")
    records: RecordsConfig = setting(
        default_factory=RecordsConfig,
        description="Phase records are committed to this branch (the working tree is never touched).",
    )
    build: BuildConfig = setting(default_factory=BuildConfig, description="the BUILD phase")
    measure: MeasureConfig = setting(default_factory=MeasureConfig, description="the MEASURE phase")
    analyze: AnalyzeConfig = setting(default_factory=AnalyzeConfig, description="the ANALYZE phase")
    deploy: DeployConfig = setting(default_factory=DeployConfig, description="the DEPLOY phase")
    gpu: GpuConfig = setting(default_factory=GpuConfig, description="GPU workloads: when the GPU checks apply")
    reports: ReportsConfig = setting(
        default_factory=ReportsConfig, description="runbooks, reports and bmad's own metrics"
    )
    plugins: dict[Literal["build", "measure", "analyze", "deploy"], str] = setting(
        default={},
        description=(
            "custom phase implementations: phase name -> importable module with make_plugin(ctx) (env "
            "BMAD_PLUGIN_<PHASE> overrides)"
        ),
    )

    source_path: str | None = setting(
        default=None, exclude=True, description="where the file was read from; set by the loader, not by the user"
    )

    @property
    def base_dir(self) -> Path:
        return Path(self.source_path).resolve().parent if self.source_path else Path.cwd()

    def resolve_path(self, value: str) -> Path:
        path = Path(value)
        return path if path.is_absolute() else (self.base_dir / path)

    @property
    def repository_dir(self) -> Path:
        return self.resolve_path(self.service.repository).resolve()

    @property
    def state_path(self) -> Path:
        return self.resolve_path(self.state_dir)

    def pick_environment(self, env: str | None, *, required: bool = True) -> str:
        """``env`` (``--env``), else ``BMAD_ENV``, else the only environment defined; "" when none is
        given, several are defined and ``required`` is false."""
        import os

        from bmad.core.errors import UsageError

        chosen = env or os.environ.get("BMAD_ENV")
        if chosen:
            self.environment(chosen)  # UsageError listing the defined ones
            return chosen
        if len(self.environments) == 1:
            return next(iter(self.environments))
        if not required:
            return ""
        raise UsageError(
            "several environments are defined: say which with --env",
            hint="defined environments: " + ", ".join(sorted(self.environments)),
        )

    def environment(self, name: str) -> EnvironmentConfig:
        from bmad.core.errors import UsageError

        try:
            return self.environments[name]
        except KeyError:
            known = ", ".join(sorted(self.environments))
            raise UsageError(
                f"environment {name!r} is not defined in {self.source_path or 'bmad.yaml'}",
                hint=f"defined environments: {known}",
            ) from None
