"""The local container engine as a deployment target (Docker or Podman, through the Docker API).

A release runs as N replicas on a user-defined network, each publishing the service port on
127.0.0.1, with an engine health check and ``init=True``. Every container carries labels, so
the state can always be read back from the engine (after a crash of bmad too)::

    bmad.managed-by=bmad  bmad.service  bmad.environment  bmad.release  bmad.digest
    bmad.generation (a counter per service/environment)  bmad.slot (0|1)  bmad.replica  bmad.config

Docker labels cannot change after creation, so a container's *role* is derived from the
labels and the running state, by rules that hold at every step of an update or a rollback:

* **active** — the oldest generation that has a running replica (the one serving);
* **candidate** — a newer generation running beside it (an update in progress, unconfirmed);
* **previous** — the newest stopped generation older than the active one (the rollback point);
* **stale** — anything else (removed by the next apply, cut-over or rollback).

An update starts the candidate on the free port slot, waits until it is healthy and smoke-tested
(the phase does that), then :meth:`LocalTarget.cut_over` stops the old replicas with a grace
period and *keeps* them, so a rollback is a restart. A rollback starts the target generation
first and only then removes the failed one, so at every moment something serves.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bmad.config.deploy import LocalTargetConfig
from bmad.core.errors import AdapterError
from bmad.core.redact import redact
from bmad.ports.progress import Progress
from bmad.ports.target import DeploySpec, Diagnosis, HttpProbe, RolloutState

SYSTEM = "container engine"
LABEL_PREFIX = "bmad."
MANAGED = "bmad.managed-by"

CRASH_CAUSES = [
    "missing environment variables",
    "incorrect secrets",
    "database connection failures",
    "insufficient resources",
]
SLOW_CAUSES = [
    "insufficient resources on the host",
    "image pull failures",
    "readiness (health) probe failures",
    "resource limits too tight",
]
LATENCY_CAUSES = [
    "under-provisioned resources",
    "database query performance",
    "external service latency",
    "insufficient replicas",
]


@dataclass
class Replica:
    id: str
    name: str
    generation: int
    slot: int
    index: int
    release: str
    digest: str
    image: str
    status: str
    restarts: int
    exit_code: int | None
    health: str | None
    host_port: int | None
    container: Any = field(repr=False, default=None)
    config: str = ""

    @property
    def running(self) -> bool:
        return self.status in ("running", "restarting")

    @property
    def crashed(self) -> bool:
        return self.restarts > 0 or (self.status in ("exited", "dead") and self.exit_code not in (None, 0))

    @property
    def url(self) -> str | None:
        return f"http://127.0.0.1:{self.host_port}" if self.host_port else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "id": self.id[:12],
            "replica": self.index,
            "status": self.status,
            "restarts": self.restarts,
            "exit_code": self.exit_code,
            "health": self.health,
            "url": self.url,
        }


@dataclass
class Generation:
    number: int
    slot: int
    release: str
    digest: str
    image: str
    config: str
    replicas: list[Replica] = field(default_factory=list)
    role: str = "stale"

    @property
    def running(self) -> bool:
        return any(r.running for r in self.replicas)

    def to_dict(self) -> dict[str, Any]:
        return {
            "generation": self.number,
            "role": self.role,
            "release": self.release,
            "digest": self.digest,
            "image": self.image,
            "slot": self.slot,
            "replicas": [r.to_dict() for r in sorted(self.replicas, key=lambda r: r.index)],
        }


@dataclass
class EngineState:
    generations: list[Generation]

    def by_role(self, role: str) -> list[Generation]:
        return [g for g in self.generations if g.role == role]

    @property
    def active(self) -> Generation | None:
        found = self.by_role("active")
        return found[0] if found else None

    @property
    def previous(self) -> Generation | None:
        found = self.by_role("previous")
        return found[0] if found else None

    def find(self, number: int) -> Generation | None:
        return next((g for g in self.generations if g.number == number), None)


_EXITED = re.compile(r"Exited \((-?\d+)\)")


def replica_from_attrs(attrs: dict[str, Any], container: Any = None) -> Replica | None:
    """A replica from a container's attributes: a full inspect or a list summary (``sparse``)."""
    config = attrs.get("Config") or {}
    labels = dict(config.get("Labels") or attrs.get("Labels") or {})
    try:
        generation = int(labels["bmad.generation"])
        slot = int(labels.get("bmad.slot", "0"))
        index = int(labels.get("bmad.replica", "0"))
    except (KeyError, ValueError):
        return None
    raw_state = attrs.get("State")
    host_port = None
    if isinstance(raw_state, dict):  # inspect
        status = str(raw_state.get("Status") or "")
        health = (raw_state.get("Health") or raw_state.get("Healthcheck") or {}).get("Status") or None
        exit_code = raw_state.get("ExitCode") if status in ("exited", "dead") else None
        restarts = int(attrs.get("RestartCount") or 0)
        name = str(attrs.get("Name") or "").lstrip("/")
        for bindings in ((attrs.get("HostConfig") or {}).get("PortBindings") or {}).values():
            for binding in bindings or []:
                if binding.get("HostPort"):
                    host_port = int(binding["HostPort"])
    else:  # list summary
        status = str(raw_state or "")
        text = str(attrs.get("Status") or "")
        health = "unhealthy" if "(unhealthy)" in text else "healthy" if "(healthy)" in text else None
        found = _EXITED.search(text)
        exit_code = int(found.group(1)) if found and status in ("exited", "dead") else None
        restarts = 0
        names = attrs.get("Names") or [""]
        name = str(names[0]).lstrip("/")
        for port in attrs.get("Ports") or []:
            public = port.get("PublicPort") or port.get("host_port")
            if public:
                host_port = int(public)
    return Replica(
        id=str(attrs.get("Id") or attrs.get("ID") or getattr(container, "id", "")),
        name=name,
        generation=generation,
        slot=slot,
        index=index,
        release=labels.get("bmad.release", ""),
        digest=labels.get("bmad.digest", ""),
        image=labels.get("bmad.image", ""),
        status=status,
        restarts=restarts,
        exit_code=exit_code,
        health=health,
        host_port=host_port,
        container=container,
        config=labels.get("bmad.config", ""),
    )


