"""Runbook, checklist and HTML report of releases recorded in a ledger with known data."""

from __future__ import annotations

import re
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bmad.core.models import CheckResult, CheckStatus, PhaseName, PhaseResult, PhaseStatus, Release
from bmad.ledger import Ledger
from bmad.reports.outputs import write_release_outputs
from tests.browser import CHROMIUM, visit_file
from tests.reports.reports_data import SPECS


def test_runbook_of_a_rolled_back_release(ledger: Ledger, tmp_path: Path) -> None:
    out = write_release_outputs(ledger, SPECS[2].version, tmp_path)
    assert out.directory == tmp_path / "hello" / "dev" / ("c" * 12)
    md = out.files["runbook_md"].read_text()
    assert md.startswith("# Deployment Runbook: hello\n")
    for line in (
        "**Date**: 2026-01-07  ",
        f"**Version**: {'c' * 40}  ",
        "**Outcome**: rolled back  ",
        "- Start time: 10:00:00",
        "- Image tag: 127.0.0.1:5000/hello:ccccccc",
        "- Tests passed: 36/36 passed ✓",
        "- Security scan: PASS: 0 HIGH, 0 CRITICAL CVEs ✓",
        "- Baseline CPU: 2.1% of a core (cpu_usage) ✓",
        "- Baseline Memory: 24 MB (memory_bytes) ✓",
        "- Baseline RPS: 12.5 req/s (request_rate) ✓",
        "- Manifests validated: valid ✓",
        "- Secrets configured: 3/3 ✓",
        "- Rollback plan: [documented](rollback-plan.md) ✓",
        "- Deployment start: 10:09:00",
        "- Rollout complete: 10:15:00",
        "- Pods healthy: 2/2 ✓",
        "- Smoke tests: 18/20 passed ✗",
        "- error_ratio: 50% after deploy, baseline no data (limit <= 0.05) ✗",
        "- Rollback initiated: 2026-01-07 10:12:00 UTC",
        "- Rollback complete: 2026-01-07 10:13:30 UTC ✓",
        "- Time to restore: 1.5 min ✓",
        "- Root cause: post-deploy verification: error_ratio 0.5 above bound <= 0.05",
    ):
        assert line in md.splitlines(), line
    assert f"- Image digest: sha256:{'c' * 320} ✓" in md
    assert "[DEPLOY] Post-deploy verification: error ratio above bound — fix: look at the new version's 5xx" in md
    html = out.files["runbook_html"].read_text()
    assert "<h2>Rollback (if needed)</h2>" in html and "1.5 min" in html
    plan = out.files["rollback_plan"].read_text()
    assert "1. stop the new containers" in plan and "sha256:prev" in plan


def test_runbook_of_a_successful_release(ledger: Ledger, tmp_path: Path) -> None:
    md = write_release_outputs(ledger, SPECS[0].version, tmp_path).files["runbook_md"].read_text()
    assert "**Outcome**: deployed  " in md
    assert "## Issues Encountered\nNone\n" in md
    assert "## Rollback (if needed)\nNot needed." in md
    assert "- Smoke tests: 20/20 passed ✓" in md


def test_checklist_ticks_with_figures(ledger: Ledger, tmp_path: Path) -> None:
    out = write_release_outputs(ledger, SPECS[3].version, tmp_path)  # stopped at BUILD by CVEs
    md = out.files["checklist_md"].read_text()
    assert "- [x] ✓ Integration tests: 36/36 passed" in md
    assert "- [ ] ✗ Security scan: FAIL: 0 HIGH, 2 CRITICAL CVEs" in md
    assert "- [x] ✓ Image size: 48.2 MB (<500MB target)" in md
    assert "- [ ] – Prometheus running: not recorded" in md
    assert "- [ ] – Deployment rolled out: not run" in md
    ok = write_release_outputs(ledger, SPECS[0].version, tmp_path).files["checklist_md"].read_text()
    assert "- [x] ✓ Prometheus running: uptime: 5 days" in ok
    assert "- [x] ✓ Alert rules: 25 loaded" in ok
    assert "- [x] ✓ Secrets configured: 3/3" in ok
    assert "- [x] ✓ Smoke tests: 20/20 passed" in ok


