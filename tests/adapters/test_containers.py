"""Images and test environments over the real Podman API."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from bmad.adapters.containers import DockerEngineImages, EngineConnection, with_labels
from bmad.adapters.suite_envs import (
    LABEL_ENV,
    CommandsEnvironment,
    ComposeEnvironment,
)
from bmad.core.errors import AdapterError
from bmad.ports.images import BuildRequest
from bmad.ports.tests_runner import EnvironmentSpec, Wait
from tests.helpers import free_port


def test_labels_become_one_sorted_instruction() -> None:
    text = with_labels("FROM scratch\n", {"b": 'say "hi"', "a": "1"})
    assert text == 'FROM scratch\nLABEL "a"="1" "b"="say \\"hi\\""\n'


@pytest.fixture
def httpd_context(tmp_path: Path) -> Path:
    context = tmp_path / "ctx"
    context.mkdir()
    shutil.copy("/bin/busybox", context / "busybox")
    (context / "busybox").chmod(0o755)
    (context / "index.html").write_text("hello\n")
    (context / "Containerfile").write_text(
        "FROM scratch\nCOPY busybox /bin/busybox\nCOPY index.html /www/index.html\n"
        'ENTRYPOINT ["/bin/busybox", "httpd", "-f", "-p", "8080", "-h", "/www"]\n'
    )
    (context / ".dockerignore").write_text("secret.txt\n")
    (context / "secret.txt").write_text("not for the image\n")
    return context


@pytest.mark.engine
def test_build_streams_output_and_respects_dockerignore(stack: Any, engine: Any, httpd_context: Path) -> None:
    images = DockerEngineImages(EngineConnection(stack.docker_host))
    (httpd_context / "Containerfile").write_text(
        (httpd_context / "Containerfile").read_text() + "COPY secret.txt /secret.txt\n"
    )
    lines: list[str] = []
    outcome = images.build(
        BuildRequest(httpd_context, httpd_context / "Containerfile", ("localhost/bmad-test-ignore:1",)),
        on_line=lines.append,
    )
    assert not outcome.ok and outcome.error is not None and "secret.txt" in outcome.error
    assert any("STEP" in line for line in lines)


@pytest.mark.engine
def test_push_to_a_closed_port_is_temporary(stack: Any, engine: Any, httpd_context: Path) -> None:
    images = DockerEngineImages(EngineConnection(stack.docker_host))
    repository = f"127.0.0.1:{free_port()}/bmad-test/closed"
    outcome = images.build(
        BuildRequest(httpd_context, httpd_context / "Containerfile", (f"{repository}:1",), labels={"a": "b"}),
        on_line=lambda _: None,
    )
    assert outcome.ok
    info = images.inspect(f"{repository}:1")
    assert info is not None and info.labels["a"] == "b" and info.size_bytes > 1_000_000
    with pytest.raises(AdapterError) as error:
        images.push(repository, "1", on_line=lambda _: None)
    assert error.value.temporary and "connection refused" in error.value.detail
    engine.images.remove(f"{repository}:1", force=True)


@pytest.mark.engine
def test_compose_environment_up_down_and_leftover_sweep(stack: Any, engine: Any, httpd_context: Path) -> None:
    port = free_port()
    compose = httpd_context / "compose.yml"
    compose.write_text(
        json.dumps(
            {
                "services": {
                    "web": {
                        "build": ".",
                        "ports": [f"{port}:8080"],
                        "healthcheck": {"test": ["CMD", "/bin/busybox", "wget", "-q", "-O-", "http://127.0.0.1:8080/"]},
                    }
                }
            }
        )
    )
    connection = EngineConnection(stack.docker_host)

    def spec(project: str) -> EnvironmentSpec:
        return EnvironmentSpec(project=project, cwd=httpd_context, compose_file=compose, ready_timeout_seconds=60)

    first = ComposeEnvironment(connection, spec("bmad-t-web-aaaa"))
    report = first.up(on_line=lambda _: None)
    assert report.ok, report.error
    import urllib.request

    assert urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5).read() == b"hello\n"
    assert first.leftovers() == ["bmad-t-web-aaaa_web_1"]
    # One image tag per suite and service, not one per run's project (runs would pile up images).
    tags = engine.containers.get("bmad-t-web-aaaa_web_1").image.tags
    assert "localhost/bmad-env-bmad-t-web-web:latest" in tags
    assert not [t for t in tags if "bmad-t-web-aaaa" in t]
    # A run killed before its teardown: the next run of the same suite sweeps its containers first.
    second = ComposeEnvironment(connection, spec("bmad-t-web-bbbb"))
    report = second.up(on_line=lambda _: None)
    assert report.ok, report.error
    assert {"removed_leftovers": ["bmad-t-web-aaaa_web_1"]} in report.steps
    assert first.leftovers() == []
    assert second.down().ok
    assert engine.containers.list(all=True, filters={"label": f"{LABEL_ENV}=bmad-t-web-bbbb"}) == []


@pytest.mark.engine
def test_compose_unhealthy_service_reports_and_tears_down(stack: Any, engine: Any, httpd_context: Path) -> None:
    compose = httpd_context / "compose.yml"
    compose.write_text(
        json.dumps(
            {
                "services": {
                    "web": {
                        "build": {"context": "."},
                        "healthcheck": {"test": ["CMD", "/bin/busybox", "false"], "interval": "0.2s", "retries": 3},
                    }
                }
            }
        )
    )
    env = ComposeEnvironment(
        EngineConnection(stack.docker_host),
        EnvironmentSpec(project="bmad-t-sick-cccc", cwd=httpd_context, compose_file=compose, ready_timeout_seconds=20),
    )
    report = env.up(on_line=lambda _: None)
    assert not report.ok and report.error is not None and "healthcheck exited 1" in report.error
    assert env.down().ok and env.leftovers() == []


def test_commands_environment_waits_and_runs_down(tmp_path: Path) -> None:
    port = free_port()
    marker = tmp_path / "down-ran"
    server = [
        "python3",
        "-c",
        f"import http.server as h; h.HTTPServer(('127.0.0.1', {port}), h.SimpleHTTPRequestHandler)",
    ]
    env = CommandsEnvironment(
        EnvironmentSpec(
            project="bmad-t-cmd-dddd",
            cwd=tmp_path,
            up=(tuple(server),),
            down=(("touch", str(marker)),),
            waits=(Wait(tcp=f"127.0.0.1:{port}", timeout_seconds=0.5),),
            ready_timeout_seconds=5,
        )
    )
    report = env.up(on_line=lambda _: None)
    assert not report.ok and report.error is not None and "not ready" in report.error  # nothing kept listening
    assert env.down().ok and marker.exists()
