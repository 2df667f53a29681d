"""``bmad rollback``: return an environment to its last good release (or a named one) and record it."""

from __future__ import annotations

from dataclasses import field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from bmad.config.models import BmadConfig
from bmad.core.datatypes import datatype
from bmad.core.errors import UsageError
from bmad.core.models import CheckResult, CheckStatus, PhaseName, PhaseStatus
from bmad.engine.wiring.deploy import make_target
from bmad.engine.wiring.target_lock import hold_target_lock
from bmad.ports.artifacts import DeployArtifacts
from bmad.ports.progress import NullProgress, Progress
from bmad.ports.target import Target

if TYPE_CHECKING:
    from bmad.ledger.records import ReleaseHistory
    from bmad.ledger.store import Ledger
    from bmad.ports.notifications import DeliveryRecord


@datatype
class ManualRollbackOutcome:
    """What ``bmad rollback`` did: from which release to which, the rollback result and the ledger row."""

    service: str
    environment: str
    from_version: str | None
    to_version: str | None
    result: CheckResult
    record: dict[str, Any] | None = None
    notifications: list[DeliveryRecord] = field(default_factory=list)  # sent to the environment's channels

    @property
    def ok(self) -> bool:
        return self.result.status is CheckStatus.PASS

    def to_dict(self) -> dict[str, Any]:
        return {
            "service": self.service,
            "environment": self.environment,
            "from_version": self.from_version,
            "to_version": self.to_version,
            "ok": self.ok,
            "result": self.result.to_dict(),
            "ledger": self.record,
            "notifications": [sent.to_dict() for sent in self.notifications],
        }


def manual_rollback(
    config: BmadConfig,
    environment: str,
    *,
    to_version: str | None = None,
    reason: str = "manual rollback",
    progress: Progress | None = None,
    wait_seconds: float = 0.0,
    target: Target | None = None,
) -> ManualRollbackOutcome:
    """Roll ``environment`` back to the last good release in the ledger (or ``to_version``), and record it.

    "Current" is the newest release whose DEPLOY ran and was not rolled back; "last good" is the
    newest earlier release whose DEPLOY passed and was not rolled back (``History.last_deployed``).
    MTTR is measured from the command's start to the previous version healthy.
    """
    from bmad.engine.opening import open_ledger
    from bmad.ledger.records import LatestAttemptsOf

    service = config.service.name
    detected_at = datetime.now(UTC)
    ledger = open_ledger(config)
    try:
        with ledger.acquire_lock(
            service, environment, lease_seconds=config.ledger.lock_lease_seconds, wait_seconds=wait_seconds
        ) as lock:
            # each release's DEPLOY (its checks and artifacts say what it applied); the other phases bare
            deploys = LatestAttemptsOf(frozenset({PhaseName.DEPLOY}), bare_others=True)
            releases = ledger.list_releases(service=service, environment=environment, with_checks=deploys)
            current = next((h for h in releases if _deployed(h)), None)
            chosen = _release_to_restore(ledger, releases, current, config, environment, to_version)
            target = target or make_target(config, environment)
            with hold_target_lock(config, environment, owner=lock.owner, ledger_url=ledger.url, target=target):
                result = _roll_back_to(
                    chosen,
                    config,
                    environment,
                    target,
                    reason=reason,
                    detected_at=detected_at,
                    progress=progress or NullProgress(),
                )
            outcome = ManualRollbackOutcome(
                service, environment, current.release.version if current else None, chosen.release.version, result
            )
            if current is not None and result.status is CheckStatus.PASS:
                outcome.record = _record(ledger, current, chosen, result, reason=reason, detected_at=detected_at)
                outcome.notifications = _notify(config, environment, ledger, current, chosen, reason)
            return outcome
    finally:
        ledger.close()


def _notify(
    config: BmadConfig, environment: str, ledger: Ledger, current: ReleaseHistory, chosen: ReleaseHistory, reason: str
) -> list[DeliveryRecord]:
    """The ``rolled_back`` notification, as a run sends it (delivery recorded in the ledger)."""
    from bmad.engine.notifications import RunNotifier

    notifier = RunNotifier.for_run(config, environment, current.release, ledger)
    return notifier.manual_rollback(chosen.release.version, reason)


def _deployed(history: ReleaseHistory) -> bool:
    """DEPLOY changed the target for this release (its apply passed) and it was not rolled back."""
    run = history.latest(PhaseName.DEPLOY)
    if run is None or run.status is PhaseStatus.RUNNING or history.rolled_back:
        return False
    applied = [c for c in run.checks if c.id == "deploy.apply"]
    return not applied or applied[0].status is CheckStatus.PASS


def _release_to_restore(
    ledger: Ledger,
    releases: list[ReleaseHistory],
    current: ReleaseHistory | None,
    config: BmadConfig,
    environment: str,
    to_version: str | None,
) -> ReleaseHistory:
    """The release named by ``to_version`` (a version prefix), else the last good one before ``current``."""
    service = config.service.name
    if to_version:
        chosen = next((h for h in releases if h.release.version.startswith(to_version)), None)
        if chosen is None:
            raise UsageError(f"no release {to_version!r} of {service} in {environment} in the ledger")
        return chosen
    if current is None:
        raise UsageError(f"nothing to roll back: no release of {service} was deployed to {environment}")
    record = ledger.history_for(current.release).last_deployed()
    chosen = next((h for h in releases if record and h.release.version == record.release.version), None)
    if chosen is None:
        raise UsageError(
            f"no earlier good release of {service} in {environment} to roll back to",
            hint="the ledger has no earlier release whose DEPLOY passed and was not rolled back",
        )
    return chosen


def _roll_back_to(
    chosen: ReleaseHistory,
    config: BmadConfig,
    environment: str,
    target: Target,
    *,
    reason: str,
    detected_at: datetime,
    progress: Progress,
) -> CheckResult:
    """Roll back to the image and digest ``chosen``'s DEPLOY applied (only that release, no fallback)."""
    from bmad.adapters.targets.probe import RequestsProbe
    from bmad.phases.deploy import perform_rollback

    deploy_run = chosen.latest(PhaseName.DEPLOY)
    deployed = DeployArtifacts.from_artifacts(deploy_run.artifacts if deploy_run is not None else {})
    to: dict[str, Any] = {
        "release": chosen.release.version,
        "image": deployed.image,
        "digest": deployed.digest,
        "env": dict(config.environment(environment).target.local.env),
    }
    return perform_rollback(
        target,
        RequestsProbe(),
        service=config.service.name,
        environment=environment,
        to=to,
        fallback=None,
        reason=reason,
        detected_at=detected_at,
        health_path=config.deploy.health_path,
        manual=True,
        progress=progress,
        fall_back_to_previous=False,
    )


def _record(
    ledger: Ledger,
    current: ReleaseHistory,
    chosen: ReleaseHistory,
    result: CheckResult,
    *,
    reason: str,
    detected_at: datetime,
) -> dict[str, Any]:
    """The rollback as a ledger row on the release it replaced."""
    from bmad.ledger.records import RollbackInput

    info = result.artifacts.get("rollback") or {}
    stored = ledger.record_rollback(
        current.release,
        RollbackInput(
            reason=reason,
            detected_at=detected_at,
            recovered_at=datetime.fromisoformat(info["recovered_at"]) if info.get("recovered_at") else None,
            to_version=chosen.release.version,
            manual=True,
        ),
    )
    return stored.to_dict()
