"""One phase of a release, run and recorded: ledger row, evidence folder, context, plugin, checks,
``finish()``, ``metrics()``, then one ledger transaction and the YAML record commit."""

from __future__ import annotations

import contextlib
import logging
import signal
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bmad.config.models import BmadConfig
from bmad.core.ci import Deployer
from bmad.core.datatypes import datatype
from bmad.core.errors import BmadError
from bmad.core.models import CheckResult, CheckStatus, MetricValue, PhaseName, PhaseResult, PhaseStatus, Release, utcnow
from bmad.core.redact import redact
from bmad.core.spans import SpanRecorder, recording
from bmad.engine.outcomes import PhaseOutcome
from bmad.ports.phase import PhaseContext, PhasePlugin, RunOptions, TargetLockWatch
from bmad.ports.progress import Progress, Task

if TYPE_CHECKING:
    from bmad.engine.prewarm import WarmUp
    from bmad.engine.records import PendingRecord
    from bmad.ledger.evidence import EvidenceFolder
    from bmad.ledger.lease import LedgerLock
    from bmad.ledger.records import RollbackInput
    from bmad.ledger.row_json import PlainArtifacts
    from bmad.ledger.store import Ledger

log = logging.getLogger("bmad.engine")

CheckCallback = Callable[[PhaseName, CheckResult], None]


@datatype
class _PluginRun:
    """What the plugin produced, and how it ended (aborted, a known error, or a bug)."""

    results: list[CheckResult] = field(default_factory=list)
    metrics: dict[str, MetricValue] = field(default_factory=dict)
    message: str = ""
    aborted: bool = False
    error: BmadError | None = None
    bug: BaseException | None = None
    waits: SpanRecorder = field(default_factory=SpanRecorder)


@datatype(frozen=True)
class _Started:
    """A phase run the ledger knows as running."""

    run_id: int
    attempt: int
    evidence_dir: str
    evidence: EvidenceFolder
    started_at: datetime


