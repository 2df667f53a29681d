"""The phase engine: take a release through its phases, gated, locked, recorded.

Library entry points (the CLI is a thin layer over these):

* :func:`run_release` — ``bmad run`` / ``build`` / ``measure`` / ``analyze`` / ``deploy`` / ``resume``
* :func:`release_status` — ``bmad status``
* :func:`release_history` — ``bmad history``
* :func:`verify_ledger` — ``bmad verify-ledger``
"""

from __future__ import annotations

import contextlib
import logging
import signal
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bmad.config.loader import load_config
from bmad.config.models import BmadConfig
from bmad.core.errors import BmadError, ExitCode, GateRefused, UsageError
from bmad.core.models import CheckResult, CheckStatus, PhaseName, PhaseResult, PhaseStatus, Release, utcnow
from bmad.core.redact import redact
from bmad.ports.phase import PhaseContext
from bmad.ports.progress import NullProgress, Progress

if TYPE_CHECKING:
    from bmad.engine.publish import Published
    from bmad.ledger.locks import LedgerLock
    from bmad.ledger.records import LockInfo, PhaseRunRecord, ReleaseHistory, RollbackInput, VerifyReport
    from bmad.ledger.store import Ledger

log = logging.getLogger("bmad.engine")

CheckCallback = Callable[[PhaseName, CheckResult], None]


@dataclass
class PhaseOutcome:
    """One phase as this invocation ran it."""

    result: PhaseResult
    attempt: int
    warnings_fail: bool
    evidence_dir: str | None = None
    ledger_hash: str | None = None
    record_path: str | None = None
    record_commit: str | None = None
    record_error: str | None = None
    error: BmadError | None = None

    @property
    def phase(self) -> PhaseName:
        return self.result.phase

    def to_dict(self) -> dict[str, Any]:
        result = self.result
        return {
            "phase": result.phase.value,
            "status": result.status.value,
            "attempt": self.attempt,
            "started_at": result.started_at.isoformat() if result.started_at else None,
            "finished_at": result.finished_at.isoformat() if result.finished_at else None,
            "duration_seconds": round(result.duration_seconds, 6),
            "forced_reason": result.forced_reason,
            "message": result.message,
            "warnings_fail": self.warnings_fail,
            "counts": result.counts(),
            "metrics": result.metrics,
            "artifacts": result.artifacts,
            "checks": [check.to_dict() for check in result.checks],
            "evidence_dir": self.evidence_dir,
            "ledger_hash": self.ledger_hash,
            "record": {"path": self.record_path, "commit": self.record_commit, "error": self.record_error},
        }


@dataclass
class RunOutcome:
    """What a ``run_release`` call did: per-phase results and the exit code the CLI uses."""

    release: Release
    phases: list[PhaseOutcome] = field(default_factory=list)
    exit_code: ExitCode = ExitCode.OK
    message: str = ""
    interrupted: list[PhaseRunRecord] = field(default_factory=list)
    # Runbook, checklist, report and bmad's own metrics written at the end of the run.
    published: Published | None = None

    @property
    def passed(self) -> bool:
        return self.exit_code is ExitCode.OK

    def to_dict(self) -> dict[str, Any]:
        release = self.release
        return {
            "release": {
                "service": release.service,
                "environment": release.environment,
                "version": release.version,
                "dirty": release.dirty,
                "commit_time": release.commit_time.isoformat() if release.commit_time else None,
                "key": release.key,
            },
            "exit_code": int(self.exit_code),
            "passed": self.passed,
            "message": self.message,
            "interrupted": [
                {"phase": r.phase.value, "attempt": r.attempt, "message": r.message} for r in self.interrupted
            ],
            "phases": [phase.to_dict() for phase in self.phases],
            "published": self.published.to_dict() if self.published else None,
        }


# ---------------------------------------------------------------------- opening


def as_config(config: BmadConfig | str | Path) -> BmadConfig:
    return config if isinstance(config, BmadConfig) else load_config(config)


