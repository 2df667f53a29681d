"""Rolling a release back and measuring MTTR: DEPLOY's automatic rollback and ``bmad rollback``.

MTTR runs from the failure's detection to the previous version answering its health check.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import field
from datetime import datetime, timedelta
from typing import Any

from bmad.core.datatypes import datatype
from bmad.core.errors import AdapterError
from bmad.core.models import CheckResult
from bmad.core.spans import SpanKind, sleeper
from bmad.phases.deploy.ports import now
from bmad.ports.phase import CheckId
from bmad.ports.progress import NullProgress, Progress
from bmad.ports.target import HttpProbe, RolloutState, Target

AUTOMATIC = CheckId("deploy.rollback", "Automatic rollback")
MANUAL = CheckId("deploy.rollback", "Manual rollback")
# The keys of the rollback's artifact (its evidence has more: error, mttr_seconds).
_RECORDED = ("reason", "detected_at", "recovered_at", "to_version", "manual")
_RECOVERY_PAUSE = sleeper(SpanKind.SERVICE, "rollback: waiting for the previous version to answer")


@datatype
class _Attempts:
    """Rollback targets tried in turn until one is accepted: the state it reached, or the errors."""

    state: RolloutState | None = None
    used: dict[str, Any] | None = None
    started: datetime = field(default_factory=now)
    errors: list[str] = field(default_factory=list)


def perform_rollback(
    target: Target,
    probe: HttpProbe,
    *,
    service: str,
    environment: str,
    to: dict[str, Any] | None,
    fallback: dict[str, Any] | None,
    reason: str,
    detected_at: datetime,
    health_path: str,
    manual: bool,
    progress: Progress | None = None,
    on_done: Callable[[dict[str, Any]], None] | None = None,
    fall_back_to_previous: bool = True,
) -> CheckResult:
    """Roll back, wait until the previous version answers its health check, record MTTR.

    Tries ``to``, then ``fallback`` (ANALYZE's snapshot), then the previous revision. Shared by
    the automatic path (DEPLOY's finish) and ``bmad rollback`` (manual=True).
    """
    check = MANUAL if manual else AUTOMATIC
    attempts: list[dict[str, Any] | None] = [to]
    if fallback and fallback.get("exists") and fallback != to:
        attempts.append(fallback)
    if to is not None and fall_back_to_previous:
        attempts.append(None)  # finally, the previous revision / generation
    tried = _try_in_turn(target, service, environment, attempts, progress or NullProgress())
    state = tried.state
    info: dict[str, Any] = {
        "reason": reason,
        "detected_at": detected_at.isoformat(),
        "recovered_at": None,
        "to_version": (tried.used or {}).get("release") or (tried.used or {}).get("version"),
        "manual": manual,
    }
    if state is None or not state.ready:
        info["error"] = "; ".join(tried.errors) or (state.message if state else "no rollback target")
        if on_done is not None:
            on_done(info)
        return _failed(check, info, state)
    recovered = _recovered_at(target, probe, service, environment, health_path, state, tried.started)
    mttr = max(0.0, (recovered - detected_at).total_seconds())
    info["recovered_at"] = recovered.isoformat()
    info["mttr_seconds"] = round(mttr, 3)
    if info["to_version"] is None:
        info["to_version"] = target.snapshot(service, environment).release
    if on_done is not None:
        on_done(info)
    return check.passed(
        f"rolled back to {str(info['to_version'] or 'the previous version')[:12]}; MTTR {mttr:.1f}s",
        expected="the previous version healthy again",
        observed=state.message,
        evidence={"rollback": info, "state": state.to_dict(), "errors": tried.errors},
        artifacts={"rollback": {k: info[k] for k in _RECORDED}},
        metrics={"rolled_back": True, "mttr_seconds": round(mttr, 3)},
    )


def _failed(check: CheckId, info: dict[str, Any], state: RolloutState | None) -> CheckResult:
    return check.failed(
        f"rollback failed: {info['error']}",
        expected="the previous version healthy again",
        observed=info["error"],
        fix="restore by hand: deploy the last good version explicitly; see 'bmad diagnose'",
        evidence={"rollback": info, "state": state.to_dict() if state else None},
        artifacts={"rollback": info},
        metrics={"rolled_back": False},
    )


def _try_in_turn(
    target: Target, service: str, environment: str, attempts: list[dict[str, Any] | None], progress: Progress
) -> _Attempts:
    tried = _Attempts()
    for attempt in attempts:
        tried.started = now()
        try:
            tried.state = target.rollback(service, environment, to=attempt, progress=progress)
        except AdapterError as exc:
            tried.errors.append(exc.message)
            continue
        tried.used = attempt
        break
    return tried


def _recovered_at(
    target: Target,
    probe: HttpProbe,
    service: str,
    environment: str,
    health_path: str,
    state: RolloutState,
    started: datetime,
) -> datetime:
    """When the previous version answered its health check again (waits up to 30 s for it)."""
    healthy_urls = target.serving_endpoints(service, environment)
    deadline = time.monotonic() + 30.0
    while healthy_urls and time.monotonic() < deadline:
        if any(probe.get(url + health_path, timeout=1.0).ok for url in healthy_urls):
            break
        _RECOVERY_PAUSE(0.05)
    recovered = now()
    if state.seconds > 0:
        # The target measured when the previous version became healthy; clean-up of the failed
        # release after that point is not downtime.
        recovered = min(recovered, started + timedelta(seconds=state.seconds))
    return recovered
