"""The local target's Compose mode refuses a compose file it cannot run before touching the engine."""

from __future__ import annotations

from pathlib import Path

import pytest

from bmad.adapters.compose_file import HealthBudget, duration_seconds, load_compose_file
from bmad.adapters.targets.local.compose_health import HealthWatch, ServiceHealth
from bmad.adapters.targets.local.compose_mode import ComposeTarget
from bmad.adapters.targets.probe import RequestsProbe
from bmad.config.deploy import LocalComposeConfig, LocalTargetConfig
from bmad.core.errors import ConfigError
from bmad.ports.progress import NullProgress
from bmad.ports.target import DeploySpec

SPEC = DeploySpec(service="api", environment="dev", version="a" * 40, image="127.0.0.1:5000/api", digest="")


def target(tmp_path: Path, text: str, **settings: object) -> ComposeTarget:
    path = tmp_path / "compose.yml"
    path.write_text(text)
    # An engine that does not exist: the check must come before any engine call.
    config = LocalTargetConfig(docker_host="unix:///nonexistent.sock", compose=LocalComposeConfig(**settings))
    return ComposeTarget(config, compose_file=path, probe=RequestsProbe())


def test_unsupported_key_is_one_error_at_file_and_line(tmp_path: Path) -> None:
    """Guards the Compose mode's first step: a key podman-compose ignores fails the apply at file:line."""
    text = "services:\n  api:\n    image: x\n    develop:\n      watch: []\n"
    with pytest.raises(ConfigError) as caught:
        target(tmp_path, text).apply(SPEC, progress=NullProgress())
    assert caught.value.file == str(tmp_path / "compose.yml")
    assert caught.value.line == 4
    assert "'develop' is not supported" in caught.value.reason


def test_the_built_service_must_be_an_active_service(tmp_path: Path) -> None:
    """Guards the image replacement: a service name the file lacks (or a profile turns off) is refused."""
    text = "services:\n  api:\n    image: x\n  gpu:\n    image: y\n    profiles: [gpu]\n"
    with pytest.raises(ConfigError) as caught:
        target(tmp_path, text, service="gpu").apply(SPEC, progress=NullProgress())
    assert "no active service 'gpu'" in caught.value.reason
    assert "api" in (caught.value.hint or "")


HEALTHCHECKED = """\
services:
  api:
    image: x
    healthcheck: {test: ["CMD", "true"], interval: 2s, retries: 3, start_period: 1m30s}
  plain:
    image: y
    healthcheck: {test: ["CMD", "true"]}
"""


def test_health_budget_reads_compose_durations_with_engine_defaults(tmp_path: Path) -> None:
    """Guards the unhealthy verdict's budget: Compose durations (1m30s) and the engines' defaults
    (interval 30s, retries 3) when the file leaves them out."""
    path = tmp_path / "compose.yml"
    path.write_text(HEALTHCHECKED)
    services = {s.name: s for s in load_compose_file(path).services}
    assert services["api"].health_budget == HealthBudget(interval=2.0, retries=3, start_period=90.0)
    assert services["api"].health_budget.seconds == 96.0
    assert services["plain"].health_budget.seconds == 90.0
    assert duration_seconds("500ms", 1.0) == 0.5


def failing(container: str = "p-g1_api_1", status: str = "running", engine: str = "") -> ServiceHealth:
    return ServiceHealth("api", container, status, None, 0, False, False, "healthcheck exited 1: no", (), engine)


def test_health_watch_calls_a_service_unhealthy_after_its_retries_at_its_interval(tmp_path: Path) -> None:
    """Guards the early failure of a compose release: failures count once per interval after
    start_period; ``retries`` in a row make the service unhealthy (before: only the timeout ended it)."""
    path = tmp_path / "compose.yml"
    path.write_text(HEALTHCHECKED.replace("1m30s", "10s"))
    watch = HealthWatch({s.name: s for s in load_compose_file(path).services})
    assert not watch.unhealthy(failing(), 100.0)  # first seen running: start_period begins
    assert not watch.unhealthy(failing(), 109.0)  # still in start_period: not counted
    assert not watch.unhealthy(failing(), 110.0)  # 1
    assert not watch.unhealthy(failing(), 111.0)  # within the interval: not counted again
    assert not watch.unhealthy(failing(), 112.0)  # 2
    assert watch.unhealthy(failing(), 114.0)  # 3 = retries
    other = HealthWatch({})
    assert other.unhealthy(failing("q", engine="unhealthy"), 0.0)  # the engine's own verdict (Docker)
