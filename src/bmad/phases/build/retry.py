"""Bounded retries of registry calls on temporary errors, each attempt logged for the evidence."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import Any, TypeVar

from bmad.core.errors import AdapterError
from bmad.ports.phase import PhaseContext

_V = TypeVar("_V")


def retrying(
    ctx: PhaseContext,
    sleep: Callable[[float], None],
    what: str,
    attempts_log: list[dict[str, Any]],
    fn: Callable[[], _V],
) -> _V:
    """Run ``fn`` with bounded retries (exponential backoff with jitter) on temporary errors."""
    config = ctx.config.build.push
    attempt = 0
    while True:
        attempt += 1
        started = time.monotonic()
        try:
            value = fn()
        except AdapterError as exc:
            attempts_log.append(_failed_attempt(what, attempt, exc, started))
            if not exc.temporary or attempt > config.retries or ctx.cancel.is_set():
                raise
            delay = config.backoff_seconds * (2 ** (attempt - 1))
            delay += random.uniform(0, delay / 2)
            attempts_log[-1]["retry_in_seconds"] = round(delay, 3)
            ctx.progress.log(f"{what}: {exc.message}; retrying in {delay:.1f}s ({attempt}/{config.retries})")
            sleep(delay)
            continue
        attempts_log.append(
            {"step": what, "attempt": attempt, "ok": True, "seconds": round(time.monotonic() - started, 3)}
        )
        return value


def _failed_attempt(what: str, attempt: int, exc: AdapterError, started: float) -> dict[str, Any]:
    return {
        "step": what,
        "attempt": attempt,
        "ok": False,
        "error": exc.message,
        "temporary": exc.temporary,
        "seconds": round(time.monotonic() - started, 3),
    }


def count_retries(attempts: list[dict[str, Any]]) -> int:
    """How many attempts failed with a temporary error and were tried again."""
    return sum(1 for attempt in attempts if "retry_in_seconds" in attempt)
