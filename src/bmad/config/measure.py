"""The ``measure:`` section of bmad.yaml and per-environment monitoring endpoints (MEASURE phase).

Per environment (``environments.<name>.monitoring``): where Prometheus, the Pushgateway,
Alertmanager and Grafana answer, and where the service itself answers (``service_url``).
Service-wide (``measure:``): the scrape job, rules expected, baseline queries, the load-test sweep.
"""

from __future__ import annotations

import re
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, field_validator, model_validator

from bmad.config.base import Model, SecretRef

NoDataPolicy = Literal["fail", "warn", "skip"]

# The guide's four required dashboards (MEASURE, step 3). bmad ships them in src/bmad/dashboards/.
DEFAULT_DASHBOARDS = ("API Performance", "Security Metrics", "Infrastructure Overview", "Application-Specific")

_DURATION = re.compile(r"^[0-9]+(ms|s|m|h|d|w|y)$")


def _http_url(value: str, what: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{what} must be an http(s) URL with a host, e.g. http://127.0.0.1:9090")
    return value.rstrip("/")


class GrafanaConfig(Model):
    url: str
    token: SecretRef | None = None  # a service-account token; sent as "Authorization: Bearer"
    # Dashboards that must exist, each matched by uid or (case-insensitive) title.
    dashboards: list[str] = list(DEFAULT_DASHBOARDS)
    # The data source the dashboards read (uid or name); default: Grafana's default data source,
    # else the first Prometheus data source.
    datasource: str | None = None
    timeout_seconds: float = 10.0

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        return _http_url(value, "grafana.url")


class MonitoringConfig(Model):
    """Monitoring endpoints of one environment. ``None`` means "not used here" (checks skip with that reason)."""

    prometheus_url: str = "http://127.0.0.1:9090"
    pushgateway_url: str | None = "http://127.0.0.1:9091"
    # Checked directly when given; otherwise the Alertmanager(s) Prometheus reports are checked.
    alertmanager_url: str | None = None
    grafana: GrafanaConfig | None = None
    # Where the running service answers (the load test's default target). Default: derived from the
    # deploy target (local: every replica, 127.0.0.1:<host_port_base + i>); required for Kubernetes targets.
    service_url: str | None = None
    timeout_seconds: float = 10.0

    @field_validator("prometheus_url", "pushgateway_url", "alertmanager_url", "service_url")
    @classmethod
    def _urls(cls, value: str | None) -> str | None:
        return None if value is None else _http_url(value, "monitoring URL")


class BaselineQuery(Model):
    """One baseline figure: a PromQL query; ``{job}``, ``{rate_window}`` and ``{namespace}`` are filled in."""

    name: str
    query: str
    unit: str = ""
    # What "no data" means for this query: fail the check, warn, or skip the figure (always reported).
    no_data: NoDataPolicy | None = None  # default: measure.no_data

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not re.match(r"^[a-z][a-z0-9_]*$", value):
            raise ValueError("baseline names are snake_case identifiers (e.g. cpu, p95_latency)")
        return value


class EndToEndConfig(Model):
    enabled: bool = True
    # How long to wait for Prometheus to scrape the pushed metric before failing.
    timeout_seconds: float = 30.0
    poll_seconds: float = 0.25
    job: str = "bmad_measure_e2e"


class RequestSpec(Model):
    method: str = "GET"
    # A path on the service URL ("/", "/api/x?y=1") or an absolute URL (its host must be allowed).
    url: str = "/"
    headers: dict[str, str] = {}
    body: str | None = None

    @field_validator("method")
    @classmethod
    def _method(cls, value: str) -> str:
        method = value.upper()
        if not re.match(r"^[A-Z]+$", method):
            raise ValueError("an HTTP method such as GET or POST")
        return method


class SloConfig(Model):
    """The sweep stops at the first level that breaks one of these."""

    max_error_rate: float = Field(default=0.01, ge=0, le=1)  # failed / all requests
    max_p95_ms: float | None = Field(default=2000.0, gt=0)


class LoadTestConfig(Model):
    enabled: bool = True
    runner: Literal["builtin", "locust", "k6", "auto"] = "builtin"  # auto: locust/k6 when installed, else builtin
    request: RequestSpec = RequestSpec()
    levels: list[int] = Field(default=[500, 1000, 2000], min_length=1)  # concurrent connections (users)
    duration_seconds: float | None = Field(default=10.0, gt=0)  # per level
    requests_per_level: int | None = Field(default=None, gt=0)  # stop a level after this many requests
    request_timeout_seconds: float = Field(default=10.0, gt=0)
    # Hosts (host or host:port) a sweep may target besides the service's own URL.
    allowed_hosts: list[str] = []
    slo: SloConfig = SloConfig()
    on_slo_breach: Literal["warn", "fail"] = "warn"
    # Load-generator processes; default: the CPU count, half of it when the target is on this machine.
    workers: int | None = Field(default=None, ge=1, le=64)
    # Hard bounds, whatever the levels say: every sweep stops by itself.
    max_concurrency: int = Field(default=20000, ge=1)
    max_seconds_per_level: float = Field(default=300.0, gt=0)
    max_requests_per_level: int = Field(default=10_000_000, ge=1)

    @field_validator("levels")
    @classmethod
    def _levels(cls, value: list[int]) -> list[int]:
        if any(level < 1 for level in value):
            raise ValueError("concurrency levels are positive integers")
        return value

    @model_validator(mode="after")
    def _bounded(self) -> LoadTestConfig:
        if self.duration_seconds is None and self.requests_per_level is None:
            raise ValueError("give duration_seconds or requests_per_level (or both): a level must end")
        if max(self.levels) > self.max_concurrency:
            raise ValueError(f"a level exceeds max_concurrency ({self.max_concurrency})")
        return self


class MeasureConfig(Model):
    scrape_job: str | None = None  # default: service name
    min_alert_rules: int = 1  # alerting + recording rules Prometheus must have loaded
    # How long to wait for the job's targets to get their first scrape (health "unknown") before judging.
    target_wait_seconds: float = Field(default=15.0, ge=0)
    # Baseline queries; default: the service's CPU, memory, request rate, error rate and p95 latency.
    baselines: list[BaselineQuery] | None = None
    extra_baselines: list[BaselineQuery] = []  # added to the defaults
    no_data: NoDataPolicy = "warn"
    baseline_window_seconds: float = Field(default=300.0, gt=0)
    baseline_step_seconds: float = Field(default=15.0, gt=0)
    rate_window: str = "1m"
    # Kubernetes targets: also capture per-pod and per-node usage (cAdvisor / node-exporter metrics).
    kube_baselines: bool = True
    end_to_end: EndToEndConfig = EndToEndConfig()
    load_test: LoadTestConfig = LoadTestConfig()

    @field_validator("rate_window")
    @classmethod
    def _duration(cls, value: str) -> str:
        if not _DURATION.match(value):
            raise ValueError("a PromQL duration such as 30s, 1m or 5m")
        return value


def default_baselines() -> list[BaselineQuery]:
    """The guide's key baseline metrics for the example's metric names (label ``job``)."""
    total = 'sum(rate(http_requests_total{job="{job}"}[{rate_window}]))'
    errors = 'sum(rate(http_requests_total{job="{job}",code=~"5.."}[{rate_window}]))'
    return [
        BaselineQuery(
            name="cpu", unit="cores", query='sum(rate(process_cpu_seconds_total{job="{job}"}[{rate_window}]))'
        ),
        BaselineQuery(name="memory", unit="bytes", query='sum(process_resident_memory_bytes{job="{job}"})'),
        BaselineQuery(name="request_rate", unit="req/s", query=total),
        # No 5xx series yet means zero errors, but only while there is traffic (the denominator).
        BaselineQuery(name="error_rate", unit="ratio", query=f"({errors} or vector(0)) / {total}"),
        BaselineQuery(
            name="p95_latency",
            unit="seconds",
            query='histogram_quantile(0.95, sum by (le) (rate(http_request_duration_seconds_bucket{job="{job}"}'
            "[{rate_window}])))",
        ),
    ]


def kube_baselines() -> list[BaselineQuery]:
    """``baseline_pods`` / ``baseline_nodes`` equivalents from cAdvisor and node-exporter metrics."""
    return [
        BaselineQuery(
            name="pods_cpu",
            unit="cores",
            no_data="skip",
            query='sum(rate(container_cpu_usage_seconds_total{namespace="{namespace}",container!=""}[{rate_window}]))',
        ),
        BaselineQuery(
            name="pods_memory",
            unit="bytes",
            no_data="skip",
            query='sum(container_memory_working_set_bytes{namespace="{namespace}",container!=""})',
        ),
        BaselineQuery(
            name="nodes_cpu",
            unit="ratio",
            no_data="skip",
            query='1 - avg(rate(node_cpu_seconds_total{mode="idle"}[{rate_window}]))',
        ),
        BaselineQuery(
            name="nodes_memory",
            unit="ratio",
            no_data="skip",
            query="1 - sum(node_memory_MemAvailable_bytes) / sum(node_memory_MemTotal_bytes)",
        ),
    ]


def render_query(query: str, values: dict[str, str]) -> str:
    """Replace ``{job}``, ``{rate_window}``, ``{namespace}`` ... (plain replacement: PromQL braces stay)."""
    for key, value in values.items():
        query = query.replace("{" + key + "}", value)
    return query
