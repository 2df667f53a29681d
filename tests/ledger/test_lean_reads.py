"""The read commands' cheaper ledger reads (issue 13): the checks of some phases only, the
deliveries of many releases at once; both read paths give equal records."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine

from bmad.core.models import CheckResult, CheckStatus, PhaseName, PhaseResult, PhaseStatus, Release
from bmad.ledger import Ledger
from bmad.ledger.reader import json_values
from bmad.ledger.records import outline_of
from bmad.ports.notifications import DeliveryRecord
from tests.reports.reports_data import T0, filled_ledger


def test_a_read_can_load_the_checks_of_some_phases_only(tmp_path: Path) -> None:
    """Guards ``bmad metrics``' read: with ``with_checks=(DEPLOY,)`` every run comes back whole but
    only DEPLOY's runs carry their checks (both read paths)."""
    url = filled_ledger(tmp_path / "ledger.db")
    with Ledger(create_engine(url)) as orm, Ledger.open(url) as fast:
        everything = orm.list_releases()
        expected = [
            replace(h, runs=[r if r.phase is PhaseName.DEPLOY else replace(r, checks=()) for r in h.runs])
            for h in everything
        ]
        assert any(r.checks for h in expected for r in h.runs if r.phase is PhaseName.DEPLOY)
        for ledger in (orm, fast):
            assert ledger.list_releases(with_checks=(PhaseName.DEPLOY,)) == expected
            assert ledger.list_releases(with_checks=()) == ledger.list_releases(with_checks=False)
        assert fast._opened is None


def test_the_deliveries_of_many_releases_are_read_at_once(tmp_path: Path) -> None:
    """Guards ``bmad history --json``: one read gives every listed release's deliveries (none: an
    empty list), equal to reading them release by release, on both read paths."""
    url = filled_ledger(tmp_path / "ledger.db")
    sent = T0 + timedelta(days=10)
    started = DeliveryRecord("ops", "slack", "run_started", "hello started", sent, delivered=True, attempts=1)
    failed = DeliveryRecord("hook", "webhook", "gate_failed", "stop", sent, False, 3, reason="timeout")
    with Ledger.open(url) as fast:
        releases = fast.list_releases(with_checks=False)
        fast.record_deliveries(releases[0].release, [started, failed])
        fast.record_deliveries(releases[2].release, [failed])
    with Ledger(create_engine(url)) as orm, Ledger.open(url) as fast:
        for ledger in (fast, orm):
            found = ledger.deliveries_of([h.id for h in releases])
            assert found == {h.id: ledger.deliveries(h.release) for h in releases}
            assert found[releases[0].id] == [started, failed] and found[releases[1].id] == []
            assert ledger.deliveries_of([]) == {}


def test_stored_json_texts_are_decoded_together_as_one_by_one() -> None:
    """Guards the reader's one-call decoding of a read's JSON columns: the same values as decoding
    each text alone, and a text edited into two values is refused as decoding it alone refuses it."""
    texts = ['{"a": 1, "b": [true, null]}', None, "{}", '"x"']
    assert json_values(texts) == [None if t is None else json.loads(t) for t in texts]
    assert json_values([]) == []
    with pytest.raises(json.JSONDecodeError):
        json_values(['{"a": 1}', "1, 2"])


def test_release_outlines_keep_what_figures_read_on_both_paths(tmp_path: Path) -> None:
    """Guards ``bmad metrics``' one lean read: every release with the latest result of each phase
    (DEPLOY's whole, the others' status and times only) and its rollbacks, equal on both read paths
    to the full history cut down."""
    url = filled_ledger(tmp_path / "ledger.db")
    with Ledger(create_engine(url)) as orm, Ledger.open(url) as fast:
        histories = orm.list_releases()
        expected = [outline_of(h, {PhaseName.DEPLOY}) for h in histories]
        assert any(o.rollbacks for o in expected)
        # the ledger's DEPLOYs have checks, which name no metric or artifact their runs lack: left out
        assert any(h.phases[PhaseName.DEPLOY].checks for h in histories if PhaseName.DEPLOY in h.phases)
        assert not any(r.checks for o in expected for r in o.phases.values())
        for ledger in (orm, fast):
            assert ledger.release_outlines(details=(PhaseName.DEPLOY,)) == expected
            assert ledger.release_outlines(service="hello", environment="dev", details=(PhaseName.DEPLOY,)) == [
                o for o in expected if o.release.environment == "dev" and o.release.service == "hello"
            ]
        build = fast.release_outlines()[0].phases[PhaseName.BUILD]
        assert build.metrics == {} and build.checks == [] and build.finished_at is not None
        assert fast._opened is None


