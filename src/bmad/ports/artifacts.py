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
from bmad.ports.target import TargetSnapshot

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
# (AnalyzeArtifacts goes here)


# --------------------------------------------------------------------------------------- DEPLOY
_D = TypeVar("_D", bound="DeployArtifacts")


@dataclasses.dataclass(frozen=True)
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
