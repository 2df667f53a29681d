"""What the HTML report shows and how it lays out: width, baseline-0 metrics, timeline, readiness, units."""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest

from bmad.core.models import CheckResult, CheckStatus, PhaseName
from bmad.ledger import Ledger
from bmad.reports.outputs import ReleaseOutputs, write_release_outputs
from tests.browser import CHROMIUM, fits
from tests.reports.reports_data import LOAD_TEST, SPECS, T0, Spec, record, record_demo_like

chromium = pytest.mark.skipif(shutil.which(CHROMIUM) is None, reason="Debian chromium is not installed")


@pytest.fixture
def demo_outputs(make_ledger: Callable[[list[Spec]], Ledger], tmp_path: Path) -> ReleaseOutputs:
    ledger = make_ledger([])
    release = record_demo_like(ledger)
    return write_release_outputs(ledger, release, tmp_path / "out")


def _bar_x(html: str, label: str) -> tuple[float, float]:
    """x and width of the timeline bar whose tooltip starts with ``label``."""
    found = re.search(rf'<rect x="([\d.]+)" y="[\d.]+" width="([\d.]+)"[^>]*><title>{re.escape(label)}: ', html)
    assert found is not None, label
    return float(found.group(1)), float(found.group(2))


@chromium
def test_report_fits_the_window_at_1400_and_800(demo_outputs: ReleaseOutputs, ledger: Ledger, tmp_path: Path) -> None:
    """Guards against check tables wider than the page (unbreakable digests: 2,118 px in a 1,400 px window)
    and chart text drawn outside its chart (the timeline's last axis label was clipped)."""
    rolled_back = write_release_outputs(ledger, SPECS[2].version, tmp_path / "specs").files["report_html"]
    for name, path in (("demo", demo_outputs.files["report_html"]), ("rolled-back", rolled_back)):
        for fit in fits(path, (1400, 800)):
            (tmp_path / f"{name}-{fit.viewport}.png").write_bytes(fit.screenshot)  # kept by pytest's tmp_path
            assert fit.document_width <= fit.viewport, (name, fit.viewport, fit.document_width, fit.too_wide)
            assert fit.too_wide == [], (name, fit.viewport)
            assert fit.clipped_text == [], (name, fit.viewport)


def test_tables_wrap_long_values(demo_outputs: ReleaseOutputs) -> None:
    """Guards the CSS that keeps tables inside the page: fixed layout and wrapping anywhere."""
    html = demo_outputs.files["report_html"].read_text()
    assert "table-layout:fixed" in html
    assert "overflow-wrap:anywhere" in html


def test_post_deploy_shows_a_failed_metric_whose_baseline_is_zero(demo_outputs: ReleaseOutputs) -> None:
    """Guards against leaving out metrics with a 0 baseline (the failed error_ratio vanished from the chart)."""
    html = demo_outputs.files["report_html"].read_text()
    chart = html[html.index('aria-label="Post-deploy vs baseline"') :]
    chart = chart[: chart.index("</svg>")]
    assert ">error_ratio</text>" in chart
    assert "+50% (baseline 0)" in chart
    assert "<td>+50% (baseline 0)</td>" in html  # the table's Change column says the same


def test_timeline_draws_each_check_from_its_own_start(demo_outputs: ReleaseOutputs) -> None:
    """Guards against drawing every check from its phase's start (deploy.verify started 32 s after DEPLOY)."""
    html = demo_outputs.files["report_html"].read_text()
    deploy_x, _ = _bar_x(html, "DEPLOY")
    rollout_x, rollout_w = _bar_x(html, "  deploy.rollout")
    verify_x, _ = _bar_x(html, "  deploy.verify")
    assert rollout_x > deploy_x
    assert verify_x >= rollout_x + rollout_w  # verify began after the rollout ended
    assert "time since the first start" in html


def test_check_start_is_recorded_and_read_back() -> None:
    """Guards the record of a check's start: written when known, absent (as before) when not."""
    at = T0 + timedelta(seconds=3)
    check = CheckResult("x.y", "X", CheckStatus.PASS, duration_seconds=1.5, started_at=at)
    assert check.to_dict()["started_at"] == at.isoformat()
    assert CheckResult.from_dict(check.to_dict()) == check
    old = CheckResult("x.y", "X", CheckStatus.PASS)
    assert "started_at" not in old.to_dict()
    assert CheckResult.from_dict(old.to_dict()).started_at is None


def test_readiness_chart_is_coloured_by_failures(demo_outputs: ReleaseOutputs) -> None:
    """Guards against painting a category red for a score under 100 when nothing failed."""
    html = demo_outputs.files["report_html"].read_text()
    chart = html[html.index("Readiness score per category") :]
    chart = chart[: chart.index("</svg>")]
    assert "#c0262d" not in chart  # no item failed: no red
    assert "#b7791f" in chart  # Security & Compliance had a skipped (unknown) item: amber
    assert "#17803d" in chart
    assert "88 · 0 failed, 1 skipped" in chart


def test_skipped_items_and_checks_name_the_real_cause(demo_outputs: ReleaseOutputs) -> None:
    """Guards against a skipped item's fix saying "upgrade the packages" when no scan ran, and a skipped
    check's empty fix."""
    html = demo_outputs.files["report_html"].read_text()
    skipped = html[html.index("readiness item(s) skipped") :]
    skipped = skipped[: skipped.index("</details>")]
    assert "make it checkable: no vulnerability scan recorded by BUILD" in skipped
    assert "Upgrade the affected packages" not in skipped
    assert "skipped because analyze.rollback_plan did not pass; fix that first" in html
    runbook = demo_outputs.files["runbook_md"].read_text()
    issue = next(line for line in runbook.splitlines() if "Readiness: Security & Compliance" in line)
    assert "fix: SC-044: could not be checked (no vulnerability scan recorded by BUILD)" in issue
    assert "Upgrade the affected packages" not in issue


