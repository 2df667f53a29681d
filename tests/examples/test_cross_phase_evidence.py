"""ANALYZE reads what BUILD and MEASURE actually record (found by running the example end to end).

Each case builds the phase records the way the engine hands them to ANALYZE and evaluates the
real catalog items: a null figure is "not measured" (skipped, never compared as a number), the
first deployment makes items about the running service not applicable, MEASURE's load-test rows
and check verdicts count as evidence.
"""

from __future__ import annotations

from typing import Any

import pytest

from bmad.config.analyze import AnalyzeConfig
from bmad.core.models import CheckResult, CheckStatus, PhaseName, PhaseResult, PhaseStatus
from bmad.phases.analyze.catalog import catalog_by_id
from bmad.phases.analyze.context import EvalContext, Evidence
from bmad.phases.analyze.manifests import Bundle
from bmad.phases.analyze.readiness import run_catalog


def _item(
    item_id: str,
    *,
    build: dict[str, Any] | None = None,
    measure: dict[str, Any] | None = None,
    measure_artifacts: dict[str, Any] | None = None,
    measure_checks: list[CheckResult] | None = None,
    first_deployment: bool = False,
) -> tuple[str, str]:
    phases: dict[PhaseName, PhaseResult] = {}
    if build is not None:
        phases[PhaseName.BUILD] = PhaseResult(PhaseName.BUILD, PhaseStatus.PASSED, metrics=build)
    if measure is not None:
        phases[PhaseName.MEASURE] = PhaseResult(
            PhaseName.MEASURE,
            PhaseStatus.PASSED,
            metrics=measure,
            artifacts=measure_artifacts or {},
            checks=measure_checks or [],
        )
    ctx = EvalContext(
        bundle=Bundle([], [], [], source="k8s"),
        settings=AnalyzeConfig(),
        environment_name="dev",
        first_deployment=first_deployment,
        evidence=Evidence(phases),
    )
    [result] = run_catalog(ctx, entries=[catalog_by_id()[item_id]]).items
    return result.status.value, result.reason


def test_a_null_vulnerability_count_is_not_measured_not_a_failure() -> None:
    status, reason = _item("TQ-032", build={"vulnerabilities_critical": None})
    assert status == "skipped" and "vulnerabilities_critical" in reason
    assert _item("TQ-032", build={"vulnerabilities_critical": 0})[0] == "pass"
    assert _item("TQ-032", build={"vulnerabilities_critical": 2})[0] == "fail"


def test_build_records_what_analyze_reads_for_layer_secrets() -> None:
    # BUILD's build.layer_secrets check records artifact secrets_in_image (0 when clean).
    phases = {
        PhaseName.BUILD: PhaseResult(PhaseName.BUILD, PhaseStatus.PASSED, artifacts={"secrets_in_image": 0}),
    }
    ctx = EvalContext(bundle=Bundle([], [], [], source="k8s"), evidence=Evidence(phases))
    [result] = run_catalog(ctx, entries=[catalog_by_id()["SC-046"]]).items
    assert result.status.value == "pass"


@pytest.mark.parametrize("item_id", ["MO-005", "MO-006", "TQ-031", "TQ-033"])
def test_first_deployment_makes_running_service_items_not_applicable(item_id: str) -> None:
    status, reason = _item(item_id, measure={"baseline_captured": False}, first_deployment=True)
    assert status == "not_applicable" and "first deployment to dev" in reason
    # Once something was deployed, the same record fails (or is skipped): never a pass.
    assert _item(item_id, measure={"baseline_captured": False}, first_deployment=False)[0] in ("fail", "skipped")


def test_baseline_captured_passes_whatever_the_deployment_history() -> None:
    assert _item("MO-005", measure={"baseline_captured": True}, first_deployment=True)[0] == "pass"
    assert _item("MO-005", measure={"baseline_captured": True})[0] == "pass"


def test_measure_load_test_rows_are_read() -> None:
    good = [{"concurrency": 10, "requests": 500, "succeeded": 500, "rps": 100.0, "slo_breach": None}]
    assert _item("TQ-031", measure={}, measure_artifacts={"load_test": good})[0] == "pass"
    broken = [*good, {"concurrency": 50, "requests": 80, "succeeded": 40, "rps": 8.0, "slo_breach": "error rate 50%"}]
    status, reason = _item("TQ-031", measure={}, measure_artifacts={"load_test": broken})
    assert status == "fail" and "concurrency 50" in reason


def test_the_end_to_end_metric_seconds_prove_the_pipeline() -> None:
    assert _item("MO-007", measure={}, measure_artifacts={"e2e_metric_seconds": 0.9})[0] == "pass"
    # The test failed: MEASURE records null seconds.
    assert _item("MO-007", measure={}, measure_artifacts={"e2e_metric_seconds": None})[0] == "fail"


def test_measure_check_verdicts_count_as_evidence() -> None:
    def scrape(status: CheckStatus) -> list[CheckResult]:
        return [CheckResult(id="measure.scrape_job", title="targets up", status=status, summary="job 'hello': 2/2 up")]

    assert _item("MO-006", measure={}, measure_checks=scrape(CheckStatus.PASS))[0] == "pass"
    status, reason = _item("MO-006", measure={}, measure_checks=scrape(CheckStatus.FAIL))
    assert status == "fail" and "measure.scrape_job" in reason
    load = [CheckResult(id="measure.load_test", title="sweep", status=CheckStatus.PASS, summary="3 levels")]
    assert _item("TQ-033", measure={}, measure_checks=load)[0] == "pass"
