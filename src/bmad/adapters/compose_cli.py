"""A real Compose implementation, run as a program on the same container engine as bmad.

``docker compose`` (the Compose v2 plugin) when the ``docker`` CLI has it, else PyPI's
``podman-compose`` (a dependency of bmad), which drives the ``podman`` CLI. Both reach the engine
bmad uses: ``DOCKER_HOST`` for docker, ``CONTAINER_HOST`` for podman (which makes the podman CLI a
remote client of that API socket). Every call is recorded in the run's evidence.
"""

from __future__ import annotations

import functools
import importlib.util
import json
import os
import shutil
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from bmad.adapters._process import CommandResult, run_command
from bmad.core.datatypes import datatype
from bmad.core.errors import AdapterError
from bmad.core.spans import SpanKind
from bmad.ports.evidence import EvidenceSink

PROJECT_LABEL = "com.docker.compose.project"
SERVICE_LABEL = "com.docker.compose.service"


@functools.cache
def compose_program() -> tuple[str, ...]:
    """The argv prefix of the Compose implementation found on this machine."""
    docker = shutil.which("docker")
    if docker is not None:
        try:
            probe = run_command([docker, "compose", "version"], timeout=15)
        except AdapterError:
            probe = None
        if probe is not None and probe.ok:
            return (docker, "compose")
    if importlib.util.find_spec("podman_compose") is not None:
        return (sys.executable, "-m", "podman_compose")
    raise AdapterError(
        "compose", "finding a Compose implementation", "neither 'docker compose' nor podman-compose is installed"
    )


@datatype(frozen=True)
class ComposeProject:
    """One project (``-p``) of one compose file on one engine."""

    name: str
    compose_file: Path
    docker_host: str | None = None
    profiles: tuple[str, ...] = ()
    env_file: Path | None = None
    override_files: tuple[Path, ...] = ()  # bmad's own additions (labels), merged over the user's file
    variables: tuple[tuple[str, str], ...] = ()  # what the compose file interpolates (ports, release env)

    def argv(self, *args: str) -> list[str]:
        argv = [*compose_program(), "-p", self.name, "-f", str(self.compose_file)]
        for override in self.override_files:
            argv += ["-f", str(override)]
        for profile in self.profiles:
            argv += ["--profile", profile]
        if self.env_file is not None:
            argv += ["--env-file", str(self.env_file)]
        return [*argv, *args]

    def environment(self) -> dict[str, str]:
        """The engine bmad's Docker SDK talks to (``docker_host``, else ``$DOCKER_HOST``), for both CLIs."""
        host = self.docker_host or os.environ.get("DOCKER_HOST")
        variables = dict(self.variables)
        if not host:
            return variables
        return {**variables, "DOCKER_HOST": host, "CONTAINER_HOST": host}


def write_label_override(
    directory: Path,
    services: Sequence[str],
    labels: Mapping[str, str],
    images: Mapping[str, str] | None = None,
    *,
    per_service: Mapping[str, Mapping[str, str]] | None = None,
) -> Path:
    """A compose file that adds ``labels`` (plus ``bmad.env.service`` and ``per_service[name]``) to each
    service, merged by ``-f``; ``images`` replaces a service's image (or names what one without an
    ``image`` builds, else Compose tags it per project)."""
    path = directory / "bmad-labels.compose.yml"
    data: dict[str, Any] = {"services": {}}
    for name in services:
        own = (per_service or {}).get(name, {})
        data["services"][name] = {"labels": {**labels, "bmad.env.service": name, **own}}
        if images and name in images:
            data["services"][name]["image"] = images[name]
    path.write_text(json.dumps(data, indent=2), encoding="utf-8")
    return path


class ComposeRunner:
    """Runs ``compose`` subcommands for one project, each recorded as evidence."""

    def __init__(self, project: ComposeProject, *, evidence: EvidenceSink | None = None, timeout: float = 600.0):
        self.project = project
        self._evidence = evidence
        self._timeout = timeout

    def run(self, *args: str, label: str, timeout: float | None = None) -> CommandResult:
        return run_command(
            self.project.argv(*args),
            cwd=self.project.compose_file.parent,
            env=self.project.environment(),
            timeout=timeout or self._timeout,
            evidence=self._evidence,
            label=label,
            waits_on=SpanKind.CONTAINER_ENGINE,
        )

    def build(self, services: Sequence[str], *, timeout: float | None = None) -> CommandResult:
        return self.run("build", *services, label="compose build", timeout=timeout)

    def up(self, services: Sequence[str], *, timeout: float | None = None) -> CommandResult:
        """Create and start exactly these services (their dependencies are bmad's to order and wait for)."""
        return self.run("up", "-d", "--no-deps", *services, label="compose up", timeout=timeout)

    def down(self, *, volumes: bool, timeout: float | None = None) -> CommandResult:
        args = ("down", "-v") if volumes else ("down",)
        return self.run(*args, label="compose down", timeout=timeout)
