"""Where a release runs: a Kubernetes cluster or a local container engine (Docker or Podman).

ANALYZE uses :meth:`Target.snapshot` (the rollback point) and :meth:`Target.secret_keys`
(does a Secret exist, which keys — never values). DEPLOY uses the rest.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from bmad.ports.progress import Progress


@dataclass(frozen=True)
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


@dataclass(frozen=True)
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


@dataclass(frozen=True)
class Diagnosis:
    """One finding of ``diagnose``: a symptom, its evidence, likely causes and fixes (the guide's troubleshooting)."""

    symptom: str
    object: str
    evidence: list[str]
    causes: list[str]
    fixes: list[str]

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True)
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


@dataclass(frozen=True)
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

    def snapshot(self, service: str, environment: str) -> dict[str, Any]:
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
