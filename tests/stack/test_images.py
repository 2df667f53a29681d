"""The local base image and the example image, built and run on the stack's real Podman."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from tests.helpers import free_port, http_get, wait_for

pytestmark = [pytest.mark.engine, pytest.mark.stack]


def test_base_image_is_from_scratch_small_and_runs_python(engine: Any, base_image: str) -> None:
    image = engine.images.get(base_image)
    assert image.labels["org.bmad.base.inputs"]
    assert image.attrs["Size"] < 80_000_000  # trimmed stdlib, no test suite, no caches
    out = engine.containers.run(
        base_image,
        [
            "python3",
            "-c",
            "import json, ssl, sqlite3, hashlib, http.server, zoneinfo, sys; print(sys.version_info[:2])",
        ],
        remove=True,
    )
    assert out.decode().strip() == "(3, 11)"
    shell = engine.containers.run(base_image, ["sh", "-c", "echo $((6 * 7))"], remove=True)
    assert shell.decode().strip() == "42"


def test_base_image_build_is_cached(engine: Any, base_image: str) -> None:
    from tests.conftest import _load_example_module
    from tests.helpers import EXAMPLES

    builder = _load_example_module("bmad_example_build_base", EXAMPLES / "base" / "build_base.py")
    before = engine.images.get(base_image).id
    started = time.monotonic()
    assert builder.build_base_image(engine, tag=base_image) == base_image
    assert time.monotonic() - started < 2.0
    assert engine.images.get(base_image).id == before


def test_example_image_is_healthy_non_root_and_stops_gracefully(engine: Any, example_image: str) -> None:
    image = engine.images.get(example_image)
    config = image.attrs["Config"]
    assert config["User"] == "10001:10001"
    port = free_port()
    container = engine.containers.run(
        example_image,
        detach=True,
        ports={"8080/tcp": ("127.0.0.1", port)},
        environment={"HELLO_MESSAGE": "from a container"},
        labels={"bmad.test": "stack"},
    )
    try:
        url = f"http://127.0.0.1:{port}"
        wait_for(lambda: http_get(url + "/health")[0] == 200, timeout=30, what="container /health")
        status, body = http_get(url + "/")
        assert status == 200
        # Podman 4.3's compat image inspect omits the HEALTHCHECK; the container carries it.
        container.reload()
        assert container.attrs["Config"]["Healthcheck"]["Test"] == ["CMD", "python3", "/app/healthcheck.py"]
        payload = json.loads(body)
        assert payload["message"] == "from a container"
        assert payload["version"] == "1.0.0-test"
        assert payload["instance"] == container.id[:12]
        assert container.exec_run(["id", "-u"]).output.decode().strip() == "10001"
        assert container.exec_run(["python3", "/app/healthcheck.py"]).exit_code == 0
        container.stop(timeout=10)
        container.reload()
        assert container.attrs["State"]["ExitCode"] == 0
    finally:
        container.remove(force=True)


def test_example_image_with_the_crash_fault_exits(engine: Any, example_image: str) -> None:
    container = engine.containers.run(example_image, detach=True, environment={"HELLO_FAULT": "crash"})
    try:
        result = container.wait(timeout=30)
        assert result["StatusCode"] != 0
        assert b"crash" in container.logs()
    finally:
        container.remove(force=True)


def test_example_image_pushes_to_the_stack_registry(engine: Any, stack: Any, example_image: str) -> None:
    repository = f"{stack.registry}/test/hello"
    image = engine.images.get(example_image)
    assert image.tag(repository, tag="push-test")
    try:
        lines = list(engine.images.push(repository, tag="push-test", stream=True, decode=True))
        assert not [line for line in lines if "error" in line], lines
        status, body = http_get(f"http://{stack.registry}/v2/test/hello/tags/list")
        assert status == 200 and "push-test" in json.loads(body)["tags"]
    finally:
        engine.images.remove(f"{repository}:push-test")
