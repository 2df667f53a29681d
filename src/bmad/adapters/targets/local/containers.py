"""The engine calls of the local target: list, inspect, start, stop and remove bmad's containers.

Everything goes through the Docker API (Docker or Podman); an engine error becomes an
:class:`~bmad.core.errors.AdapterError` with the engine's message redacted.
"""

from __future__ import annotations

import dataclasses
import threading
from typing import Any

from bmad.adapters.targets.local.state import (
    MANAGED,
    SYSTEM,
    EngineState,
    Generation,
    Replica,
    assign_roles,
    replica_from_attrs,
)
from bmad.config.deploy import LocalTargetConfig
from bmad.core.errors import AdapterError
from bmad.core.redact import redact
from bmad.core.spans import SpanKind, waiting
from bmad.ports.target import DeploySpec


class EngineContainers:
    """bmad's containers of one engine (connected on first use)."""

    def __init__(self, config: LocalTargetConfig, *, client: Any = None) -> None:
        self.config = config
        self._client = client
        self._lock = threading.Lock()

    @property
    def client(self) -> Any:
        with self._lock:
            if self._client is None:
                from bmad.adapters.engine_client import connect_engine

                self._client = connect_engine(self.config.docker_host)
            return self._client

    def network_name(self, service: str, environment: str) -> str:
        return self.config.network or f"bmad-{service}-{environment}"

    def read_state(self, service: str, environment: str) -> EngineState:
        """Every container of (service, environment), grouped into generations with roles.

        One list call (``sparse``: no inspect per container); :meth:`inspect` gives the details
        (restart counts, health) of the replicas that need them.
        """
        client = self.client  # raises Unreachable before the Docker SDK is imported when no engine is there
        from docker.errors import DockerException

        labels = [f"{MANAGED}=bmad", f"bmad.service={service}", f"bmad.environment={environment}"]
        try:
            containers = client.containers.list(all=True, sparse=True, filters={"label": labels})
        except DockerException as exc:
            raise AdapterError(SYSTEM, "listing containers", redact(str(exc)), temporary=True) from None
        gens: dict[int, Generation] = {}
        for container in containers:
            replica = replica_from_attrs(container.attrs or {}, container)
            if replica is None:
                continue
            gen = gens.get(replica.generation)
            if gen is None:
                gen = Generation(
                    number=replica.generation,
                    slot=replica.slot,
                    release=replica.release,
                    digest=replica.digest,
                    image=replica.image,
                    config=replica.config,
                )
                gens[replica.generation] = gen
            gen.replicas.append(replica)
        return assign_roles(list(gens.values()))

    def inspect(self, replica: Replica) -> Replica:
        """The replica with the details only a full inspect has (restart count, exit code, health)."""
        from docker.errors import DockerException, NotFound

        try:
            replica.container.reload()
        except NotFound:
            return dataclasses.replace(replica, status="removed")
        except DockerException as exc:
            raise AdapterError(SYSTEM, f"inspecting {replica.name}", redact(str(exc)), temporary=True) from None
        return replica_from_attrs(replica.container.attrs or {}, replica.container) or replica

    def ensure_network(self, name: str, service: str, environment: str) -> None:
        from docker.errors import DockerException

        try:
            # The engine's name filter matches by pattern (Podman: bmad-hello-dev also finds
            # bmad-hello-dev-2): compare the names exactly.
            existing = {network.name for network in self.client.networks.list(names=[name])}
            if name not in existing:
                self.client.networks.create(
                    name,
                    driver="bridge",
                    labels={MANAGED: "bmad", "bmad.service": service, "bmad.environment": environment},
                )
        except DockerException as exc:
            raise AdapterError(SYSTEM, f"creating network {name}", redact(str(exc))) from None

    def ensure_image(self, spec: DeploySpec) -> None:
        from docker.errors import DockerException, ImageNotFound

        ref = spec.pinned_image
        try:
            self.client.images.get(ref)
            return
        except ImageNotFound:
            pass
        except DockerException as exc:
            raise AdapterError(SYSTEM, f"inspecting image {ref}", redact(str(exc))) from None
        try:
            with waiting(SpanKind.REGISTRY, f"pull {ref}"):  # the engine's progress streams until the pull ends
                self.client.images.pull(ref)
            self.client.images.get(ref)
        except DockerException as exc:
            raise AdapterError(
                SYSTEM,
                f"pulling image {ref}",
                redact(str(exc)),
                hint="is the registry reachable, and was the digest pushed by BUILD? (the guide's image pull failures)",
            ) from None

    def run_options(self, spec: DeploySpec, name: str, labels: dict[str, str], host_port: int) -> dict[str, Any]:
        """The ``containers.run`` arguments of one replica (detached, init, restart on failure)."""
        options: dict[str, Any] = {
            "name": name,
            "detach": True,
            "labels": labels,
            "environment": {**spec.env, **spec.secret_env},
            "ports": {f"{self.config.port}/tcp": ("127.0.0.1", host_port)},
            "network": self.network_name(spec.service, spec.environment),
            "init": True,
            "restart_policy": {"Name": "on-failure", "MaximumRetryCount": 3},
        }
        healthcheck = self._healthcheck()
        if healthcheck:
            options["healthcheck"] = healthcheck
        if self.config.memory_limit:
            options["mem_limit"] = self.config.memory_limit
        if self.config.cpus:
            options["nano_cpus"] = int(self.config.cpus * 1e9)
        return options

    def _healthcheck(self) -> dict[str, Any] | None:
        """None keeps the image's own HEALTHCHECK; [] disables it; a list replaces it."""
        test = self.config.healthcheck
        if test is None:
            return None
        if not test:
            return {"test": ["NONE"]}
        interval = int(self.config.healthcheck_interval_seconds * 1e9)
        return {"test": test, "interval": interval, "timeout": int(2e9), "retries": 3, "start_period": interval}

    def run(self, image: str, options: dict[str, Any]) -> Any:
        """Start one container; the engine's error as an AdapterError."""
        from docker.errors import DockerException

        try:
            return self.client.containers.run(image, **options)
        except DockerException as exc:
            raise AdapterError(SYSTEM, f"starting {options['name']}", redact(str(exc))) from None

    def start(self, replicas: list[Replica]) -> None:
        """Start the replicas that are not running (a rollback restarts a kept generation)."""
        from docker.errors import DockerException

        for replica in replicas:
            if not replica.running:
                try:
                    replica.container.start()
                except DockerException as exc:
                    raise AdapterError(SYSTEM, f"starting {replica.name}", redact(str(exc))) from None

    def remove(self, replicas: list[Replica], *, stop_first: bool = True) -> list[str]:
        from docker.errors import DockerException, NotFound

        removed = []
        for replica in replicas:
            try:
                if stop_first and replica.running:
                    replica.container.stop(timeout=self.config.stop_timeout_seconds)
                replica.container.remove(force=True)
                removed.append(replica.name)
            except NotFound:
                removed.append(replica.name)
            except DockerException as exc:
                raise AdapterError(SYSTEM, f"removing {replica.name}", redact(str(exc)), temporary=True) from None
        return removed

    def stop(self, replicas: list[Replica]) -> list[str]:
        from docker.errors import DockerException, NotFound

        stopped = []
        for replica in replicas:
            if not replica.running:
                continue
            try:
                replica.container.stop(timeout=self.config.stop_timeout_seconds)
                stopped.append(replica.name)
            except NotFound:
                continue
            except DockerException as exc:
                raise AdapterError(SYSTEM, f"stopping {replica.name}", redact(str(exc)), temporary=True) from None
        return stopped

    def secret_keys(self, name: str) -> set[str] | None:
        """Engine secrets hold one value each: the key set is {name} when it exists."""
        from docker.errors import DockerException

        try:
            secrets = self.client.secrets.list(filters={"name": name})
        except DockerException:
            return None
        return {name} if any(s.name == name for s in secrets) else None
