"""The phase engine: take a release through its phases, gated, locked, recorded.

Library entry points (the CLI is a thin layer over these):

* :func:`run_release` — ``bmad run`` / ``build`` / ``measure`` / ``analyze`` / ``deploy`` / ``resume``
* :func:`bmad.engine.queries.release_status` — ``bmad status``
* :func:`bmad.engine.queries.release_history` — ``bmad history``
* :func:`bmad.engine.queries.verify_ledger` — ``bmad verify-ledger``
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bmad.config.models import BmadConfig
from bmad.core.ci import current_deployer
from bmad.core.datatypes import datatype
from bmad.core.errors import ExitCode, GateRefused, UsageError
from bmad.core.files import owner_only
from bmad.core.models import CheckStatus, PhaseName, PhaseResult, PhaseStatus, Release
from bmad.engine.opening import as_config, ledger_for
from bmad.engine.opening import open_ledger as open_ledger  # re-exported: tests and plug-ins name it here
from bmad.engine.outcomes import PhaseOutcome, RunOutcome
from bmad.engine.phase_run import CheckCallback, PhaseRunner
from bmad.ports.phase import RunOptions, TargetLockWatch
from bmad.ports.progress import NullProgress, Progress

if TYPE_CHECKING:
    from bmad.ledger.records import LockInfo
    from bmad.ledger.store import Ledger as Ledger  # re-exported: the CLI names the type through the engine


# ---------------------------------------------------------------------- running


@datatype(frozen=True)
class _Request:
    """Which phases a ``run_release`` call asked for."""

    phases: Sequence[PhaseName | str] | None
    resume: bool
    force: bool
    reason: str | None

    @property
    def forced_reason(self) -> str | None:
        """The reason recorded on the first phase when its gate is overridden."""
        gated_first = self.phases is not None and not self.resume
        return self.reason.strip() if self.force and gated_first and self.reason else None


# Over 60 lines only by its signature and docstring: the library's entry point takes every setting
# of a run by keyword; its body is the short sequence below.
def run_release(
    config: BmadConfig | str | Path,
    environment: str,
    *,
    phases: Sequence[PhaseName | str] | None = None,
    resume: bool = False,
    force: bool = False,
    reason: str | None = None,
    options: RunOptions | Mapping[str, Any] | None = None,
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
    * ``options``: :class:`RunOptions`, or the ``--set`` values it is built from.
    """
    cfg = as_config(config)
    env_cfg = cfg.environment(environment)
    if force and not (reason and reason.strip()):
        raise UsageError('--force needs --reason "why": the reason is recorded in the ledger and the phase record')
    from bmad.config.secret_refs import resolve_run_secrets
    from bmad.engine.release import start_read_release

    resolve_run_secrets(cfg, environment)  # registered for redaction before anything is written

    request = _Request(phases, resume, force, reason)
    run_options = options if isinstance(options, RunOptions) else RunOptions.from_sets(options or {})
    asked = start_read_release(cfg, environment, for_run=True)  # git answers while the ledger opens
    try:
        with _parsing_early(cfg, environment, request), owner_only(), ledger_for(cfg, ledger) as db:
            lock = db.acquire_lock(
                cfg.service.name,
                environment,
                lease_seconds=cfg.ledger.lock_lease_seconds,
                wait_seconds=wait_seconds,
                on_wait=on_lock_wait,
            )
            try:
                at_head = asked.result()
                runner = PhaseRunner(
                    cfg,
                    environment,
                    at_head.release,
                    db,
                    lock,
                    progress=progress or NullProgress(),
                    options=run_options,
                    cancel=cancel or threading.Event(),
                    on_check=on_check,
                    warnings_fail=env_cfg.warnings_fail,
                    repo_root=at_head.repo,
                    records_head=at_head.records_head,
                    deployer=current_deployer(at_head.git_email),
                )
                try:
                    return _run_locked(runner, request, on_phase)
                finally:
                    runner.finish_records()  # the last record's commit ran while the documents were written
                    _finish_evidence(runner)
            finally:
                lock.release()
    finally:
        asked.wait()  # git's commands collected on every path (an error of the ledger's comes first)


@contextlib.contextmanager
def _parsing_early(config: BmadConfig, environment: str, request: _Request) -> Iterator[None]:
    """A run that starts with bmad's own ANALYZE (``bmad analyze``) has its bundle parsed in a forked
    child from here on, while the ledger opens and the gate is checked (``wiring.analyze``); the read
    is stopped however the run ends, unless the phase claimed it."""
    try:
        first = None if request.resume else next(iter(_phase_list(request.phases)), None)
    except ValueError:  # a phase name that is not one: the run says so, in its place
        first = None
    from bmad.engine.plugins import custom_module

    if first is not PhaseName.ANALYZE or custom_module(first, config):
        yield
        return
    from bmad.engine.wiring.analyze import start_early_parse, stop_early_parse

    start_early_parse(config, environment)
    try:
        yield
    finally:
        stop_early_parse()


def _finish_evidence(runner: PhaseRunner) -> None:
    """Wait for the evidence files still being written aside (publishing waits for them first when it
    runs); one that could not be written is a warning: the ledger holds the phase's result."""
    from bmad.ledger.evidence import finish_writes

    for problem in finish_writes():
        runner.progress.log(f"warning: {problem}")


