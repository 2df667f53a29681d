"""One release of the local target's Compose mode: a compose project started by a real Compose.

Each release runs as the project ``<project>-g<generation>``. bmad merges an override file over
the user's compose file: the built service's image becomes the release's image pinned by digest,
the companions' images are pinned by digest when the engine knows one, and every container
carries the local target's labels (``bmad.generation``, ``bmad.slot``, ``bmad.release`` ...), so
the state model of :mod:`.state` reads a compose release like a generation of replicas. Host
ports come from the environment (``ports`` in the config): slot s gets base + s.
"""

from __future__ import annotations

import contextlib
import shutil
import time
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from bmad.adapters.compose_cli import PROJECT_LABEL, SERVICE_LABEL, ComposeProject, ComposeRunner, write_label_override
from bmad.adapters.compose_file import ComposeFile, ComposeService, load_compose_file
from bmad.adapters.suite_envs import wait_service_completed, wait_service_healthy
from bmad.adapters.targets.local.compose_health import COMPOSE_SERVICE
from bmad.config.deploy import LocalComposeConfig
from bmad.core.datatypes import datatype
from bmad.core.errors import AdapterError, ConfigError
from bmad.core.files import private_temp_dir
from bmad.core.redact import redact
from bmad.ports.evidence import EvidenceSink
from bmad.ports.progress import Progress
from bmad.ports.target import DeploySpec

SYSTEM = "compose"


@datatype(frozen=True)
class ReleaseSlot:
    """Where a release runs: its generation number, port slot and the config hash it was started with."""

    number: int
    slot: int
    config: str


class ComposeReleases:
    """Starts and removes the compose projects of one service and environment."""

    def __init__(
        self,
        settings: LocalComposeConfig,
        *,
        compose_file: Path,
        docker_host: str | None,
        env: Mapping[str, str],
        evidence: EvidenceSink | None = None,
        timeout: float = 300.0,
    ) -> None:
        self.settings = settings
        self.compose_file = compose_file
        self.docker_host = docker_host
        self.env = dict(env)
        self._evidence = evidence
        self._timeout = timeout
        self._services: dict[str, ComposeService] | None = None

    # -- the file -------------------------------------------------------------------------------
    def load(self, service: str) -> ComposeFile:
        """The compose file, checked (errors at file:line); the built service must be one of its active ones."""
        compose = load_compose_file(self.compose_file)
        built = self.built_service(service)
        names = [s.name for s in compose.active(self.profiles)]
        if built not in names:
            raise ConfigError(
                f"the compose file has no active service {built!r} (target.local.compose.service)",
                file=str(self.compose_file),
                line=1,
                hint=f"its services with these profiles: {', '.join(names)}",
            )
        return compose

    def services(self) -> dict[str, ComposeService]:
        """The compose file's services by name, read once (every release of a run uses the same file)."""
        if self._services is None:
            self._services = {s.name: s for s in load_compose_file(self.compose_file).services}
        return self._services

    def one_shot_services(self) -> frozenset[str]:
        """Services another one waits on to complete (``service_completed_successfully``): they may exit 0."""
        return frozenset(
            d.service
            for s in self.services().values()
            for d in s.depends_on
            if d.condition == "service_completed_successfully"
        )

    @property
    def profiles(self) -> tuple[str, ...]:
        return tuple(self.settings.profiles)

    def built_service(self, service: str) -> str:
        return self.settings.service or service

    def project_name(self, service: str, environment: str, number: int) -> str:
        base = self.settings.project or f"{service}-{environment}"
        return f"{base}-g{number}".lower()

    # -- ports ----------------------------------------------------------------------------------
    def endpoint_url(self, slot: int) -> str | None:
        """The base URL of the service in ``slot``: the ``endpoint`` port (default: the first one)."""
        if not self.settings.ports:
            return None
        name = self.settings.endpoint or next(iter(self.settings.ports))
        return f"http://127.0.0.1:{self.settings.ports[name] + slot}"

    def variables(self, spec: DeploySpec, slot: int) -> dict[str, str]:
        """What the compose file interpolates: the target's and the release's env, secrets, slot ports."""
        ports = {name: str(base + slot) for name, base in self.settings.ports.items()}
        return {**self.env, **spec.env, **spec.secret_env, **ports}

    # -- start ----------------------------------------------------------------------------------
    def start(
        self, spec: DeploySpec, release: ReleaseSlot, *, client: Any, labels: Mapping[str, str], progress: Progress
    ) -> list[dict[str, Any]]:
        """Create and start the release's project, one ``depends_on`` wave at a time (dependencies
        waited for as their condition asks); on an error the project is removed again."""
        compose = self.load(spec.service)
        workdir = private_temp_dir("bmad-compose-release-")
        name = self.project_name(spec.service, spec.environment, release.number)
        try:
            override = self._override(spec, compose, client, labels, workdir)
            project = ComposeProject(
                name,
                self.compose_file,
                self.docker_host,
                profiles=self.profiles,
                override_files=(override,),
                variables=tuple(self.variables(spec, release.slot).items()),
            )
            return self._start_waves(ComposeRunner(project, evidence=self._evidence), compose, client, progress)
        except (AdapterError, ConfigError):
            self.remove(name, client=client)
            raise
        finally:
            shutil.rmtree(workdir, ignore_errors=True)

    def _override(
        self, spec: DeploySpec, compose: ComposeFile, client: Any, labels: Mapping[str, str], workdir: Path
    ) -> Path:
        built = self.built_service(spec.service)
        active = [s.name for wave in compose.waves(self.profiles) for s in wave]
        images = {s.name: pin_image(client, s.image) for s in compose.services if s.image and s.name != built}
        images[built] = spec.pinned_image
        per_service = {
            name: {COMPOSE_SERVICE: name, "bmad.replica": str(active.index(name)) if name in active else "0"}
            for name in (s.name for s in compose.services)
        }
        return write_label_override(
            workdir, [s.name for s in compose.services], labels, images, per_service=per_service
        )

    def _start_waves(
        self, runner: ComposeRunner, compose: ComposeFile, client: Any, progress: Progress
    ) -> list[dict[str, Any]]:
        deadline = time.monotonic() + self._timeout
        required = {d.service: d.condition for s in compose.services for d in s.depends_on}
        started: list[dict[str, Any]] = []
        for wave in compose.waves(self.profiles):
            names = [s.name for s in wave]
            result = runner.run("up", "-d", "--no-deps", "--no-build", *names, label="compose up")
            if not result.ok:
                detail = f"compose up exited {result.exit_code}: {redact(result.tail(5))}"
                raise AdapterError(SYSTEM, f"starting {', '.join(names)}", detail)
            for service in wave:
                container = project_container(client, runner.project.name, service.name)
                started.append({"service": service.name, "name": container.name, "id": str(container.id)[:12]})
                progress.log(f"started {service.name} ({container.name})")
                problem = _wait_dependency(container, service, required.get(service.name), deadline)
                if problem is not None:
                    raise AdapterError(SYSTEM, f"starting {service.name}", problem)
        return started

    # -- remove ---------------------------------------------------------------------------------
    def remove(self, project: str, *, client: Any) -> list[str]:
        """``compose down`` the project (containers and its networks); then remove whatever is left."""
        from docker.errors import DockerException, NotFound

        runner = ComposeRunner(
            ComposeProject(project, self.compose_file, self.docker_host, profiles=self.profiles),
            evidence=self._evidence,
            timeout=self._timeout,
        )
        names = [str(c.name) for c in _project_containers(client, project)]
        with contextlib.suppress(AdapterError):  # the engine calls below still remove the containers
            runner.down(volumes=False)
        for container in _project_containers(client, project):
            try:
                container.remove(force=True)
            except NotFound:
                continue
            except DockerException as exc:
                raise AdapterError(SYSTEM, f"removing {container.name}", redact(str(exc)), temporary=True) from None
        return names