def assign_roles(generations: list[Generation]) -> EngineState:
    """Derive each generation's role from the running state (see the module docstring)."""
    ordered = sorted(generations, key=lambda g: g.number)
    running = [g for g in ordered if g.running]
    active = running[0] if running else None
    for gen in ordered:
        gen.role = "stale"
    if active is not None:
        active.role = "active"
        for gen in running[1:]:
            gen.role = "candidate"
        older = [g for g in ordered if g.number < active.number and not g.running]
        if older:
            older[-1].role = "previous"
    elif ordered:
        # Nothing runs (a crash between stop and start, or everything stopped by hand):
        # the newest stopped generation is the one to bring back.
        ordered[-1].role = "previous"
    return EngineState(ordered)


def config_hash(spec: DeploySpec, config: LocalTargetConfig) -> str:
    data = {
        "env": spec.env,
        "secret_env": sorted(spec.secret_env),
        "replicas": spec.replicas or config.replicas,
        "port": config.port,
        "memory": config.memory_limit,
        "cpus": config.cpus,
    }
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:12]


class LocalTarget:
    kind = "local"

    def __init__(
        self,
        config: LocalTargetConfig,
        *,
        probe: HttpProbe,
        health_path: str = "/health",
        client: Any = None,
        sleep: Callable[[float], None] = time.sleep,
        poll_interval: float = 0.2,
        rollback_timeout: float = 120.0,
        file_sd_dir: str | None = None,
        scrape_job: str | None = None,
    ) -> None:
        self.config = config
        # Prometheus file_sd: the folder target groups are written to (None: off) and their job label.
        self.file_sd_dir = file_sd_dir
        self.scrape_job = scrape_job
        self.probe = probe
        self.health_path = health_path
        self._client = client
        self._sleep = sleep
        self._poll = poll_interval
        self.rollback_timeout = rollback_timeout
        self._lock = threading.Lock()

    # -- engine ---------------------------------------------------------------------------------
    @property
    def client(self) -> Any:
        with self._lock:
            if self._client is None:
                from bmad.adapters.engine_client import connect_engine

                self._client = connect_engine(self.config.docker_host)
            return self._client

    def network_name(self, service: str, environment: str) -> str:
        return self.config.network or f"bmad-{service}-{environment}"

    def _labels(self, service: str, environment: str) -> list[str]:
        return [f"{MANAGED}=bmad", f"bmad.service={service}", f"bmad.environment={environment}"]

    def read_state(self, service: str, environment: str) -> EngineState:
        """Every container of (service, environment), grouped into generations with roles.

        One list call (``sparse``: no inspect per container); :meth:`_observe` inspects the replicas
        it needs restart counts and health of.
        """
        from docker.errors import DockerException

        try:
            containers = self.client.containers.list(
                all=True, sparse=True, filters={"label": self._labels(service, environment)}
            )
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

    def _inspect(self, replica: Replica) -> Replica:
        """The replica with the details only a full inspect has (restart count, exit code, health)."""
        from docker.errors import DockerException, NotFound

        try:
            replica.container.reload()
        except NotFound:
            return dataclasses.replace(replica, status="removed")
        except DockerException as exc:
            raise AdapterError(SYSTEM, f"inspecting {replica.name}", redact(str(exc)), temporary=True) from None
        return replica_from_attrs(replica.container.attrs or {}, replica.container) or replica

    def _ensure_network(self, name: str, service: str, environment: str) -> None:
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

    def _ensure_image(self, spec: DeploySpec) -> None:
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
            self.client.images.pull(ref)
            self.client.images.get(ref)
        except DockerException as exc:
            raise AdapterError(
                SYSTEM,
                f"pulling image {ref}",
                redact(str(exc)),
                hint="is the registry reachable, and was the digest pushed by BUILD? (the guide's image pull failures)",
            ) from None

    def _host_port(self, slot: int, index: int, replicas: int) -> int:
        return self.config.host_port_base + slot * replicas + index

    def _healthcheck(self) -> dict[str, Any] | None:
        """None keeps the image's own HEALTHCHECK; [] disables it; a list replaces it."""
        test = self.config.healthcheck
        if test is None:
            return None
        if not test:
            return {"test": ["NONE"]}
        interval = int(self.config.healthcheck_interval_seconds * 1e9)
        return {"test": test, "interval": interval, "timeout": int(2e9), "retries": 3, "start_period": interval}

    def _remove(self, replicas: list[Replica], *, stop_first: bool = True) -> list[str]:
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

    def _stop(self, replicas: list[Replica]) -> list[str]:
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

    # -- Target ---------------------------------------------------------------------------------
    def apply(self, spec: DeploySpec, *, progress: Progress) -> dict[str, Any]:
        from docker.errors import DockerException

        state = self.read_state(spec.service, spec.environment)
        cfg_hash = config_hash(spec, self.config)
        replicas = spec.replicas or self.config.replicas
        active = state.active
        if (
            active is not None
            and active.release == spec.version
            and active.digest == spec.digest
            and active.config == cfg_hash
            and len(active.replicas) == replicas
            and all(r.running for r in active.replicas)
        ):
            # A resumed run whose release already serves alone: adopt it, touch nothing.
            progress.log(f"release {spec.version[:12]} already serves as generation {active.number}; adopting it")
            adopted: dict[str, Any] = {
                "adopted": True,
                "generation": active.number,
                "containers": [r.name for r in active.replicas],
            }
            discovery = self.publish_targets(spec.service, spec.environment, state=state)
            if discovery is not None:
                adopted["file_sd"] = discovery
            return adopted

        # Unconfirmed candidates (a crashed update) and stale generations go first; so does an
        # incomplete generation of this very release (bmad died while starting it).
        leftovers = [g for g in state.generations if g.role in ("candidate", "stale")]
        if (
            active is not None
            and active.release == spec.version
            and active.digest == spec.digest
            and (len(active.replicas) < replicas or not all(r.running for r in active.replicas))
        ):
            leftovers.append(active)
        removed = self._remove([r for g in leftovers for r in g.replicas])
        state = self.read_state(spec.service, spec.environment)
        active = state.active
        # The slot the serving generation (or, when nothing serves, the rollback point) does not use.
        keep = active if active is not None else state.previous
        slot = 1 - keep.slot if keep is not None else 0
        # The slot may still hold the previous-but-one generation (the rollback point moves on).
        removed += self._remove([r for g in state.generations if g.slot == slot and g is not keep for r in g.replicas])
        number = max((g.number for g in state.generations), default=0) + 1

        self._ensure_network(self.network_name(spec.service, spec.environment), spec.service, spec.environment)
        self._ensure_image(spec)
        env = {**spec.env, **spec.secret_env}
        created = []
        task = progress.task(f"starting {replicas} replica(s) of {spec.service} {spec.version[:12]}", total=replicas)
        for index in range(replicas):
            name = f"{spec.service}-{spec.environment}-g{number}-{index}"
            host_port = self._host_port(slot, index, replicas)
            labels = {
                MANAGED: "bmad",
                "bmad.service": spec.service,
                "bmad.environment": spec.environment,
                "bmad.release": spec.version,
                "bmad.digest": spec.digest,
                "bmad.image": spec.image,
                "bmad.generation": str(number),
                "bmad.slot": str(slot),
                "bmad.replica": str(index),
                "bmad.config": cfg_hash,
            }
            kwargs: dict[str, Any] = {
                "name": name,
                "detach": True,
                "labels": labels,
                "environment": env,
                "ports": {f"{self.config.port}/tcp": ("127.0.0.1", host_port)},
                "network": self.network_name(spec.service, spec.environment),
                "init": True,
                "restart_policy": {"Name": "on-failure", "MaximumRetryCount": 3},
            }
            healthcheck = self._healthcheck()
            if healthcheck:
                kwargs["healthcheck"] = healthcheck
            if self.config.memory_limit:
                kwargs["mem_limit"] = self.config.memory_limit
            if self.config.cpus:
                kwargs["nano_cpus"] = int(self.config.cpus * 1e9)
            try:
                container = self.client.containers.run(spec.pinned_image, **kwargs)
            except DockerException as exc:
                # Never leave half a generation behind.
                half = self.read_state(spec.service, spec.environment).find(number)
                self._remove(half.replicas if half is not None else [])
                raise AdapterError(SYSTEM, f"starting {name}", redact(str(exc))) from None
            created.append({"name": container.name, "id": container.id[:12], "url": f"http://127.0.0.1:{host_port}"})
            task.advance()
        task.done()
        return {
            "adopted": False,
            "generation": number,
            "slot": slot,
            "image": spec.pinned_image,
            "network": self.network_name(spec.service, spec.environment),
            "containers": created,
            "removed_leftovers": removed,
            "replaces": active.number if active is not None else None,
        }

    def _generation_for(self, state: EngineState, spec: DeploySpec) -> Generation | None:
        matches = [g for g in state.generations if g.release == spec.version and g.digest == spec.digest]
        return max(matches, key=lambda g: g.number) if matches else None

    def wait_ready(
        self, spec: DeploySpec, *, timeout: float, progress: Progress, cancel: threading.Event | None = None
    ) -> RolloutState:
        started = time.monotonic()
        replicas = spec.replicas or self.config.replicas
        task = progress.task(f"waiting for {replicas} healthy replica(s)", total=replicas)
        last = RolloutState(False, replicas, 0, 0, 0, message="no replicas found")
        try:
            while True:
                gen = self._generation_for(self.read_state(spec.service, spec.environment), spec)
                if gen is None:
                    return RolloutState(
                        False,
                        replicas,
                        0,
                        0,
                        0,
                        message="no replicas of this release",
                        failed=True,
                        reason="NotFound",
                        seconds=time.monotonic() - started,
                    )
                last = self._observe(gen, replicas, started)
                task.update(last.message, completed=last.ready_replicas)
                if last.ready or last.failed:
                    return last
                cancelled = cancel is not None and cancel.is_set()
                if cancelled or time.monotonic() - started >= timeout:
                    return RolloutState(
                        False,
                        replicas,
                        last.updated,
                        last.ready_replicas,
                        last.available,
                        message=("cancelled" if cancelled else f"timed out after {timeout:.0f}s") + f": {last.message}",
                        failed=True,
                        reason="ProgressDeadlineExceeded",
                        pods_running=last.pods_running,
                        pods_failed=last.pods_failed,
                        restarts=last.restarts,
                        seconds=time.monotonic() - started,
                    )
                self._sleep(self._poll)
        finally:
            task.done()

    def _observe(self, gen: Generation, desired: int, started: float) -> RolloutState:
        ready = failed = restarts = running = 0
        crashed: list[str] = []
        unhealthy: list[str] = []
        for listed in gen.replicas:
            replica = self._inspect(listed)
            restarts += replica.restarts
            if replica.crashed:
                failed += 1
                crashed.append(replica.name)
                continue
            if not replica.running or replica.url is None:
                continue
            running += 1
            answer = self.probe.get(replica.url + self.health_path, timeout=1.0)
            if answer.ok:
                ready += 1
            elif replica.health == "unhealthy":
                unhealthy.append(replica.name)
        seconds = time.monotonic() - started
        if crashed:
            return RolloutState(
                False,
                desired,
                len(gen.replicas),
                ready,
                ready,
                message=f"{len(crashed)} replica(s) crashed or crash-looping: {', '.join(crashed)}",
                failed=True,
                reason="CrashLoopBackOff",
                pods_running=ready,
                pods_failed=failed,
                restarts=restarts,
                seconds=seconds,
            )
        if unhealthy:
            return RolloutState(
                False,
                desired,
                len(gen.replicas),
                ready,
                ready,
                message=f"engine health check failing: {', '.join(unhealthy)}",
                failed=True,
                reason="Unhealthy",
                pods_running=ready,
                pods_failed=len(unhealthy),
                restarts=restarts,
                seconds=seconds,
            )
        done = ready >= desired
        return RolloutState(
            done,
            desired,
            len(gen.replicas),
            ready,
            ready,
            message=f"{ready} of {desired} replicas healthy" + ("" if done else f" ({running} running)"),
            pods_running=ready,
            pods_failed=0,
            restarts=restarts,
            seconds=seconds,
        )

    def endpoints(self, spec: DeploySpec) -> list[str]:
        gen = self._generation_for(self.read_state(spec.service, spec.environment), spec)
        if gen is None:
            return []
        return [r.url for r in sorted(gen.replicas, key=lambda r: r.index) if r.url]

    def serving_endpoints(self, service: str, environment: str) -> list[str]:
        state = self.read_state(service, environment)
        return [r.url for g in state.generations for r in g.replicas if r.running and r.url]

    def cut_over(self, spec: DeploySpec, *, progress: Progress) -> dict[str, Any]:
        state = self.read_state(spec.service, spec.environment)
        gen = self._generation_for(state, spec)
        if gen is None:
            raise AdapterError(SYSTEM, "cutting over", f"no containers of release {spec.version[:12]}")
        older = [g for g in state.generations if g.number < gen.number and g.running]
        stopped = self._stop([r for g in older for r in g.replicas])
        if stopped:
            progress.log(f"stopped {len(stopped)} replica(s) of the previous release (kept for rollback)")
        # What remains besides the new release and its rollback point is stale.
        state = self.read_state(spec.service, spec.environment)
        keep = {gen.number}
        if state.previous is not None:
            keep.add(state.previous.number)
        removed = self._remove([r for g in state.generations if g.number not in keep for r in g.replicas])
        previous = state.previous.number if state.previous is not None else None
        done: dict[str, Any] = {"stopped": stopped, "removed": removed, "serving": gen.number, "previous": previous}
        discovery = self.publish_targets(spec.service, spec.environment)
        if discovery is not None:
            done["file_sd"] = discovery
        return done

    # -- Prometheus file-based service discovery -------------------------------------------------
    def file_sd_path(self, service: str, environment: str) -> str | None:
        """``<file_sd_dir>/<service>-<environment>.json``, or None when discovery files are off."""
        if not self.file_sd_dir:
            return None
        return str(Path(self.file_sd_dir) / f"{service}-{environment}.json")

    def publish_targets(
        self, service: str, environment: str, *, state: EngineState | None = None
    ) -> dict[str, Any] | None:
        """Write the serving generation's replicas as a Prometheus file_sd target group.

        Atomic (a temp file in the same folder, then rename), so Prometheus never reads half a
        file. Labels: ``job`` (the scrape job MEASURE checks), ``environment``, ``release`` (the
        version's first 12 characters). Nothing serving: an empty list (nothing scraped).
        Returns what was written (for evidence), None when discovery files are off.
        """
        import os
        import tempfile

        path = self.file_sd_path(service, environment)
        if path is None:
            return None
        state = state or self.read_state(service, environment)
        active = state.active
        groups: list[dict[str, Any]] = []
        labels: dict[str, str] = {}
        addresses: list[str] = []
        if active is not None:
            addresses = [
                f"127.0.0.1:{r.host_port}"
                for r in sorted(active.replicas, key=lambda r: r.index)
                if r.running and r.host_port
            ]
            labels = {
                "job": self.scrape_job or service,
                "environment": environment,
                "release": active.release[:12],
            }
            if addresses:
                groups.append({"targets": addresses, "labels": labels})
        folder = Path(path).parent
        try:
            folder.mkdir(parents=True, exist_ok=True)
            fd, name = tempfile.mkstemp(prefix=f".{service}-{environment}.", suffix=".tmp", dir=folder)
            tmp = Path(name)
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as handle:
                    json.dump(groups, handle, indent=2)
                    handle.write("\n")
                tmp.chmod(0o644)
                tmp.replace(path)  # atomic: Prometheus sees the old file or the new one
            except BaseException:
                with contextlib.suppress(OSError):
                    tmp.unlink()
                raise
        except OSError as exc:
            raise AdapterError(
                "prometheus file_sd",
                f"writing {path}",
                str(exc),
                hint="check target.local.prometheus_file_sd (or BMAD_PROMETHEUS_FILE_SD_DIR) names a writable folder",
            ) from None
        return {"path": path, "targets": addresses, "labels": labels}

    def status(self, service: str, environment: str) -> dict[str, Any]:
        state = self.read_state(service, environment)
        return {
            "kind": self.kind,
            "service": service,
            "environment": environment,
            "network": self.network_name(service, environment),
            "active": state.active.to_dict() if state.active else None,
            "previous": state.previous.to_dict() if state.previous else None,
            "generations": [g.to_dict() for g in state.generations],
        }

    def snapshot(self, service: str, environment: str) -> dict[str, Any]:
        state = self.read_state(service, environment)
        active = state.active
        if active is None:
            return {"kind": self.kind, "exists": False, "service": service, "environment": environment}
        return {
            "kind": self.kind,
            "exists": True,
            "service": service,
            "environment": environment,
            "generation": active.number,
            "release": active.release,
            "image": active.image,
            "digest": active.digest,
            "replicas": len(active.replicas),
            "containers": [r.name for r in active.replicas],
        }

    def rollback(
        self, service: str, environment: str, *, to: dict[str, Any] | None, progress: Progress
    ) -> RolloutState:
        started = time.monotonic()
        state = self.read_state(service, environment)
        target = self._rollback_target(state, to)
        if target is None:
            if to and to.get("image") and to.get("release"):
                return self._redeploy(service, environment, to, progress=progress, started=started)
            raise AdapterError(
                SYSTEM,
                "rolling back",
                f"no earlier release of {service} in {environment} is kept on this engine",
                hint="deploy a known-good version explicitly (bmad rollback --to VERSION needs its image)",
            )
        task = progress.task(f"rolling back to generation {target.number} ({target.release[:12]})")
        from docker.errors import DockerException

        for replica in target.replicas:
            if not replica.running:
                try:
                    replica.container.start()
                except DockerException as exc:
                    raise AdapterError(SYSTEM, f"starting {replica.name}", redact(str(exc))) from None
        result = self._wait_generation(
            service, environment, target.number, timeout=self.rollback_timeout, started=started
        )
        if result.ready:
            # Only now that the rollback point serves, remove everything newer (the failed release).
            state = self.read_state(service, environment)
            self._remove([r for g in state.generations if g.number > target.number for r in g.replicas])
            try:
                self.publish_targets(service, environment)
            except AdapterError as exc:  # the service is back; monitoring lags: say so, do not fail
                progress.log(f"rolled back, but the discovery file was not updated: {exc.message}")
        task.done()
        return result

    def _rollback_target(self, state: EngineState, to: dict[str, Any] | None) -> Generation | None:
        if to:
            if to.get("generation") is not None:
                found = state.find(int(to["generation"]))
                if found is not None:
                    return found
            digest, release = to.get("digest"), to.get("release") or to.get("version")
            matches = [
                g
                for g in state.generations
                if (not digest or g.digest == digest) and (not release or g.release == release)
            ]
            if matches and (digest or release):
                return max(matches, key=lambda g: g.number)
            return None
        candidates = state.by_role("candidate")
        if candidates and state.active is not None:
            return state.active  # the update never cut over: the old release still serves
        return state.previous

    def _redeploy(
        self, service: str, environment: str, to: dict[str, Any], *, progress: Progress, started: float
    ) -> RolloutState:
        spec = DeploySpec(
            service=service,
            environment=environment,
            version=str(to["release"]),
            image=str(to["image"]),
            digest=str(to.get("digest") or ""),
            env=dict(to.get("env") or {}),
        )
        self.apply(spec, progress=progress)
        result = self.wait_ready(spec, timeout=self.rollback_timeout, progress=progress)
        if result.ready:
            self.cut_over(spec, progress=progress)
            state = self.read_state(service, environment)
            gen = self._generation_for(state, spec)
            self._remove(
                [r for g in state.generations if gen is not None and g.number > gen.number for r in g.replicas]
            )
            self.publish_targets(service, environment)
        return RolloutState(**{**result.to_dict(), "seconds": time.monotonic() - started})

    def _wait_generation(
        self, service: str, environment: str, number: int, *, timeout: float, started: float
    ) -> RolloutState:
        while True:
            gen = self.read_state(service, environment).find(number)
            if gen is None:
                return RolloutState(False, 0, 0, 0, 0, message="generation vanished", failed=True)
            result = self._observe(gen, len(gen.replicas), started)
            if result.ready or result.failed or time.monotonic() - started >= timeout:
                return result
            self._sleep(min(self._poll, 0.05))

    def diagnose(self, service: str, environment: str) -> list[Diagnosis]:
        state = self.read_state(service, environment)
        findings: list[Diagnosis] = []
        for gen in state.generations:
            if gen.role not in ("active", "candidate"):
                continue
            for replica in gen.replicas:
                findings.extend(self._diagnose_replica(gen, self._inspect(replica)))
        return findings

    def _diagnose_replica(self, gen: Generation, replica: Replica) -> list[Diagnosis]:
        name = f"container/{replica.name}"
        if replica.crashed:
            lines = self._logs(replica)
            return [
                Diagnosis(
                    symptom="CrashLoopBackOff",
                    object=name,
                    evidence=[
                        f"status {replica.status}, exit code {replica.exit_code}, restarts {replica.restarts}",
                        *[f"log: {line}" for line in lines],
                    ],
                    causes=CRASH_CAUSES,
                    fixes=[
                        "read the log lines above for the error",
                        "check the environment in bmad.yaml (environments.<env>.target.local.env)",
                        "check that every secret_env reference resolves",
                        "raise target.local.memory_limit / cpus if the process was killed",
                    ],
                )
            ]
        if not replica.running or replica.url is None:
            return []
        answer = self.probe.get(replica.url + self.health_path, timeout=5.0)
        if not answer.ok:
            return [
                Diagnosis(
                    symptom="Readiness probe failing",
                    object=name,
                    evidence=[
                        f"GET {self.health_path} -> {answer.status or answer.error} in {answer.seconds:.2f}s",
                        f"engine health: {replica.health or 'n/a'}",
                        *[f"log: {line}" for line in self._logs(replica)],
                    ],
                    causes=SLOW_CAUSES,
                    fixes=[
                        f"make {self.health_path} answer 200 once the service can serve",
                        "check the service's dependencies (database, caches) from the logs",
                        "raise deploy.rollout_timeout_seconds if start-up is just slow",
                    ],
                )
            ]
        if answer.seconds > 0.5:
            return [
                Diagnosis(
                    symptom="High latency",
                    object=name,
                    evidence=[f"GET {self.health_path} took {answer.seconds:.2f}s", *self._stats(replica)],
                    causes=LATENCY_CAUSES,
                    fixes=[
                        "add replicas (target.local.replicas)",
                        "raise target.local.cpus / memory_limit",
                        "check database and external service latency",
                    ],
                )
            ]
        return []

    def _logs(self, replica: Replica, lines: int = 20) -> list[str]:
        try:
            raw = replica.container.logs(tail=lines)
        except Exception:
            return []
        text = raw.decode("utf-8", errors="replace") if isinstance(raw, bytes) else str(raw)
        return [redact(line) for line in text.splitlines()[-lines:]]

    def _stats(self, replica: Replica) -> list[str]:
        try:
            stats = replica.container.stats(stream=False)
        except Exception:
            return []
        memory = (stats.get("memory_stats") or {}).get("usage")
        return [f"memory usage: {memory} bytes"] if memory else []

    def secret_keys(self, name: str, *, namespace: str | None = None) -> set[str] | None:
        """Engine secrets hold one value each: the key set is {name} when it exists."""
        from docker.errors import DockerException

        try:
            secrets = self.client.secrets.list(filters={"name": name})
        except DockerException:
            return None
        return {name} if any(s.name == name for s in secrets) else None
