"""The root of ``bmad.yaml``: one file per service, with named environments."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator

from bmad.config.analyze import AnalyzeConfig
from bmad.config.base import Model, SecretRef
from bmad.config.build import BuildConfig
from bmad.config.deploy import DeployConfig, TargetConfig
from bmad.config.measure import MeasureConfig, MonitoringConfig
from bmad.config.reports import ReportsConfig

RiskLevel = Literal["low", "medium", "high"]
_NAME = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")


class ServiceConfig(Model):
    name: str
    repository: str = "."  # the service's git repository, relative to bmad.yaml
    owner: str | None = None
    description: str | None = None

    @field_validator("name")
    @classmethod
    def _dns_label(cls, value: str) -> str:
        if not _NAME.match(value):
            raise ValueError("must be a DNS label: lower-case letters, digits and '-', at most 63 characters")
        return value


class EnvironmentConfig(Model):
    risk: RiskLevel = "medium"
    production: bool = False
    warn_as_fail: bool | None = None  # default: true for production or high risk
    allow_dirty: bool | None = None  # default: false for production
    target: TargetConfig = TargetConfig()
    monitoring: MonitoringConfig = MonitoringConfig()

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


class LedgerConfig(Model):
    url: str | None = None  # BMAD_LEDGER_URL overrides; default sqlite:///<state_dir>/ledger.db
    lock_lease_seconds: float = 30.0


class RecordsConfig(Model):
    """Where phase records are committed (see docs/records.md)."""

    enabled: bool = True
    branch: str = "bmad/records"
    push: bool = False
    remote: str = "origin"


class BmadConfig(Model):
    version: Literal[1] = 1
    service: ServiceConfig
    environments: dict[str, EnvironmentConfig] = Field(min_length=1)
    state_dir: str = ".bmad"
    secrets: dict[str, SecretRef] = {}
    ledger: LedgerConfig = LedgerConfig()
    records: RecordsConfig = RecordsConfig()
    build: BuildConfig = BuildConfig()
    measure: MeasureConfig = MeasureConfig()
    analyze: AnalyzeConfig = AnalyzeConfig()
    deploy: DeployConfig = DeployConfig()
    reports: ReportsConfig = ReportsConfig()
    # Custom phase implementations: phase name -> importable module with make_plugin(ctx)
    # (env BMAD_PLUGIN_<PHASE> overrides). See docs/engine.md.
    plugins: dict[Literal["build", "measure", "analyze", "deploy"], str] = {}

    # Where the file was read from; set by the loader, not by the user.
    source_path: str | None = Field(default=None, exclude=True)

    @model_validator(mode="after")
    def _environment_names(self) -> BmadConfig:
        for name in self.environments:
            if not _NAME.match(name):
                raise ValueError(f"environment name {name!r} must be a DNS label")
        return self

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
