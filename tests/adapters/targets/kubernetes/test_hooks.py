"""The pure parts of Job hooks: which Jobs are hooks, and when a Job has finished (batch/v1 conditions)."""

from __future__ import annotations

from typing import Any

import pytest

from bmad.adapters.targets.kubernetes.hooks import job_outcome, split_hooks
from bmad.core.errors import AdapterError


def job(name: str, stage: str | None = None) -> dict[str, Any]:
    annotations = {"bmad.dev/hook": stage} if stage else {}
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": name, "annotations": annotations}}


def test_hooks_are_split_from_the_bundle_by_stage_keeping_their_order() -> None:
    config = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}}
    bundle = [
        job("migrate", "pre-deploy"),
        config,
        job("plain"),
        job("seed", "pre-deploy"),
        job("check", "post-deploy"),
    ]
    plan = split_hooks(bundle)
    assert [o["metadata"]["name"] for o in plan.main] == ["c", "plain"]
    assert [o["metadata"]["name"] for o in plan.pre] == ["migrate", "seed"]
    assert [o["metadata"]["name"] for o in plan.post] == ["check"]


def test_an_unknown_hook_stage_is_refused_with_the_accepted_ones() -> None:
    with pytest.raises(AdapterError, match="'pre-install' is not one of pre-deploy, post-deploy"):
        split_hooks([job("migrate", "pre-install")])


def test_a_job_finishes_with_its_complete_or_failed_condition_only() -> None:
    running = {"status": {"active": 1, "conditions": [{"type": "Suspended", "status": "False"}]}}
    assert job_outcome(running) is None
    failure_target = {"status": {"conditions": [{"type": "FailureTarget", "status": "True"}]}}
    assert job_outcome(failure_target) is None  # Failed comes once the pods are gone
    done = {"status": {"conditions": [{"type": "Complete", "status": "True", "reason": "CompletionsReached"}]}}
    assert job_outcome(done) == ("Complete", "CompletionsReached")
    failed = {
        "status": {
            "conditions": [
                {
                    "type": "Failed",
                    "status": "True",
                    "reason": "BackoffLimitExceeded",
                    "message": "Job has reached the specified backoff limit",
                }
            ]
        }
    }
    assert job_outcome(failed) == ("Failed", "BackoffLimitExceeded: Job has reached the specified backoff limit")
