"""A phase record's text does not depend on which YAML emitter PyYAML has (libyaml or pure Python)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import yaml

from bmad.core.models import CheckResult, CheckStatus, PhaseName, PhaseResult, PhaseStatus, Release
from bmad.engine import records

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def test_record_text_is_the_pure_python_emitters_text() -> None:
    """Guards the switch to libyaml's dumper: records stay byte-identical (unicode, long and odd strings)."""
    checks = [
        CheckResult(
            id="analyze.readiness",
            title="Readiness — probes ✓",
            status=CheckStatus.FAIL,
            duration_seconds=0.25,
            summary="word " * 60,
            expected="a: b\n  indented\n",
            observed="'0123' yes ~ null",
            fix="set\tprobes",
        )
    ]
    result = PhaseResult(
        phase=PhaseName.ANALYZE,
        status=PhaseStatus.FAILED,
        checks=checks,
        metrics={"risk": 42.5, "naïve": 1},
        started_at=T0,
        finished_at=T0 + timedelta(seconds=3),
        message="1 check failed: ü",
    )
    release = Release("hello", "dev", "a" * 40, commit_time=T0)
    text = records.render_record(release, result, attempt=2, evidence_dir="evidence/x", ledger_hash="f" * 64)
    body = yaml.safe_load(text)
    pure = yaml.dump(body, Dumper=yaml.SafeDumper, sort_keys=False, allow_unicode=True, width=120)
    assert text == records.HEADER + pure
