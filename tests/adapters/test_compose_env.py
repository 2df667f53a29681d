"""Suite environments on a real Compose implementation over the real Podman API."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from bmad.adapters.containers import EngineConnection
from bmad.adapters.suite_envs import ComposeEnvironment
from bmad.ports.tests_runner import EnvironmentSpec

BB = "/bin/busybox"

COMPOSE = f"""
services:
  init:
    build: .
    image: localhost/bmad-compose-env-test:1
    entrypoint: ["{BB}", "sh", "-c"]
    command: ["{BB} mkdir -p /data/www && echo seeded > /data/www/seed"]
    volumes: [data:/data]
  db:
    image: localhost/bmad-compose-env-test:1
    entrypoint: ["{BB}", "sh", "-c"]
    command: ["{BB} sleep 2; echo ready > /data/flag; exec {BB} httpd -f -p 8080 -h /data/www"]
    volumes: [data:/data]
    networks: [back]
    depends_on:
      init: {{condition: service_completed_successfully}}
    healthcheck:
      test: ["CMD", "{BB}", "test", "-f", "/data/flag"]
      interval: 0.5s
      retries: 30
  web:
    image: localhost/bmad-compose-env-test:1
    entrypoint: ["{BB}", "sh", "-c"]
    command:
      - "test -f /data/flag || exit 3; test \\"$$GREETING\\" = hi || exit 4; exec {BB} httpd -f -p 8080 -h /data/www"
    env_file: [app.env]
    volumes: [data:/data]
    networks: [back]
    depends_on:
      db: {{condition: service_healthy}}
  debug:
    image: localhost/bmad-compose-env-test:1
    profiles: [debug]
volumes:
  data: {{}}
networks:
  back: {{}}
"""


@pytest.fixture
def project_dir(tmp_path: Path) -> Path:
    shutil.copy(BB, tmp_path / "busybox")
    (tmp_path / "busybox").chmod(0o755)
    (tmp_path / "Containerfile").write_text(f"FROM scratch\nCOPY busybox {BB}\n")
    (tmp_path / "app.env").write_text("GREETING=hi\n")
    (tmp_path / "compose.yml").write_text(COMPOSE)
    return tmp_path


@pytest.mark.engine
def test_depends_on_conditions_volumes_networks_env_files_and_profiles(
    stack: Any, engine: Any, project_dir: Path
) -> None:
    """Guards the real Compose semantics the minimal runner lacked: a one-shot job that must exit 0,
    a service started only once its dependency is healthy (web exits 3 if started early), a shared
    named volume, a network, an env file, and a profile that stays off by default."""
    spec = EnvironmentSpec(
        project="bmad-t-deps-eeee", cwd=project_dir, compose_file=project_dir / "compose.yml", ready_timeout_seconds=90
    )
    env = ComposeEnvironment(EngineConnection(stack.docker_host), spec)
    try:
        report = env.up(on_line=lambda _: None)
        assert report.ok, (report.error, report.steps)
        ups = [step["up"] for step in report.steps if "up" in step]
        assert ups == [["init"], ["db"], ["web"]]
        names = env.leftovers()
        assert names == ["bmad-t-deps-eeee_db_1", "bmad-t-deps-eeee_init_1", "bmad-t-deps-eeee_web_1"]
        web = engine.containers.get("bmad-t-deps-eeee_web_1")
        assert web.status == "running"
        assert web.exec_run([BB, "cat", "/data/www/seed"]).output == b"seeded\n"
        assert "bmad-t-deps-eeee_back" in web.attrs["NetworkSettings"]["Networks"]
    finally:
        assert env.down().ok
    assert env.leftovers() == []
    assert engine.volumes.list(filters={"name": "bmad-t-deps-eeee_data"}) == []


@pytest.mark.engine
def test_a_failed_one_shot_job_stops_the_environment(stack: Any, project_dir: Path) -> None:
    """A dependency with ``service_completed_successfully`` that exits non-zero is reported, and
    nothing that depends on it starts."""
    compose = project_dir / "compose.yml"
    compose.write_text(COMPOSE.replace("echo seeded > /data/www/seed", "exit 7"))
    spec = EnvironmentSpec(project="bmad-t-job-ffff", cwd=project_dir, compose_file=compose, ready_timeout_seconds=60)
    env = ComposeEnvironment(EngineConnection(stack.docker_host), spec)
    try:
        report = env.up(on_line=lambda _: None)
        assert not report.ok and report.error == "service init not healthy: exited with 7"
        assert env.leftovers() == ["bmad-t-job-ffff_init_1"]
    finally:
        assert env.down().ok


def test_an_unsupported_key_is_reported_with_its_line(tmp_path: Path) -> None:
    compose = tmp_path / "compose.yml"
    compose.write_text("services:\n  web:\n    image: x\n    develop: {}\n")
    env = ComposeEnvironment(
        EngineConnection("unix:///nonexistent.sock"),
        EnvironmentSpec(project="bmad-t-bad-gggg", cwd=tmp_path, compose_file=compose),
    )
    report = env.up(on_line=lambda _: None)
    assert not report.ok and report.error is not None
    assert report.error.startswith(f"{compose}:4: service 'web': 'develop' is not supported")
