"""Lifecycle faults of the stack with real processes: crashes, stale state, races, a stuck server."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from bmad.core.errors import AdapterError, UsageError
from bmad.stack import StackPorts, StackSettings, load, up
from bmad.stack._proc import is_running, process_state
from bmad.stack.components import prometheus_config
from bmad.stack.stack import StackInfo
from tests.helpers import free_port, http_get, port_open, wait_for

pytestmark = pytest.mark.stack


@pytest.fixture
def small(tmp_path: Path) -> Any:
    """A Pushgateway-only stack of the test's own."""
    info = up(tmp_path / "small", ports=StackPorts(pushgateway=free_port()), components=["pushgateway"])
    yield info
    info.down()


def _pid(info: StackInfo, name: str) -> int:
    pid = next(item.pid for item in info.status() if item.name == name)
    assert pid is not None
    return pid


def test_a_killed_component_shows_as_exited_and_up_restarts_it(small: StackInfo) -> None:
    pid = _pid(small, "pushgateway")
    os.killpg(pid, signal.SIGKILL)
    wait_for(lambda: not is_running(pid), timeout=5, what="pushgateway gone")
    assert [item.state for item in small.status()] == ["exited"]
    again = up(small.root)
    new_pid = _pid(again, "pushgateway")
    assert new_pid != pid and http_get(f"{small.pushgateway_url}/-/ready")[0] == 200


def test_a_stuck_component_shows_as_unhealthy(small: StackInfo) -> None:
    pid = _pid(small, "pushgateway")
    os.kill(pid, signal.SIGSTOP)
    try:
        wait_for(lambda: process_state(pid) == "T", timeout=5, what="pushgateway stopped")
        assert [item.state for item in small.status()] == ["unhealthy"]
    finally:
        os.kill(pid, signal.SIGCONT)
    wait_for(lambda: [item.state for item in small.status()] == ["running"], timeout=10, what="running again")


def test_a_recycled_pid_is_not_taken_for_the_service(small: StackInfo) -> None:
    """A recorded pid that now runs another program is neither reported running nor stopped."""
    state_file = small.root / "state.json"
    state = json.loads(state_file.read_text())
    real_pid = state["components"]["pushgateway"]["pid"]
    sleeper = subprocess.Popen(["sleep", "30"], start_new_session=True)
    try:
        state["components"]["pushgateway"]["pid"] = sleeper.pid
        state_file.write_text(json.dumps(state))
        assert [item.state for item in small.status()] == ["exited"]
        small.stop("pushgateway")
        assert sleeper.poll() is None, "a process that is not ours was signalled"
    finally:
        sleeper.kill()
        sleeper.wait()
        os.killpg(real_pid, signal.SIGTERM)
        wait_for(lambda: not is_running(real_pid), timeout=5, what="pushgateway gone")


def test_two_concurrent_ups_start_each_component_once(tmp_path: Path) -> None:
    root = tmp_path / "race"
    port = free_port()
    code = (
        "import sys; from bmad.stack import up, StackPorts; "
        "up(sys.argv[1], ports=StackPorts(pushgateway=int(sys.argv[2])), components=['pushgateway'])"
    )
    procs = [
        subprocess.Popen([sys.executable, "-c", code, str(root), str(port)], stderr=subprocess.PIPE) for _ in range(3)
    ]
    errors = [p.communicate(timeout=60)[1].decode() for p in procs]
    info = load(root)
    try:
        assert [p.returncode for p in procs] == [0, 0, 0], errors
        pid = _pid(info, "pushgateway")
        flag = f"--web.listen-address=127.0.0.1:{port}"
        running = [
            d.name
            for d in Path("/proc").iterdir()
            if d.name.isdigit() and is_running(int(d.name)) and flag.encode() in _cmdline(d)
        ]
        assert running == [str(pid)]
    finally:
        info.down()


def _cmdline(proc_dir: Path) -> bytes:
    try:
        return (proc_dir / "cmdline").read_bytes()
    except OSError:
        return b""


def test_a_component_that_dies_at_start_fails_fast_with_its_log(tmp_path: Path) -> None:
    bad_rules = tmp_path / "bad.yml"
    bad_rules.write_text("groups: [{name: x, rules: [{alert: A, expr: 'sum('}]}]\n")
    ports = StackPorts(prometheus=free_port())
    with pytest.raises(AdapterError) as err:
        up(tmp_path / "s", ports=ports, components=["prometheus"], rule_files=[bad_rules], ready_timeout=20)
    assert "exited before it was ready" in str(err.value)
    assert "bad.yml" in str(err.value)  # the log tail names the broken file
    assert not port_open(ports.prometheus)


def test_unknown_component_is_refused(stack: StackInfo) -> None:
    with pytest.raises(UsageError, match="unknown stack component"):
        stack.stop("grafana")


def test_alerts_reach_a_webhook_through_alertmanager(stack: StackInfo, tmp_path: Path) -> None:
    received: list[dict[str, Any]] = []

    class Sink(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Sink)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    rules = tmp_path / "watchdog.yml"
    rules.write_text(
        "groups: [{name: w, rules: [{alert: StackWatchdog, expr: vector(1), labels: {severity: none}}]}]\n"
    )
    try:
        stack.set_alert_webhook(f"http://127.0.0.1:{server.server_address[1]}/hook")
        stack.set_rule_files([rules], wait_for_alertmanager=True)
        wait_for(lambda: received, timeout=10, interval=0.1, what="webhook notified")
        alert = received[0]["alerts"][0]
        assert alert["labels"]["alertname"] == "StackWatchdog" and alert["status"] == "firing"
    finally:
        stack.set_rule_files([])
        stack.set_alert_webhook(None)
        server.shutdown()
        server.server_close()


def test_prometheus_config_follows_the_components(tmp_path: Path) -> None:
    settings = StackSettings(
        root=tmp_path,
        ports=StackPorts(pushgateway=1111, alertmanager=2222),
        scrape_targets={"hello": ["127.0.0.1:18080"]},
        rule_files=[str(tmp_path / "r.yml")],
    )
    config = prometheus_config(settings)
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    assert jobs["pushgateway"]["honor_labels"] is True
    assert jobs["pushgateway"]["static_configs"] == [{"targets": ["127.0.0.1:1111"]}]
    assert jobs["hello"]["static_configs"] == [{"targets": ["127.0.0.1:18080"]}]
    assert config["alerting"]["alertmanagers"][0]["static_configs"] == [{"targets": ["127.0.0.1:2222"]}]
    assert config["rule_files"] == [str(tmp_path / "r.yml")]
    alone = prometheus_config(StackSettings(root=tmp_path, components=("prometheus",)))
    assert jobs["file_sd"]["file_sd_configs"] == [
        {"files": [str(tmp_path / "file_sd" / "*.json")], "refresh_interval": "5s"}
    ]
    assert "alerting" not in alone and [j["job_name"] for j in alone["scrape_configs"]] == ["file_sd"]