def prepare_state_dir(config: BmadConfig) -> Path:
    """Create the state folder with a ``.gitignore`` of ``*`` so it never dirties the service's tree."""
    state = config.state_path
    state.mkdir(parents=True, exist_ok=True)
    ignore = state / ".gitignore"
    if not ignore.exists():
        ignore.write_text("# bmad state (ledger, evidence): never committed\n*\n", encoding="utf-8")
    return state


def open_ledger(config: BmadConfig) -> Ledger:
    from bmad.ledger.store import Ledger

    return Ledger.open(config.ledger.url, state_dir=prepare_state_dir(config))


# ---------------------------------------------------------------------- running


def _phase_list(phases: Sequence[PhaseName | str] | None) -> list[PhaseName]:
    if phases is None:
        return list(PhaseName.ordered())
    chosen = {PhaseName(p) for p in phases}
    return [phase for phase in PhaseName.ordered() if phase in chosen]


def run_release(
    config: BmadConfig | str | Path,
    environment: str,
    *,
    phases: Sequence[PhaseName | str] | None = None,
    resume: bool = False,
    force: bool = False,
    reason: str | None = None,
    options: Mapping[str, Any] | None = None,
    progress: Progress | None = None,
    wait_seconds: float = 0.0,
    ledger: Ledger | None = None,
    cancel: threading.Event | None = None,
    on_check: CheckCallback | None = None,
    on_phase: Callable[[PhaseOutcome], None] | None = None,
    on_lock_wait: Callable[[LockInfo], None] | None = None,
) -> RunOutcome:
    """Take the release at the service's HEAD through ``phases`` (default: all four, in order).

    * ``phases`` given (one or more): the first one runs only if the phase before it passed for
      this release, unless ``force`` with a ``reason`` (recorded in the ledger and the record).
    * ``resume``: start at the first phase whose latest attempt did not pass.
    * A phase that does not pass stops the run. Ctrl-C aborts the running phase (recorded as
      ``aborted``, exit code 1).
    """
    cfg = as_config(config)
    env_cfg = cfg.environment(environment)
    if force and not (reason and reason.strip()):
        raise UsageError('--force needs --reason "why": the reason is recorded in the ledger and the phase record')
    from bmad.engine.release import release_from_git

    release = release_from_git(cfg, environment)
    own_ledger = ledger is None
    db = ledger if ledger is not None else open_ledger(cfg)
    try:
        lock = db.acquire_lock(
            release.service,
            environment,
            lease_seconds=cfg.ledger.lock_lease_seconds,
            wait_seconds=wait_seconds,
            on_wait=on_lock_wait,
        )
        try:
            outcome = RunOutcome(release=release)
            outcome.interrupted = db.detect_interrupted(release.service, environment)
            todo = _plan(db, release, phases=phases, resume=resume, force=force)
            from bmad.engine.wiring import check_plugins

            check_plugins(cfg, todo)
            if not todo:
                outcome.message = f"nothing to do: every phase of {release.key} passed"
                return outcome
            engine = _Engine(
                cfg,
                environment,
                release,
                db,
                lock,
                progress=progress or NullProgress(),
                options=dict(options or {}),
                cancel=cancel or threading.Event(),
                on_check=on_check,
                warnings_fail=env_cfg.warnings_fail,
            )
            gated_first = phases is not None and not resume
            for index, phase in enumerate(todo):
                forced = reason.strip() if force and index == 0 and gated_first and reason else None
                phase_outcome = engine.run_phase(phase, forced_reason=forced)
                outcome.phases.append(phase_outcome)
                if on_phase is not None:
                    on_phase(phase_outcome)
                if phase_outcome.result.status is not PhaseStatus.PASSED:
                    outcome.exit_code = _exit_code(phase_outcome)
                    outcome.message = _stop_message(phase_outcome, release)
                    break
            else:
                names = ", ".join(p.label for p in todo)
                outcome.message = f"{release.key}: {names} passed"
            if options is None or not options.get("no_reports"):
                from bmad.engine.publish import publish_release_outputs

                outcome.published = publish_release_outputs(cfg, environment, release, db)
            return outcome
        finally:
            lock.release()
    finally:
        if own_ledger:
            db.close()


