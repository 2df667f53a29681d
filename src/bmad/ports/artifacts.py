"""Typed hand-offs between phases.

A phase's outputs travel to later phases (and to the ledger, the reports and a rollback) as the
``artifacts`` mapping of its :class:`~bmad.core.models.PhaseResult`, stored as JSON. Each phase
reads and writes them only through the frozen dataclasses here, so a renamed or mistyped key is
a type error, not a silent ``None``.

Every dataclass has ``to_artifacts()`` (the JSON-ready mapping written into the phase result) and
``from_artifacts(mapping)`` (tolerant of records written by earlier bmad versions: a missing key
becomes the field's default). The artifact keys themselves are part of the record format and do
not change.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any, Self, TypeVar

from bmad.config.measure import NoDataPolicy
from bmad.core.datatypes import datatype
from bmad.core.models import PhaseName, PhaseResult
from bmad.ports.loadtest import LevelResult
from bmad.ports.target import TargetSnapshot

_T = TypeVar("_T", bound="Artifacts")


@datatype(frozen=True)
class Artifacts:
    """Base of every phase's artifacts: field name = artifact key."""

    def to_artifacts(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}

    @classmethod
    def from_artifacts(cls: type[_T], values: Mapping[str, Any]) -> _T:
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in values.items() if k in names})

    @classmethod
    def of(cls: type[_T], previous: Mapping[PhaseName, PhaseResult], phase: PhaseName) -> _T | None:
        """The artifacts of ``phase`` among a release's earlier results, or None if it has none."""
        result = previous.get(phase)
        if result is None:
            return None
        return cls.from_artifacts(result.artifacts)


# ---------------------------------------------------------------------------------------- BUILD


@datatype(frozen=True)
class BuiltImage(Artifacts):
    """What ``build.image`` hands on: the image as built, before it is pushed.

    This and the other BUILD parts below have required fields: BUILD's own checks read them back once the
    check that wrote them passed. Later phases read :class:`BuildArtifacts`, where every field has a default.
    """

    image_id: str
    image_ref: str  # the first tag
    image_tags: list[str]
    multi_stage: bool
    containerfile: str
    base_image: str | None  # the final stage's base image; None for FROM scratch
    image_size_bytes: int | None = None  # left out of the record when the engine could not say

    def to_artifacts(self) -> dict[str, Any]:
        values = super().to_artifacts()
        if self.image_size_bytes is None:
            del values["image_size_bytes"]
        return values


@datatype(frozen=True)
class PushedImage(Artifacts):
    """What ``build.push`` hands on: the image in the registry, one digest for every tag."""

    image_digest: str
    image: str  # the repository, e.g. 127.0.0.1:5000/hello
    image_tags: list[str]
    image_pinned: str  # image@digest, what DEPLOY runs


@datatype(frozen=True)
class LayerSecretsFound(Artifacts):
    """What ``build.layer_secrets`` hands on (ANALYZE's SC-046 reads it)."""

    secrets_in_image: int  # allow-listed findings excluded


@datatype(frozen=True)
class ReleaseTagged(Artifacts):
    """What ``build.git_tag`` hands on."""

    git_tag: str


RATE_KEY_SUFFIX = "_pass_rate"


def pass_rate_key(suite: str) -> str:
    """The artifact key of a suite's pass rate: ``e2e`` -> ``e2e_pass_rate`` (ANALYZE's TQ-030 reads it)."""
    return suite.replace("-", "_") + RATE_KEY_SUFFIX


@datatype(frozen=True)
class SuitePassRate(Artifacts):
    """What a ``build.tests.<suite>`` check hands on: passed / executed tests in %, None when none ran."""

    suite: str
    percent: float | None

    def to_artifacts(self) -> dict[str, Any]:
        return {pass_rate_key(self.suite): self.percent}


@datatype(frozen=True)
class BuildArtifacts(Artifacts):
    """Everything BUILD hands to later phases; a key no check wrote (failed, skipped, off) keeps its default."""

    image_id: str | None = None
    image_ref: str | None = None
    image_tags: list[str] = dataclasses.field(default_factory=list)
    multi_stage: bool = False
    containerfile: str | None = None
    base_image: str | None = None
    image_size_bytes: int | None = None
    secrets_in_image: int | None = None
    image_digest: str | None = None
    image: str | None = None
    image_pinned: str | None = None
    git_tag: str | None = None
    # "<suite>_pass_rate" keys, by the key's prefix (the suite's name with "-" as "_").
    pass_rates: dict[str, float | None] = dataclasses.field(default_factory=dict)

    def to_artifacts(self) -> dict[str, Any]:
        values = super().to_artifacts()
        del values["pass_rates"]
        values.update({prefix + RATE_KEY_SUFFIX: rate for prefix, rate in self.pass_rates.items()})
        return values

    @classmethod
    def from_artifacts(cls, values: Mapping[str, Any]) -> Self:
        known = super().from_artifacts(values)
        rates = {k.removesuffix(RATE_KEY_SUFFIX): v for k, v in values.items() if k.endswith(RATE_KEY_SUFFIX)}
        return dataclasses.replace(known, pass_rates=rates)


