"""Every wait on another system is a span (issue 13): waits left out of spans counted as bmad's own time."""

from __future__ import annotations

import ast
import shutil
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest

from bmad.adapters._http import HttpClient
from bmad.adapters.compose_file import ComposeService
from bmad.adapters.containers import DockerEngineImages, EngineConnection
from bmad.adapters.engine_client import connect_engine
from bmad.adapters.suite_envs import wait_for, wait_service_healthy
from bmad.core.errors import Unreachable
from bmad.core.spans import SpanKind, SpanRecorder, recording
from bmad.ports.tests_runner import Wait
from tests.helpers import free_port, serve_handler

SRC = Path(__file__).resolve().parents[2] / "src" / "bmad"
BB = "/bin/busybox"
BODY_DELAY = 0.4


class _SlowBody(BaseHTTPRequestHandler):
    """Sends the headers at once and the body ``BODY_DELAY`` seconds later (a server still computing)."""

    def do_GET(self) -> None:
        body = b'{"status": "success"}'
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.flush()
        time.sleep(BODY_DELAY)
        self.wfile.write(body)

    def log_message(self, *_: object) -> None:
        pass


@pytest.fixture
def slow_body_url() -> Iterator[str]:
    with serve_handler(_SlowBody) as url:
        yield url


def test_an_http_span_lasts_until_the_answer_is_read(slow_body_url: str) -> None:
    """Guards the span of an HTTP call: it ends once the body is read, not when the headers come
    (before: the span ended at the headers and the wait for the body counted as bmad's own time)."""
    client = HttpClient("prometheus", slow_body_url)
    recorder = SpanRecorder()
    with recording(recorder):
        assert client.get_json("/api/v1/status/buildinfo") == {"status": "success"}
    client.close()
    (span,) = recorder.spans()
    assert span.kind is SpanKind.MONITORING and span.label == "GET /api/v1/status/buildinfo"
    assert span.seconds >= BODY_DELAY


def test_a_test_environment_wait_is_spanned_pauses_included() -> None:
    """Guards the waits for a suite's ports: each connection attempt and each pause between two is a
    span of the service (before: the pauses were bmad's own time)."""
    closed = f"127.0.0.1:{free_port()}"
    recorder = SpanRecorder()
    with recording(recorder):
        problem = wait_for(Wait(tcp=closed, timeout_seconds=0.35), deadline=time.monotonic() + 10)
    assert problem is not None and closed in problem
    labels = {span.label for span in recorder.spans()}
    assert labels == {f"connect {closed}", "test environment: waiting for a URL or port"}
    assert {span.kind for span in recorder.spans()} == {SpanKind.SERVICE}


@pytest.mark.engine
def test_connecting_to_the_engine_asks_only_a_ping_and_records_it(stack: Any) -> None:
    """Guards the connection to the engine: the API version comes from the ping's ``Api-Version``
    header, so the one request is that ping, recorded as a span (before: the Docker SDK asked
    ``/version`` first, outside any span, about a second on Podman, at every phase)."""
    recorder = SpanRecorder()
    with recording(recorder):
        client = connect_engine(stack.docker_host)
    try:
        assert [(span.kind, span.label) for span in recorder.spans()] == [(SpanKind.CONTAINER_ENGINE, "GET /_ping")]
        assert client.api.api_version == client.version()["ApiVersion"]
        assert client.ping()
    finally:
        client.close()


def test_an_engine_that_does_not_answer_is_unreachable_as_before(tmp_path: Path) -> None:
    """The ping that gives the API version fails as the SDK's ``/version`` did: Unreachable, with the same words."""
    socket_path = tmp_path / "no-engine.sock"
    with pytest.raises(Unreachable) as raised:
        connect_engine(f"unix://{socket_path}", timeout=5)
    assert raised.value.message == (
        f"container engine: connecting to unix://{socket_path} failed: Error while fetching server API version: "
        "('Connection aborted.', FileNotFoundError(2, 'No such file or directory'))"
    )
    assert raised.value.hint == "is the engine running?"


@pytest.fixture(scope="module")
def busybox_image(engine: Any, tmp_path_factory: pytest.TempPathFactory) -> str:
    context = tmp_path_factory.mktemp("busybox-image")
    shutil.copy(BB, context / "busybox")
    (context / "Containerfile").write_text(f"FROM scratch\nCOPY busybox {BB}\n")
    tag = "localhost/bmad-wait-spans-test:1"
    engine.images.build(path=str(context), dockerfile="Containerfile", tag=tag, rm=True)
    return tag


