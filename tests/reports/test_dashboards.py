"""The bundled Grafana dashboards: variables instead of the example's names, a metric-name mapping, scoping."""

from __future__ import annotations

import json
import re
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from tests.reports.dashboard_queries import expand

DASHBOARDS = Path(__file__).resolve().parents[2] / "src" / "bmad" / "dashboards"
DOCS = Path(__file__).resolve().parents[2] / "docs" / "dashboards.md"


def _models() -> list[tuple[str, dict[str, Any]]]:
    return [(path.name, json.loads(path.read_text(encoding="utf-8"))) for path in sorted(DASHBOARDS.glob("*.json"))]


def _queries(model: dict[str, Any]) -> list[str]:
    return [target["expr"] for panel in model["panels"] for target in panel.get("targets", [])]


@pytest.mark.parametrize(("name", "model"), _models(), ids=[name for name, _ in _models()])
def test_every_query_uses_the_variables(name: str, model: dict[str, Any]) -> None:
    """Guards against queries hard-coding the example (hello_build_info) or ignoring the environment."""
    variables = {v["name"] for v in model["templating"]["list"]}
    scope, environment = ("service", "env") if name == "bmad.json" else ("job", "environment")
    assert {scope, environment} <= variables, name
    for expr in _queries(model):
        assert "hello_" not in expr and "hello" not in expr, (name, expr)
        assert f"${scope}" in expr, (name, expr)
        assert f"${environment}" in expr or "ALERTS" in expr, (name, expr)
        assert "$" not in expand(expr, model), (name, expr)  # every variable it uses is declared


def test_alerts_firing_is_filtered_by_job() -> None:
    """Guards against "Alerts firing" counting every alert of the Prometheus (the Watchdog and other services)."""
    queries = [q for _, model in _models() for q in _queries(model) if "ALERTS" in q]
    assert queries
    assert all(re.search(r'ALERTS\{[^}]*job=~"\$job"', q) for q in queries), queries


def test_metric_names_map_to_opentelemetry() -> None:
    """Guards against assuming http_requests_total{code,path}: the OpenTelemetry names are one choice away."""
    checked = 0
    for name, model in _models():
        if name == "bmad.json" or name == "infrastructure-overview.json":
            continue
        for expr in _queries(model):
            otel = expand(expr, model, option=1)
            assert "http_requests_total" not in otel and re.search(r"\bcode\b", otel) is None, (name, otel)
            if "http_server_request_duration_seconds" in otel:
                checked += 1
    assert checked >= 10
    docs = DOCS.read_text(encoding="utf-8")
    for word in ("http_server_request_duration_seconds", "http_response_status_code", "http_route", "$job"):
        assert word in docs, word


@pytest.mark.stack
def test_queries_are_valid_promql_with_either_naming(stack: Any) -> None:
    """Both choices of the metric-name mapping give queries Prometheus accepts."""
    for name, model in _models():
        for option in (0, 1):
            for expr in _queries(model):
                query = urllib.parse.urlencode({"query": expand(expr, model, option=option)})
                with urllib.request.urlopen(f"{stack.prometheus_url}/api/v1/query?{query}", timeout=5) as answer:
                    assert json.loads(answer.read())["status"] == "success", (name, expr)