def test_a_read_of_the_latest_attempts_leaves_the_earlier_ones_out(tmp_path: Path) -> None:
    """Guards the fixed cost of a phase: the gate and the release's documents read each phase's
    latest attempt only (before: every attempt's checks, metrics and artifacts, an ANALYZE
    attempt's can be a megabyte); the latest attempts come back whole, on both read paths."""
    from bmad.core.models import CheckResult, CheckStatus, PhaseResult, PhaseStatus, Release
    from bmad.ledger.records import LATEST_ATTEMPTS

    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    release = Release("hello", "dev", "a" * 40)
    with Ledger.open(url) as ledger:
        for attempt, phase in enumerate([PhaseName.BUILD, PhaseName.ANALYZE, PhaseName.ANALYZE, PhaseName.ANALYZE]):
            check = CheckResult(f"{phase.value}.try{attempt}", "t", CheckStatus.PASS, evidence={"n": attempt})
            at = T0 + timedelta(minutes=attempt)
            result = PhaseResult(phase, PhaseStatus.PASSED, [check], {"m": attempt}, {"a": [attempt]}, at, at)
            ledger.record_phase(release, result)
    with Ledger(create_engine(url)) as orm, Ledger.open(url) as fast:
        whole = orm.get_release("hello", "dev", release.version)
        assert whole is not None and [len(r.checks) for r in whole.runs] == [1, 1, 1, 1]
        lean = fast.get_release("hello", "dev", release.version, with_checks=LATEST_ATTEMPTS)
        assert lean is not None
        assert lean.runs == [whole.runs[0], whole.runs[3]]
        assert lean.phases == whole.phases and lean.rollbacks == whole.rollbacks
        for ledger in (orm, fast):
            latest = ledger.latest_results(release)
            assert latest == {phase: run.to_result() for phase, run in whole.phases.items()}
            assert latest[PhaseName.ANALYZE].checks[0].id == "analyze.try3"
            assert latest[PhaseName.ANALYZE].artifacts == {"a": [3]}


def test_a_phase_about_to_run_again_does_not_read_its_last_attempts_checks(tmp_path: Path) -> None:
    """Guards the read before a phase runs (issue 13, a 1,000-object ANALYZE run again read its last
    attempt's megabytes of checks to drop them; session 6: and its megabyte of artifacts):
    ``results_before`` gives the latest results with that phase's attempt bare (its status and times;
    no checks, metrics or artifacts), the other phases' whole (both read paths)."""
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    release = Release("hello", "dev", "a" * 40)
    with Ledger.open(url) as ledger:
        for attempt, phase in enumerate([PhaseName.BUILD, PhaseName.ANALYZE, PhaseName.ANALYZE]):
            check = CheckResult(f"{phase.value}.try{attempt}", "t", CheckStatus.PASS, evidence={"n": attempt})
            at = T0 + timedelta(minutes=attempt)
            result = PhaseResult(phase, PhaseStatus.PASSED, [check], {"m": attempt}, {"a": [attempt]}, at, at)
            ledger.record_phase(release, result)
    with Ledger(create_engine(url)) as orm, Ledger.open(url) as fast:
        whole = orm.latest_results(release)
        for ledger in (orm, fast):
            before = ledger.results_before(release, PhaseName.ANALYZE)
            bare = replace(whole[PhaseName.ANALYZE], checks=[], metrics={}, artifacts={})
            assert before == {**whole, PhaseName.ANALYZE: bare}
            assert before[PhaseName.ANALYZE].status is PhaseStatus.PASSED
            assert before[PhaseName.BUILD].artifacts == {"a": [0]}
            assert before[PhaseName.BUILD].checks[0].id == "build.try0"
            assert ledger.results_before(release, None) == whole


