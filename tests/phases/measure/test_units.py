"""Pure parts of MEASURE: config validation, target allow-list, SLO, level plans, baseline summaries."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest

from bmad.config import load_config_text
from bmad.config.measure import LoadTestConfig, SloConfig, default_baselines, kube_baselines, render_query
from bmad.config.validate import validate
from bmad.core.errors import ConfigError, UsageError
from bmad.phases.measure.baseline_capture import current_value, percentile, window_points
from bmad.phases.measure.sweep import check_allowed, plan_for, request_url, slo_breach
from bmad.ports.artifacts import LoadTestLevel
from bmad.ports.loadtest import LevelResult
from bmad.ports.metrics import Sample, Series


def level(**changes: object) -> LevelResult:
    values: dict[str, object] = {
        "concurrency": 10, "requests": 1000, "succeeded": 1000, "failed": 0, "success_rate": 1.0,
        "error_rate": 0.0, "rps": 500.0, "duration_seconds": 2.0, "p50_ms": 5.0, "p95_ms": 20.0,
        "p99_ms": 40.0, "max_ms": 90.0, "mean_ms": 7.0, "min_ms": 1.0,
    }  # fmt: skip
    values.update(changes)
    return LevelResult(**values)  # type: ignore[arg-type]


# ---- allow-list -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("url", "allowed", "ok"),
    [
        ("http://127.0.0.1:8080/", [], True),  # the service's own URL
        ("http://127.0.0.1:8080/api?x=1", [], True),
        ("http://127.0.0.1:9999/", [], False),  # same host, other port
        ("http://localhost:8080/", [], False),
        ("http://10.0.0.5/", ["10.0.0.5"], True),  # host: any port
        ("http://10.0.0.5:81/", ["10.0.0.5:80"], False),
        ("http://10.0.0.5/", ["10.0.0.5:80"], True),
        ("http://EXAMPLE.test:8000/", ["example.test:8000"], True),
        ("http://[::1]:8080/", ["[::1]:8080"], True),
        ("ftp://127.0.0.1:8080/", [], False),
    ],
)
def test_only_the_service_or_listed_hosts(url: str, allowed: list[str], ok: bool) -> None:
    refused = check_allowed(url, service_urls=["http://127.0.0.1:8080"], allowed_hosts=allowed)
    assert (refused is None) is ok, refused


def test_refusal_names_the_host_and_the_way_to_allow_it() -> None:
    refused = check_allowed("http://203.0.113.9/", service_urls=["http://127.0.0.1:8080"], allowed_hosts=[])
    assert refused is not None
    assert "203.0.113.9:80" in refused and "127.0.0.1:8080" in refused and "allowed_hosts" in refused
    assert check_allowed("http://x/", service_urls=[], allowed_hosts=[]) is not None
    replicas = ["http://127.0.0.1:18080", "http://127.0.0.1:18081"]
    assert check_allowed("http://127.0.0.1:18081/", service_urls=replicas, allowed_hosts=[]) is None


def test_request_url_joins_paths_to_the_service_url() -> None:
    assert request_url("http://127.0.0.1:8080", "/api/x?y=1") == "http://127.0.0.1:8080/api/x?y=1"
    assert request_url("http://127.0.0.1:8080/base/", "x") == "http://127.0.0.1:8080/base/x"
    assert request_url(None, "http://h:1/") == "http://h:1/"
    with pytest.raises(UsageError):
        request_url(None, "/")


# ---- SLO and plans --------------------------------------------------------------------------------
def test_slo_breach_texts() -> None:
    config = LoadTestConfig(slo=SloConfig(max_error_rate=0.01, max_p95_ms=100))
    assert slo_breach(level(), config) == ""
    assert "error rate 5.00% > 1.00%" in slo_breach(level(error_rate=0.05), config)
    assert "p95 150.0 ms > 100 ms" in slo_breach(level(p95_ms=150.0), config)
    assert "no request completed" in slo_breach(level(requests=0), config)
    assert slo_breach(level(p95_ms=1e6), LoadTestConfig(slo=SloConfig(max_p95_ms=None))) == ""


def test_every_level_is_bounded() -> None:
    with pytest.raises(ValueError, match="a level must end"):
        validate(LoadTestConfig, {"duration_seconds": None, "requests_per_level": None})
    plan = plan_for(50, LoadTestConfig(duration_seconds=1000, max_seconds_per_level=60))
    assert plan.duration_seconds == 60 and plan.hard_limit_seconds <= 60
    counted = plan_for(5, LoadTestConfig(duration_seconds=None, requests_per_level=100))
    assert counted.max_requests == 100 and counted.duration_seconds is None and counted.hard_limit_seconds > 0
    with pytest.raises(ValueError, match="max_concurrency"):
        validate(LoadTestConfig, {"levels": [500, 5000], "max_concurrency": 1000})


def test_level_artifact_has_seconds_for_reports_and_ms() -> None:
    row = LoadTestLevel(level(p95_ms=20.0)).to_dict()
    assert row["p95"] == pytest.approx(0.02) and row["p95_ms"] == 20.0 and row["concurrency"] == 10


# ---- baseline summaries ---------------------------------------------------------------------------
def test_current_value_and_window_summary() -> None:
    assert current_value([]) == (None, 0)
    assert current_value([Sample({}, math.nan, 0.0)]) == (None, 1)  # NaN is no data, not zero
    assert current_value([Sample({"a": "1"}, 2.0, 0.0), Sample({"a": "2"}, 3.0, 0.0)]) == (5.0, 2)
    series = [
        Series({"i": "a"}, [(1.0, 1.0), (2.0, 2.0), (3.0, math.nan)]),
        Series({"i": "b"}, [(1.0, 10.0), (2.0, 20.0), (3.0, math.inf)]),
    ]
    assert window_points(series) == [11.0, 22.0]
    assert percentile([], 95) is None
    assert percentile([float(v) for v in range(1, 101)], 95) == 95.0


def test_default_queries_render_with_the_job() -> None:
    rendered = [render_query(q.query, {"job": "hello", "rate_window": "1m"}) for q in default_baselines()]
    assert all('job="hello"' in q and "{job}" not in q and "{rate_window}" not in q for q in rendered)
    assert {q.name for q in default_baselines()} == {"cpu", "memory", "request_rate", "error_rate", "p95_latency"}
    kube = [render_query(q.query, {"namespace": "prod", "rate_window": "5m"}) for q in kube_baselines()]
    assert any('namespace="prod"' in q for q in kube) and all(q.no_data == "skip" for q in kube_baselines())


# ---- config ---------------------------------------------------------------------------------------
BASE = "service: {name: hello}\nenvironments:\n  staging: {}\n"


def test_config_defaults_and_errors_name_the_line() -> None:
    config = load_config_text(BASE)
    assert config.measure.load_test.levels == [500, 1000, 2000]
    assert config.environments["staging"].monitoring.grafana is None
    with pytest.raises(ConfigError) as bad:
        load_config_text(BASE + "measure:\n  load_test:\n    levels: [10, -1]\n")
    assert bad.value.line == 6 and "positive" in bad.value.reason
    with pytest.raises(ConfigError, match="no_data"):
        load_config_text(BASE + "measure:\n  baselines:\n    - {name: x, query: up, no_data: ignore}\n")
    with pytest.raises(ConfigError, match="secret values are never written"):
        load_config_text(
            "service: {name: hello}\nenvironments:\n  s:\n    monitoring:\n"
            "      grafana: {url: 'http://g', token: abc}\n"
        )
    with pytest.raises(ConfigError, match="http"):
        load_config_text("service: {name: hello}\nenvironments:\n  s:\n    monitoring: {prometheus_url: 'localhost'}\n")


def test_the_sweep_targets_every_local_replica(tmp_path: Path) -> None:
    from bmad.phases.measure.service import configured_service_urls
    from tests.phases.measure.conftest import make_ctx

    text = BASE.replace("staging: {}", "staging: {target: {kind: local, local: {replicas: 3, host_port_base: 28100}}}")
    urls, source = configured_service_urls(make_ctx(tmp_path, text))
    assert urls == ["http://127.0.0.1:28100", "http://127.0.0.1:28101", "http://127.0.0.1:28102"]
    assert "replicas" in source
    text = BASE.replace("staging: {}", "staging: {monitoring: {service_url: 'http://10.1.2.3:80'}}")
    assert configured_service_urls(make_ctx(tmp_path, text))[0] == ["http://10.1.2.3:80"]
    text = BASE.replace("staging: {}", "staging: {target: {kind: kubernetes}}")
    urls, source = configured_service_urls(make_ctx(tmp_path, text))
    assert urls == [] and "service_url is not set" in source


def test_the_sweep_follows_the_slot_the_local_target_serves_on(tmp_path: Path) -> None:
    """The active release may run on port slot 1: the target's serving endpoints win over slot 0."""
    from bmad.core.errors import AdapterError
    from bmad.phases.measure import MeasurePorts
    from bmad.phases.measure.service import service_urls
    from tests.phases.measure.conftest import make_ctx

    text = BASE.replace("staging: {}", "staging: {target: {kind: local, local: {replicas: 2, host_port_base: 28100}}}")
    ctx = make_ctx(tmp_path, text)
    slot1 = ["http://127.0.0.1:28103", "http://127.0.0.1:28102"]

    def ports(serving: Any) -> MeasurePorts:
        return MeasurePorts(prometheus=None, alertmanager=None, serving_endpoints=serving)  # type: ignore[arg-type]

    urls, source = service_urls(ctx, ports(lambda: list(slot1)))
    assert urls == sorted(slot1) and "serving" in source
    # Nothing serves: the configured slot-0 URLs (the sweep is skipped or fails as before).
    urls, _ = service_urls(ctx, ports(list))
    assert urls == ["http://127.0.0.1:28100", "http://127.0.0.1:28101"]

    def unreachable() -> list[str]:
        raise AdapterError("container engine", "listing containers", "connection refused")

    urls, source = service_urls(ctx, ports(unreachable))
    assert urls[0] == "http://127.0.0.1:28100" and "connection refused" in source
    # An explicit service_url wins over the target.
    text = BASE.replace(
        "staging: {}", "staging: {monitoring: {service_url: 'http://10.1.2.3:80'}, target: {kind: local}}"
    )
    assert service_urls(make_ctx(tmp_path, text), ports(lambda: list(slot1)))[0] == ["http://10.1.2.3:80"]
