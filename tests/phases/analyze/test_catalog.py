"""Every catalog check has a case where it passes and one where it fails (its ``cases`` data)."""

from __future__ import annotations

import pytest

from bmad.phases.analyze.catalog import LoadedCheck, catalog, catalog_by_id, loaded_checks, render_markdown
from bmad.phases.analyze.readiness import evaluate_entry, run_catalog
from bmad.phases.analyze.readiness_data import Category, ItemStatus
from bmad.phases.analyze.suppressions import SuppressionSet
from tests.phases.analyze.fixtures import build
from tests.phases.analyze.patches import as_mutation

IDS = [entry.id for entry in catalog()]
CHECKS = {check.entry.id: check for check in loaded_checks()}


def test_catalog_has_at_least_130_checks_in_five_categories_each_with_pass_and_fail_fixtures() -> None:
    assert len(IDS) >= 130
    assert len(set(IDS)) == len(IDS)
    assert {e.category for e in catalog()} == set(Category)
    for check in loaded_checks():
        assert check.cases.fail, f"{check.where}: {check.entry.id} needs a failing case"
    for entry in catalog():
        assert entry.title and entry.rationale and entry.fix, entry.id


def _evaluate(check: LoadedCheck, passing: bool) -> tuple[ItemStatus, str]:
    patches = check.cases.pass_ if passing else check.cases.fail
    ctx = build(as_mutation(patches), validate=check.cases.validate_schema)
    result = evaluate_entry(check.entry, ctx, SuppressionSet(today=ctx.today))
    return result.status, result.reason


@pytest.mark.parametrize("check_id", IDS)
def test_check_passes_on_its_passing_case(check_id: str) -> None:
    check = CHECKS[check_id]
    status, reason = _evaluate(check, passing=True)
    assert status is ItemStatus.PASS, f"{check.where} {check_id}: {status.value} ({reason})"


@pytest.mark.parametrize("check_id", IDS)
def test_check_fails_on_its_failing_case(check_id: str) -> None:
    check = CHECKS[check_id]
    status, reason = _evaluate(check, passing=False)
    assert status is ItemStatus.FAIL, f"{check.where} {check_id}: {status.value} ({reason})"
    assert reason


def test_baseline_bundle_has_no_failure_and_full_score() -> None:
    report = run_catalog(build(validate=True))
    failures = {i.entry.id: i.reason for i in report.items if i.status is ItemStatus.FAIL}
    assert failures == {}
    assert report.complete_percent == 100.0
    assert all(score in (100.0, None) for score in report.category_scores.values())


def test_failure_locations_point_at_the_field_line() -> None:
    from tests.phases.analyze.mutations import sc_set

    ctx = build(sc_set("privileged", True))
    result = evaluate_entry(catalog_by_id()["SC-012"], ctx, SuppressionSet(today=ctx.today))
    finding = result.failures[0]
    assert finding.location.logical == "shop/Deployment/web/web"
    assert finding.location.file == "k8s/all.yaml"
    text = ctx.bundle.objects[0].file  # every object comes from the same generated file
    assert text == "k8s/all.yaml"
    obj = next(o for o in ctx.bundle.objects if o.kind == "Deployment")
    path = (*(obj.pod_spec_path or ()), "containers", 0, "securityContext", "privileged")
    assert finding.location.line == obj.line_of(path)
    assert finding.location.line > obj.line


def test_missing_evidence_is_skipped_never_passed() -> None:
    def no_build(objects: object, knobs: object) -> None:
        knobs.build_metrics = None  # type: ignore[attr-defined]

    ctx = build(no_build)
    result = evaluate_entry(catalog_by_id()["TQ-029"], ctx, SuppressionSet(today=ctx.today))
    assert result.status is ItemStatus.SKIPPED
    assert "no BUILD record" in result.reason
    report = run_catalog(ctx)
    assert report.complete_percent < 100.0


def test_checks_without_objects_are_not_applicable_with_reason() -> None:
    ctx = build()
    result = evaluate_entry(catalog_by_id()["IS-020"], ctx, SuppressionSet(today=ctx.today))
    assert result.status is ItemStatus.NOT_APPLICABLE
    assert "CronJob" in result.reason


def test_pdb_hpa_relation_is_not_applicable_without_hpa() -> None:
    from tests.phases.analyze.mutations import remove, seq

    ctx = build(seq(remove("HorizontalPodAutoscaler")))
    result = evaluate_entry(catalog_by_id()["RE-009"], ctx, SuppressionSet(today=ctx.today))
    assert result.status is ItemStatus.NOT_APPLICABLE  # never a vacuous pass (Polaris #1190)


def test_disabled_checks_are_not_applicable() -> None:
    from tests.phases.analyze.mutations import seq, setting

    ctx = build(seq(setting("disabled_checks", ["SC-012"])))
    result = evaluate_entry(catalog_by_id()["SC-012"], ctx, SuppressionSet(today=ctx.today))
    assert result.status is ItemStatus.NOT_APPLICABLE


def test_critical_failure_is_reported_for_the_hard_gate() -> None:
    from tests.phases.analyze.mutations import sc_set

    report = run_catalog(build(sc_set("privileged", True)))
    assert [i.entry.id for i in report.critical_failures] == ["SC-012"]
    assert report.category_scores[Category.SECURITY] is not None
    assert report.category_scores[Category.SECURITY] < 100.0


def test_checks_markdown_lists_every_check() -> None:
    text = render_markdown()
    for check_id in IDS:
        assert f"| {check_id} |" in text
