"""The local stack against the real programs: start, idempotence, status, stop/start one, reload."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bmad.core.errors import AdapterError, UsageError
from bmad.stack import StackPorts, load, up
from bmad.stack._proc import is_running
from tests.helpers import free_port, http_get, port_open, run_hello, wait_for

pytestmark = pytest.mark.stack


def _ready_urls(stack: Any) -> dict[str, str]:
    return {
        "registry": f"http://{stack.registry}/v2/",
        "prometheus": f"{stack.prometheus_url}/-/ready",
        "pushgateway": f"{stack.pushgateway_url}/-/ready",
        "alertmanager": f"{stack.alertmanager_url}/-/ready",
    }


def test_every_component_answers_on_loopback(stack: Any, engine: Any) -> None:
    for name, url in _ready_urls(stack).items():
        assert url.startswith("http://127.0.0.1:"), name
        assert http_get(url)[0] == 200, name
    assert engine.ping() is True
    assert stack.docker_host == f"unix://{stack.root / 'podman.sock'}"
    assert engine.version()["Components"][0]["Name"] == "Podman Engine"


def test_status_reads_state_file_and_probes(stack: Any) -> None:
    items = {item.name: item for item in stack.status()}
    assert set(items) == {"podman", "registry", "pushgateway", "alertmanager", "prometheus"}
    state = json.loads((stack.root / "state.json").read_text())
    for name, item in items.items():
        assert item.state == "running", item
        assert item.pid == state["components"][name]["pid"]
        assert Path(item.log or "").parent == stack.logs_dir
        assert is_running(item.pid)


def test_up_again_starts_nothing_new(stack: Any) -> None:
    before = {item.name: item.pid for item in stack.status()}
    again = up(stack.root)  # settings come from the state file
    assert {item.name: item.pid for item in again.status()} == before
    assert load(stack.root).prometheus_url == stack.prometheus_url


def test_stop_and_start_one_component(stack: Any) -> None:
    port = int(stack.pushgateway_url.rsplit(":", 1)[1])
    old_pid = next(item.pid for item in stack.status() if item.name == "pushgateway")
    assert stack.stop("pushgateway") is True
    assert not port_open(port)
    assert not is_running(old_pid)
    by_name = {item.name: item for item in stack.status()}
    assert by_name["pushgateway"].state == "stopped"
    assert by_name["prometheus"].state == "running"
    assert stack.stop("pushgateway") is False  # already stopped: nothing to do
    item = stack.start("pushgateway")
    assert item.state == "running" and item.pid != old_pid
    assert http_get(f"{stack.pushgateway_url}/-/ready")[0] == 200


def test_scrape_targets_and_rule_files_are_applied(stack: Any, tmp_path: Path) -> None:
    rules = tmp_path / "rules.yml"
    rules.write_text(
        "groups:\n- name: t\n  rules:\n  - record: job:up:sum\n    expr: sum by (job) (up)\n"
        '  - alert: HelloDown\n    expr: up{job="hello"} == 0\n    for: 1s\n'
    )
    with run_hello(env={"HELLO_VERSION": "7.7.7"}) as (url, _proc):
        target = url.removeprefix("http://")
        try:
            stack.set_scrape_targets({"hello": [target]})
            stack.set_rule_files([rules])

            def build_info() -> list[Any]:
                query = f'{stack.prometheus_url}/api/v1/query?query=hello_build_info{{instance="{target}"}}'
                status, body = http_get(query)
                return json.loads(body)["data"]["result"] if status == 200 else []

            result = wait_for(build_info, timeout=15, interval=0.2, what="hello scraped")
            assert result[0]["metric"]["version"] == "7.7.7"
            _status, body = http_get(f"{stack.prometheus_url}/api/v1/rules")
            groups = json.loads(body)["data"]["groups"]
            assert [g["file"] for g in groups] == [str(rules.resolve())]
            assert {r["name"] for r in groups[0]["rules"]} == {"job:up:sum", "HelloDown"}
        finally:
            stack.set_scrape_targets({})
            stack.set_rule_files([])


def test_invalid_rule_file_is_refused_and_previous_config_kept(stack: Any, tmp_path: Path) -> None:
    bad = tmp_path / "bad.yml"
    bad.write_text("groups:\n- name: x\n  rules:\n  - alert: Broken\n    expr: sum(\n")
    with pytest.raises(AdapterError) as err:
        stack.set_rule_files([bad])
    assert "prometheus" in str(err.value)
    assert http_get(f"{stack.prometheus_url}/-/ready")[0] == 200
    assert str(bad.resolve()) not in (stack.root / "prometheus.yml").read_text()


def test_other_ports_on_a_running_stack_are_refused(stack: Any) -> None:
    with pytest.raises(UsageError, match="other ports"):
        up(stack.root, ports=StackPorts(registry=free_port()))


def test_a_port_in_use_is_reported(tmp_path: Path) -> None:
    with run_hello() as (url, _proc):
        busy = int(url.rsplit(":", 1)[1])
        with pytest.raises(AdapterError, match="already in use"):
            up(tmp_path / "s", ports=StackPorts(pushgateway=busy), components=["pushgateway"])


def test_separate_stack_up_down(tmp_path: Path) -> None:
    """A second, small stack (Pushgateway + Prometheus): down stops it and the ports close."""
    ports = StackPorts(prometheus=free_port(), pushgateway=free_port())
    info = up(tmp_path / "s2", ports=ports, components=["pushgateway", "prometheus"])
    try:
        pids = [item.pid for item in info.status()]
        assert all(pids) and all(is_running(pid) for pid in pids if pid)
        assert port_open(ports.prometheus)
    finally:
        stopped = info.down()
    assert set(stopped) == {"pushgateway", "prometheus"}
    assert not port_open(ports.prometheus) and not port_open(ports.pushgateway)
    assert all(not is_running(pid) for pid in pids if pid)
    assert all(item.state == "stopped" for item in info.status())
