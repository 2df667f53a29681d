"""ANALYZE's typed hand-off: the artifact keys it writes are the fields of AnalyzeArtifacts."""

from __future__ import annotations

import dataclasses

from bmad.ports.artifacts import AnalyzeArtifacts

KEYS = {"manifest_validation", "readiness", "snapshot", "rollback_plan", "risk"}


def test_fields_are_the_artifact_keys_analyze_writes() -> None:
    assert {f.name for f in dataclasses.fields(AnalyzeArtifacts)} == KEYS


def test_a_check_writes_only_its_own_key() -> None:
    snapshot = {"exists": False, "kind": "local"}
    assert AnalyzeArtifacts(snapshot=snapshot).written() == {"snapshot": snapshot}
    assert AnalyzeArtifacts(snapshot={}).written() == {"snapshot": {}}


def test_reading_back_ignores_keys_of_other_versions() -> None:
    read = AnalyzeArtifacts.from_artifacts({"rollback_plan": {"to": "r1"}, "legacy_key": 1})
    assert read.rollback_plan == {"to": "r1"}
    assert read.snapshot is None