@pytest.mark.engine
def test_a_healthcheck_run_in_the_container_and_the_pauses_between_are_spans(
    stack: Any, engine: Any, busybox_image: str
) -> None:
    """Guards the healthcheck wait of a suite environment: each healthcheck exec is a span until its
    command ends (before: only until the engine answered the start, the run itself was own time),
    and the pause between two checks too."""
    container = engine.containers.run(
        busybox_image, [BB, "sh", "-c", f"{BB} sleep 1.5; {BB} touch /ready; exec {BB} sleep 60"], detach=True
    )
    healthcheck = {"test": ["CMD", BB, "sh", "-c", f"{BB} sleep 0.3; {BB} test -f /ready"], "interval": "0.1s"}
    service = ComposeService("db", 1, busybox_image, False, (), (), {"healthcheck": healthcheck})
    recorder = SpanRecorder()
    try:
        with recording(recorder):
            assert wait_service_healthy(container, service, time.monotonic() + 60) is None
    finally:
        container.remove(force=True)
    checks = [span for span in recorder.spans() if span.label == "healthcheck of db"]
    assert len(checks) >= 2 and all(span.seconds >= 0.3 for span in checks)
    assert all(span.kind is SpanKind.SERVICE for span in checks)
    assert "waiting for a compose service's healthcheck" in {span.label for span in recorder.spans()}


@pytest.mark.engine
def test_an_image_export_is_spanned_until_the_archive_is_written(
    stack: Any, busybox_image: str, tmp_path: Path
) -> None:
    """Guards the export of an image: reading the archive the engine streams is a span (before: the
    span ended when the engine answered, the transfer was own time)."""
    images = DockerEngineImages(EngineConnection(stack.docker_host))
    recorder = SpanRecorder()
    with recording(recorder):
        archive = images.export(busybox_image, tmp_path / "image.tar")
    assert archive.stat().st_size > 500_000  # busybox is in it
    (export,) = [span for span in recorder.spans() if span.label == f"export {busybox_image}"]
    transfer = next(span for span in recorder.spans() if span.label.endswith("/get"))
    assert export.kind is SpanKind.CONTAINER_ENGINE and export.start <= transfer.start and transfer.end <= export.end


# Where a pause is not a wait on another system, or falls outside any phase.
_UNSPANNED_PAUSES = {
    "adapters/loadgen/engine.py": "paces the load generator's requests, inside the load test's span",
    "adapters/notify/delivery.py": "retries a notification, sent after the phases (no phase records spans)",
    "adapters/targets/kubernetes/lease.py": "waits for another bmad process to free the target",
    "adapters/targets/local/target_lock.py": "waits for another bmad process to free the target",
}


def _pauses(path: Path) -> list[int]:
    """Lines of ``path`` that call or pass ``time.sleep``."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute)
        and node.attr == "sleep"
        and isinstance(node.value, ast.Name)
        and node.value.id == "time"
    ]


def test_the_phases_and_adapters_pause_only_through_spans() -> None:
    """Guards honest accounting: a pause between two looks at another system is a wait on it, so the
    phases and adapters pause through ``bmad.core.spans.sleeper`` (a span), never a bare
    ``time.sleep`` (before: a dozen polling loops did, and their pauses counted as bmad's own time)."""
    found = {
        f"{path.relative_to(SRC)}:{line}"
        for folder in ("phases", "adapters")
        for path in sorted((SRC / folder).rglob("*.py"))
        if str(path.relative_to(SRC)) not in _UNSPANNED_PAUSES
        for line in _pauses(path)
    }
    assert found == set()


# Docker SDK calls whose answer streams after its headers (so the HTTP span ends before the wait does).
_STREAMED_CALLS = {"exec_run", "pull", "save"}


def _streamed_calls_outside_a_span(path: Path) -> list[str]:
    """``name:line`` of each streamed SDK call in ``path`` not inside a ``with waiting(...)`` block."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    spanned: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.With) and any(
            isinstance(item.context_expr, ast.Call) and getattr(item.context_expr.func, "id", "") == "waiting"
            for item in node.items
        ):
            spanned.update(id(inner) for inner in ast.walk(node))
    return [
        f"{node.func.attr}:{node.lineno}"
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in _STREAMED_CALLS
        and id(node) not in spanned
    ]


def test_streamed_engine_answers_are_read_inside_a_span() -> None:
    """Guards the waits on the engine whose answer streams: an exec (a healthcheck runs until it ends),
    an image pull or export is read inside a span (before: the span ended at the answer's headers)."""
    found = {
        f"{path.relative_to(SRC)}:{call}"
        for folder in ("phases", "adapters")
        for path in sorted((SRC / folder).rglob("*.py"))
        for call in _streamed_calls_outside_a_span(path)
    }
    assert found == set()