def _plan(
    db: Ledger, release: Release, *, phases: Sequence[PhaseName | str] | None, resume: bool, force: bool
) -> list[PhaseName]:
    if resume:
        history = db.get_release(release.service, release.environment, release.version)
        if history is None or not history.runs:
            raise UsageError(
                f"nothing to resume: no phase ran yet for {release.key}",
                hint="start it with 'bmad run'",
            )
        start = history.next_phase
        if start is None:
            return []
        return list(PhaseName.ordered()[PhaseName.ordered().index(start) :])
    todo = _phase_list(phases)
    if phases is not None and todo and not force:
        first = todo[0]
        latest = db.latest_results(release)
        for before in PhaseName.ordered()[: PhaseName.ordered().index(first)]:
            found = latest.get(before)
            if found is None or found.status is not PhaseStatus.PASSED:
                seen = "has not run" if found is None else f"is {found.status.value}"
                raise GateRefused(
                    f"{first.label} needs {before.label} to pass first for {release.key}; {before.label} {seen}",
                    hint=f"run 'bmad {before.value}' (or 'bmad run'), or override with "
                    f'--force --reason "why" (recorded)',
                )
    return todo


def _exit_code(outcome: PhaseOutcome) -> ExitCode:
    if outcome.error is not None:
        return outcome.error.exit_code
    if outcome.result.status is PhaseStatus.FAILED:
        for check in outcome.result.failures():
            if check.evidence.get("error_type") == "Unreachable":
                return ExitCode.UNREACHABLE
    return ExitCode.GATE_FAILED


def _stop_message(outcome: PhaseOutcome, release: Release) -> str:
    result = outcome.result
    if result.status is PhaseStatus.ABORTED:
        return f"{result.phase.label} aborted for {release.key}; continue with 'bmad resume'"
    failed = [c.id for c in result.failures()]
    if outcome.warnings_fail:
        failed += [c.id for c in result.checks if c.status is CheckStatus.WARN]
    detail = f" ({', '.join(failed[:5])}{' ...' if len(failed) > 5 else ''})" if failed else ""
    text = result.message or f"{result.phase.label} failed{detail}"
    return f"{text}; the run stopped at {result.phase.label}"


