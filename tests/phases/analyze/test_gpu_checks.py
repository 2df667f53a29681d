"""The GPU entries of the readiness catalog (SC-063, SC-064): not applicable without a GPU request."""

from __future__ import annotations

from bmad.phases.analyze.catalog import catalog_by_id
from bmad.phases.analyze.catalog.schema import SetPatch
from bmad.phases.analyze.readiness import evaluate_entry
from bmad.phases.analyze.readiness_data import ItemStatus
from bmad.phases.analyze.suppressions import SuppressionSet
from tests.phases.analyze.fixtures import build
from tests.phases.analyze.patches import as_mutation

GPU_LIMIT = SetPatch(set=["container", "resources", "limits", "nvidia.com/gpu"], value=1)


def _evaluate(check_id: str, *patches: SetPatch) -> tuple[ItemStatus, str]:
    ctx = build(as_mutation(patches))
    result = evaluate_entry(catalog_by_id()[check_id], ctx, SuppressionSet(today=ctx.today))
    return result.status, result.reason


def test_without_a_gpu_request_the_checks_do_not_apply() -> None:
    for check_id in ("SC-063", "SC-064"):
        status, reason = _evaluate(check_id)
        assert status is ItemStatus.NOT_APPLICABLE and "not applicable: no GPU requested" in reason


def test_a_gpu_request_without_a_limit_fails() -> None:
    status, reason = _evaluate(
        "SC-063", SetPatch(set=["container", "resources", "requests", "nvidia.com/gpu"], value=1)
    )
    assert status is ItemStatus.FAIL and "uses a GPU (requests) without a resources.limits.nvidia.com/gpu" in reason


def test_a_gpu_container_sharing_the_host_pid_namespace_fails() -> None:
    status, reason = _evaluate("SC-064", GPU_LIMIT, SetPatch(set=["pod", "hostPID"], value=True))
    assert status is ItemStatus.FAIL and "hostPID is true" in reason