def _wait_dependency(container: Any, service: ComposeService, condition: str | None, deadline: float) -> str | None:
    """Wait only for what another service's ``depends_on`` asks of this one (the rollout waits for the rest)."""
    if condition == "service_completed_successfully":
        return wait_service_completed(container, deadline)
    if condition == "service_healthy":
        return wait_service_healthy(container, service, deadline)
    if condition == "service_started":
        return wait_service_healthy(container, replace(service, definition={}), deadline)
    return None


def _project_containers(client: Any, project: str) -> list[Any]:
    """The project's containers, dependents first (``network_mode: service:...`` blocks removing the other first)."""
    found = client.containers.list(all=True, filters={"label": f"{PROJECT_LABEL}={project}"})
    return sorted(found, key=lambda c: -int((c.labels or {}).get("bmad.replica", "0")))


def project_container(client: Any, project: str, service: str) -> Any:
    """The container of ``service`` in ``project``."""
    labels = [f"{PROJECT_LABEL}={project}", f"{SERVICE_LABEL}={service}"]
    found = client.containers.list(all=True, filters={"label": labels})
    if not found:
        raise AdapterError(SYSTEM, f"starting service {service}", "compose up created no container")
    return found[0]


def pin_image(client: Any, image: str) -> str:
    """``image`` pinned by the digest the engine knows for its repository; the image as given otherwise."""
    from docker.errors import DockerException

    if "@" in image:
        return image
    repository = image.rsplit(":", 1)[0] if ":" in image.rsplit("/", 1)[-1] else image
    try:
        digests = client.images.get(image).attrs.get("RepoDigests") or []
    except DockerException:
        return image
    for reference in digests:
        name, _, digest = str(reference).partition("@")
        if name == repository and digest:
            return f"{repository}@{digest}"
    return image