def test_latency_has_one_unit(make_ledger: Callable[[list[Spec]], Ledger], tmp_path: Path) -> None:
    """Guards against latencies of 60 s and more printed as bare seconds next to milliseconds (and charted
    in seconds under a "ms" axis)."""
    slow = {**LOAD_TEST["levels"][-1], "concurrency": 64, "p99": 61.0, "max": 75.0}
    ledger = make_ledger([])
    release = record(ledger, SPECS[0])
    history = ledger.get_release(release.service, release.environment, release.version)
    assert history is not None
    measure = history.phases[PhaseName.MEASURE].to_result()
    measure.artifacts["load_test"] = {"levels": [*LOAD_TEST["levels"], slow]}
    ledger.record_phase(release, measure)
    html = write_release_outputs(ledger, release, tmp_path).files["report_html"].read_text()
    table = html[html.index("<th>concurrency</th>") :]
    table = table[: table.index("</table>")]
    cells = re.findall(r"<tr>((?:<td>[^<]*</td>)+)</tr>", table)
    for row in cells:
        values = re.findall(r"<td>([^<]*)</td>", row)
        assert all(value.endswith(" ms") for value in values[4:]), values
    assert "<td>61000.0 ms</td>" in table
    assert "<title>p99 latency (ms) at 64: 61000</title>" in html  # charted in ms too


def test_timeline_shows_each_wait_on_another_system_and_bmads_own_share(
    make_ledger: Callable[[list[Spec]], Ledger], tmp_path: Path
) -> None:
    """Guards the span rows of issue 13: a phase's waits (read back from the ledger) are drawn where they
    happened, one row per kind, and the report states the waited time and bmad's own share."""
    from bmad.core.models import Release
    from bmad.core.spans import Span, SpanKind
    from tests.reports.reports_data import demo_like_phases

    ledger = make_ledger([])
    release = Release("hello", "dev", "7" * 40, commit_time=T0 - timedelta(hours=1))
    ledger.ensure_release(release, created_at=T0)
    build = demo_like_phases(T0)[0]
    start = build.started_at
    assert start is not None and build.finished_at is not None
    build.spans = (
        Span(SpanKind.CONTAINER_ENGINE, "POST /v1.41/build", start, start + timedelta(seconds=20)),
        Span(SpanKind.REGISTRY, "push hello:1", start + timedelta(seconds=20), start + timedelta(seconds=30)),
        Span(
            SpanKind.CONTAINER_ENGINE,
            "GET /v1.41/images/json",
            start + timedelta(seconds=31),
            start + timedelta(seconds=32),
        ),
    )
    ledger.record_phase(release, build)
    html = write_release_outputs(ledger, release.version, tmp_path / "out").files["report_html"].read_text()
    engine_x, _ = _bar_x(html, "  waiting: container-engine")
    registry_x, _ = _bar_x(html, "  waiting: registry")
    build_x, _ = _bar_x(html, "BUILD")
    assert engine_x == build_x and registry_x > engine_x
    row = html[html.index("<title>  waiting: container-engine") - 200 :]
    assert row.count("<title>  waiting: container-engine: 21 s waited · 2 wait(s)</title>") == 2  # one per wait
    duration = build.duration_seconds
    own = (duration - 31) / duration
    assert f"Waiting on other systems: 31 s of 40 s of phase time; bmad's own share: {own:.1%}." in html


def test_the_report_shows_evidence_as_indented_json_without_jsons_python_encoder() -> None:
    """Guards the cost of the report written after every run: a check's evidence (megabytes for an
    ANALYZE of a large bundle, of which 6,000 characters are shown) was indented by json's
    pure-Python encoder; the text is the same as ``json.dumps(indent=2, sort_keys=True, default=str)``."""
    import html
    import json
    import sys
    from datetime import UTC, datetime

    from bmad.core.models import CheckResult, CheckStatus, PhaseName, PhaseResult, PhaseStatus, Release
    from bmad.reports.report import EVIDENCE_LIMIT, render_report
    from bmad.reports.views import ReleaseView

    evidence = {"z": [1, 2.5, None, True], "a": {"when": datetime(2026, 3, 1, tzinfo=UTC), "é": "<x>"}, "n": 10**20}
    check = CheckResult(id="deploy.rollout", title="Roll out", status=CheckStatus.PASS, evidence=evidence)
    deploy = PhaseResult(PhaseName.DEPLOY, PhaseStatus.PASSED, checks=[check])
    view = ReleaseView("r1", Release("web", "prod", "1" * 40), phases={PhaseName.DEPLOY: deploy})
    called: set[str] = set()

    def note(frame: object, event: str, arg: object) -> None:
        code = frame.f_code  # type: ignore[attr-defined]
        if event == "call" and code.co_filename.endswith("json/encoder.py"):
            called.add(code.co_name)

    sys.setprofile(note)
    try:
        page = render_report(view)
    finally:
        sys.setprofile(None)
    expected = json.dumps(evidence, indent=2, sort_keys=True, default=str)
    assert len(expected) < EVIDENCE_LIMIT
    assert f"<pre>{expected}</pre>" in html.unescape(page)
    assert not called & {"_iterencode", "_iterencode_dict", "_iterencode_list"}, called