def test_a_version_in_two_environments_is_ambiguous_and_a_prefix_is_enough(tmp_path: Path) -> None:
    """The documents' own lookup (a ledger id or version) was a twin of `bmad report`'s: it took whichever
    release of two environments with the same commit came first, and knew no version prefix."""
    from bmad.core.errors import UsageError

    t = datetime(2026, 2, 1, 9, 0, tzinfo=UTC)
    with Ledger.open(f"sqlite:///{tmp_path}/l.db", clock=lambda: t) as ledger:
        for environment in ("dev", "prod"):
            done = PhaseResult(PhaseName.BUILD, PhaseStatus.PASSED, started_at=t, finished_at=t)
            ledger.record_phase(Release("twin", environment, "d" * 40), done)
        with pytest.raises(UsageError, match=r"ambiguous .*twin/dev, twin/prod"):
            write_release_outputs(ledger, "d" * 40, tmp_path / "out")
        prod = next(h for h in ledger.list_releases() if h.release.environment == "prod")
        out = write_release_outputs(ledger, f"#{prod.id}", tmp_path / "out")
        assert out.directory == tmp_path / "out" / "twin" / "prod" / ("d" * 12)
        ledger.record_phase(Release("solo", "dev", "e" * 40), done)
        assert write_release_outputs(ledger, "eeee", tmp_path / "out").directory.parts[-3:] == ("solo", "dev", "e" * 12)


def test_missing_figures_degrade_to_not_recorded(tmp_path: Path) -> None:
    t = datetime(2026, 2, 1, 9, 0, tzinfo=UTC)
    with Ledger.open(f"sqlite:///{tmp_path}/l.db", clock=lambda: t) as ledger:
        release = Release("bare", "prod", "f" * 40)
        ledger.record_phase(
            release,
            PhaseResult(
                PhaseName.BUILD,
                PhaseStatus.FAILED,
                checks=[CheckResult("build.implemented", "BUILD", CheckStatus.FAIL, summary="not implemented")],
                started_at=t,
                finished_at=t,
            ),
        )
        out = write_release_outputs(ledger, "f" * 40, tmp_path / "out")
    md = out.files["runbook_md"].read_text()
    assert "- Image tag: not recorded" in md
    assert "- Tests passed: not recorded" in md
    assert "- Start time: not run" in md
    assert "Rollback plan: not recorded" in md
    assert "rollback_plan" not in out.files
    assert "[BUILD] BUILD: not implemented" in md
    assert "No load test recorded by MEASURE." in out.files["report_html"].read_text()


def test_report_is_self_contained(ledger: Ledger, tmp_path: Path) -> None:
    html = write_release_outputs(ledger, SPECS[2].version, tmp_path).files["report_html"].read_text()
    assert "<script" not in html.lower()
    assert "@import" not in html and "url(" not in html
    # The only absolute URL is the SVG namespace (an identifier, never fetched).
    urls = set(re.findall(r"https?://[^\s\"'<>]+", html))
    assert urls == {"http://www.w3.org/2000/svg"}
    assert "default-src 'none'" in html
    assert html.count("<svg") == 4  # timeline, capacity curve, throughput, baseline comparison
    for check_id in ("build.tests.integration", "build.vulnerabilities", "measure.baseline", "deploy.verify"):
        assert f"<code>{check_id}</code>" in html
    assert "look at the new version&#x27;s 5xx responses" in html


@pytest.mark.skipif(shutil.which(CHROMIUM) is None, reason="Debian chromium is not installed")
def test_report_renders_offline_in_chromium(ledger: Ledger, tmp_path: Path) -> None:
    out = write_release_outputs(ledger, SPECS[2].version, tmp_path / "out")
    page = visit_file(out.files["report_html"])
    assert page.requests == [page.url]  # the document itself, nothing else
    assert page.console_errors == []
    assert page.exceptions == []
    assert page.log_errors == []
    assert page.svg_count == 4
    assert page.title == f"bmad release report: hello {'c' * 12} (dev)"
    assert "Capacity curve" in page.body_text and "Every check, with its evidence and fix" in page.body_text
    assert page.screenshot.startswith(b"\x89PNG\r\n\x1a\n") and len(page.screenshot) > 50_000
    (tmp_path / "report-screenshot.png").write_bytes(page.screenshot)  # kept by pytest's tmp_path retention
    runbook = visit_file(out.files["runbook_html"])
    assert runbook.requests == [runbook.url]
    assert runbook.console_errors == runbook.exceptions == runbook.log_errors == []
    assert "Deployment Runbook: hello" in runbook.body_text


def test_the_figures_written_with_a_release_are_those_of_a_full_read(ledger: Ledger, tmp_path: Path) -> None:
    """Guards the publish path's lean read (issue 13): the (service, environment) metrics come from
    release outlines, not from every check of every release, and must equal the full read's."""
    from bmad.reports.metrics import compute_framework_metrics
    from bmad.reports.outputs import release_figures
    from bmad.reports.source import release_view

    figures = release_figures(ledger, SPECS[2].version)
    release = figures.view.release
    full = [
        release_view(h)
        for h in reversed(ledger.list_releases(service=release.service, environment=release.environment))
    ]
    expected = compute_framework_metrics(
        full, service=release.service, environment=release.environment, now=ledger.now()
    )
    assert figures.metrics == expected
    assert figures.view == next(v for v in full if v.release.version == release.version)