def _retried_release(url: str) -> Release:
    """BUILD once, then ANALYZE three times (each attempt with its own check, metric and artifact)."""
    release = Release("hello", "dev", "a" * 40)
    with Ledger.open(url) as ledger:
        for attempt, phase in enumerate([PhaseName.BUILD, PhaseName.ANALYZE, PhaseName.ANALYZE, PhaseName.ANALYZE]):
            check = CheckResult(f"{phase.value}.try{attempt}", "t", CheckStatus.PASS, evidence={"n": attempt})
            at = T0 + timedelta(minutes=attempt)
            result = PhaseResult(
                phase, PhaseStatus.FAILED, [check], {"m": attempt}, {"a": [attempt]}, at, at, message=f"try {attempt}"
            )
            ledger.record_phase(release, result)
    return release


def test_earlier_attempts_come_as_outlines_on_both_read_paths(tmp_path: Path) -> None:
    """Guards ``bmad status --json`` and ``bmad history`` (session 10: fifty ANALYZE attempts of a
    thousand objects made ``status --json`` read 150 MB and take 16 s): with ``earlier=True`` every
    attempt is listed, each phase's latest whole, the earlier ones as outlines (status, times,
    message, hash; no checks, metrics or artifacts, and marked so in their JSON), the same on both
    read paths."""
    from bmad.ledger.records import LatestAttemptsOf

    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    release = _retried_release(url)
    wanted = LatestAttemptsOf(frozenset(PhaseName), earlier=True)
    with Ledger(create_engine(url)) as orm, Ledger.open(url) as fast:
        whole = orm.get_release("hello", "dev", release.version)
        assert whole is not None
        outlined = [
            replace(r, checks=(), metrics={}, artifacts={}, outline=True) if i in (1, 2) else r
            for i, r in enumerate(whole.runs)
        ]
        for ledger in (orm, fast):
            read = ledger.get_release("hello", "dev", release.version, with_checks=wanted)
            assert read is not None and read.runs == outlined
            assert [r.message for r in read.runs] == ["try 0", "try 1", "try 2", "try 3"]
            runs = read.to_dict()["runs"]
            assert [r.get("outline", False) for r in runs] == [False, True, True, False]
            assert "checks" not in runs[1] and "artifacts" not in runs[1] and "metrics" not in runs[1]
            assert runs[3]["checks"][0]["id"] == "analyze.try3" and runs[3]["artifacts"] == {"a": [3]}
        assert fast._opened is None
        statuses = LatestAttemptsOf(frozenset(), bare_others=True, earlier=True)
        for ledger in (orm, fast):
            read = ledger.get_release("hello", "dev", release.version, with_checks=statuses)
            assert read is not None and [(r.attempt, r.outline, r.artifacts, r.checks) for r in read.runs] == [
                (1, False, {}, ()),
                (1, True, {}, ()),
                (2, True, {}, ()),
                (3, False, {}, ()),
            ]


def test_an_earlier_attempts_stored_artifacts_are_never_decoded(tmp_path: Path) -> None:
    """Guards that an outline is not read and then dropped: the earlier attempts' metrics and
    artifacts columns are made undecodable in the file, and ``status``-like, ``history``-like and
    document reads still answer on both read paths (before session 10 each decoded every attempt; the
    ORM path, PostgreSQL's, loaded every attempt whole even for the latest attempts only)."""
    import sqlite3

    from bmad.ledger.records import LATEST_ATTEMPTS, STATUSES_ONLY, LatestAttemptsOf

    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    release = _retried_release(url)
    with sqlite3.connect(tmp_path / "ledger.db") as db:
        db.execute(
            "UPDATE phase_runs SET metrics = '{broken', artifacts = '{broken' WHERE attempt IN (1, 2)"
            " AND phase = 'analyze'"
        )
    with Ledger(create_engine(url)) as orm, Ledger.open(url) as fast:
        for ledger in (orm, fast):
            for wanted in (LatestAttemptsOf(frozenset(PhaseName), earlier=True), LATEST_ATTEMPTS, STATUSES_ONLY):
                read = ledger.get_release("hello", "dev", release.version, with_checks=wanted)
                assert read is not None and read.phases[PhaseName.ANALYZE].attempt == 3
            with pytest.raises(json.JSONDecodeError):
                ledger.get_release("hello", "dev", release.version)  # every attempt whole: the damage shows