# -------------------------------------------------------------------------------------- MEASURE
_FIGURE_NAMES = frozenset({"value", "min", "avg", "max", "p95"})


@datatype(frozen=True)
class BaselineFigure:
    """One baseline figure as MEASURE stores it: the value as of the phase start and a summary over a
    window before it. ``value`` is None when the query had no data (``no_data``) or failed (``error``)."""

    query: str
    unit: str = ""
    value: float | None = None
    minimum: float | None = None
    average: float | None = None
    maximum: float | None = None
    p95: float | None = None
    window_seconds: float = 0.0
    points: int = 0
    no_data: bool = False
    no_data_policy: NoDataPolicy = "warn"
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "query": self.query,
            "unit": self.unit,
            "value": self.value,
            "min": self.minimum,
            "avg": self.average,
            "max": self.maximum,
            "p95": self.p95,
            "window": self.window_seconds,
            "points": self.points,
            "no_data": self.no_data,
            "no_data_policy": self.no_data_policy,
            "error": self.error,
        }

    def figure(self, name: str) -> float | None:
        """One figure by its stored name (``value``, ``min``, ``avg``, ``max``, ``p95``), as a number."""
        raw = self.to_dict().get(name) if name in _FIGURE_NAMES else None
        return float(raw) if isinstance(raw, int | float) and not isinstance(raw, bool) else None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> BaselineFigure:
        return cls(
            query=str(data.get("query", "")),
            unit=str(data.get("unit", "")),
            value=data.get("value"),
            minimum=data.get("min"),
            average=data.get("avg"),
            maximum=data.get("max"),
            p95=data.get("p95"),
            window_seconds=data.get("window", 0.0),
            points=data.get("points", 0),
            no_data=bool(data.get("no_data", False)),
            no_data_policy=data.get("no_data_policy", "warn"),
            error=data.get("error"),
        )


# A level row read from a record written before a figure existed: the missing figures are zero.
_EMPTY_LEVEL: dict[str, Any] = {
    f.name: 0
    for f in dataclasses.fields(LevelResult)
    if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
}


@datatype(frozen=True)
class LoadTestLevel:
    """One level of MEASURE's load-test sweep: the generator's figures and, at the level where the
    sweep stopped, why it broke the SLO. Stored with ``p50``..``max`` in seconds (the reports read
    those) beside the same figures in milliseconds (``*_ms``)."""

    result: LevelResult
    slo_breach: str | None = None

    def to_dict(self) -> dict[str, Any]:
        row = self.result.to_dict()
        row.update(
            {
                "p50": self.result.p50_ms / 1000,
                "p95": self.result.p95_ms / 1000,
                "p99": self.result.p99_ms / 1000,
                "max": self.result.max_ms / 1000,
                "slo_breach": self.slo_breach,
            }
        )
        return row

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> LoadTestLevel:
        known = {f.name for f in dataclasses.fields(LevelResult)}
        figures = {**_EMPTY_LEVEL, **{k: v for k, v in data.items() if k in known}}
        return cls(result=LevelResult(**figures), slo_breach=data.get("slo_breach"))


PodOrNodeFigures = Mapping[str, Mapping[str, float]]  # {pod or node: {figure: value}}


