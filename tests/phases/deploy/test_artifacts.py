"""DEPLOY's artifacts: each check writes its part, with the keys records have always had."""

from __future__ import annotations

from bmad.core.models import PhaseName, PhaseResult, PhaseStatus
from bmad.ports.artifacts import DeployArtifacts
from bmad.ports.target import TargetSnapshot

BEFORE = TargetSnapshot(
    "local", "hello", "dev", exists=True, generation=1, release="r1", image="i", digest="", replicas=1
)


def test_a_failed_apply_writes_only_the_rollback_point() -> None:
    assert DeployArtifacts(previous_snapshot=BEFORE).to_artifacts() == {"previous_snapshot": BEFORE.to_dict()}


def test_an_applied_release_writes_every_key_in_order_and_reads_back() -> None:
    written = DeployArtifacts(
        previous_snapshot=BEFORE,
        image="127.0.0.1:5000/hello",
        digest="",
        image_ref="127.0.0.1:5000/hello",
        release="r2",
        target="local",
        applied={"generation": 2},
    ).to_artifacts()
    assert list(written) == ["previous_snapshot", "image", "digest", "image_ref", "release", "target", "applied"]
    result = PhaseResult(PhaseName.DEPLOY, PhaseStatus.PASSED, artifacts={**written, "rollback": {"manual": False}})
    read = DeployArtifacts.of({PhaseName.DEPLOY: result}, PhaseName.DEPLOY)
    assert read is not None
    assert read.previous_snapshot == BEFORE and read.digest == "" and read.rollback == {"manual": False}
