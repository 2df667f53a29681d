"""Where a release runs: a Kubernetes cluster or a local container engine (Docker or Podman).

ANALYZE uses :meth:`Target.snapshot` (the rollback point) and :meth:`Target.secret_keys`
(does a Secret exist, which keys — never values). DEPLOY uses the rest.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Mapping, Sequence
from dataclasses import asdict, field
from typing import Any, Protocol, runtime_checkable

from bmad.core.datatypes import datatype
from bmad.ports.progress import Progress


@datatype(frozen=True)
class DeploySpec:
    """What to deploy: the service's image pinned by digest, and the release labels."""

    service: str
    environment: str
    version: str
    image: str  # repository reference, e.g. 127.0.0.1:5000/hello
    digest: str  # sha256:...
    replicas: int | None = None
    env: dict[str, str] = field(default_factory=dict)
    manifests: tuple[dict[str, Any], ...] = ()  # Kubernetes objects of the bundle (empty for local)
    health_path: str = "/health"
    secret_env: dict[str, str] = field(default_factory=dict, repr=False)  # resolved values: never logged

    @property
    def pinned_image(self) -> str:
        """``image@digest``; the image as given when there is no digest (a local tag)."""
        if not self.digest:
            return self.image
        return f"{self.image}@{self.digest}"


@datatype(frozen=True)
class RolloutState:
    ready: bool
    desired: int
    updated: int
    ready_replicas: int
    available: int
    message: str = ""
    failed: bool = False  # e.g. ProgressDeadlineExceeded, crash loop
    reason: str = ""  # machine-readable: ProgressDeadlineExceeded, CrashLoopBackOff, Timeout ...
    pods_running: int = 0  # running and ready
    pods_failed: int = 0  # crashed, crash-looping, image pull failures, exited
    restarts: int = 0
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@datatype(frozen=True)
class Diagnosis:
    """One finding of ``diagnose``: a symptom, its evidence, likely causes and fixes (the guide's troubleshooting)."""

    symptom: str
    object: str
    evidence: list[str]
    causes: list[str]
    fixes: list[str]

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


# The keys each kind of target records, in the order it records them (records are JSON whose key
# order shows in reports): the identity first, then what runs (only when something runs).
_IDENTITY = {
    "kubernetes": ("kind", "service", "environment", "namespace", "deployment", "exists"),
    "local": ("kind", "exists", "service", "environment"),
}
_RUNNING = {
    "kubernetes": ("revision", "release", "replicas", "images", "template"),
    "local": ("generation", "release", "image", "digest", "replicas", "containers"),
}