def _run_locked(runner: PhaseRunner, request: _Request, on_phase: Callable[[PhaseOutcome], None] | None) -> RunOutcome:
    """Plan and run the phases while the release's lock is held; publish the documents after."""
    from bmad.engine.plugins import check_plugins

    db, release = runner.ledger, runner.release
    outcome = RunOutcome(release=release)
    outcome.interrupted = db.detect_interrupted(release.service, runner.environment)
    # one read serves the gate and the first phase (nothing is recorded in between)
    first = next(iter(_phase_list(request.phases)), None)
    latest = None if request.resume else db.results_before(release, first)
    todo = _plan(db, release, latest, phases=request.phases, resume=request.resume, force=request.force)
    check_plugins(runner.config, todo)
    if not todo:
        outcome.message = f"nothing to do: every phase of {release.key} passed"
        return outcome
    from bmad.engine.notifications import RunNotifier

    notifier = RunNotifier.for_run(runner.config, runner.environment, release, db)
    outcome.notifications += notifier.run_started(todo)
    _run_phases(runner, todo, outcome, request.forced_reason, on_phase, latest)
    outcome.notifications += notifier.run_finished(outcome)
    if not runner.options.no_reports:
        from bmad.engine.publish import publish_release_outputs

        outcome.published = publish_release_outputs(runner.config, runner.environment, release, db)
    return outcome


def _run_phases(
    runner: PhaseRunner,
    todo: Sequence[PhaseName],
    outcome: RunOutcome,
    forced_reason: str | None,
    on_phase: Callable[[PhaseOutcome], None] | None,
    latest: Mapping[PhaseName, PhaseResult] | None,
) -> None:
    """Run ``todo`` in order until one does not pass; ``forced_reason`` and ``latest`` (the
    release's results read before the run, when read) go to the first only."""
    with _warming_up(runner, todo):
        for index, phase in enumerate(todo):
            if index > 0 and runner.warm_up is not None:
                runner.warm_up.wait()  # nothing imports in the background while this phase runs
            with _target_lock(runner, phase) as held:
                first = index == 0
                phase_outcome = runner.run_phase(
                    phase,
                    forced_reason=forced_reason if first else None,
                    target_lock=held,
                    previous=latest if first else None,
                )
            outcome.phases.append(phase_outcome)
            if on_phase is not None:
                on_phase(phase_outcome)
            if phase_outcome.result.status is not PhaseStatus.PASSED:
                outcome.exit_code = _exit_code(phase_outcome)
                outcome.message = _stop_message(phase_outcome, runner.release)
                return
    names = ", ".join(p.label for p in todo)
    outcome.message = f"{runner.release.key}: {names} passed"


@contextlib.contextmanager
def _warming_up(runner: PhaseRunner, todo: Sequence[PhaseName]) -> Iterator[None]:
    """While the first phase waits on other systems, the later phases' modules are imported in the
    background (``engine/prewarm.py``); the warm-up is stopped however the run ends."""
    from bmad.engine.plugins import custom_module
    from bmad.engine.prewarm import WarmUp, modules_for

    def custom(phase: PhaseName) -> bool:
        return bool(custom_module(phase, runner.config))

    kind = runner.config.environment(runner.environment).target.kind
    publish = not runner.options.no_reports
    runner.warm_up = WarmUp(modules_for(todo, target_kind=kind, custom=custom, publish=publish))
    try:
        yield
    finally:
        runner.warm_up.stop()


def _target_lock(runner: PhaseRunner, phase: PhaseName) -> contextlib.AbstractContextManager[TargetLockWatch | None]:
    """DEPLOY holds the target's own lock too: checkouts with separate ledgers share the target."""
    if phase is not PhaseName.DEPLOY:
        return contextlib.nullcontext()
    from bmad.engine.wiring.target_lock import hold_target_lock

    return hold_target_lock(
        runner.config, runner.environment, owner=runner.lock.owner, ledger_url=runner.ledger.url, options=runner.options
    )


def _phase_list(phases: Sequence[PhaseName | str] | None) -> list[PhaseName]:
    if phases is None:
        return list(PhaseName.ordered())
    chosen = {PhaseName(p) for p in phases}
    return [phase for phase in PhaseName.ordered() if phase in chosen]


def _plan(
    db: Ledger,
    release: Release,
    latest: Mapping[PhaseName, PhaseResult] | None,
    *,
    phases: Sequence[PhaseName | str] | None,
    resume: bool,
    force: bool,
) -> list[PhaseName]:
    if resume or latest is None:
        return _resume_plan(db, release)
    todo = _phase_list(phases)
    if phases is not None and todo and not force:
        _check_gate(latest, release, todo[0])
    return todo


def _resume_plan(db: Ledger, release: Release) -> list[PhaseName]:
    """From the first phase whose latest attempt did not pass."""
    from bmad.ledger.records import STATUSES_ONLY

    history = db.get_release(release.service, release.environment, release.version, with_checks=STATUSES_ONLY)
    if history is None or not history.runs:
        raise UsageError(
            f"nothing to resume: no phase ran yet for {release.key}",
            hint="start it with 'bmad run'",
        )
    start = history.next_phase
    if start is None:
        return []
    return list(PhaseName.ordered()[PhaseName.ordered().index(start) :])


def _check_gate(latest: Mapping[PhaseName, PhaseResult], release: Release, first: PhaseName) -> None:
    """Refuse ``first`` unless every phase before it passed for ``release`` (``latest``: its results)."""
    for before in PhaseName.ordered()[: PhaseName.ordered().index(first)]:
        found = latest.get(before)
        if found is None or found.status is not PhaseStatus.PASSED:
            seen = "has not run" if found is None else f"is {found.status.value}"
            raise GateRefused(
                f"{first.label} needs {before.label} to pass first for {release.key}; {before.label} {seen}",
                hint=f"run 'bmad {before.value}' (or 'bmad run'), or override with --force --reason \"why\" (recorded)",
            )


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
