"""A preview of the release candidate on the local container engine: one temporary container of
BUILD's image (pinned by digest) on a free 127.0.0.1 port, removed on leaving the context.

The container carries ``bmad.preview`` labels, not the target's ``bmad.managed-by`` label, so the
local target never counts it as a replica or a generation.
"""

from __future__ import annotations

import socket
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from bmad.adapters.targets.local.containers import EngineContainers
from bmad.adapters.targets.local.state import SYSTEM
from bmad.core.errors import AdapterError
from bmad.core.redact import redact
from bmad.core.spans import SpanKind, sleeper
from bmad.ports.preview import CandidateImage
from bmad.ports.target import DeploySpec, HttpProbe

PREVIEW_LABEL = "bmad.preview"
_START_PAUSE = sleeper(SpanKind.SERVICE, "preview: waiting for the candidate to answer")


def free_loopback_port() -> int:
    """A TCP port nothing listens on at 127.0.0.1 now (the engine publishes the preview there)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class LocalCandidatePreview:
    """``CandidatePreview`` on the local target's engine, with the target's container port and env."""

    def __init__(
        self,
        containers: EngineContainers,
        probe: HttpProbe,
        *,
        service: str,
        environment: str,
        env: Callable[[], Mapping[str, str]],  # resolved when a preview starts (secret values included)
        health_path: str,
        ready_seconds: float,
        poll_interval: float = 0.2,
    ) -> None:
        self.containers = containers
        self.probe = probe
        self.service = service
        self.environment = environment
        self._env = env
        self.health_path = health_path
        self.ready_seconds = ready_seconds
        self.poll_interval = poll_interval

    @contextmanager
    def running(self, image: CandidateImage) -> Iterator[str]:
        spec = DeploySpec(self.service, self.environment, "", image.repository, image.digest)
        self.containers.ensure_image(spec)
        port = free_loopback_port()
        container = self.containers.run(image.pinned, self._options(port))
        try:
            url = f"http://127.0.0.1:{port}"
            self._wait_answering(container, url)
            yield url
        finally:
            self._remove(container)

    def _options(self, host_port: int) -> dict[str, Any]:
        return {
            "name": f"bmad-preview-{self.service}-{self.environment}-{uuid.uuid4().hex[:8]}",
            "detach": True,
            "labels": {PREVIEW_LABEL: "candidate", "bmad.service": self.service, "bmad.environment": self.environment},
            "environment": dict(self._env()),
            "ports": {f"{self.containers.config.port}/tcp": ("127.0.0.1", host_port)},
            "init": True,
        }

    def _wait_answering(self, container: Any, url: str) -> None:
        """Until the health path answers 200; the container's exit or the time limit is an AdapterError."""
        from docker.errors import DockerException

        deadline = time.monotonic() + self.ready_seconds
        last = ""
        while time.monotonic() < deadline:
            answer = self.probe.get(url + self.health_path, timeout=2.0)
            if answer.ok:
                return
            last = answer.error or f"HTTP {answer.status}"
            try:
                container.reload()
            except DockerException as exc:
                raise AdapterError(SYSTEM, "watching the candidate preview", redact(str(exc))) from None
            if container.status in ("exited", "dead"):
                raise AdapterError(SYSTEM, "starting the candidate preview", f"the container {container.status}")
            _START_PAUSE(self.poll_interval)
        raise AdapterError(
            SYSTEM,
            "starting the candidate preview",
            f"{self.health_path} did not answer 200 within {self.ready_seconds:g} s (last: {last})",
        )

    def _remove(self, container: Any) -> None:
        from docker.errors import DockerException, NotFound

        try:
            container.remove(force=True)
        except NotFound:
            pass
        except DockerException as exc:
            raise AdapterError(
                SYSTEM, f"removing the candidate preview {container.name}", redact(str(exc)), temporary=True
            ) from None
