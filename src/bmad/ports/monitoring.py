"""The monitoring stack as MEASURE sees it: Prometheus, Pushgateway, Alertmanager, Grafana.

Adapters turn each system's HTTP answers into the plain records below; the phase decides
what they mean. Every method raises :class:`~bmad.core.errors.Unreachable` when the system
does not answer and :class:`~bmad.core.errors.AdapterError` when it answers with an error.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import field
from datetime import datetime
from typing import Any, Protocol

from bmad.core.datatypes import datatype
from bmad.ports.metrics import MetricsQuery


@datatype(frozen=True)
class RuntimeInfo:
    """Prometheus' runtime state: when it started, whether its config loaded, its retention."""

    start_time: datetime
    reload_config_success: bool | None = None
    storage_retention: str | None = None
    version: str | None = None


@datatype(frozen=True)
class ScrapeTarget:
    """One target Prometheus scrapes, with its health and last error."""

    job: str
    instance: str
    health: str  # "up" | "down" | "unknown"
    scrape_url: str = ""
    last_error: str = ""
    labels: tuple[tuple[str, str], ...] = ()  # the target's labels after relabelling (environment, release ...)

    def label(self, name: str) -> str | None:
        return next((value for key, value in self.labels if key == name), None)


@datatype(frozen=True)
class Rule:
    """One alerting or recording rule loaded in Prometheus, with its health."""

    name: str
    kind: str  # "alerting" | "recording"
    health: str  # "ok" | "err" | "unknown"
    last_error: str = ""
    query: str = ""


@datatype(frozen=True)
class RuleGroup:
    """A group of rules from one rule file, as Prometheus loaded it."""

    name: str
    file: str
    rules: tuple[Rule, ...] = ()

    @property
    def errors(self) -> list[Rule]:
        return [r for r in self.rules if r.health not in ("ok", "unknown") or r.last_error]


@datatype(frozen=True)
class AlertmanagerRef:
    """An Alertmanager Prometheus knows of, and whether it sends alerts there."""

    url: str
    active: bool


class Prometheus(MetricsQuery, Protocol):
    url: str

    def ready(self) -> bool:
        """True when /-/ready answers 200 (False while starting or shutting down)."""
        ...

    def runtime_info(self) -> RuntimeInfo: ...

    def targets(self) -> list[ScrapeTarget]:
        """Active scrape targets."""
        ...

    def rule_groups(self) -> list[RuleGroup]: ...

    def alertmanagers(self) -> list[AlertmanagerRef]:
        """Alertmanagers Prometheus sends alerts to (active and dropped)."""
        ...


class Pushgateway(Protocol):
    url: str

    def push(self, job: str, text: str, *, grouping: Mapping[str, str] | None = None) -> None:
        """Replace the metrics of one group with ``text`` (Prometheus exposition format)."""
        ...

    def delete(self, job: str, *, grouping: Mapping[str, str] | None = None) -> None: ...


class Alertmanager(Protocol):
    def ready(self, url: str) -> bool:
        """True when the Alertmanager at ``url`` answers /-/ready with 200."""
        ...


@datatype(frozen=True)
class DashboardRef:
    """A Grafana dashboard that was searched for or installed: its uid, title, URL and folder."""

    uid: str
    title: str
    url: str = ""
    folder: str = ""


@datatype(frozen=True)
class DataSource:
    """A Grafana data source, which dashboards read their panels from."""

    uid: str
    name: str
    type: str
    url: str = ""
    is_default: bool = False


@datatype(frozen=True)
class DataSourceHealth:
    """The answer of Grafana's health check of a data source."""

    ok: bool
    message: str = ""
    details: dict[str, Any] = field(default_factory=dict)


class Grafana(Protocol):
    url: str

    def health(self) -> dict[str, Any]:
        """/api/health: ``database`` ("ok") and ``version``."""
        ...

    def search_dashboards(self, query: str = "") -> list[DashboardRef]: ...

    def dashboard(self, uid: str) -> dict[str, Any] | None:
        """The dashboard model by uid, None when there is none."""
        ...

    def install_dashboard(self, model: Mapping[str, Any], *, overwrite: bool = True) -> DashboardRef: ...

    def datasources(self) -> list[DataSource]: ...

    def datasource_health(self, uid: str) -> DataSourceHealth: ...
