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
from typing import Any, TypeVar

from bmad.core.models import PhaseName, PhaseResult

_T = TypeVar("_T", bound="Artifacts")


@dataclasses.dataclass(frozen=True)
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
# (BuildArtifacts goes here)


# -------------------------------------------------------------------------------------- MEASURE
# (MeasureArtifacts goes here)


# -------------------------------------------------------------------------------------- ANALYZE
@dataclasses.dataclass(frozen=True)
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
# (DeployArtifacts goes here)
