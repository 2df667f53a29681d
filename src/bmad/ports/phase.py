"""The contract every phase implements, and the context the engine hands it.

A phase is a set of :class:`Check` objects. The engine runs independent checks
concurrently (a check runs once every check it ``needs`` has finished), times them,
turns an exception in a check into a ``fail`` result with the error as evidence, and
skips a check whose dependency did not pass. After all checks, :meth:`PhasePlugin.finish`
may add results (DEPLOY's automatic rollback), and :meth:`PhasePlugin.metrics` returns
the phase's metric block with the guide's names.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import Any, Protocol

from bmad.config.models import BmadConfig, EnvironmentConfig
from bmad.core.models import CheckResult, CheckStatus, MetricValue, PhaseName, PhaseResult, Release
from bmad.ports.evidence import EvidenceSink
from bmad.ports.history import History
from bmad.ports.progress import NullProgress, Progress


@dataclass(frozen=True)
class RunOptions:
    """Options of one run that change what phases do: the command line's flags and ``--set KEY=VALUE``.

    The engine builds it once (:meth:`from_sets`); every ``--set`` key that is not a field here
    stays in ``extra`` for custom phases.
    """

    no_rollback: bool = False  # DEPLOY leaves a failed release in place (--no-rollback)
    no_suppressions: bool = False  # ANALYZE honours no suppression (--no-suppressions)
    no_reports: bool = False  # the engine writes no runbook, checklist or report after the run
    load_test: bool = True  # False: MEASURE skips its load test (--set load_test=false)
    change_type: tuple[str, ...] = ()  # ANALYZE takes these change types instead of inferring them
    docker_host: str | None = None  # the container engine BUILD talks to
    image: str | None = None  # DEPLOY deploys this image repository instead of BUILD's
    digest: str | None = None  # ... and this digest
    kubeconfig: str | None = None  # a Kubernetes target reads this kubeconfig (--kubeconfig) ...
    context: str | None = None  # ... uses this context (--context) ...
    namespace: str | None = None  # ... and deploys to this namespace (--namespace)
    force_conflicts: bool = False  # server-side apply takes fields other managers own (--force-conflicts)
    extra: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def from_sets(cls, values: Mapping[str, Any]) -> RunOptions:
        """From ``--set`` values (YAML-parsed) or an ``options=`` mapping."""
        known = {f.name for f in fields(cls)} - {"extra"}
        change_type = values.get("change_type")
        if change_type and not isinstance(change_type, list | tuple):
            change_type = [change_type]
        return cls(
            no_rollback=bool(values.get("no_rollback")),
            no_suppressions=bool(values.get("no_suppressions")),
            no_reports=bool(values.get("no_reports")),
            load_test=values.get("load_test") is not False,
            change_type=tuple(str(t) for t in change_type or ()),
            docker_host=_text(values.get("docker_host")),
            image=_text(values.get("image")),
            digest=_text(values.get("digest")),
            kubeconfig=_text(values.get("kubeconfig")),
            context=_text(values.get("context")),
            namespace=_text(values.get("namespace")),
            force_conflicts=bool(values.get("force_conflicts")),
            extra={key: value for key, value in values.items() if key not in known},
        )

    def as_sets(self) -> dict[str, Any]:
        """The options that differ from their default, as ``--set`` keys (``extra`` included)."""
        given: dict[str, Any] = {
            f.name: getattr(self, f.name)
            for f in fields(self)
            if f.name != "extra" and getattr(self, f.name) != f.default
        }
        return {**given, **self.extra}

    # Compatibility while phases move to the attributes: ``options.get("no_rollback")`` and
    # ``dict(options)`` read :meth:`as_sets`.
    def get(self, key: str, default: Any = None) -> Any:
        return self.as_sets().get(key, default)

    def keys(self) -> list[str]:
        return list(self.as_sets())

    def __getitem__(self, key: str) -> Any:
        return self.as_sets()[key]


def _text(value: Any) -> str | None:
    return str(value) if value else None


@dataclass
class PhaseContext:
    config: BmadConfig
    environment_name: str
    release: Release
    evidence: EvidenceSink
    history: History
    # Latest results of earlier phases of this release (artifacts and metrics included).
    previous: Mapping[PhaseName, PhaseResult] = field(default_factory=dict)
    progress: Progress = field(default_factory=NullProgress)
    cancel: threading.Event = field(default_factory=threading.Event)
    # Command-line options that change behaviour (--no-rollback, --set KEY=VALUE).
    options: RunOptions = field(default_factory=RunOptions)
    _artifacts: dict[str, Any] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        given: Any = self.options
        if isinstance(given, Mapping):  # a plain mapping (tests, custom callers): typed once here
            self.options = RunOptions.from_sets(given)

    @property
    def environment(self) -> EnvironmentConfig:
        return self.config.environment(self.environment_name)

    def artifact(self, key: str, default: Any = None) -> Any:
        """An artifact produced by an already-finished check of this phase."""
        with self._lock:
            return self._artifacts.get(key, default)

    def add_artifacts(self, values: Mapping[str, Any]) -> None:
        with self._lock:
            self._artifacts.update(values)

    def artifacts(self) -> dict[str, Any]:
        with self._lock:
            return dict(self._artifacts)

    def previous_artifact(self, phase: PhaseName, key: str, default: Any = None) -> Any:
        result = self.previous.get(phase)
        if result is None:
            return default
        return result.artifacts.get(key, default)


CheckFn = Callable[[PhaseContext], CheckResult]


@dataclass(frozen=True)
class CheckId:
    """A check's stable id and title, and the results it can produce, so no result repeats them.

    ``CHECK = CheckId("build.image", "Image built")`` then ``CHECK.passed("built in 3 s", ...)``.
    Keyword arguments are :class:`CheckResult` fields (expected, observed, fix, evidence, ...).
    """

    id: str
    title: str

    def result(self, status: CheckStatus, summary: str, **fields: Any) -> CheckResult:
        return CheckResult(id=self.id, title=self.title, status=status, summary=summary, **fields)

    def passed(self, summary: str, **fields: Any) -> CheckResult:
        return self.result(CheckStatus.PASS, summary, **fields)

    def warned(self, summary: str, **fields: Any) -> CheckResult:
        return self.result(CheckStatus.WARN, summary, **fields)

    def failed(self, summary: str, **fields: Any) -> CheckResult:
        return self.result(CheckStatus.FAIL, summary, **fields)

    def skipped(self, summary: str, **fields: Any) -> CheckResult:
        return self.result(CheckStatus.SKIP, summary, **fields)


@dataclass(frozen=True)
class Check:
    """One unit of a phase. ``id`` never changes once published (it names the check in records)."""

    id: str
    title: str
    run: CheckFn
    needs: tuple[str, ...] = ()
    # Run while no other check of the phase runs (e.g. a load test that would skew timings).
    exclusive: bool = False

    def skipped(self, reason: str) -> CheckResult:
        return CheckResult(id=self.id, title=self.title, status=CheckStatus.SKIP, summary=reason)


class PhasePlugin(Protocol):
    name: PhaseName

    def checks(self, ctx: PhaseContext) -> Sequence[Check]: ...

    def finish(self, ctx: PhaseContext, results: Sequence[CheckResult]) -> Sequence[CheckResult]:
        """Extra results once every check has finished (e.g. an automatic rollback)."""
        ...

    def metrics(self, ctx: PhaseContext, results: Sequence[CheckResult]) -> dict[str, MetricValue]:
        """The phase's metric block, with the guide's names."""
        ...


class BasePhase:
    """Convenience base: no finishing step; metrics are the union of the checks' metrics."""

    name: PhaseName

    def checks(self, ctx: PhaseContext) -> Sequence[Check]:
        raise NotImplementedError

    def finish(self, ctx: PhaseContext, results: Sequence[CheckResult]) -> Sequence[CheckResult]:
        return ()

    def metrics(self, ctx: PhaseContext, results: Sequence[CheckResult]) -> dict[str, MetricValue]:
        merged: dict[str, MetricValue] = {}
        for result in results:
            merged.update(result.metrics)
        return merged
