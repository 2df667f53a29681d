"""The ``measure:`` section of bmad.yaml and per-environment monitoring endpoints (MEASURE phase).

Per environment (``environments.<name>.monitoring``): where Prometheus, the Pushgateway,
Alertmanager and Grafana answer, and where the service itself answers (``service_url``).
Service-wide (``measure:``): the scrape job, rules expected, baseline queries, the load-test sweep.
"""

import re
from typing import Literal
from urllib.parse import urlsplit

from bmad.config.base import Model, SecretRef, config_model, setting

NoDataPolicy = Literal["fail", "warn", "skip"]

# The guide's four required dashboards (MEASURE, step 3). bmad ships them in src/bmad/dashboards/.
DEFAULT_DASHBOARDS = ("API Performance", "Security Metrics", "Infrastructure Overview", "Application-Specific")

_DURATION = re.compile(r"^[0-9]+(ms|s|m|h|d|w|y)$")


def _http_url(value: str, what: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{what} must be an http(s) URL with a host, e.g. http://127.0.0.1:9090")
    return value.rstrip("/")


def _grafana_url(value: str) -> str:
    return _http_url(value, "grafana.url")


@config_model
class GrafanaConfig(Model):
    url: str = setting(check=_grafana_url, description="where Grafana answers")
    token: SecretRef | None = setting(
        default=None, description='a service-account token; sent as "Authorization: Bearer"'
    )
    dashboards: list[str] = setting(
        default=list(DEFAULT_DASHBOARDS),
        description="dashboards that must exist, each matched by uid or (case-insensitive) title",
    )
    datasource: str | None = setting(
        default=None,
        description=(
            "the data source the dashboards read (uid or name); default: Grafana's default data source, else the "
            "first Prometheus one"
        ),
    )
    timeout_seconds: float = setting(default=10.0, description="timeout of each request")


def _monitoring_url(value: str | None) -> str | None:
    return None if value is None else _http_url(value, "monitoring URL")


@config_model
class MonitoringConfig(Model):
    """Monitoring endpoints of one environment. ``None`` means "not used here" (checks skip with that reason)."""

    prometheus_url: str = setting(
        check=_monitoring_url, default="http://127.0.0.1:9090", description="where Prometheus answers"
    )
    pushgateway_url: str | None = setting(
        check=_monitoring_url,
        default=None,
        description="where the Pushgateway answers; none (the default): not used here",
    )
    alertmanager_url: str | None = setting(
        check=_monitoring_url,
        default=None,
        description="checked directly when given; otherwise the Alertmanager(s) Prometheus reports are checked",
    )
    grafana: GrafanaConfig | None = setting(
        default=None, description="Grafana and the dashboards it must have; none: not used here"
    )
    service_url: str | None = setting(
        check=_monitoring_url,
        default=None,
        description=(
            "where the running service answers (the load test's default target); default: derived from the deploy "
            "target; required for Kubernetes targets"
        ),
    )
    preview_url: str | None = setting(
        check=_monitoring_url,
        default=None,
        description=(
            "where a preview of the release candidate answers (BUILD's test environment, a preview deployment): "
            "the load test's target when it loads the candidate; Kubernetes targets load the serving release "
            "without it"
        ),
    )
    timeout_seconds: float = setting(default=10.0, description="timeout of each request")


def _baseline_name(value: str) -> str:
    if not re.match(r"^[a-z][a-z0-9_]*$", value):
        raise ValueError("baseline names are snake_case identifiers (e.g. cpu, p95_latency)")
    return value


@config_model
class BaselineQuery(Model):
    """One baseline figure: a PromQL query; ``{job}``, ``{rate_window}`` and ``{namespace}`` are filled in."""

    name: str = setting(check=_baseline_name, description="the figure's name (snake_case)")
    query: str = setting(description="PromQL; {job}, {rate_window} and {namespace} are filled in")
    unit: str = setting(default="", description="the figure's unit")
    no_data: NoDataPolicy | None = setting(
        default=None, description="what no data means for this query: fail, warn or skip; default: measure.no_data"
    )


@config_model
class EndToEndConfig(Model):
    enabled: bool = setting(default=True, description="push a metric and wait until Prometheus has scraped it")
    timeout_seconds: float = setting(
        default=30.0, description="how long to wait for Prometheus to scrape the pushed metric before failing"
    )
    poll_seconds: float = setting(default=0.25, description="how often to look")
    job: str = setting(default="bmad_measure_e2e", description="the Pushgateway job of the pushed metric")


def _http_method(value: str) -> str:
    method = value.upper()
    if not re.match(r"^[A-Z]+$", method):
        raise ValueError("an HTTP method such as GET or POST")
    return method


@config_model
class RequestSpec(Model):
    method: str = setting(check=_http_method, default="GET", description="the HTTP method")
    url: str = setting(
        default="/",
        description='a path on the service URL ("/", "/api/x?y=1") or an absolute URL (its host must be allowed)',
    )
    headers: dict[str, str] = setting(default={}, description="request headers")
    body: str | None = setting(default=None, description="request body")


@config_model
class SloConfig(Model):
    """The sweep stops at the first level that breaks one of these."""

    max_error_rate: float = setting(default=0.01, ge=0, le=1, description="failed / all requests")
    max_p95_ms: float | None = setting(default=2000.0, gt=0, description="the p95 latency bound, in milliseconds")


def _positive_levels(value: list[int]) -> list[int]:
    if any(level < 1 for level in value):
        raise ValueError("concurrency levels are positive integers")
    return value


def _positive_environment_levels(value: dict[str, list[int]]) -> dict[str, list[int]]:
    if any(not levels or any(level < 1 for level in levels) for levels in value.values()):
        raise ValueError("each environment's levels are a non-empty list of positive integers")
    return value


@config_model
class LoadTestConfig(Model):
    enabled: bool = setting(default=True, description="run the load-test sweep")
    runner: Literal["builtin", "locust", "k6", "auto"] = setting(
        default="builtin", description="auto: locust/k6 when installed, else builtin"
    )
    request: RequestSpec = setting(default_factory=RequestSpec, description="the request every user sends")
    levels: list[int] = setting(
        check=_positive_levels,
        default=[500, 1000, 2000],
        min_length=1,
        description="concurrent connections (users) of each level",
    )
    environment_levels: dict[str, list[int]] = setting(
        check=_positive_environment_levels,
        default={},
        description=(
            "levels for one environment, in place of levels there; a production environment's serving release is "
            "swept only with its own levels here"
        ),
    )
    target: Literal["candidate", "serving"] = setting(
        default="candidate",
        description=(
            "which version the sweep loads: candidate, a preview of this run's image (monitoring.preview_url, else a "
            "temporary container on the local target), or serving, the release serving the environment now"
        ),
    )
    environment_targets: dict[str, Literal["candidate", "serving"]] = setting(
        default={}, description="target for one environment, in place of target there"
    )
    preview_ready_seconds: float = setting(
        default=60.0, gt=0, description="how long a local preview of the candidate may take to answer its health path"
    )
    duration_seconds: float | None = setting(default=10.0, gt=0, description="how long each level lasts")
    requests_per_level: int | None = setting(default=None, gt=0, description="stop a level after this many requests")
    request_timeout_seconds: float = setting(default=10.0, gt=0, description="timeout of each request")
    allowed_hosts: list[str] = setting(
        default=[], description="hosts (host or host:port) a sweep may target besides the service's own URL"
    )
    slo: SloConfig = setting(
        default_factory=SloConfig, description="the sweep stops at the first level that breaks these"
    )
    on_slo_breach: Literal["warn", "fail"] = setting(
        default="warn", description="what a breached SLO does to the check: warn or fail"
    )
    workers: int | None = setting(
        default=None,
        ge=1,
        le=64,
        description="load-generator processes; default: the CPU count, half of it when the target is on this machine",
    )
    # Hard bounds, whatever the levels say: every sweep stops by itself.
    max_concurrency: int = setting(
        default=20000, ge=1, description="hard bound on a level's connections, whatever the levels say"
    )
    max_seconds_per_level: float = setting(default=300.0, gt=0, description="hard bound on a level's duration")
    max_requests_per_level: int = setting(default=10_000_000, ge=1, description="hard bound on a level's requests")

    def after_validation(self) -> None:
        if self.duration_seconds is None and self.requests_per_level is None:
            raise ValueError("give duration_seconds or requests_per_level (or both): a level must end")
        if max(self.levels) > self.max_concurrency:
            raise ValueError(f"a level exceeds max_concurrency ({self.max_concurrency})")


def _promql_duration(value: str) -> str:
    if not _DURATION.match(value):
        raise ValueError("a PromQL duration such as 30s, 1m or 5m")
    return value


@config_model
class MeasureConfig(Model):
    scrape_job: str | None = setting(default=None, description="default: service name")
    environment_label: str | None = setting(
        default="environment",
        description=(
            "the target label naming the environment (the local target publishes it): when the job's targets carry "
            "it, target counts and queries keep to this environment's; none: every target of the job counts"
        ),
    )
    min_alert_rules: int = setting(default=1, description="alerting + recording rules Prometheus must have loaded")
    target_wait_seconds: float = setting(
        default=15.0,
        ge=0,
        description=(
            'how long to wait for the job\'s targets to get their first scrape (health "unknown") before judging'
        ),
    )
    baselines: list[BaselineQuery] | None = setting(
        default=None,
        description="baseline queries; default: the service's CPU, memory, request rate, error rate and p95 latency",
    )
    extra_baselines: list[BaselineQuery] = setting(default=[], description="added to the defaults")
    no_data: NoDataPolicy = setting(
        default="warn", description="what a baseline query without data means: fail, warn or skip"
    )
    baseline_window_seconds: float = setting(default=300.0, gt=0, description="how far back the baselines look")
    baseline_step_seconds: float = setting(default=15.0, gt=0, description="the resolution of the baseline queries")
    rate_window: str = setting(
        check=_promql_duration, default="1m", description="the window of rate() in the queries (a PromQL duration)"
    )
    kube_baselines: bool = setting(
        default=True,
        description="Kubernetes targets: also capture per-pod and per-node usage (cAdvisor / node-exporter metrics)",
    )
    end_to_end: EndToEndConfig = setting(
        default_factory=EndToEndConfig, description="the end-to-end metric check (Pushgateway to Prometheus)"
    )
    load_test: LoadTestConfig = setting(default_factory=LoadTestConfig, description="the load-test sweep")


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