class PhaseRunner:
    """Runs the phases of one release under one held lock."""

    def __init__(
        self,
        config: BmadConfig,
        environment: str,
        release: Release,
        ledger: Ledger,
        lock: LedgerLock,
        *,
        progress: Progress,
        options: RunOptions,
        cancel: threading.Event,
        on_check: CheckCallback | None,
        warnings_fail: bool,
        repo_root: Path | None = None,
        records_head: str | None = None,
        deployer: Deployer,
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
        self.repo_root = repo_root  # the repository's top folder, when the caller knows it
        self.records_head = records_head  # the records branch's last known commit (saves a git call)
        self.deployer = deployer  # who runs these phases (read with the release: see engine.release)
        self._pending_record: tuple[PhaseOutcome, PendingRecord] | None = None  # git is writing it
        self.warm_up: WarmUp | None = None  # a run of several phases: the later phases' imports

    def run_phase(
        self,
        phase: PhaseName,
        *,
        forced_reason: str | None,
        target_lock: TargetLockWatch | None = None,
        previous: Mapping[PhaseName, PhaseResult] | None = None,
    ) -> PhaseOutcome:
        """Run ``phase`` and record it; an internal error is recorded first, then raised.

        ``previous``: the release's latest results when the caller has just read them (else read here).
        """
        if previous is None:
            previous = self.ledger.results_before(self.release, phase)
        started = self._start(phase, forced_reason)
        ctx = self._context(phase, started.evidence, previous, target_lock)
        run = self._run_plugin(phase, ctx)
        outcome = PhaseOutcome(
            result=self._result(phase, ctx, run, started.started_at, forced_reason),
            attempt=started.attempt,
            warnings_fail=self.warnings_fail,
            evidence_dir=started.evidence_dir,
            error=run.error,
        )
        with _no_interrupts():
            self._record(started.run_id, outcome, started.evidence)
        if run.bug is not None:
            raise run.bug
        return outcome

    def _start(self, phase: PhaseName, forced_reason: str | None) -> _Started:
        from bmad.ledger.evidence import EvidenceFolder, evidence_dir_for

        state = self.config.state_path
        attempt = self.ledger.next_attempt(self.release, phase)
        folder = evidence_dir_for(state, self.release, phase, attempt)
        evidence_dir = str(folder.relative_to(state))
        started = utcnow()
        run_id = self.ledger.start_phase(
            self.release,
            phase,
            owner=self.lock.owner,
            forced_reason=forced_reason,
            started_at=started,
            evidence_dir=evidence_dir,
            deployer=self.deployer,
        )
        return _Started(run_id, attempt, evidence_dir, EvidenceFolder(folder), started)

    def _context(
        self,
        phase: PhaseName,
        evidence: EvidenceFolder,
        previous: Mapping[PhaseName, PhaseResult],
        target_lock: TargetLockWatch | None,
    ) -> PhaseContext:
        return PhaseContext(
            config=self.config,
            environment_name=self.environment,
            release=self.release,
            evidence=evidence,
            history=self.ledger.history_for(self.release),
            previous={p: r for p, r in previous.items() if p is not phase},
            progress=self.progress,
            cancel=self.cancel,
            options=self.options,
            target_lock=target_lock,
        )

    def _run_plugin(self, phase: PhaseName, ctx: PhaseContext) -> _PluginRun:
        """The plugin's checks, ``finish()`` and ``metrics()``; Ctrl-C, errors and bugs end it."""
        run = _PluginRun()
        task = self.progress.task(f"{phase.label}: starting", total=None)
        try:
            with _watch_lock(self.lock, self.cancel), recording(run.waits):
                self._run_checks(phase, ctx, task, run)
        except KeyboardInterrupt:
            run.aborted = True
            self.cancel.set()
        except BmadError as exc:
            run.error = exc
            run.message = redact(exc.message) + (f" (hint: {redact(exc.hint)})" if exc.hint else "")
        except Exception as exc:
            run.bug = exc
            run.message = redact(f"internal error: {type(exc).__name__}: {exc}")
        finally:
            task.done()
        if self.lock.lost.is_set():
            run.aborted = True
            run.message = "the lock of this release was taken over by another bmad process"
        return run

    def _run_checks(self, phase: PhaseName, ctx: PhaseContext, task: Task, run: _PluginRun) -> None:
        from bmad.core.leftovers import keep_until_exit
        from bmad.engine.plugins import resolve_plugin
        from bmad.engine.scheduler import run_checks

        plugin: PhasePlugin = resolve_plugin(phase, ctx)
        checks = list(plugin.checks(ctx))
        if self.warm_up is not None:
            self.warm_up.start()  # while these checks wait on other systems
        task.update(f"{phase.label}: {len(checks)} check(s)", completed=0)

        def on_result(result: CheckResult) -> None:
            task.advance()
            if self.on_check is not None:
                self.on_check(phase, result)

        ran = run_checks(checks, ctx, warnings_fail=self.warnings_fail, on_result=on_result)
        run.results = ran.results
        run.aborted = ran.aborted
        if run.aborted:
            return
        extra = list(plugin.finish(ctx, run.results))
        for added in extra:
            on_result(added)
            if added.artifacts:
                ctx.add_artifacts(added.artifacts)
        run.results += extra
        run.metrics = dict(plugin.metrics(ctx, run.results))
        keep_until_exit(plugin)  # what it prepared (a parsed bundle): not freed object by object now

    def _result(
        self, phase: PhaseName, ctx: PhaseContext, run: _PluginRun, started: datetime, forced_reason: str | None
    ) -> PhaseResult:
        status = self._status(run.results, aborted=run.aborted, failed=run.error is not None or run.bug is not None)
        message = run.message
        if run.aborted and not message:
            message = f"{phase.label} aborted (Ctrl-C)"
        if status is PhaseStatus.FAILED and not run.results and not message:
            message = f"{phase.label} declared no checks"
        return PhaseResult(
            phase=phase,
            status=status,
            checks=run.results,
            metrics=run.metrics,
            artifacts=ctx.artifacts(),
            started_at=started,
            finished_at=utcnow(),
            forced_reason=forced_reason,
            message=message,
            spans=run.waits.spans(),
        )

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

    def _record(self, run_id: int, outcome: PhaseOutcome, evidence: EvidenceFolder) -> None:
        """The ledger row (the record), the git record's commit started, then phase.json in the
        evidence folder. git writes the commit while bmad goes on: :meth:`finish_records` (the next
        phase's record, or the end of the run, after publishing) waits for it."""
        from bmad.ledger.row_json import PlainArtifacts

        result = outcome.result
        pending: PendingRecord | None = None
        texts = PlainArtifacts()  # the artifacts redacted and encoded once, for the ledger and the git record
        try:
            rollback = _rollback_input(result)
            stored = self.ledger.finish_phase(
                run_id, result, evidence_dir=outcome.evidence_dir, rollback=rollback, texts=texts
            )
            outcome.ledger_hash = stored.hash
            if self.config.records.enabled:
                self.finish_records()  # the previous phase's commit is this one's parent
                pending = self._start_record(outcome, texts)
        finally:
            try:
                _write_phase_json(outcome, evidence, texts)
            finally:
                if pending is not None:
                    self._pending_record = (outcome, pending)

    def finish_records(self) -> None:
        """Wait for the record commit still under way, if any; its outcome gets the commit id (or
        the error, also printed as a warning). Always called before a run returns."""
        if self._pending_record is not None:
            outcome, pending = self._pending_record
            self._pending_record = None
            self._finish_record(outcome, pending)

    def _start_record(self, outcome: PhaseOutcome, texts: PlainArtifacts) -> PendingRecord | None:
        from bmad.adapters import git
        from bmad.engine.records import commit_record, record_path, render_record

        result = outcome.result
        try:
            repo = self.repo_root or git.repo_root(self.config.repository_dir)
            content = render_record(
                self.release,
                result,
                attempt=outcome.attempt,
                evidence_dir=outcome.evidence_dir,
                ledger_hash=outcome.ledger_hash,
                ledger_signature=self.ledger.anchor_signature(outcome.ledger_hash) if outcome.ledger_hash else None,
                texts=texts,
            )
            outcome.record_path = record_path(self.release, result)
            return commit_record(repo, self.config.records, self.release, result, content, parent=self.records_head)
        except BmadError as exc:
            self._record_failed(outcome, exc)
            return None

    def _finish_record(self, outcome: PhaseOutcome, pending: PendingRecord) -> None:
        try:
            outcome.record_commit = pending.finish()
            self.records_head = outcome.record_commit
        except BmadError as exc:
            self._record_failed(outcome, exc)

    def _record_failed(self, outcome: PhaseOutcome, exc: BmadError) -> None:
        outcome.record_error = redact(exc.message)
        self.progress.log(f"warning: the phase record could not be committed: {outcome.record_error}")


def _write_phase_json(outcome: PhaseOutcome, evidence: EvidenceFolder, texts: PlainArtifacts) -> None:
    """phase.json: the phase's result with its ledger hash and record path (the record's commit is
    not known yet: git is writing it), its artifacts as the git record shows them (a large one named
    by its digest: :func:`bmad.engine.records.shown_artifacts`). Not flushed to disk: the ledger,
    which is, holds the same result (a crash may lose the file, never leave half of it)."""
    from bmad.engine.records import shown_artifacts

    data = outcome.to_dict()
    data["artifacts"] = shown_artifacts(outcome.result.artifacts, texts)
    try:
        evidence.write_json("phase.json", data, durable=False)
    except OSError as exc:  # evidence is best effort; the ledger is the record
        log.warning("could not write phase.json: %s", exc)


def _when(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value
    if isinstance(value, str) and value:
        return datetime.fromisoformat(value)
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value, tz=UTC)
    return None


def _rollback_input(result: PhaseResult) -> RollbackInput | None:
    """The rollback a phase reported in ``artifacts["rollback"]``, for the ledger."""
    data = result.artifacts.get("rollback")
    if not isinstance(data, Mapping):
        return None
    from bmad.ledger.records import RollbackInput

    detected = _when(data.get("detected_at")) or result.finished_at or utcnow()
    return RollbackInput(
        reason=str(data.get("reason") or "rollback"),
        detected_at=detected,
        recovered_at=_when(data.get("recovered_at")),
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
