"""The ``measure:`` section of bmad.yaml and per-environment monitoring endpoints (MEASURE phase)."""

from __future__ import annotations

from bmad.config.base import Model, SecretRef


class GrafanaConfig(Model):
    url: str
    token: SecretRef | None = None


class MonitoringConfig(Model):
    prometheus_url: str = "http://127.0.0.1:9090"
    pushgateway_url: str | None = "http://127.0.0.1:9091"
    alertmanager_url: str | None = None
    grafana: GrafanaConfig | None = None


class MeasureConfig(Model):
    scrape_job: str | None = None  # default: service name
    min_alert_rules: int = 1
