"""The local target's state model, read back from the engine's container labels.

Every container carries labels, so the state can always be read back from the engine (after a
crash of bmad too)::

    bmad.managed-by=bmad  bmad.service  bmad.environment  bmad.release  bmad.digest
    bmad.generation (a counter per service/environment)  bmad.slot (0|1)  bmad.replica  bmad.config

Docker labels cannot change after creation, so a container's *role* is derived from the
labels and the running state, by rules that hold at every step of an update or a rollback:

* **active** — the oldest generation that has a running replica (the one serving);
* **candidate** — a newer generation running beside it (an update in progress, unconfirmed);
* **previous** — the newest stopped generation older than the active one (the rollback point);
* **stale** — anything else (removed by the next apply, cut-over or rollback).
"""

from __future__ import annotations

import json
import re
from dataclasses import field
from typing import Any

from bmad.config.deploy import LocalTargetConfig
from bmad.core.datatypes import datatype
from bmad.core.digest import sha256
from bmad.ports.target import DeploySpec

SYSTEM = "container engine"
MANAGED = "bmad.managed-by"


@datatype
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


@datatype
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


@datatype
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

    def under_diagnosis(self) -> list[Generation]:
        """The serving generation and every newer one, running or not.

        A crash-looping candidate is down between two restarts, so its role is briefly
        "stale"; it is still the update being diagnosed. With nothing serving, the newest
        generation is the one to look at.
        """
        active = self.active
        if active is None:
            return [max(self.generations, key=lambda g: g.number)] if self.generations else []
        return [g for g in self.generations if g.number >= active.number]


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


def generation_for(state: EngineState, spec: DeploySpec) -> Generation | None:
    """The newest generation running ``spec``'s release and digest."""
    matches = [g for g in state.generations if g.release == spec.version and g.digest == spec.digest]
    return max(matches, key=lambda g: g.number) if matches else None


def release_labels(spec: DeploySpec, *, generation: int, slot: int, replica: int, config: str) -> dict[str, str]:
    """The labels of one replica of ``spec``: everything :func:`replica_from_attrs` reads back."""
    return {
        MANAGED: "bmad",
        "bmad.service": spec.service,
        "bmad.environment": spec.environment,
        "bmad.release": spec.version,
        "bmad.digest": spec.digest,
        "bmad.image": spec.image,
        "bmad.generation": str(generation),
        "bmad.slot": str(slot),
        "bmad.replica": str(replica),
        "bmad.config": config,
    }


def config_hash(spec: DeploySpec, config: LocalTargetConfig) -> str:
    data = {
        "env": spec.env,
        "secret_env": sorted(spec.secret_env),
        "replicas": spec.replicas or config.replicas,
        "port": config.port,
        "memory": config.memory_limit,
        "cpus": config.cpus,
    }
    return sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:12]
