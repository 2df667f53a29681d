"""A phase record's text does not depend on which YAML emitter PyYAML has (libyaml or pure Python)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

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


def test_a_large_artifact_is_named_by_its_digest_and_a_small_one_is_kept() -> None:
    """Guards the cost of recording a large phase: a readiness report of thousands of findings is not
    emitted as YAML again (the ledger and the evidence folder hold it); small artifacts stay as they are."""
    import hashlib
    import json

    report = {"items": [{"id": f"analyze.k8s.{n}", "findings": ["x" * 100] * 10} for n in range(100)]}
    result = PhaseResult(
        phase=PhaseName.ANALYZE,
        status=PhaseStatus.PASSED,
        artifacts={"readiness": report, "kinds": ["Deployment"]},
        started_at=T0,
        finished_at=T0,
    )
    release = Release("hello", "dev", "a" * 40, commit_time=T0)
    body = yaml.safe_load(records.render_record(release, result, attempt=1, evidence_dir=None, ledger_hash=None))
    text = json.dumps(report, sort_keys=True, separators=(",", ":"))
    assert len(text) > records.LARGE_ARTIFACT_BYTES
    assert body["artifacts"] == {
        "readiness": {"omitted_bytes": len(text), "sha256": hashlib.sha256(text.encode()).hexdigest()},
        "kinds": ["Deployment"],
    }


def test_the_limit_is_16_kib_of_json() -> None:
    """Guards the record of an ordinary ANALYZE: the example's readiness report (~60 KB of JSON for 12
    objects, 2,400 lines of YAML) is named by its digest; an artifact at the limit stays whole."""
    import json

    def artifact_of(size: int) -> dict[str, str]:
        filler = size - len(json.dumps({"x": ""}, separators=(",", ":")))
        return {"x": "y" * filler}

    for size, kept in ((16 * 1024, True), (16 * 1024 + 1, False)):
        result = PhaseResult(
            phase=PhaseName.ANALYZE,
            status=PhaseStatus.PASSED,
            artifacts={"readiness": artifact_of(size)},
            started_at=T0,
            finished_at=T0,
        )
        release = Release("hello", "dev", "a" * 40, commit_time=T0)
        body = yaml.safe_load(records.render_record(release, result, attempt=1, evidence_dir=None, ledger_hash=None))
        assert ("omitted_bytes" not in body["artifacts"]["readiness"]) is kept, size


def test_a_large_artifacts_digest_is_of_its_redacted_json() -> None:
    """Guards the single encoding of a large artifact: its digest is taken after redaction (a planted
    secret changes nothing but its mask), and the artifacts keep their declared order."""
    import hashlib
    import json

    from bmad.core.redact import redact_data

    planted = "ghp_" + "Q7" * 18
    report = {"items": [{"id": f"check.{n}", "note": "z" * 200} for n in range(100)], "token": planted}
    result = PhaseResult(
        phase=PhaseName.ANALYZE,
        status=PhaseStatus.PASSED,
        artifacts={"zeta": [1, 2], "readiness": report, "alpha": {"b": 1, "a": 2}},
        started_at=T0,
        finished_at=T0,
    )
    release = Release("hello", "dev", "a" * 40, commit_time=T0)
    text = records.render_record(release, result, attempt=1, evidence_dir=None, ledger_hash=None)
    assert planted not in text
    body = yaml.safe_load(text)
    masked = json.dumps(redact_data(report), sort_keys=True, separators=(",", ":"))
    assert planted not in masked
    assert list(body["artifacts"]) == ["zeta", "readiness", "alpha"]
    assert body["artifacts"]["readiness"]["sha256"] == hashlib.sha256(masked.encode()).hexdigest()
    assert list(body["artifacts"]["alpha"]) == ["b", "a"]


def test_a_large_artifact_is_named_by_the_text_the_ledger_hashed(tmp_path: Path) -> None:
    """Guards the digest shared with the ledger: with the ledger's texts or without, a large artifact
    is named by the UTF-8 size and SHA-256 of its canonical JSON (characters outside ASCII as they are,
    a planted secret masked), the text the ledger's chain hash covers for it."""
    import hashlib
    import json
    import sqlite3

    from bmad.core.redact import forget_secrets, register_secret
    from bmad.ledger import Ledger
    from bmad.ledger.hashing import canonical_json
    from bmad.ledger.row_json import PlainArtifacts

    planted = "a-planted-secret-value"
    register_secret(planted)
    try:
        report = {"items": [{"id": f"k8s.{n}", "note": f"naïve ✓ {planted} " * 20} for n in range(60)]}
        result = PhaseResult(
            phase=PhaseName.ANALYZE,
            status=PhaseStatus.PASSED,
            artifacts={"readiness": report},
            started_at=T0,
            finished_at=T0,
        )
        release = Release("hello", "dev", "a" * 40, commit_time=T0)
        texts = PlainArtifacts()
        with Ledger.open(f"sqlite:///{tmp_path / 'ledger.db'}") as ledger:
            run = ledger.start_phase(release, PhaseName.ANALYZE)
            ledger.finish_phase(run, result, texts=texts)
            assert ledger.verify().ok
        shown = [
            yaml.safe_load(
                records.render_record(release, result, attempt=1, evidence_dir=None, ledger_hash=None, texts=t)
            )
            for t in (texts, None)
        ]
    finally:
        forget_secrets()
    with sqlite3.connect(tmp_path / "ledger.db") as db:
        (stored,) = db.execute("SELECT artifacts FROM phase_runs").fetchone()
    hashed = canonical_json(json.loads(stored)["readiness"]).encode()
    assert planted.encode() not in hashed and "naïve ✓".encode() in hashed
    assert shown[0] == shown[1]
    digest = hashlib.sha256(hashed).hexdigest()
    assert shown[0]["artifacts"]["readiness"] == {"omitted_bytes": len(hashed), "sha256": digest}
