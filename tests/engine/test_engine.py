"""The phase engine in-process, on real git and real SQLite, with the scripted test phases
(selected through the supported ``plugins:`` mechanism of bmad.yaml)."""

from __future__ import annotations

import json
import os
import stat
import threading
import time
from pathlib import Path

import pytest

from bmad.config.loader import load_config
from bmad.core.errors import ExitCode, GateRefused, UsageError
from bmad.core.models import CheckStatus, PhaseName, PhaseStatus
from bmad.core.redact import forget_secrets
from bmad.engine import open_ledger, release_status, run_release
from tests.engine import plugins as scripted
from tests.engine.support import git, make_service


@pytest.fixture
def service(tmp_path: Path) -> Path:
    return make_service(tmp_path / "svc")


def config_of(service: Path):  # type: ignore[no-untyped-def]
    return load_config(service / "bmad.yaml")


def test_run_takes_a_release_through_all_four_phases(service: Path) -> None:
    outcome = run_release(service / "bmad.yaml", "dev")
    assert outcome.exit_code is ExitCode.OK
    assert [p.phase for p in outcome.phases] == list(PhaseName.ordered())
    assert all(p.result.status is PhaseStatus.PASSED for p in outcome.phases)
    head = git(service, "rev-parse", "HEAD").strip()
    assert outcome.release.version == head and not outcome.release.dirty
    # later phases see earlier phases' artifacts
    measure = outcome.phases[1].result.checks[0]
    assert measure.evidence["saw_build_artifact"] == 1
    # every check is timed; metrics are the checks' union
    assert all(c.duration_seconds > 0 for p in outcome.phases for c in p.result.checks)
    assert outcome.phases[0].result.metrics == {"build_c1_ok": True, "build_c2_ok": True, "build_c3_ok": True}
    # evidence folder per phase run
    evidence = service / ".bmad" / outcome.phases[0].evidence_dir  # type: ignore[operator]
    assert json.loads((evidence / "phase.json").read_text())["status"] == "passed"
    with open_ledger(config_of(service)) as ledger:
        assert ledger.verify().ok
        assert ledger.latest_release("hello", "dev").next_phase is None  # type: ignore[union-attr]


def test_records_go_to_their_branch_and_the_working_tree_stays_clean(service: Path) -> None:
    before_index = (service / ".git" / "index").read_bytes()
    run_release(service / "bmad.yaml", "dev")
    head = git(service, "rev-parse", "HEAD").strip()
    assert git(service, "status", "--porcelain", "--untracked-files=all") == ""
    assert (service / ".git" / "index").read_bytes() == before_index
    assert git(service, "rev-parse", "--abbrev-ref", "HEAD").strip() == "main"
    files = git(service, "ls-tree", "-r", "--name-only", "bmad/records").split()
    assert files == [f"records/hello/dev/{head}/{p}.yaml" for p in ("analyze", "build", "deploy", "measure")]
    import yaml

    record = yaml.safe_load(git(service, "show", f"bmad/records:records/hello/dev/{head}/build.yaml"))
    assert record["status"] == "passed" and record["phase"] == "build" and record["version"] == head
    assert record["metrics"]["build_c1_ok"] is True
    assert record["ledger_hash"] and len(record["results"]) == 3
    assert len(git(service, "log", "--format=%H", "bmad/records").split()) == 4


def test_a_single_phase_is_gated_and_force_needs_a_reason(service: Path) -> None:
    with pytest.raises(GateRefused, match="MEASURE needs BUILD to pass first"):
        run_release(service / "bmad.yaml", "dev", phases=["measure"])
    with pytest.raises(UsageError, match="--force needs --reason"):
        run_release(service / "bmad.yaml", "dev", phases=["measure"], force=True)
    forced = run_release(service / "bmad.yaml", "dev", phases=["measure"], force=True, reason="hotfix INC-42")
    assert forced.passed and forced.phases[0].result.forced_reason == "hotfix INC-42"
    with open_ledger(config_of(service)) as ledger:
        run = ledger.latest_release("hello", "dev").phases[PhaseName.MEASURE]  # type: ignore[union-attr]
        assert run.forced_reason == "hotfix INC-42"
    # a gate looks at every earlier phase: BUILD never passed, so ANALYZE is refused
    with pytest.raises(GateRefused, match="ANALYZE needs BUILD"):
        run_release(service / "bmad.yaml", "dev", phases=["analyze"])
    assert run_release(service / "bmad.yaml", "dev", phases=["build"]).passed
    assert run_release(service / "bmad.yaml", "dev", phases=["analyze"]).passed