@pytest.mark.postgres
def test_earlier_attempts_come_as_outlines_on_postgresql(postgres_db: str, tmp_path: Path) -> None:
    """Guards the PostgreSQL ledger (ORM path, the shared ledger of a team): the latest-attempt reads
    give the same records as on SQLite: outlines for the earlier attempts, or none of them."""
    from bmad.ledger.records import LATEST_ATTEMPTS, STATUSES_ONLY, LatestAttemptsOf

    sqlite_url = f"sqlite:///{tmp_path / 'ledger.db'}"
    release = _retried_release(postgres_db)
    _retried_release(sqlite_url)
    outlined = LatestAttemptsOf(frozenset(PhaseName), earlier=True)
    with Ledger.open(postgres_db) as pg, Ledger.open(sqlite_url) as fast:
        for wanted in (outlined, LATEST_ATTEMPTS, STATUSES_ONLY):
            read = pg.get_release("hello", "dev", release.version, with_checks=wanted)
            expected = fast.get_release("hello", "dev", release.version, with_checks=wanted)
            assert read is not None and expected is not None
            assert [r.to_dict() | {"id": 0, "hash": ""} for r in read.runs] == [
                r.to_dict() | {"id": 0, "hash": ""} for r in expected.runs
            ]
        listed = pg.get_release("hello", "dev", release.version, with_checks=outlined)
        assert listed is not None and [r.outline for r in listed.runs] == [False, True, True, False]


def test_an_outlines_checks_keep_what_figures_read_not_their_evidence(tmp_path: Path) -> None:
    """Guards every phase's publishing and ``bmad metrics`` on a long ledger (session 10): the detailed
    phase's checks in an outline keep their id, status, metrics and artifacts (what a figure looks
    up) but not their texts and evidence (a DEPLOY's smoke tests and rollout, kilobytes a release,
    were decoded for every release at every phase), on both read paths; a whole read keeps them."""
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    release = Release("hello", "dev", "a" * 40)
    check = CheckResult(
        "deploy.verify",
        "Post-deploy verification",
        CheckStatus.PASS,
        summary="healthy",
        expected="p99 < 300 ms",
        observed="p99 120 ms",
        fix="none",
        evidence={"samples": list(range(50))},
        metrics={"zero_downtime": True},
        artifacts={"rollback": {"to": "b" * 40}},
        duration_seconds=3.0,
    )
    with Ledger.open(url) as ledger:
        ledger.record_phase(release, PhaseResult(PhaseName.DEPLOY, PhaseStatus.PASSED, [check], {}, {}, T0, T0))
    lean = replace(check, summary="", expected="", observed="", fix="", evidence={})
    with Ledger(create_engine(url)) as orm, Ledger.open(url) as fast:
        for ledger in (orm, fast):
            [outline] = ledger.release_outlines(details=(PhaseName.DEPLOY,))
            assert outline.phases[PhaseName.DEPLOY].checks == [lean]
            whole = ledger.get_release("hello", "dev", release.version)
            assert whole is not None and whole.runs[0].checks == (check,)


def _deployed_releases(url: str, count: int) -> None:
    """``count`` releases through DEPLOY, each phase's latest attempt with two checks, DEPLOY run twice."""
    with Ledger.open(url) as ledger:
        for number in range(count):
            release = Release("hello", "dev", f"{number:040x}")
            phases = [*PhaseName.ordered(), PhaseName.DEPLOY]
            for step, phase in enumerate(phases):
                at = T0 + timedelta(hours=number, minutes=step)
                checks = [
                    CheckResult(f"{phase.value}.c{i}", "c", CheckStatus.PASS, metrics={"m": i}, artifacts={"a": i})
                    for i in range(2)
                ]
                result = PhaseResult(phase, PhaseStatus.PASSED, checks, {"p": step}, {"rollback": None}, at, at)
                ledger.record_phase(release, result)


def _statements_of(engine: Any, read: Callable[[], object]) -> int:
    from sqlalchemy import event

    seen = []

    def count(*_: object) -> None:
        seen.append(1)

    event.listen(engine, "before_cursor_execute", count)
    try:
        read()
    finally:
        event.remove(engine, "before_cursor_execute", count)
    return len(seen)


def _latest_reads(ledger: Ledger) -> dict[str, Callable[[], object]]:
    from bmad.ledger.records import LATEST_ATTEMPTS, LatestAttemptsOf

    return {
        "history": lambda: ledger.list_releases(with_checks=LatestAttemptsOf(frozenset(PhaseName), earlier=True)),
        "documents": lambda: ledger.list_releases(with_checks=LATEST_ATTEMPTS),
        "figures": lambda: ledger.release_outlines(service="hello", environment="dev", details=(PhaseName.DEPLOY,)),
        "one release": lambda: ledger.get_release("hello", "dev", f"{1:040x}", with_checks=LATEST_ATTEMPTS),
    }


