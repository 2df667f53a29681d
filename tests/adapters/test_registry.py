"""The registry adapter against the real registry of the local stack; credentials from the usual places."""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from bmad.adapters.containers import DockerEngineImages, EngineConnection
from bmad.adapters.registry import RegistryClient, auth_from_docker_config, is_loopback, resolve_auth
from bmad.config.build import PushConfig
from bmad.config.validate import validate
from bmad.core.errors import AdapterError, ConfigError, Unreachable
from bmad.core.redact import redact
from tests.helpers import free_port


def _docker_config(tmp_path: Path, registry: str, user: str, password: str) -> Path:
    folder = tmp_path / "docker"
    folder.mkdir()
    auth = base64.b64encode(f"{user}:{password}".encode()).decode()
    (folder / "config.json").write_text(json.dumps({"auths": {registry: {"auth": auth}}}))
    return folder


def test_docker_config_credentials(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCKER_CONFIG", str(_docker_config(tmp_path, "reg.example:5000", "ci", "pa55-from-config")))
    auth = auth_from_docker_config("reg.example:5000")
    assert auth is not None and (auth.username, auth.password) == ("ci", "pa55-from-config")
    assert "pa55-from-config" not in repr(auth)
    assert "pa55-from-config" not in redact("login pa55-from-config")
    assert auth_from_docker_config("other.example") is None


@pytest.mark.parametrize("auth", [5, ["Y2k6cHc="], "not base64!", "//79"])  # "//79": base64 of bytes, not UTF-8
def test_a_docker_config_auth_that_is_not_base64_text_is_a_config_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, auth: object
) -> None:
    folder = tmp_path / "docker"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps({"auths": {"reg.example": {"auth": auth}}}))
    monkeypatch.setenv("DOCKER_CONFIG", str(folder))
    with pytest.raises(ConfigError) as refused:
        auth_from_docker_config("reg.example")
    assert "auths.reg.example.auth is not base64 'user:password'" in str(refused.value)
    assert refused.value.file == str(folder / "config.json")


def test_auth_precedence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCKER_CONFIG", str(_docker_config(tmp_path, "reg.example", "from-config", "pw-config")))
    monkeypatch.delenv("REGISTRY_USERNAME", raising=False)
    monkeypatch.delenv("REGISTRY_PASSWORD", raising=False)
    assert resolve_auth("reg.example", PushConfig()).username == "from-config"  # type: ignore[union-attr]
    monkeypatch.setenv("REGISTRY_USERNAME", "from-env")
    monkeypatch.setenv("REGISTRY_PASSWORD", "pw-env-0123")
    assert resolve_auth("reg.example", PushConfig()).username == "from-env"  # type: ignore[union-attr]
    monkeypatch.setenv("MY_USER", "from-ref")
    monkeypatch.setenv("MY_PASS", "pw-ref-0123")
    config = validate(PushConfig, {"username": {"env": "MY_USER"}, "password": {"env": "MY_PASS"}})
    auth = resolve_auth("reg.example", config)
    assert auth is not None and auth.username == "from-ref" and "env:MY_PASS" in auth.source
    with pytest.raises(ConfigError, match="both"):
        resolve_auth("reg.example", validate(PushConfig, {"username": {"env": "MY_USER"}}))


def test_loopback_detection() -> None:
    assert is_loopback("127.0.0.1:5000") and is_loopback("localhost") and not is_loopback("registry.example:443")


@pytest.mark.engine
def test_pushed_tags_read_back_with_one_digest(engine: Any, stack: Any, tmp_path: Path) -> None:
    context = tmp_path / "ctx"
    context.mkdir()
    (context / "hello.txt").write_text(f"{tmp_path}\n")  # unique content: a new manifest per run
    (context / "Containerfile").write_text("FROM scratch\nCOPY hello.txt /hello.txt\n")
    repository = f"{stack.registry}/bmad-test/registry"
    image, _ = engine.images.build(path=str(context), dockerfile="Containerfile", tag=f"{repository}:one")
    image.tag(repository, "two")
    images = DockerEngineImages(EngineConnection(stack.docker_host))
    lines: list[str] = []
    pushed = images.push(repository, "one", on_line=lines.append)
    images.push(repository, "two", on_line=lines.append)
    client = RegistryClient(stack.registry)
    client.ping()
    manifest = client.manifest("bmad-test/registry", "one")
    one = manifest.digest
    assert one == client.manifest_digest("bmad-test/registry", "two")
    assert one.startswith("sha256:") and len(one) == 71
    assert manifest.media_type == "application/vnd.docker.distribution.manifest.v2+json"
    assert manifest.config_digest == image.id and manifest.layers == 1
    if pushed.digest is not None:  # Podman reports it in the stream; Docker in an aux item
        assert pushed.digest == one
    with pytest.raises(AdapterError) as missing:
        client.manifest_digest("bmad-test/registry", "absent")
    assert missing.value.status == 404 and not missing.value.temporary
    engine.images.remove(image.id, force=True)


def test_registry_not_listening_is_unreachable() -> None:
    client = RegistryClient(f"127.0.0.1:{free_port()}")
    with pytest.raises(Unreachable) as info:
        client.ping()
    assert info.value.temporary


class _Failing(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(503)
        self.end_headers()
        self.wfile.write(b"registry storage unavailable")

    def log_message(self, *args: Any) -> None:
        return None


@pytest.fixture
def failing_registry() -> Iterator[str]:
    """Fault injection: a server that answers 503 like a registry whose storage is down."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Failing)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_registry_5xx_is_a_temporary_error(failing_registry: str) -> None:
    client = RegistryClient(failing_registry)
    with pytest.raises(AdapterError) as info:
        client.manifest_digest("app", "latest")
    assert info.value.status == 503 and info.value.temporary
