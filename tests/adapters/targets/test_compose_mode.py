"""The local target's Compose mode refuses a compose file it cannot run before touching the engine."""

from __future__ import annotations

from pathlib import Path

import pytest

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
