"""Run a phase's checks: concurrently where they are independent, in dependency order otherwise.

* A check starts once every check it ``needs`` has finished; it is skipped when one of them did
  not pass (``warn`` satisfies a need unless the environment treats warnings as failures).
* An ``exclusive`` check runs alone: nothing else starts while it runs, and it waits for the
  running ones to finish.
* Each check is timed. An exception becomes a ``fail`` whose evidence is the (redacted) error.
* On Ctrl-C (KeyboardInterrupt in the waiting thread) or ``ctx.cancel``: nothing new starts,
  ``ctx.cancel`` is set for checks that poll it, and unfinished checks are reported as skipped.
"""

from __future__ import annotations

import contextlib
import dataclasses
import enum
import logging
import threading
import time
import traceback
from _queue import Empty, SimpleQueue
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from bmad.core.datatypes import datatype
from bmad.core.errors import AdapterError, BmadError
from bmad.core.models import CheckResult, CheckStatus
from bmad.core.redact import redact
from bmad.ports.phase import Check, PhaseContext

log = logging.getLogger("bmad.engine")

DEFAULT_WORKERS = 8


@datatype
class CheckRun:
    results: list[CheckResult]
    aborted: bool = False


def run_check(check: Check, ctx: PhaseContext) -> CheckResult:
    """Run one check, timing it and turning any exception into a failed result."""
    started_at = datetime.now(UTC)  # issue 14: each check's own start, for the report's timeline
    started = time.perf_counter()
    try:
        result = check.run(ctx)
        if not isinstance(result, CheckResult):
            raise TypeError(f"check {check.id} returned {type(result).__name__}, not a CheckResult")
        if result.id != check.id or not result.title:
            result = dataclasses.replace(result, id=check.id, title=result.title or check.title)
    except AdapterError as exc:
        result = CheckResult(
            id=check.id,
            title=check.title,
            status=CheckStatus.FAIL,
            summary=redact(exc.message),
            expected=f"{exc.system} answers",
            observed=redact(exc.message),
            fix=exc.hint or f"make sure {exc.system} is running and reachable, then run the phase again",
            evidence={
                "error": redact(exc.message),
                "error_type": type(exc).__name__,
                "system": exc.system,
                "temporary": exc.temporary,
            },
        )
    except BmadError as exc:
        result = CheckResult(
            id=check.id,
            title=check.title,
            status=CheckStatus.FAIL,
            summary=redact(exc.message),
            observed=redact(exc.message),
            fix=exc.hint or "",
            evidence={"error": redact(exc.message), "error_type": type(exc).__name__},
        )
    except Exception as exc:
        log.exception("check %s raised", check.id)
        trace = redact(traceback.format_exc())
        evidence_files: tuple[str, ...] = ()
        with contextlib.suppress(OSError):
            evidence_files = (ctx.evidence.write_text(f"errors/{check.id}.txt", trace),)
        message = redact(f"{type(exc).__name__}: {exc}")
        result = CheckResult(
            id=check.id,
            title=check.title,
            status=CheckStatus.FAIL,
            summary=f"the check raised an unexpected error: {message}",
            observed=message,
            fix="this is a bug in the check; the traceback is in the evidence folder",
            evidence={"error": message, "error_type": type(exc).__name__},
            evidence_files=evidence_files,
        )
    return dataclasses.replace(result.with_duration(time.perf_counter() - started), started_at=started_at)


def _need_satisfied(result: CheckResult, warnings_fail: bool) -> bool:
    return result.status is CheckStatus.PASS or (result.status is CheckStatus.WARN and not warnings_fail)


def run_checks(
    checks: Sequence[Check],
    ctx: PhaseContext,
    *,
    warnings_fail: bool,
    max_workers: int = DEFAULT_WORKERS,
    on_result: Callable[[CheckResult], None] | None = None,
) -> CheckRun:
    """Run ``checks``; results come back in the checks' declared order."""
    ids = [check.id for check in checks]
    duplicates = {i for i in ids if ids.count(i) > 1}
    if duplicates:
        raise BmadError(f"the phase declares duplicate check ids: {', '.join(sorted(duplicates))}")

    pool = _Workers(ctx, size=max(1, min(max_workers, len(checks) or 1)))
    schedule = _Schedule(checks, ctx, pool, warnings_fail=warnings_fail, on_result=on_result)
    aborted = False
    try:
        aborted = schedule.run()
    except KeyboardInterrupt:
        aborted = True
    except BaseException:  # a check raised past Exception (SystemExit): no worker is left waiting
        pool.shutdown(wait=False)
        raise
    # checks that poll ctx.cancel return early (and look like they passed): the phase was still aborted
    aborted = aborted or ctx.cancel.is_set()
    if aborted:
        schedule.abort()
    else:
        pool.shutdown(wait=True)
    return CheckRun(results=[schedule.done[i] for i in ids if i in schedule.done], aborted=aborted)


def _starts_later(check: Check) -> bool:
    return not check.starts_early


class _Step(enum.Enum):
    MOVED = "moved"  # started, or skipped because it cannot run
    WAIT = "wait"  # a need has not finished yet
    BLOCKED = "blocked"  # exclusive, and other checks are running