class _Engine:
    def __init__(
        self,
        config: BmadConfig,
        environment: str,
        release: Release,
        ledger: Ledger,
        lock: LedgerLock,
        *,
        progress: Progress,
        options: dict[str, Any],
        cancel: threading.Event,
        on_check: CheckCallback | None,
        warnings_fail: bool,
    ) -> None:
        self.config = config
        self.environment = environment
        self.release = release
        self.ledger = ledger
        self.lock = lock
        self.progress = progress
        self.options = options
        self.cancel = cancel
        self.on_check = on_check
        self.warnings_fail = warnings_fail

    def run_phase(self, phase: PhaseName, *, forced_reason: str | None) -> PhaseOutcome:
        from bmad.engine.scheduler import run_checks
        from bmad.engine.wiring import resolve_plugin
        from bmad.ledger.evidence import EvidenceFolder, evidence_dir_for

        release = self.release
        state = self.config.state_path
        attempt = self.ledger.next_attempt(release, phase)
        folder = evidence_dir_for(state, release, phase, attempt)
        evidence_dir = str(folder.relative_to(state))
        previous = self.ledger.latest_results(release)
        started = utcnow()
        run_id = self.ledger.start_phase(
            release,
            phase,
            owner=self.lock.owner,
            forced_reason=forced_reason,
            started_at=started,
            evidence_dir=evidence_dir,
        )
        evidence = EvidenceFolder(folder)
        ctx = PhaseContext(
            config=self.config,
            environment_name=self.environment,
            release=release,
            evidence=evidence,
            history=self.ledger.history_for(release),
            previous={p: r for p, r in previous.items() if p is not phase},
            progress=self.progress,
            cancel=self.cancel,
            options=self.options,
        )
        results: list[CheckResult] = []
        metrics: dict[str, Any] = {}
        message = ""
        error: BmadError | None = None
        aborted = False
        bug: BaseException | None = None
        task = self.progress.task(f"{phase.label}: starting", total=None)
        try:
            with _watch_lock(self.lock, self.cancel):
                plugin = resolve_plugin(phase, ctx)
                checks = list(plugin.checks(ctx))
                task.update(f"{phase.label}: {len(checks)} check(s)", completed=0)

                def on_result(result: CheckResult) -> None:
                    task.advance()
                    if self.on_check is not None:
                        self.on_check(phase, result)

                ran = run_checks(checks, ctx, warnings_fail=self.warnings_fail, on_result=on_result)
                results = ran.results
                aborted = ran.aborted
                if not aborted:
                    extra = list(plugin.finish(ctx, results))
                    for added in extra:
                        on_result(added)
                        if added.artifacts:
                            ctx.add_artifacts(added.artifacts)
                    results += extra
                    metrics = dict(plugin.metrics(ctx, results))
        except KeyboardInterrupt:
            aborted = True
            self.cancel.set()
        except BmadError as exc:
            error = exc
            message = redact(exc.message) + (f" (hint: {redact(exc.hint)})" if exc.hint else "")
        except Exception as exc:
            bug = exc
            message = redact(f"internal error: {type(exc).__name__}: {exc}")
        finally:
            task.done()
        if self.lock.lost.is_set():
            aborted = True
            message = "the lock of this release was taken over by another bmad process"
        status = self._status(results, aborted=aborted, failed=error is not None or bug is not None)
        if aborted and not message:
            message = f"{phase.label} aborted (Ctrl-C)"
        if status is PhaseStatus.FAILED and not results and not message:
            message = f"{phase.label} declared no checks"
        result = PhaseResult(
            phase=phase,
            status=status,
            checks=results,
            metrics=metrics,
            artifacts=ctx.artifacts(),
            started_at=started,
            finished_at=utcnow(),
            forced_reason=forced_reason,
            message=message,
        )
        outcome = PhaseOutcome(
            result=result,
            attempt=attempt,
            warnings_fail=self.warnings_fail,
            evidence_dir=evidence_dir,
            error=error,
        )
        with _no_interrupts():
            self._record(run_id, outcome, evidence)
        if bug is not None:
            raise bug
        return outcome

    def _status(self, results: Sequence[CheckResult], *, aborted: bool, failed: bool) -> PhaseStatus:
        if aborted:
            return PhaseStatus.ABORTED
        if failed or not results:
            return PhaseStatus.FAILED
        for check in results:
            if check.status is CheckStatus.FAIL:
                return PhaseStatus.FAILED
            if check.status is CheckStatus.WARN and self.warnings_fail:
                return PhaseStatus.FAILED
        return PhaseStatus.PASSED

    def _record(self, run_id: int, outcome: PhaseOutcome, evidence: Any) -> None:
        from bmad.engine.records import commit_record, record_path, render_record

        result = outcome.result
        try:
            evidence.write_json("phase.json", outcome.to_dict())
        except OSError as exc:  # evidence is best effort; the ledger is the record
            log.warning("could not write phase.json: %s", exc)
        rollback = _rollback_input(result)
        stored = self.ledger.finish_phase(run_id, result, evidence_dir=outcome.evidence_dir, rollback=rollback)
        outcome.ledger_hash = stored.hash
        records = self.config.records
        if not records.enabled:
            return
        from bmad.adapters import git

        try:
            repo = git.repo_root(self.config.repository_dir)
            content = render_record(
                self.release,
                result,
                attempt=outcome.attempt,
                evidence_dir=outcome.evidence_dir,
                ledger_hash=stored.hash,
            )
            outcome.record_path = record_path(self.release, result)
            outcome.record_commit = commit_record(repo, records, self.release, result, content)
        except BmadError as exc:
            outcome.record_error = redact(exc.message)
            self.progress.log(f"warning: the phase record could not be committed: {outcome.record_error}")