@datatype(frozen=True)
class TargetSnapshot:
    """What runs now (the rollback point): ANALYZE records it, DEPLOY returns to it.

    ``to_dict()`` is the record (ANALYZE's ``snapshot``, DEPLOY's ``previous_snapshot`` artifact);
    ``from_dict()`` reads one back, so a record written by a target round-trips to the same JSON.
    """

    kind: str
    service: str
    environment: str
    exists: bool = False
    release: str | None = None
    replicas: int | None = None
    # The local container engine: the serving generation, its image and containers.
    generation: int | None = None
    image: str | None = None
    digest: str | None = None
    containers: tuple[str, ...] = ()
    # Kubernetes: the Deployment, its revision, images and pod template.
    namespace: str | None = None
    deployment: str | None = None
    revision: str | None = None
    images: tuple[str, ...] = ()
    template: Mapping[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        layout = "kubernetes" if self.kind == "kubernetes" else "local"
        names = _IDENTITY[layout] + (_RUNNING[layout] if self.exists else ())
        return {name: _plain(getattr(self, name)) for name in names}

    @classmethod
    def from_dict(cls, record: Mapping[str, Any]) -> TargetSnapshot:
        """A snapshot from its record; keys a record lacks take the field's default."""
        template = record.get("template")
        return cls(
            kind=str(record.get("kind") or ""),
            service=str(record.get("service") or ""),
            environment=str(record.get("environment") or ""),
            exists=bool(record.get("exists")),
            release=_text(record.get("release")),
            replicas=_number(record.get("replicas")),
            generation=_number(record.get("generation")),
            image=_text(record.get("image")),
            digest=_text(record.get("digest")),
            containers=tuple(str(name) for name in record.get("containers") or ()),
            namespace=_text(record.get("namespace")),
            deployment=_text(record.get("deployment")),
            revision=_text(record.get("revision")),
            images=tuple(str(image) for image in record.get("images") or ()),
            template=copy.deepcopy(dict(template)) if isinstance(template, Mapping) else None,
        )


def _plain(value: Any) -> Any:
    """A field's value as JSON-ready data (tuples become lists, the template a copy)."""
    if isinstance(value, tuple):
        return list(value)
    if isinstance(value, Mapping):
        return copy.deepcopy(dict(value))
    return value


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _number(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


@datatype(frozen=True)
class ProbeResponse:
    """One HTTP probe of the service (data plane): status 0 means no answer at all."""

    url: str
    status: int
    body: str
    seconds: float
    error: str = ""

    @property
    def ok(self) -> bool:
        return self.status == 200


class HttpProbe(Protocol):
    """Plain GETs against the service itself (smoke tests, downtime probes, verification traffic)."""

    def get(self, url: str, *, timeout: float) -> ProbeResponse: ...


@datatype(frozen=True)
class SuiteOutcome:
    """The service's own smoke suite: its exit code, output tail and the JUnit XML it wrote."""

    argv: tuple[str, ...]
    exit_code: int | None
    output_tail: str
    junit_xml: str | None
    seconds: float
    evidence_file: str | None = None


class SuiteRunner(Protocol):
    def run(
        self, argv: Sequence[str], *, env: Mapping[str, str], cwd: str, timeout: float, junit_path: str | None
    ) -> SuiteOutcome: ...


class Target(Protocol):
    kind: str

    def apply(self, spec: DeploySpec, *, progress: Progress) -> dict[str, Any]:
        """Start the release; returns what was applied (for evidence)."""
        ...

    def wait_ready(
        self, spec: DeploySpec, *, timeout: float, progress: Progress, cancel: threading.Event | None = None
    ) -> RolloutState:
        """Wait for the rollout (kubectl's semantics on Kubernetes); stop early when ``cancel`` is set."""
        ...

    def endpoints(self, spec: DeploySpec) -> list[str]:
        """Base URLs smoke tests hit (one per replica on the local target, the service URL on Kubernetes)."""
        ...

    def status(self, service: str, environment: str) -> dict[str, Any]: ...

    def snapshot(self, service: str, environment: str) -> TargetSnapshot:
        """What runs now (objects/containers, images, replicas, revision): the rollback point."""
        ...

    def rollback(
        self, service: str, environment: str, *, to: dict[str, Any] | None, progress: Progress
    ) -> RolloutState:
        """Return to the snapshot ``to``, or to the previous revision when ``to`` is None."""
        ...

    def diagnose(self, service: str, environment: str) -> list[Diagnosis]: ...

    def cut_over(self, spec: DeploySpec, *, progress: Progress) -> dict[str, Any]:
        """The new release serves alone: stop what it replaces, but keep it for a fast rollback.

        A no-op on Kubernetes (the rolling update already replaced the pods).
        """
        ...

    def serving_endpoints(self, service: str, environment: str) -> list[str]:
        """Base URLs of whatever serves now (for downtime probes and rollback health checks)."""
        ...

    def secret_keys(self, name: str, *, namespace: str | None = None) -> set[str] | None:
        """Key names of a Secret in the target, None when it does not exist. Never values."""
        ...


class AccessPreflight(Protocol):
    """What ANALYZE asks a cluster target about a release before DEPLOY touches anything."""

    def missing_rights(self, spec: DeploySpec) -> list[str]:
        """Each right DEPLOY needs and the identity lacks, as ``kubectl auth can-i`` asks it."""
        ...

    def prune_preview(self, spec: DeploySpec) -> list[str]:
        """The objects ``prune: true`` would delete after this release (``Kind/name``)."""
        ...


@datatype(frozen=True)
class AutoscalerStatus:
    """One HorizontalPodAutoscaler of the release as its status says now (autoscaling/v2)."""

    name: str
    workload: str  # the scale target, "Deployment/web"
    min_replicas: int
    max_replicas: int
    current_replicas: int
    desired_replicas: int
    metric: str  # the first metric's name ("cpu"), "" when it has none
    current_value: float | None  # that metric's current value (utilization in percent, or the average value)
    target_value: float | None  # ... and its target

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@runtime_checkable
class AutoscalerWatch(Protocol):
    """What DEPLOY asks a cluster target about the release's autoscalers (DEPLOY's ``deploy.autoscaling``)."""

    def autoscalers(self, spec: DeploySpec) -> list[AutoscalerStatus]:
        """The HPAs whose scale target is a workload of the release, with their status now."""
        ...
