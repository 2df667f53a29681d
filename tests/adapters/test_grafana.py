"""GrafanaClient against the Grafana stand-in (tests/stand_ins/grafana.py), the bundled dashboards,
and ``bmad dashboards install``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bmad.adapters.grafana import GrafanaClient, bundled_dashboards_dir, install_dashboards, load_dashboard_files
from bmad.config.measure import DEFAULT_DASHBOARDS
from bmad.core.errors import AdapterError, ConfigError, Unreachable
from tests.helpers import free_port, serving
from tests.reports.dashboard_queries import expand
from tests.stand_ins.grafana import GrafanaStandIn

TOKEN = "glsa_test_token_0123456789"


@pytest.fixture
def grafana() -> Iterator[GrafanaStandIn]:
    with GrafanaStandIn(
        token=TOKEN,
        datasources=[
            {"uid": "dead", "name": "Old Prometheus", "type": "prometheus", "url": f"http://127.0.0.1:{free_port()}"}
        ],
    ) as stand_in:
        yield stand_in


def test_bundled_dashboards_are_the_guides_four() -> None:
    models = load_dashboard_files(bundled_dashboards_dir())
    titles = {model["title"] for _, model in models}
    assert set(DEFAULT_DASHBOARDS) <= titles
    uids = [model["uid"] for _, model in models]
    assert len(uids) == len(set(uids))
    for _, model in models:
        assert model["panels"], model["title"]
        for panel in model["panels"]:
            assert all(t["expr"] for t in panel["targets"])


@pytest.mark.stack
def test_every_bundled_panel_query_is_valid_promql(stack: Any) -> None:
    for _, model in load_dashboard_files(bundled_dashboards_dir()):
        for panel in model["panels"]:
            for target in panel["targets"]:
                expr = expand(target["expr"], model, "hello")  # every dashboard variable set to its default
                query = urllib.parse.urlencode({"query": expr})
                with urllib.request.urlopen(f"{stack.prometheus_url}/api/v1/query?{query}", timeout=5) as answer:
                    assert json.loads(answer.read())["status"] == "success", (model["title"], expr)


def test_install_then_search_and_read_back(grafana: GrafanaStandIn) -> None:
    client = GrafanaClient(grafana.url, token=TOKEN)
    assert client.health()["database"] == "ok"
    assert client.search_dashboards() == []
    installed = install_dashboards(client)
    assert {ref.title for _, ref in installed} >= set(DEFAULT_DASHBOARDS)
    found = client.search_dashboards()
    assert {ref.uid for ref in found} == {ref.uid for _, ref in installed}
    assert [r.title for r in client.search_dashboards("security")] == ["Security Metrics"]
    model = client.dashboard("bmad-api-performance")
    assert model is not None and model["title"] == "API Performance"
    assert client.dashboard("no-such-uid") is None
    # Installing again overwrites by uid (no duplicates, version bumped).
    install_dashboards(client)
    assert len(client.search_dashboards()) == len(installed)
    assert grafana.dashboards["bmad-api-performance"]["version"] == 2


def test_token_is_required_and_never_in_errors(grafana: GrafanaStandIn) -> None:
    with pytest.raises(AdapterError) as denied:
        GrafanaClient(grafana.url, token="wrong-token-value").search_dashboards()
    assert denied.value.status == 401
    assert "wrong-token-value" not in str(denied.value)
    # health needs no token (as in Grafana)
    assert GrafanaClient(grafana.url).health()["database"] == "ok"


@pytest.mark.stack
def test_datasource_health_really_queries_prometheus(grafana: GrafanaStandIn, stack: Any) -> None:
    grafana.datasources.append(
        {"uid": "prom", "name": "Prometheus", "type": "prometheus", "url": stack.prometheus_url, "isDefault": True}
    )
    client = GrafanaClient(grafana.url, token=TOKEN)
    sources = {s.uid: s for s in client.datasources()}
    assert sources["prom"].is_default and sources["prom"].type == "prometheus"
    good = client.datasource_health("prom")
    assert good.ok and "Prometheus" in good.message
    bad = client.datasource_health("dead")
    assert not bad.ok and bad.message


def test_unreachable_grafana() -> None:
    with pytest.raises(Unreachable):
        GrafanaClient(f"http://127.0.0.1:{free_port()}", timeout=2).health()


def test_broken_dashboard_file_is_a_config_error(tmp_path: Path) -> None:
    (tmp_path / "x.json").write_text('{"title": "no uid"}', encoding="utf-8")
    with pytest.raises(ConfigError, match="uid"):
        load_dashboard_files(tmp_path)
    (tmp_path / "x.json").write_text("{nope", encoding="utf-8")
    with pytest.raises(ConfigError, match="JSON"):
        load_dashboard_files(tmp_path)


def _bmad(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bmad", *args],
        env={**os.environ, **env},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_cli_installs_every_json_through_the_api(grafana: GrafanaStandIn, tmp_path: Path) -> None:
    (tmp_path / "bmad.yaml").write_text(
        "service: {name: hello}\n"
        "environments:\n"
        "  staging:\n"
        "    monitoring:\n"
        f"      grafana: {{url: '{grafana.url}', token: {{env: GF_TEST_TOKEN}}}}\n",
        encoding="utf-8",
    )
    done = _bmad("dashboards", "install", "--json", env={"GF_TEST_TOKEN": TOKEN}, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    shipped = {model["uid"] for _, model in load_dashboard_files(bundled_dashboards_dir())}
    assert {item["uid"] for item in report["installed"]} == shipped == set(grafana.dashboards)
    assert TOKEN not in done.stdout + done.stderr

    denied = _bmad("dashboards", "install", env={"GF_TEST_TOKEN": "not-the-token"}, cwd=tmp_path)
    assert denied.returncode == 3 and "401" in denied.stderr and "not-the-token" not in denied.stderr

    unset = _bmad("dashboards", "install", env={}, cwd=tmp_path)
    assert unset.returncode == 2 and "GF_TEST_TOKEN" in unset.stderr


def test_a_page_that_is_not_json_is_an_adapter_error() -> None:
    """A proxy's HTML page where a dashboard or an install answer was expected: before, requests'
    JSONDecodeError left the client."""
    with serving(b"<html>maintenance</html>", "text/html") as url:
        grafana = GrafanaClient(url, token=TOKEN)
        with pytest.raises(AdapterError) as reading:
            grafana.dashboard("bmad-release")
        with pytest.raises(AdapterError) as installing:
            grafana.install_dashboard({"title": "t", "uid": "u", "panels": []})
    assert str(reading.value) == "grafana: reading dashboard bmad-release failed (status 200): answer is not JSON"
    assert str(installing.value) == "grafana: installing a dashboard failed (status 200): answer is not JSON"
    assert TOKEN not in str(reading.value) + str(installing.value)


@pytest.mark.timeout(60)
def test_a_dashboard_file_that_is_a_device_is_refused_at_once(tmp_path: Path) -> None:
    (tmp_path / "big.json").symlink_to("/dev/zero")  # before: read without end
    with pytest.raises(ConfigError, match="dashboard file cannot be read as JSON: it is a device or socket"):
        load_dashboard_files(tmp_path)
