"""The report's chart of replicas and load against time, from ``deploy.autoscaling``'s evidence."""

from __future__ import annotations

import re

from bmad.core.models import CheckResult, CheckStatus, PhaseName, PhaseResult, PhaseStatus, Release
from bmad.reports.report import render_report
from bmad.reports.views import ReleaseView

FIGURES = {
    "hpa": "web",
    "start_replicas": 3,
    "highest_replicas": 10,
    "goal": 10,
    "first_scale_up_seconds": 1.2,
    "goal_reached_seconds": 2.4,
    "metric": "cpu",
    "metric_last": 61.0,
    "metric_peak": 240.0,
    "metric_target": 50.0,
}


def view_with(checks: list[CheckResult]) -> ReleaseView:
    deploy = PhaseResult(PhaseName.DEPLOY, PhaseStatus.PASSED, checks=checks)
    return ReleaseView("r1", Release("web", "prod", "1" * 40), phases={PhaseName.DEPLOY: deploy})


def test_the_report_charts_replicas_and_load_against_time() -> None:
    """Guards issue 17 item 4: the HPA's replicas and the load bmad sent, on one chart, with the figures."""
    replicas = [
        {"at": at, "hpa": "web", "replicas": n, "desired": n, "metric_value": 80.0}
        for at, n in ((0.0, 3), (1.2, 7), (2.4, 10))
    ]
    load = [{"at": 2.0, "rps": 850.0, "errors": 0}, {"at": 4.0, "rps": 910.5, "errors": 0}]
    check = CheckResult(
        id="deploy.autoscaling",
        title="Auto-scaling validated under load",
        status=CheckStatus.PASS,
        summary="scaled under load: web 3->10",
        evidence={"hpas": [FIGURES], "replicas": replicas, "load": load},
    )
    html = render_report(view_with([check]))
    section = html[html.index("<h2>Auto-scaling under load</h2>") :]
    svg = section[section.index("<svg") : section.index("</svg>")]
    assert 'aria-label="Auto-scaling under load: replicas and requests per second against time"' in svg
    assert len(re.findall(r"<polyline ", svg)) == 2  # the replicas and the load
    assert "web replicas" in svg and "load (req/s)" in svg
    assert "<td>3 → 10 (goal 10)</td><td>1.2 s</td><td>2.4 s</td>" in section


def test_a_release_without_the_check_has_no_autoscaling_section() -> None:
    rollout = CheckResult(id="deploy.rollout", title="Roll out", status=CheckStatus.PASS, summary="2/2 ready")
    assert "Auto-scaling" not in render_report(view_with([rollout]))
