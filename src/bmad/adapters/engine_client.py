"""Connect to a Docker Engine API: Docker or Podman (its Docker-compatible service).

The socket comes from ``DOCKER_HOST`` when set, else the first of the usual sockets that
exists (Docker's, rootful Podman's, rootless Podman's).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from bmad.adapters._http import record_waits
from bmad.core.errors import Unreachable
from bmad.core.spans import SpanKind, waiting

_CANDIDATE_SOCKETS = (
    "/var/run/docker.sock",
    "/run/podman/podman.sock",
    f"/run/user/{os.getuid()}/podman/podman.sock",
)


def detect_docker_host() -> str | None:
    if os.environ.get("DOCKER_HOST"):
        return os.environ["DOCKER_HOST"]
    for candidate in _CANDIDATE_SOCKETS:
        if Path(candidate).exists():
            return f"unix://{candidate}"
    return None


def connect_engine(docker_host: str | None = None, *, timeout: float = 120.0) -> Any:
    """A ``docker.DockerClient`` of an engine that has answered a ping. Raises Unreachable with a hint otherwise.

    The Docker SDK (a quarter of a second to import) is loaded only once there is an engine to ask.
    """
    host = docker_host or detect_docker_host()
    if host is None:
        raise Unreachable(
            "container engine",
            "finding a Docker API socket",
            "DOCKER_HOST is not set and no Docker or Podman socket was found",
            hint="start one with 'bmad stack up' (Podman) or set DOCKER_HOST=unix:///path/to/socket",
        )
    import docker
    from docker.errors import DockerException

    try:
        client = _pinged_client(docker, host, int(timeout))
    except DockerException as exc:
        raise Unreachable(
            "container engine", f"connecting to {host}", str(exc)[:300], hint="is the engine running?"
        ) from None
    return client


def _pinged_client(docker: Any, host: str, timeout: int) -> Any:
    """A client of ``host`` speaking the API version the engine gave in the ``Api-Version`` header
    of its answer to a ping. (The SDK's own negotiation asks ``/version`` first, which Podman
    answers in about a second: it runs conmon and the OCI runtime to report their versions.)"""
    import requests
    from docker.constants import MINIMUM_DOCKER_API_VERSION
    from docker.errors import DockerException

    probe = docker.DockerClient(base_url=host, timeout=timeout, version=MINIMUM_DOCKER_API_VERSION)
    record_waits(probe.api, "container engine")
    try:
        answer = probe.api.get(f"{probe.api.base_url}/_ping", timeout=timeout)
        answer.raise_for_status()
    except requests.RequestException as exc:
        raise DockerException(f"Error while fetching server API version: {exc}") from None
    finally:
        probe.close()
    version = answer.headers.get("Api-Version")
    if version:
        client = docker.DockerClient(base_url=host, timeout=timeout, version=version)
    else:  # an engine that does not say: the SDK asks /version
        with waiting(SpanKind.CONTAINER_ENGINE, "GET /version"):
            client = docker.DockerClient(base_url=host, timeout=timeout)
    record_waits(client.api, "container engine")
    return client
