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
import logging
import time
import traceback
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait

from bmad.core.errors import AdapterError, BmadError
from bmad.core.models import CheckResult, CheckStatus
from bmad.core.redact import redact
from bmad.ports.phase import Check, PhaseContext

log = logging.getLogger("bmad.engine")

DEFAULT_WORKERS = 8


@dataclasses.dataclass
class CheckRun:
    results: list[CheckResult]
    aborted: bool = False


def run_check(check: Check, ctx: PhaseContext) -> CheckResult:
    """Run one check, timing it and turning any exception into a failed result."""
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
    return result.with_duration(time.perf_counter() - started)


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
    by_id = {check.id: check for check in checks}
    done: dict[str, CheckResult] = {}
    pending = list(checks)
    running: dict[Future[CheckResult], Check] = {}
    exclusive_running = False
    aborted = False
    callback = on_result

    def finish(check: Check, result: CheckResult) -> None:
        done[check.id] = result
        if result.artifacts:
            ctx.add_artifacts(result.artifacts)
        if callback is not None:
            callback(result)

    duplicates = {i for i in ids if ids.count(i) > 1}
    if duplicates:
        raise BmadError(f"the phase declares duplicate check ids: {', '.join(sorted(duplicates))}")

    pool = ThreadPoolExecutor(max_workers=max(1, min(max_workers, len(checks) or 1)), thread_name_prefix="bmad-check")
    try:
        while pending or running:
            if ctx.cancel.is_set():
                aborted = True
                break
            progressed = True
            while progressed and not exclusive_running:
                progressed = False
                for check in list(pending):
                    unknown = [need for need in check.needs if need not in by_id]
                    if unknown:
                        pending.remove(check)
                        finish(check, check.skipped(f"needs unknown check(s): {', '.join(unknown)}"))
                        progressed = True
                        continue
                    if not all(need in done for need in check.needs):
                        continue
                    failed = [need for need in check.needs if not _need_satisfied(done[need], warnings_fail)]
                    if failed:
                        pending.remove(check)
                        finish(check, check.skipped(f"skipped: {', '.join(failed)} did not pass"))
                        progressed = True
                        continue
                    if check.exclusive and running:
                        break  # wait for the running checks, then run this one alone
                    pending.remove(check)
                    running[pool.submit(run_check, check, ctx)] = check
                    progressed = True
                    if check.exclusive:
                        exclusive_running = True
                        break
            if not running:
                if pending:  # a cycle in needs: nothing can start
                    for check in pending:
                        finish(check, check.skipped("skipped: its needs form a cycle"))
                    pending.clear()
                break
            finished, _ = wait(list(running), timeout=0.5, return_when=FIRST_COMPLETED)
            for future in finished:
                check = running.pop(future)
                if check.exclusive:
                    exclusive_running = False
                finish(check, future.result())
    except KeyboardInterrupt:
        aborted = True
    # checks that poll ctx.cancel return early (and look like they passed): the phase was still aborted
    aborted = aborted or ctx.cancel.is_set()
    if aborted:
        ctx.cancel.set()
        for future, check in running.items():
            if future.done() and not future.cancelled():
                finish(check, future.result())
            else:
                done[check.id] = check.skipped("aborted while running (Ctrl-C)")
        for check in pending:
            done[check.id] = check.skipped("not started: the phase was aborted")
        pool.shutdown(wait=False, cancel_futures=True)
    else:
        pool.shutdown(wait=True)
    return CheckRun(results=[done[i] for i in ids if i in done], aborted=aborted)