def test_a_failed_phase_stops_the_run_and_resume_continues_from_it(service: Path) -> None:
    failed = run_release(service / "bmad.yaml", "dev", options={"x_measure_status": "fail"})
    assert failed.exit_code is ExitCode.GATE_FAILED
    assert [p.result.status for p in failed.phases] == [PhaseStatus.PASSED, PhaseStatus.FAILED]
    assert "the run stopped at MEASURE" in failed.message
    status = release_status(service / "bmad.yaml", "dev")
    assert status.next_phase is PhaseName.MEASURE
    resumed = run_release(service / "bmad.yaml", "dev", resume=True)
    assert [p.phase for p in resumed.phases] == [PhaseName.MEASURE, PhaseName.ANALYZE, PhaseName.DEPLOY]
    assert resumed.passed and resumed.phases[0].attempt == 2
    again = run_release(service / "bmad.yaml", "dev", resume=True)
    assert again.passed and not again.phases and "nothing to do" in again.message


def test_warnings_fail_in_production_but_not_in_dev(service: Path) -> None:
    dev = run_release(service / "bmad.yaml", "dev", phases=["build"], options={"x_build_status": "warn"})
    assert dev.passed and dev.phases[0].result.checks[0].status is CheckStatus.WARN
    prod = run_release(service / "bmad.yaml", "production", phases=["build"], options={"x_build_status": "warn"})
    assert prod.exit_code is ExitCode.GATE_FAILED
    assert prod.phases[0].result.status is PhaseStatus.FAILED and prod.phases[0].warnings_fail
    assert "build.c1" in prod.message


def test_a_dirty_tree_is_refused_for_production_only(service: Path) -> None:
    (service / "app.py").write_text("print('changed')\n")
    with pytest.raises(GateRefused, match=r"uncommitted changes \(app.py\)"):
        run_release(service / "bmad.yaml", "production")
    dev = run_release(service / "bmad.yaml", "dev", phases=["build"])
    assert dev.passed and dev.release.dirty


def test_independent_checks_run_concurrently_and_needs_serialise(service: Path) -> None:
    scripted.ACTIVE["max"] = 0
    parallel = run_release(
        service / "bmad.yaml", "dev", phases=["build"], options={"x_build_checks": 6, "x_build_sleep": 0.3}
    )
    assert parallel.passed and scripted.ACTIVE["max"] >= 4
    assert parallel.phases[0].result.duration_seconds < 6 * 0.3  # not one after another
    scripted.ACTIVE["max"] = 0
    chained = run_release(
        service / "bmad.yaml",
        "dev",
        phases=["build"],
        options={"x_build_checks": 4, "x_build_sleep": 0.05, "x_build_needs": "chain"},
    )
    assert chained.passed and scripted.ACTIVE["max"] == 1
    scripted.ACTIVE["max"] = 0
    # a failed need skips what depends on it
    skipped = run_release(
        service / "bmad.yaml", "dev", phases=["build"], options={"x_build_needs": "chain", "x_build_status": "fail"}
    )
    statuses = [c.status for c in skipped.phases[0].result.checks]
    assert statuses == [CheckStatus.FAIL, CheckStatus.SKIP, CheckStatus.SKIP]
    assert "build.c1 did not pass" in skipped.phases[0].result.checks[1].summary


def test_an_exclusive_check_runs_alone(service: Path) -> None:
    seen: list[int] = []
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            seen.append(scripted.ACTIVE["now"])
            time.sleep(0.005)

    sampler = threading.Thread(target=sample)
    sampler.start()
    try:
        outcome = run_release(
            service / "bmad.yaml",
            "dev",
            phases=["build"],
            options={"x_build_checks": 5, "x_build_sleep": 0.2, "x_build_exclusive": 3},
        )
    finally:
        stop.set()
        sampler.join()
    assert outcome.passed
    assert max(seen) >= 2  # the others overlapped ...
    assert 1 in seen  # ... and there was a stretch where one check ran alone


