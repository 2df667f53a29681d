"""Framework metrics and DORA keys from a ledger with known data: every figure asserted exactly."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta

import pytest

from bmad.core.models import CheckResult, CheckStatus, PhaseName, PhaseResult, PhaseStatus, Release
from bmad.ledger import Ledger
from bmad.reports.exposition import render_prometheus
from bmad.reports.metrics import compute_framework_metrics, framework_metrics, percentile, render_table
from bmad.reports.source import load_releases
from bmad.reports.views import Outcome
from tests.reports.reports_data import MIN, NOW, SPECS, T0, Spec


def test_outcomes_of_each_release(ledger: Ledger) -> None:
    views = load_releases(ledger)
    assert [v.version[0] for v in views] == ["a", "b", "c", "d", "e"]
    assert [v.outcome for v in views] == [
        Outcome.SUCCESS,
        Outcome.SUCCESS,
        Outcome.ROLLED_BACK,
        Outcome.BLOCKED,
        Outcome.SUCCESS,
    ]


def test_figures_of_the_lean_read_are_those_of_the_whole_read(ledger: Ledger) -> None:
    """Guards ``bmad metrics``' read (issue 13): outlines with DEPLOY's details only give every figure
    that the whole history gives, including a rollback and zero downtime that only a DEPLOY check
    recorded (no DEPLOY metric of them)."""
    start = T0 + timedelta(days=4)
    check = CheckResult(
        id="deploy.verify",
        title="Post-deploy verification",
        status=CheckStatus.FAIL,
        metrics={"zero_downtime": False, "rolled_back": True, "mttr_seconds": 42.0},
    )
    deploy = PhaseResult(
        PhaseName.DEPLOY, PhaseStatus.FAILED, checks=[check], started_at=start, finished_at=start + 5 * MIN
    )
    ledger.record_phase(Release("hello", "dev", "9" * 40), deploy)
    for service, environment in (("hello", "dev"), (None, None)):
        whole = compute_framework_metrics(load_releases(ledger), service=service, environment=environment, now=NOW)
        lean = framework_metrics(ledger, service=service, environment=environment, now=NOW)
        assert lean == whole
        assert (lean.rolled_back, lean.zero_downtime_recorded - lean.zero_downtime_yes) == (2, 2)


def test_framework_figures(ledger: Ledger) -> None:
    m = framework_metrics(ledger, service="hello", environment="dev")
    assert (m.releases, m.deployments, m.successful, m.rolled_back, m.failed, m.blocked) == (5, 4, 3, 1, 0, 1)
    assert m.success_rate == 0.75
    assert m.rollback_rate == 0.25
    # deployment times 600, 900, 1200, 1800 s
    assert m.deployment_time.mean == 1125.0
    assert m.deployment_time.p50 == 1050.0
    assert m.deployment_time.p90 == pytest.approx(1620.0)
    assert (m.zero_downtime_yes, m.zero_downtime_recorded, m.zero_downtime_share) == (3, 4, 0.75)
    assert m.mttr.mean == 90.0
    assert (m.recovered, m.unrecovered) == (1, 0)
    assert m.since == T0
    assert m.until == NOW


def test_dora_keys(ledger: Ledger) -> None:
    d = framework_metrics(ledger, service="hello", environment="dev").dora
    assert d.deployment_frequency_per_day == 0.5  # 3 successful in 6 days
    assert d.deployment_frequency_band == "high"
    assert d.lead_time.p50 == 4800.0  # leads 7800, 4800, 3600 s
    assert d.lead_time.mean == 5400.0
    assert d.lead_time_band == "elite"
    assert d.change_failure_rate == 0.25
    assert d.change_failure_band == "high"
    assert d.time_to_restore.p50 == 90.0
    assert d.time_to_restore_band == "elite"


def test_guide_table(ledger: Ledger) -> None:
    m = framework_metrics(ledger, service="hello", environment="dev")
    rows = {row.metric: row for row in m.rows()}
    assert rows["Success Rate"].achieved == "75% (3/4)"
    assert rows["Success Rate"].met is False
    assert rows["Deployment Time"].achieved == "18.8 min avg (p50 17.5 min, p90 27 min)"
    assert rows["Deployment Time"].met is True
    assert rows["Rollback Rate"].achieved == "25% (1/4)"
    assert rows["Zero Downtime"].achieved == "No, 75% (3/4)"
    assert rows["MTTR"].achieved == "1.5 min avg"
    assert rows["MTTR"].met is True
    table = render_table(m)
    assert "### Framework Metrics (4 Deployments)" in table
    assert "| **Success Rate** | >95% | 75% (3/4) | ✗ |" in table
    assert "| **MTTR** | <10 min | 1.5 min avg | ✓ |" in table
    assert "| **Change Failure Rate** | 0-15% (elite) | 25% (1/4) | ✗ |" in table
    assert "3 success, 1 rolled back, 0 failed, 1 stopped at a gate" in table


def test_period_filter(ledger: Ledger) -> None:
    m = framework_metrics(ledger, since=T0 + timedelta(days=1), until=T0 + timedelta(days=3))
    assert (m.releases, m.deployments, m.successful, m.rolled_back, m.blocked) == (3, 2, 1, 1, 1)
    assert m.success_rate == 0.5
    assert m.dora.deployment_frequency_per_day == 0.5  # 1 in 2 days
    assert m.dora.lead_time.p50 == 4800.0


def test_no_deployments_yet(make_ledger: Callable[[list[Spec]], Ledger]) -> None:
    m = framework_metrics(make_ledger([]))
    assert (m.deployments, m.success_rate, m.rollback_rate, m.mttr.mean) == (0, None, None, None)
    assert m.dora.deployment_frequency_per_day is None
    assert m.dora.change_failure_rate is None
    assert all(row.achieved == "no deployments yet" and row.met is None for row in m.rows())
    assert "Framework Metrics (0 Deployments)" in render_table(m)
    text = render_prometheus(m)
    assert "bmad_framework_success_ratio" not in text.replace("# HELP bmad_framework_success_ratio", "")
    assert 'bmad_framework_deployments{env="",service=""} 0.0' in text


def test_all_failed(make_ledger: Callable[[list[Spec]], Ledger]) -> None:
    specs = [
        Spec("1" * 40, T0, (1, 1, 1, 2), commit_before=timedelta(hours=1), deploy_ok=False, zero_downtime=None),
        Spec("2" * 40, T0 + timedelta(hours=3), (1, 1, 1, 4), deploy_ok=False, zero_downtime=None),
    ]
    m = framework_metrics(make_ledger(specs))
    assert (m.deployments, m.successful, m.failed, m.rolled_back) == (2, 0, 2, 0)
    assert m.success_rate == 0.0
    assert m.rollback_rate == 0.0
    assert m.deployment_time.mean == 360.0  # 5 and 7 min
    assert m.dora.change_failure_rate == 1.0
    assert m.dora.deployment_frequency_per_day == 0.0
    assert m.dora.lead_time.p50 is None
    rows = {row.metric: row for row in m.rows()}
    assert rows["Success Rate"].achieved == "0% (0/2)"
    assert rows["Zero Downtime"].achieved == "not recorded"
    assert rows["MTTR"].achieved == "no rollbacks"
    dora = {row.metric: row for row in m.dora_rows()}
    assert dora["Deployment Frequency"].achieved == "no successful deployment"
    assert dora["Lead Time for Changes"].achieved == "not recorded"


def test_rollback_that_never_recovered(make_ledger: Callable[[list[Spec]], Ledger]) -> None:
    specs = [
        Spec("1" * 40, T0, (1, 1, 1, 2), deploy_ok=False, rollback=(MIN, None)),
        Spec("2" * 40, T0 + timedelta(days=1), (1, 1, 1, 2), deploy_ok=False, rollback=(MIN, timedelta(minutes=4))),
    ]
    ledger = make_ledger(specs)
    views = load_releases(ledger)
    assert views[0].rollback is not None and views[0].rollback.recovered is False
    m = framework_metrics(ledger)
    assert (m.rolled_back, m.recovered, m.unrecovered) == (2, 1, 1)
    assert m.mttr.mean == 240.0
    rows = {row.metric: row for row in m.rows()}
    assert rows["MTTR"].achieved == "4 min avg; 1 rollback never recovered"
    assert rows["MTTR"].met is False
    assert m.dora.time_to_restore_band == "low"
    dora = {row.metric: row for row in m.dora_rows()}
    assert dora["Time to Restore"].achieved == "4 min median; 1 never recovered"
    assert json.loads(json.dumps(m.to_dict()))["rollbacks"] == {"total": 2, "recovered": 1, "unrecovered": 1}
    assert 'bmad_framework_unrecovered_rollbacks{env="",service=""} 1.0' in render_prometheus(m)


def test_prometheus_exposition(ledger: Ledger) -> None:
    text = render_prometheus(framework_metrics(ledger, service="hello", environment="dev"))
    from prometheus_client.parser import text_string_to_metric_families

    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }
    base = (("env", "dev"), ("service", "hello"))
    assert samples[("bmad_framework_success_ratio", base)] == 0.75
    assert (
        samples[("bmad_framework_releases", (("env", "dev"), ("result", "rolled_back"), ("service", "hello")))] == 1.0
    )
    assert samples[("bmad_framework_deployment_time_seconds", (*base, ("stat", "p50")))] == 1050.0
    assert samples[("bmad_dora_lead_time_seconds", base)] == 4800.0
    assert samples[("bmad_dora_change_failure_ratio", base)] == 0.25
    assert samples[("bmad_framework_mttr_seconds", base)] == 90.0


def test_percentile_interpolates_linearly() -> None:
    assert percentile([], 50) is None
    assert percentile([7.0], 90) == 7.0
    assert percentile([1.0, 2.0, 3.0, 4.0], 50) == 2.5
    assert percentile([10.0, 20.0, 30.0, 40.0, 50.0], 90) == 46.0


def test_phase_metrics_read_through_the_ledger(ledger: Ledger) -> None:
    view = load_releases(ledger)[2]
    assert view.number(PhaseName.BUILD, "image_size_mb") == 48.2
    assert view.rollback is not None and view.rollback.restore_seconds == 90.0
    assert SPECS[2].version == view.version


@pytest.mark.parametrize(
    "value",
    [0.0, 1.0, 0.5, 1 / 3, 2.5e-7, 123456.0, 1234567.0, 1.5e16, -7.25, float("inf"), float("-inf"), float("nan")],
)
def test_exposition_text_is_prometheus_clients(value: float) -> None:
    """Guards the hand-written text format: the same bytes as prometheus_client's generate_latest
    (label order and escaping, HELP escaping, Go float notation), without importing it."""
    from prometheus_client import CollectorRegistry, Gauge, generate_latest

    from bmad.reports.exposition import _Gauges

    registry = CollectorRegistry()
    ours = _Gauges()
    doc = 'odd \\ help\nline "quoted"'
    labels = {"service": 'a"b\\c\nd', "env": "dev", "stat": "p50"}
    Gauge("bmad_x_seconds", doc, tuple(labels), registry=registry).labels(**labels).set(value)
    ours.set("bmad_x_seconds", doc, labels, value)
    other = {"service": "s", "env": ""}
    Gauge("bmad_y", "y", tuple(other), registry=registry).labels(**other).set(3)
    ours.set("bmad_y", "y", other, 3)
    assert ours.text() == generate_latest(registry).decode("utf-8")


def test_metrics_text_without_prometheus_client(ledger: Ledger, monkeypatch: pytest.MonkeyPatch) -> None:
    """Guards the cost of `bmad metrics`: rendering the exposition does not import prometheus_client
    (an import of it fails here)."""
    import sys

    monkeypatch.setitem(sys.modules, "prometheus_client", None)
    text = render_prometheus(framework_metrics(ledger, service="hello", environment="dev"))
    assert "# TYPE bmad_framework_deployments gauge" in text