def test_the_orm_paths_latest_attempt_reads_take_as_many_queries_for_any_number_of_releases(tmp_path: Path) -> None:
    """Guards a PostgreSQL ledger (the ORM path), where each query is a round trip to the server: the
    latest attempts' metrics, artifacts and checks were loaded on access, up to three queries an attempt
    (244 for 20 releases; every phase's figures read DEPLOY's of every release). They are loaded for
    all releases at once: as many queries for 3 releases as for 12, and the records of the SQLite path."""
    counts = {}
    for count in (3, 12):
        url = f"sqlite:///{tmp_path / f'ledger{count}.db'}"
        _deployed_releases(url, count)
        engine = create_engine(url)
        with Ledger(engine) as orm, Ledger.open(url) as fast:
            reads, expected = _latest_reads(orm), _latest_reads(fast)
            counts[count] = {name: _statements_of(engine, read) for name, read in reads.items()}
            for name, read in reads.items():
                assert read() == expected[name](), name
    assert counts[3] == counts[12], counts
    assert max(counts[12].values()) <= 8, counts


def test_an_outline_keeps_of_a_check_only_what_its_run_lacks_and_the_figures_stay_the_same(tmp_path: Path) -> None:
    """Guards the figures of a long ledger (session 11: 3,000 releases made 18,000 DEPLOY checks at every
    phase): a figure looks a metric or artifact up in its run first, so an outline's check keeps only
    the names its run lacks and a check that adds none is left out, on both read paths; the framework
    metrics and DORA keys are those of the whole records."""
    from bmad.reports.metrics import compute_framework_metrics, framework_metrics
    from bmad.reports.source import release_view

    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    with Ledger.open(url) as ledger:
        for number, rolled in enumerate((False, True, False)):
            release = Release("hello", "dev", f"{number:040x}", commit_time=T0)
            at = T0 + timedelta(hours=number)
            for step, phase in enumerate(PhaseName.ordered()):
                began = at + timedelta(minutes=step)
                if phase is not PhaseName.DEPLOY:
                    ledger.record_phase(release, PhaseResult(phase, PhaseStatus.PASSED, [], {}, {}, began, began))
                    continue
                rollback = {"reason": "p99", "detected_at": began.isoformat(), "recovered_at": began.isoformat()}
                checks = [
                    CheckResult("deploy.apply", "a", CheckStatus.PASS, metrics={"pods_running": 2}),
                    CheckResult("deploy.cutover", "c", CheckStatus.PASS, metrics={"zero_downtime": not rolled}),
                    CheckResult(
                        "deploy.rollback", "r", CheckStatus.PASS, artifacts={"rollback": rollback} if rolled else {}
                    ),
                ]
                # the run names pods_running (as DEPLOY's metrics do); zero_downtime and the rollback only
                # its checks (as a record written by hand, or by another tool, may)
                result = PhaseResult(phase, PhaseStatus.PASSED, checks, {"pods_running": 2}, {}, began, began)
                ledger.record_phase(release, result)
    with Ledger(create_engine(url)) as orm, Ledger.open(url) as fast:
        whole = [release_view(h) for h in reversed(fast.list_releases())]
        expected = compute_framework_metrics(whole, service="hello", environment="dev", now=T0 + timedelta(days=1))
        assert expected.zero_downtime_recorded == 3 and expected.rolled_back == 1
        for ledger in (orm, fast):
            outline = ledger.release_outlines(details=(PhaseName.DEPLOY,))[0]
            kept = outline.phases[PhaseName.DEPLOY].checks
            assert [(c.id, c.metrics, c.artifacts) for c in kept] == [("deploy.cutover", {"zero_downtime": True}, {})]
            rolled_back = ledger.release_outlines(details=(PhaseName.DEPLOY,))[1].phases[PhaseName.DEPLOY].checks
            assert [c.id for c in rolled_back] == ["deploy.cutover", "deploy.rollback"]
            figures = framework_metrics(ledger, service="hello", environment="dev", now=T0 + timedelta(days=1))
            assert figures == expected