@pytest.mark.parametrize(
    ("kind", "exit_code", "error_type", "fix"),
    [
        ("adapter", ExitCode.GATE_FAILED, "AdapterError", "look at the registry log"),
        ("unreachable", ExitCode.UNREACHABLE, "Unreachable", "make sure prometheus is running"),
        ("bug", ExitCode.GATE_FAILED, "ZeroDivisionError", "this is a bug in the check"),
    ],
)
def test_an_exception_in_a_check_is_a_failure_with_evidence(
    service: Path, kind: str, exit_code: ExitCode, error_type: str, fix: str
) -> None:
    outcome = run_release(service / "bmad.yaml", "dev", phases=["build"], options={"x_build_raise": kind})
    assert outcome.exit_code is exit_code
    check = outcome.phases[0].result.checks[0]
    assert check.status is CheckStatus.FAIL
    assert check.evidence["error_type"] == error_type
    assert fix in check.fix
    assert [c.status for c in outcome.phases[0].result.checks[1:]] == [CheckStatus.PASS, CheckStatus.PASS]
    if kind == "bug":
        trace = service / ".bmad" / outcome.phases[0].evidence_dir / check.evidence_files[0]  # type: ignore[operator]
        assert "ZeroDivisionError: scripted bug" in trace.read_text()


def test_deploy_rollback_artifact_becomes_a_rollback_row(service: Path) -> None:
    outcome = run_release(service / "bmad.yaml", "dev", options={"x_deploy_rollback": True})
    assert outcome.phases[-1].result.status is PhaseStatus.FAILED
    with open_ledger(config_of(service)) as ledger:
        history = ledger.latest_release("hello", "dev")
        assert history is not None and history.rolled_back
        rollback = history.rollbacks[0]
        assert rollback.reason == "error rate above threshold" and rollback.to_version == "0" * 40
        assert rollback.mttr_seconds == 0 and not rollback.manual
        assert ledger.verify().ok


def test_ctrl_c_cancel_aborts_the_phase(service: Path) -> None:
    cancel = threading.Event()
    timer = threading.Timer(0.3, cancel.set)
    timer.start()
    outcome = run_release(service / "bmad.yaml", "dev", phases=["build"], options={"x_build_sleep": 20}, cancel=cancel)
    timer.cancel()
    assert outcome.phases[0].result.status is PhaseStatus.ABORTED
    assert outcome.exit_code is ExitCode.GATE_FAILED
    assert release_status(service / "bmad.yaml", "dev").phase_status(PhaseName.BUILD) is PhaseStatus.ABORTED
    assert run_release(service / "bmad.yaml", "dev", resume=True).passed


def test_secrets_never_reach_ledger_records_or_evidence(service: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    secret = "s3cr3t-Value-9f8e7d6c"
    monkeypatch.setenv("HELLO_TOKEN", secret)
    try:
        outcome = run_release(service / "bmad.yaml", "dev", options={"x_build_secret_env": "HELLO_TOKEN"})
    finally:
        forget_secrets()
    assert outcome.passed
    found = []
    for path in (service / ".bmad").rglob("*"):
        if path.is_file() and secret.encode() in path.read_bytes():
            found.append(str(path))
    for path in (service / ".git").rglob("*"):
        if path.is_file() and secret.encode() in path.read_bytes():
            found.append(str(path))
    records = git(service, "log", "-p", "bmad/records")
    assert secret not in records and "********" in records
    assert found == []
    # and the evidence files are private
    commands = list((service / ".bmad" / "runs").rglob("commands/*.json"))
    assert commands and all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in commands)


