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
    """A ``docker.DockerClient`` that has answered a ping. Raises Unreachable with a hint otherwise.

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
        client = docker.DockerClient(base_url=host, timeout=int(timeout))
        record_waits(client.api, "container engine")
        client.ping()
    except DockerException as exc:
        raise Unreachable(
            "container engine", f"connecting to {host}", str(exc)[:300], hint="is the engine running?"
        ) from None
    return client