@datatype(frozen=True)
class MeasureArtifacts(Artifacts):
    """What MEASURE hands to later phases (DEPLOY's verification reads ``baseline``, the reports
    both ``baseline`` and ``load_test``).

    Each check writes only its own part: a field left None is not written (see ``to_artifacts``).
    ``baseline_pods`` / ``baseline_nodes``: the ``kubectl top`` figures of Kubernetes targets.
    ``e2e_metric_seconds``: how long the pushed test metric took to show in a query (None: never).
    ``gpu_baseline``: per-device GPU figures (``gpu0_utilization``, ...) of ``measure.gpu_baselines``.
    """

    baseline: Mapping[str, BaselineFigure] | None = None
    baseline_pods: PodOrNodeFigures | None = None
    baseline_nodes: PodOrNodeFigures | None = None
    load_test: tuple[LoadTestLevel, ...] | None = None
    grafana_dashboard_uids: tuple[str, ...] | None = None
    e2e_metric_seconds: float | None = None
    gpu_baseline: Mapping[str, BaselineFigure] | None = None

    def to_artifacts(self, *only: str) -> dict[str, Any]:
        """The JSON mapping written into the record: the fields named in ``only`` (None written as
        null), else every field that is set."""
        stored: dict[str, Any] = {
            "baseline": None
            if self.baseline is None
            else {name: figure.to_dict() for name, figure in self.baseline.items()},
            "baseline_pods": _plain(self.baseline_pods),
            "baseline_nodes": _plain(self.baseline_nodes),
            "load_test": None if self.load_test is None else [level.to_dict() for level in self.load_test],
            "grafana_dashboard_uids": None
            if self.grafana_dashboard_uids is None
            else list(self.grafana_dashboard_uids),
            "e2e_metric_seconds": self.e2e_metric_seconds,
            "gpu_baseline": None
            if self.gpu_baseline is None
            else {name: figure.to_dict() for name, figure in self.gpu_baseline.items()},
        }
        names = only or tuple(name for name, value in stored.items() if value is not None)
        return {name: stored[name] for name in names}

    @classmethod
    def from_artifacts(cls, values: Mapping[str, Any]) -> MeasureArtifacts:
        baseline = values.get("baseline")
        gpu = values.get("gpu_baseline")
        load = values.get("load_test")
        if isinstance(load, Mapping):  # {"levels": [...]}, as some records hold it
            load = load.get("levels")
        uids = values.get("grafana_dashboard_uids")
        return cls(
            baseline={str(k): BaselineFigure.from_dict(v) for k, v in baseline.items() if isinstance(v, Mapping)}
            if isinstance(baseline, Mapping)
            else None,
            baseline_pods=_figures_by_key(values.get("baseline_pods")),
            baseline_nodes=_figures_by_key(values.get("baseline_nodes")),
            load_test=tuple(LoadTestLevel.from_dict(row) for row in load if isinstance(row, Mapping))
            if isinstance(load, list)
            else None,
            grafana_dashboard_uids=tuple(str(uid) for uid in uids) if isinstance(uids, list) else None,
            e2e_metric_seconds=values.get("e2e_metric_seconds"),
            gpu_baseline={str(k): BaselineFigure.from_dict(v) for k, v in gpu.items() if isinstance(v, Mapping)}
            if isinstance(gpu, Mapping)
            else None,
        )


def _plain(figures: PodOrNodeFigures | None) -> dict[str, dict[str, float]] | None:
    return None if figures is None else {key: dict(values) for key, values in figures.items()}


def _figures_by_key(value: Any) -> PodOrNodeFigures | None:
    if not isinstance(value, Mapping):
        return None
    return {str(key): dict(figures) for key, figures in value.items() if isinstance(figures, Mapping)}


# -------------------------------------------------------------------------------------- ANALYZE
@datatype(frozen=True)
class AnalyzeArtifacts(Artifacts):
    """What ANALYZE hands on. Each check writes its own key, so a field left None is not written."""

    manifest_validation: Mapping[str, Any] | None = None  # {"summary": {...}, "findings": [...]}
    readiness: Mapping[str, Any] | None = None  # the readiness report, findings capped per item
    snapshot: Mapping[str, Any] | None = None  # what ran before DEPLOY (the rollback point)
    rollback_plan: Mapping[str, Any] | None = None  # what, to which revision, commands, expected time
    risk: Mapping[str, Any] | None = None  # the risk assessment (decision matrix, mitigations)

    def written(self) -> dict[str, Any]:
        """The keys set here, for one check's ``CheckResult.artifacts``."""
        return {key: value for key, value in self.to_artifacts().items() if value is not None}


# --------------------------------------------------------------------------------------- DEPLOY
_D = TypeVar("_D", bound="DeployArtifacts")


@datatype(frozen=True)
class DeployArtifacts(Artifacts):
    """What DEPLOY writes: the rollback point, the release it applied, the rollback it did.

    Each check writes its part (a failed apply only the rollback point, the rollback only
    ``rollback``): fields left None are not written.
    """

    previous_snapshot: TargetSnapshot | None = None  # what ran before this deploy
    image: str | None = None  # the repository deployed
    digest: str | None = None  # the digest it was pinned to ("" for a local tag)
    image_ref: str | None = None  # image@digest
    release: str | None = None
    target: str | None = None  # the target's kind
    applied: dict[str, Any] | None = None  # what the target reported it applied
    rollback: dict[str, Any] | None = None  # reason, detected_at, recovered_at, to_version, manual

    def to_artifacts(self) -> dict[str, Any]:
        values = super().to_artifacts()
        if self.previous_snapshot is not None:
            values["previous_snapshot"] = self.previous_snapshot.to_dict()
        return {key: value for key, value in values.items() if value is not None}

    @classmethod
    def from_artifacts(cls: type[_D], values: Mapping[str, Any]) -> _D:
        read = super().from_artifacts(values)
        snapshot = values.get("previous_snapshot")
        previous = TargetSnapshot.from_dict(snapshot) if isinstance(snapshot, Mapping) else None
        return dataclasses.replace(read, previous_snapshot=previous)