def test_with_the_stock_phases_a_service_that_cannot_build_stops_at_build(tmp_path: Path) -> None:
    service = make_service(tmp_path / "plain", plugins=False)
    os.environ.pop("BMAD_PLUGIN_BUILD", None)
    outcome = run_release(service / "bmad.yaml", "dev")
    assert outcome.exit_code is ExitCode.GATE_FAILED
    assert [p.phase for p in outcome.phases] == [PhaseName.BUILD]
    assert outcome.phases[0].result.status is PhaseStatus.FAILED


def test_env_var_selects_a_phase_plugin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    service = make_service(tmp_path / "plain", plugins=False)
    monkeypatch.setenv("BMAD_PLUGIN_BUILD", "tests.engine.plugins.build")
    outcome = run_release(service / "bmad.yaml", "dev", phases=["build"])
    assert outcome.passed and outcome.phases[0].result.checks[0].id == "build.c1"


@pytest.mark.postgres
def test_a_team_ledger_on_postgresql(service: Path, postgres_db: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BMAD_LEDGER_URL", postgres_db)
    assert (
        run_release(service / "bmad.yaml", "dev", options={"x_analyze_status": "fail"}).exit_code
        is ExitCode.GATE_FAILED
    )
    assert run_release(service / "bmad.yaml", "dev", resume=True).passed
    assert not (service / ".bmad" / "ledger.db").exists()
    with open_ledger(config_of(service)) as ledger:
        assert ledger.dialect == "postgresql"
        history = ledger.latest_release("hello", "dev")
        assert history is not None and [r.phase.value for r in history.runs] == [
            "build",
            "measure",
            "analyze",
            "analyze",
            "deploy",
        ]
        assert ledger.verify().ok and ledger.verify().checked == 5


def test_losing_the_lock_mid_phase_aborts_it(tmp_path: Path) -> None:
    import sqlite3

    service = make_service(tmp_path / "svc", lease=0.3)  # heartbeat every 0.1 s
    marker = tmp_path / "started"

    def take_the_lock_away() -> None:
        while not marker.exists():
            time.sleep(0.01)
        with sqlite3.connect(service / ".bmad" / "ledger.db", timeout=30) as db:
            db.execute("UPDATE locks SET owner = 'someone-else:1:x'")

    thief = threading.Thread(target=take_the_lock_away)
    thief.start()
    outcome = run_release(
        service / "bmad.yaml", "dev", phases=["build"], options={"x_build_sleep": 20, "x_build_marker": str(marker)}
    )
    thief.join()
    result = outcome.phases[0].result
    assert result.status is PhaseStatus.ABORTED
    assert "taken over by another bmad process" in result.message
    assert result.duration_seconds < 10


def test_a_missing_plugin_module_is_a_config_error_before_anything_is_recorded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bmad.core.errors import ConfigError

    service = make_service(tmp_path / "svc")
    monkeypatch.setenv("BMAD_PLUGIN_MEASURE", "no.such.module")
    with pytest.raises(ConfigError, match=r"plugin module 'no\.such\.module' for the MEASURE phase cannot be found"):
        run_release(service / "bmad.yaml", "dev")
    with open_ledger(config_of(service)) as ledger:
        assert ledger.list_releases() == [] or not ledger.list_releases()[0].runs


def test_a_refused_release_leaves_its_lock_free(service: Path) -> None:
    """Guards git's answer being read while the ledger opens: the refusal comes after the lock was
    taken, and releases it (a lock left held would refuse the next run for its 30 s lease)."""
    (service / "app.py").write_text("print('changed')\n")
    for _ in range(2):
        with pytest.raises(GateRefused, match=r"uncommitted changes \(app.py\)"):
            run_release(service / "bmad.yaml", "production")
    git(service, "checkout", "--", "app.py")
    assert run_release(service / "bmad.yaml", "production", phases=["build"]).passed


def test_a_ledger_that_cannot_open_is_the_error_and_git_is_waited_for(service: Path) -> None:
    (service / ".bmad").write_text("a file where the state folder goes\n")
    with pytest.raises(UsageError, match=r"state folder .*\.bmad cannot be used: Not a directory") as raised:
        run_release(service / "bmad.yaml", "dev", phases=["build"])
    assert raised.value.hint and "state_dir" in raised.value.hint
    assert not [thread for thread in threading.enumerate() if thread.name == "bmad-release"]
