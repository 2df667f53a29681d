"""The demo's bmad.yaml: the example's, adapted to a stack and a short run, and still valid."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from bmad.config.loader import load_config_text
from bmad.core.errors import UsageError
from bmad.demo.config import FAULT, demo_config, move_e2e_port
from bmad.demo.workdir import COPY_IGNORE, MARKER, free_port_block, prepare_workdir
from tests.helpers import EXAMPLES


@dataclass
class StackAddresses:
    """What demo_config reads from a StackInfo: its addresses (plain data)."""

    docker_host: str = "unix:///tmp/x/podman.sock"
    registry: str = "127.0.0.1:45000"
    prometheus_url: str = "http://127.0.0.1:45001"
    pushgateway_url: str = "http://127.0.0.1:45002"
    alertmanager_url: str = "http://127.0.0.1:45003"
    file_sd_dir: Path = Path("/tmp/x/file_sd")


@pytest.mark.parametrize("fault", [None, FAULT])
def test_demo_config_is_valid_and_points_at_the_stack(fault: str | None) -> None:
    example = yaml.safe_load((EXAMPLES / "hello" / "bmad.yaml").read_text())
    data = demo_config(example, stack=StackAddresses(), host_port_base=31000, base_image="localhost/b:1", fault=fault)  # type: ignore[arg-type]
    config = load_config_text(yaml.safe_dump(data))
    assert list(config.environments) == ["dev"]
    env = config.environment("dev")
    assert env.target.kind == "local"
    assert env.target.local.host_port_base == 31000
    assert env.target.local.docker_host == "unix:///tmp/x/podman.sock"
    assert env.target.local.prometheus_file_sd == "/tmp/x/file_sd"  # Prometheus discovers the serving slot
    assert env.monitoring.prometheus_url == "http://127.0.0.1:45001"
    assert env.monitoring.pushgateway_url == "http://127.0.0.1:45002"
    assert config.build.registry == "127.0.0.1:45000"
    assert config.build.build_args["BASE"] == "localhost/b:1"
    assert env.target.local.env.get("HELLO_FAULT") == fault
    verification = config.deploy.verification
    assert verification.enabled and verification.window_seconds <= 8
    assert {c.name for c in verification.criteria} >= {"error_rate"}
    assert config.measure.rate_window == "10s"  # MEASURE's queries, re-run by the verification
    assert max(config.measure.load_test.levels) <= 16
    assert example["environments"]["dev"]["target"]["local"]["host_port_base"] != 31000  # the input is untouched


def test_workdir_is_only_wiped_when_the_demo_made_it(tmp_path: Path) -> None:
    mine = prepare_workdir(tmp_path / "demo")
    (mine / "left-over").write_text("x")
    again = prepare_workdir(tmp_path / "demo")
    assert not (again / "left-over").exists() and (again / MARKER).exists()
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "precious").write_text("x")
    with pytest.raises(UsageError, match="was not made by 'bmad demo'"):
        prepare_workdir(foreign)
    assert (foreign / "precious").exists()


def test_free_port_block_is_bindable() -> None:
    import socket

    base = free_port_block(4)
    sockets = []
    try:
        for port in range(base, base + 4):
            sock = socket.socket()
            sockets.append(sock)
            sock.bind(("127.0.0.1", port))
    finally:
        for sock in sockets:
            sock.close()


def test_the_e2e_container_gets_a_port_of_its_own(tmp_path: Path) -> None:
    """The example's e2e environment publishes a fixed port; the demo's copy moves it (parallel runs)."""
    import shutil

    repo = tmp_path / "hello"
    shutil.copytree(EXAMPLES / "hello", repo, ignore=COPY_IGNORE)
    example = yaml.safe_load((repo / "bmad.yaml").read_text())
    [e2e] = [s for s in example["build"]["suites"] if s["name"] == "e2e"]
    fixed = e2e["env"]["HELLO_URL"].rsplit(":", 1)[1]
    assert move_e2e_port(repo, example, 31999) == 31999
    compose = (repo / e2e["environment"]["compose"]).read_text()
    assert "127.0.0.1:31999:" in compose and f"127.0.0.1:{fixed}:" not in compose
    data = demo_config(example, stack=StackAddresses(), host_port_base=31000, base_image="b", e2e_port=31999)  # type: ignore[arg-type]
    [moved] = [s for s in load_config_text(yaml.safe_dump(data)).build.suites if s.name == "e2e"]
    assert moved.env["HELLO_URL"] == "http://127.0.0.1:31999"
    assert example["build"]["suites"][1]["env"]["HELLO_URL"].endswith(fixed)  # the input is untouched
