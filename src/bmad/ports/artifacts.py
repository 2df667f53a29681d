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


@dataclasses.dataclass(frozen=True)
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


@dataclasses.dataclass(frozen=True)
class PushedImage(Artifacts):
    """What ``build.push`` hands on: the image in the registry, one digest for every tag."""

    image_digest: str
    image: str  # the repository, e.g. 127.0.0.1:5000/hello
    image_tags: list[str]
    image_pinned: str  # image@digest, what DEPLOY runs


@dataclasses.dataclass(frozen=True)
class LayerSecretsFound(Artifacts):
    """What ``build.layer_secrets`` hands on (ANALYZE's SC-046 reads it)."""

    secrets_in_image: int  # allow-listed findings excluded


@dataclasses.dataclass(frozen=True)
class ReleaseTagged(Artifacts):
    """What ``build.git_tag`` hands on."""

    git_tag: str


RATE_KEY_SUFFIX = "_pass_rate"


def pass_rate_key(suite: str) -> str:
    """The artifact key of a suite's pass rate: ``e2e`` -> ``e2e_pass_rate`` (ANALYZE's TQ-030 reads it)."""
    return suite.replace("-", "_") + RATE_KEY_SUFFIX


@dataclasses.dataclass(frozen=True)
class SuitePassRate(Artifacts):
    """What a ``build.tests.<suite>`` check hands on: passed / executed tests in %, None when none ran."""

    suite: str
    percent: float | None

    def to_artifacts(self) -> dict[str, Any]:
        return {pass_rate_key(self.suite): self.percent}


@dataclasses.dataclass(frozen=True)
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
# (MeasureArtifacts goes here)


# -------------------------------------------------------------------------------------- ANALYZE
# (AnalyzeArtifacts goes here)


# --------------------------------------------------------------------------------------- DEPLOY
# (DeployArtifacts goes here)
