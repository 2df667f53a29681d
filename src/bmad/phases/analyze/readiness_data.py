"""Plain data of the readiness catalog and its results."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import field
from enum import StrEnum
from typing import Any, NamedTuple

from bmad.core.datatypes import datatype


class Category(StrEnum):
    TESTING = "Testing & QA"
    SECURITY = "Security & Compliance"
    MONITORING = "Monitoring & Observability"
    INFRASTRUCTURE = "Infrastructure & Scaling"
    RELIABILITY = "Reliability"

    @property
    def slug(self) -> str:
        return _SLUGS[self]

    @classmethod
    def from_slug(cls, slug: str) -> Category:
        for category, value in _SLUGS.items():
            if value == slug or category.value.lower() == slug.lower():
                return category
        raise ValueError(f"unknown category {slug!r}; one of {', '.join(_SLUGS.values())}")


_SLUGS = {
    Category.TESTING: "testing",
    Category.SECURITY: "security",
    Category.MONITORING: "monitoring",
    Category.INFRASTRUCTURE: "infrastructure",
    Category.RELIABILITY: "reliability",
}


class Severity(StrEnum):
    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"
    INFO = "info"

    @property
    def weight(self) -> int:
        """Weight of an item in the score (see docs/analyze.md, "Score")."""
        return _WEIGHTS[self]

    @property
    def rank(self) -> int:
        return _RANKS[self]


_WEIGHTS = {Severity.CRITICAL: 10, Severity.HIGH: 5, Severity.MEDIUM: 3, Severity.LOW: 1, Severity.INFO: 0}
_RANKS = {Severity.CRITICAL: 4, Severity.HIGH: 3, Severity.MEDIUM: 2, Severity.LOW: 1, Severity.INFO: 0}


class Scope(StrEnum):
    """What an evaluator is handed, once per matching thing."""

    CONTAINER = "container"  # each container (and init container) of each pod template
    POD = "pod"  # each pod template (Pod, Deployment, StatefulSet, DaemonSet, ReplicaSet, Job, CronJob)
    OBJECT = "object"  # each object whose kind is in ``applies_to``
    BUNDLE = "bundle"  # the bundle as a whole
    CONFIG = "config"  # bmad.yaml
    EVIDENCE = "evidence"  # what BUILD and MEASURE recorded for this release
    ATTESTATION = "attestation"  # what only a person can confirm
    COMPOSE = "compose"  # each service of the environment's compose file that uses a GPU


class ItemStatus(StrEnum):
    PASS = "pass"  # noqa: S105 - a status
    FAIL = "fail"
    NOT_APPLICABLE = "not_applicable"
    SKIPPED = "skipped"


@datatype(frozen=True)
class CatalogEntry:
    """One readiness item. ``id`` never changes once published."""

    id: str
    name: str  # CamelCase short name (SARIF rule name)
    title: str
    category: Category
    severity: Severity
    scope: Scope
    evaluator: str
    rationale: str
    fix: str
    applies_to: tuple[str, ...] = ()  # kinds; empty = every kind the scope covers
    params: Mapping[str, Any] = field(default_factory=dict)
    guide: bool = False  # named in the guide's ANALYZE checklist

    def describe_target(self) -> str:
        if self.scope in (Scope.CONTAINER, Scope.POD):
            return f"{self.scope.value}s of " + (", ".join(self.applies_to) if self.applies_to else "workloads")
        if self.scope is Scope.OBJECT:
            return ", ".join(self.applies_to) or "every object"
        if self.scope is Scope.COMPOSE:
            return "GPU services of the compose file"
        return self.scope.value


class Fail(NamedTuple):
    """An evaluator's verdict: failed, with a message and the field path it is about."""

    message: str
    path: tuple[str | int, ...] = ()


class NA(NamedTuple):
    """An evaluator's verdict: does not apply here, and why."""

    reason: str


class Skip(NamedTuple):
    """An evaluator's verdict: could not find out (e.g. no evidence recorded), and why."""

    reason: str


Verdict = Fail | NA | Skip | None  # None = pass


@datatype(frozen=True)
class Location:
    """Where a finding is: the object (logical) and the file/line (physical)."""

    namespace: str | None = None
    kind: str | None = None
    name: str | None = None
    container: str | None = None
    file: str | None = None
    line: int | None = None

    @property
    def logical(self) -> str:
        parts = [self.namespace or "_", self.kind or "_", self.name or "_"]
        if self.container:
            parts.append(self.container)
        return "/".join(parts)

    def to_dict(self) -> dict[str, Any]:
        return {
            "namespace": self.namespace,
            "kind": self.kind,
            "name": self.name,
            "container": self.container,
            "file": self.file,
            "line": self.line,
        }


@datatype(frozen=True)
class Finding:
    """One failed (or suppressed) occurrence of a catalog item."""

    check_id: str
    message: str
    location: Location = Location()
    suppressed: str | None = None  # the reason, when a suppression applies

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"message": self.message, **self.location.to_dict()}
        data["object"] = self.location.logical if self.location.kind else None
        if self.suppressed is not None:
            data["suppressed"] = self.suppressed
        return data


@datatype
class ItemResult:
    """The result of one catalog item over everything it applies to."""

    entry: CatalogEntry
    status: ItemStatus
    reason: str = ""  # for not_applicable / skipped, or a one-line summary
    findings: list[Finding] = field(default_factory=list)  # failures and suppressed failures
    passed: int = 0  # number of things that passed
    evaluated: int = 0  # number of things looked at

    @property
    def failures(self) -> list[Finding]:
        return [f for f in self.findings if f.suppressed is None]

    @property
    def suppressed(self) -> list[Finding]:
        return [f for f in self.findings if f.suppressed is not None]

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.entry.id,
            "title": self.entry.title,
            "category": self.entry.category.value,
            "severity": self.entry.severity.value,
            "status": self.status.value,
            "reason": self.reason,
            "fix": self.entry.fix,
            "evaluated": self.evaluated,
            "passed": self.passed,
            "failed": len(self.failures),
            "suppressed": len(self.suppressed),
            "findings": [f.to_dict() for f in self.findings],
        }
