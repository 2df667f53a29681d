"""A check as plain data without the deep copy of ``CheckResult.to_dict``."""

from __future__ import annotations

import json

from bmad.core.models import CheckResult, CheckStatus
from bmad.ledger.records import check_data


def test_check_data_is_to_dict_without_the_copy() -> None:
    """Guards the ledger rows, phase.json and --json output: the same data as ``to_dict``."""
    check = CheckResult(
        id="analyze.manifests",
        title="Manifests",
        status=CheckStatus.WARN,
        summary="2 warnings",
        evidence={"findings": [{"object": "Deployment/web", "path": ["spec", 0]}], "count": 2},
        metrics={"objects": 1000},
        artifacts={"bundle": {"kinds": ("Deployment", "Service")}},
        evidence_files=("validation.json",),
        duration_seconds=0.5,
    )
    data = check_data(check)
    assert data == check.to_dict()
    assert json.dumps(data, sort_keys=True) == json.dumps(check.to_dict(), sort_keys=True)
    assert data["evidence"] is check.evidence  # not copied: callers serialise it or copy it themselves