class _Schedule:
    """The checks of one :func:`run_checks` call: pending, running and done."""

    def __init__(
        self,
        checks: Sequence[Check],
        ctx: PhaseContext,
        pool: _Workers,
        *,
        warnings_fail: bool,
        on_result: Callable[[CheckResult], None] | None,
    ) -> None:
        self.ctx = ctx
        self.pool = pool
        self.warnings_fail = warnings_fail
        self.on_result = on_result
        self.by_id = {check.id: check for check in checks}
        self.done: dict[str, CheckResult] = {}
        self.pending = sorted(checks, key=_starts_later)  # stable: declared order otherwise
        self.running: dict[_Job, Check] = {}
        self.exclusive_running = False

    def run(self) -> bool:
        """Until every check has finished; True when ``ctx.cancel`` stopped it."""
        while self.pending or self.running:
            if self.ctx.cancel.is_set():
                return True
            self._start_ready()
            if not self.running:
                if self.pending:  # a cycle in needs: nothing can start
                    for check in self.pending:
                        self._finish(check, check.skipped("skipped: its needs form a cycle"))
                    self.pending.clear()
                return False
            self._collect()
        return False

    def abort(self) -> None:
        """Keep what finished; the rest is skipped as aborted or not started."""
        self.ctx.cancel.set()
        self.pool.shutdown(wait=False)  # checks not begun yet never start
        for job, check in self.running.items():
            if job.done:
                self._finish(check, job.result())
            else:
                self.done[check.id] = check.skipped("aborted while running (Ctrl-C)")
        for check in self.pending:
            self.done[check.id] = check.skipped("not started: the phase was aborted")

    def _finish(self, check: Check, result: CheckResult) -> None:
        self.done[check.id] = result
        if result.artifacts:
            self.ctx.add_artifacts(result.artifacts)
        if self.on_result is not None:
            self.on_result(result)

    def _start_ready(self) -> None:
        """Start (or skip) pending checks in declared order until nothing more can move."""
        progressed = True
        while progressed and not self.exclusive_running:
            progressed = False
            for check in list(self.pending):
                step = self._step(check)
                if step is _Step.WAIT:
                    continue
                if step is _Step.BLOCKED:
                    break  # wait for the running checks, then run this one alone
                progressed = True
                if self.exclusive_running:
                    break

    def _step(self, check: Check) -> _Step:
        unknown = [need for need in check.needs if need not in self.by_id]
        if unknown:
            self.pending.remove(check)
            self._finish(check, check.skipped(f"needs unknown check(s): {', '.join(unknown)}"))
            return _Step.MOVED
        if not all(need in self.done for need in check.needs):
            return _Step.WAIT
        failed = [need for need in check.needs if not _need_satisfied(self.done[need], self.warnings_fail)]
        if failed:
            self.pending.remove(check)
            self._finish(check, check.skipped(f"skipped: {', '.join(failed)} did not pass"))
            return _Step.MOVED
        if check.exclusive and self.running:
            return _Step.BLOCKED
        self.pending.remove(check)
        self.running[self.pool.submit(check)] = check
        if check.exclusive:
            self.exclusive_running = True
        return _Step.MOVED

    def _collect(self) -> None:
        """Wait (up to 0.5 s) for running checks and record those that finished."""
        for job in self.pool.wait_any(timeout=0.5):
            check = self.running.pop(job)
            if check.exclusive:
                self.exclusive_running = False
            self._finish(check, job.result())


class _Job:
    """One submitted check: its result (or what it raised) once ``done``."""

    def __init__(self, check: Check) -> None:
        self.check = check
        self.done = False
        self._result: CheckResult | None = None
        self._raised: BaseException | None = None

    def run(self, ctx: PhaseContext) -> None:
        try:
            self._result = run_check(self.check, ctx)
        except BaseException as exc:  # handed to the scheduler's thread, which raises it
            self._raised = exc

    def result(self) -> CheckResult:
        if self._raised is not None:
            raise self._raised
        assert self._result is not None
        return self._result


class _Workers:
    """Up to ``size`` threads that run submitted checks in order, handing each finished one back
    through a queue: a thread pool without ``concurrent.futures`` (~2.5 ms to import, a fixed cost
    of every phase), on the C queues that it uses too."""

    def __init__(self, ctx: PhaseContext, *, size: int) -> None:
        self.ctx = ctx
        self.size = size
        self.jobs: SimpleQueue[_Job | None] = SimpleQueue()  # None: a worker stops
        self.finished: SimpleQueue[_Job] = SimpleQueue()
        self.threads: list[threading.Thread] = []
        self.unfinished: list[_Job] = []

    def submit(self, check: Check) -> _Job:
        job = _Job(check)
        self.unfinished = [other for other in self.unfinished if not other.done]
        if len(self.unfinished) >= len(self.threads) < self.size:  # no idle worker: start one
            thread = threading.Thread(target=self._work, name=f"bmad-check_{len(self.threads)}")
            self.threads.append(thread)
            thread.start()
        self.unfinished.append(job)
        self.jobs.put(job)
        return job

    def wait_any(self, *, timeout: float) -> list[_Job]:
        """The jobs that finished since the last call, after waiting up to ``timeout`` for one."""
        try:
            finished = [self.finished.get(timeout=timeout)]
        except Empty:
            return []
        while not self.finished.empty():
            finished.append(self.finished.get())
        return finished

    def shutdown(self, *, wait: bool) -> None:
        """No new job starts; with ``wait``, the queued ones run and every thread is joined."""
        if not wait:
            with contextlib.suppress(Empty):
                while True:
                    self.jobs.get_nowait()
        for _ in self.threads:
            self.jobs.put(None)
        if wait:
            for thread in self.threads:
                thread.join()

    def _work(self) -> None:
        while (job := self.jobs.get()) is not None:
            job.run(self.ctx)
            job.done = True
            self.finished.put(job)