def _rollback_input(result: PhaseResult) -> RollbackInput | None:
    data = result.artifacts.get("rollback")
    if not isinstance(data, Mapping):
        return None
    from datetime import datetime

    from bmad.ledger.records import RollbackInput

    def when(value: Any) -> datetime | None:
        if isinstance(value, datetime):
            return value
        if isinstance(value, str) and value:
            return datetime.fromisoformat(value)
        if isinstance(value, int | float):
            from datetime import UTC

            return datetime.fromtimestamp(value, tz=UTC)
        return None

    detected = when(data.get("detected_at")) or result.finished_at or utcnow()
    return RollbackInput(
        reason=str(data.get("reason") or "rollback"),
        detected_at=detected,
        recovered_at=when(data.get("recovered_at")),
        to_version=str(data["to_version"]) if data.get("to_version") else None,
        manual=bool(data.get("manual", False)),
    )


@contextlib.contextmanager
def _watch_lock(lock: LedgerLock, cancel: threading.Event) -> Iterator[None]:
    """Set ``cancel`` if the lock is lost while the phase runs."""
    stop = threading.Event()

    def watch() -> None:
        while not stop.wait(0.2):
            if lock.lost.is_set():
                cancel.set()
                return

    thread = threading.Thread(target=watch, name="bmad-lock-watch", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()


@contextlib.contextmanager
def _no_interrupts() -> Iterator[None]:
    """Ignore Ctrl-C while a phase is being recorded (a second Ctrl-C must not tear the record)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


# ---------------------------------------------------------------------- status, history, verify


@dataclass
class StatusReport:
    release: Release
    history: ReleaseHistory | None
    latest: ReleaseHistory | None
    lock: LockInfo | None
    interrupted: list[PhaseRunRecord]

    @property
    def next_phase(self) -> PhaseName | None:
        return self.history.next_phase if self.history is not None else PhaseName.BUILD

    def phase_status(self, phase: PhaseName) -> PhaseStatus:
        return self.history.phase_status(phase) if self.history is not None else PhaseStatus.PENDING

    def to_dict(self) -> dict[str, Any]:
        return {
            "release": {
                "service": self.release.service,
                "environment": self.release.environment,
                "version": self.release.version,
                "dirty": self.release.dirty,
                "key": self.release.key,
            },
            "phases": {phase.value: self.phase_status(phase).value for phase in PhaseName.ordered()},
            "next_phase": self.next_phase.value if self.next_phase else None,
            "history": self.history.to_dict() if self.history is not None else None,
            "latest_release": self.latest.release.version if self.latest is not None else None,
            "lock": None
            if self.lock is None
            else {
                "pid": self.lock.pid,
                "host": self.lock.host,
                "acquired_at": self.lock.acquired_at.isoformat(),
                "lease_until": self.lock.lease_until.isoformat(),
            },
            "interrupted_now": [{"phase": r.phase.value, "attempt": r.attempt} for r in self.interrupted],
        }


def release_status(config: BmadConfig | str | Path, environment: str, *, ledger: Ledger | None = None) -> StatusReport:
    """Where the release at HEAD stands; phases left running by a dead process become ``interrupted``."""
    cfg = as_config(config)
    cfg.environment(environment)
    from bmad.engine.release import release_from_git

    release = release_from_git(cfg, environment, check_dirty=False)
    db = ledger if ledger is not None else open_ledger(cfg)
    try:
        interrupted = db.detect_interrupted(release.service, environment)
        return StatusReport(
            release=release,
            history=db.get_release(release.service, environment, release.version),
            latest=db.latest_release(release.service, environment),
            lock=db.lock_info(release.service, environment),
            interrupted=interrupted,
        )
    finally:
        if ledger is None:
            db.close()


def release_history(
    config: BmadConfig | str | Path, environment: str | None = None, *, limit: int | None = 20
) -> list[ReleaseHistory]:
    cfg = as_config(config)
    if environment is not None:
        cfg.environment(environment)
    db = open_ledger(cfg)
    try:
        return db.list_releases(service=cfg.service.name, environment=environment, limit=limit)
    finally:
        db.close()


def verify_ledger(config: BmadConfig | str | Path) -> VerifyReport:
    cfg = as_config(config)
    db = open_ledger(cfg)
    try:
        return db.verify()
    finally:
        db.close()
