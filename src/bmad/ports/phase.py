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
from dataclasses import field, fields
from typing import Any, Protocol

from bmad.config.models import BmadConfig, EnvironmentConfig
from bmad.core.datatypes import datatype
from bmad.core.errors import UsageError
from bmad.core.models import CheckResult, CheckStatus, MetricValue, PhaseName, PhaseResult, Release
from bmad.ports.evidence import EvidenceSink
from bmad.ports.history import History
from bmad.ports.progress import NullProgress, Progress


@datatype(frozen=True)
class RunOptions:
    """Options of one run that change what phases do: the command line's flags and ``--set KEY=VALUE``.

    The engine builds it once (:meth:`from_sets`), typed: an unknown key or a value of the wrong type
    is a :class:`~bmad.core.errors.UsageError` (exit 2) naming the valid keys. Custom phases take
    keys prefixed ``x_`` (or ``x-``), kept in ``extra`` under their ``x_`` name.
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
    extra: Mapping[str, Any] = field(default_factory=dict)  # x_ keys, for custom phases

    @classmethod
    def keys_help(cls) -> str:
        """The valid ``--set`` keys, for error messages and help."""
        return ", ".join(sorted(_field_kinds())) + "; custom phases: x_<name>"

    @classmethod
    def from_sets(cls, values: Mapping[str, Any]) -> RunOptions:
        """From ``--set`` values (YAML-parsed) or an ``options=`` mapping; raises UsageError on a bad key or value."""
        kinds = _field_kinds()
        typed: dict[str, Any] = {}
        extra: dict[str, Any] = {}
        for key, value in values.items():
            if key[:2] in ("x_", "x-") and len(key) > 2:
                extra["x_" + key[2:]] = value
            elif key in kinds:
                typed[key] = _typed(key, kinds[key], value)
            else:
                raise UsageError(f"--set {key}: unknown option", hint=f"valid keys: {cls.keys_help()}")
        return cls(**typed, extra=extra)


def _field_kinds() -> dict[str, str]:
    """Each option's name and kind: ``bool``, ``text`` or ``texts`` (a list of strings)."""
    kinds = {"bool": "bool", "str | None": "text", "tuple[str, ...]": "texts"}
    return {f.name: kinds[str(f.type)] for f in fields(RunOptions) if f.name != "extra"}


def _typed(key: str, kind: str, value: Any) -> Any:
    if kind == "bool" and isinstance(value, bool):
        return value
    if kind == "texts":
        items = value if isinstance(value, list | tuple) else [value]
        if all(isinstance(item, str) and item for item in items):
            return tuple(items)
    if kind == "text" and (value is None or isinstance(value, str)):
        return value or None
    expected = {"bool": "true or false", "texts": "a name or a list of names", "text": "text"}[kind]
    raise UsageError(f"--set {key}={value}: expected {expected}", hint=f"valid keys: {RunOptions.keys_help()}")


class TargetLockWatch(Protocol):
    """A held target lock (Kubernetes Lease, local lock file) that can say it was lost."""

    def lost(self) -> str | None:
        """Why the lock is no longer this run's (taken by another run, not renewed in time), else None."""
        ...


@datatype
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
    # The target's own lock while DEPLOY holds it: a check does nothing on the target once it is lost.
    target_lock: TargetLockWatch | None = None
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


@datatype(frozen=True)
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


@datatype(frozen=True)
class Check:
    """One unit of a phase. ``id`` never changes once published (it names the check in records)."""

    id: str
    title: str
    run: CheckFn
    needs: tuple[str, ...] = ()
    # Run while no other check of the phase runs (e.g. a load test that would skew timings).
    exclusive: bool = False
    # Started before the checks declared ahead of it: it mostly waits on another system, so its wait
    # overlaps their work instead of queueing behind them for a worker. Results keep declared order.
    starts_early: bool = False

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
