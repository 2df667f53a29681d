"""From the ledger's API (:mod:`bmad.ledger`) to the reports' read-model."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from bmad.core.errors import UsageError
from bmad.core.models import PhaseName, Release
from bmad.reports.people import deployer_text
from bmad.reports.views import ReleaseView, RollbackInfo

if TYPE_CHECKING:
    from bmad.ledger.records import ChecksOf, ReleaseHistory, ReleaseOutline, RollbackRecord
    from bmad.ledger.store import Ledger


def release_view(history: ReleaseHistory) -> ReleaseView:
    """One ledger release (latest attempt of each phase, rollback records) as a :class:`ReleaseView`."""
    latest = history.phases
    deploy = latest.get(PhaseName.DEPLOY)
    return ReleaseView(
        release_id=str(history.id),
        release=history.release,
        phases={phase: run.to_result() for phase, run in latest.items()},
        created_at=history.created_at,
        rollbacks=rollback_infos(history.rollbacks),
        evidence_dirs={phase: run.evidence_dir for phase, run in latest.items() if run.evidence_dir},
        deployer=deployer_text(
            deploy is not None,
            deploy.host if deploy else None,
            deploy.pid if deploy else None,
            recorded=deploy.deployer if deploy else None,
        ),
    )


def rollback_infos(records: list[RollbackRecord]) -> list[RollbackInfo]:
    """The ledger's rollback records as the views hold them."""
    return [
        RollbackInfo(
            reason=record.reason,
            detected_at=record.detected_at,
            recovered_at=record.recovered_at,
            to_version=record.to_version,
            manual=record.manual,
            recorded_mttr_seconds=record.mttr_seconds,
        )
        for record in records
    ]


def outline_view(outline: ReleaseOutline) -> ReleaseView:
    """A release outline (:meth:`~bmad.ledger.store.Ledger.release_outlines`) as a view for figures:
    no evidence folders and no deployer, which figures do not read."""
    return ReleaseView(
        release_id=str(outline.id),
        release=outline.release,
        phases=outline.phases,
        created_at=outline.created_at,
        rollbacks=rollback_infos(outline.rollbacks),
    )


def load_releases(
    ledger: Ledger,
    *,
    service: str | None = None,
    environment: str | None = None,
    before: datetime | None = None,
    with_checks: ChecksOf = True,
) -> list[ReleaseView]:
    """Every release of the service/environment, oldest first (``with_checks`` as
    :meth:`~bmad.ledger.store.Ledger.list_releases`)."""
    histories = ledger.list_releases(service=service, environment=environment, before=before, with_checks=with_checks)
    return [release_view(h) for h in reversed(histories)]


def find_release(
    ledger: Ledger,
    ref: str | None,
    *,
    service: str | None = None,
    environment: str | None = None,
) -> Release:
    """A release by ledger id (``42``, ``#42``), version or version prefix (>= 4 characters), or the
    latest one when ``ref`` is None/``latest``. Raises UsageError naming the candidates otherwise.
    Only each release's statuses are read: finding one costs the same however large its phases are."""
    from bmad.ledger.records import STATUSES_ONLY

    histories = ledger.list_releases(service=service, environment=environment, with_checks=STATUSES_ONLY)
    if not histories:
        scope = "/".join(part for part in (service, environment) if part) or "the ledger"
        raise UsageError(f"no release recorded for {scope}", hint="run 'bmad run' (or 'bmad demo') first")
    if ref is None or ref == "latest":
        return histories[0].release
    wanted = ref.lstrip("#")
    if wanted.isdigit():
        for history in histories:
            if str(history.id) == wanted:
                return history.release
    matches = [h for h in histories if h.release.version == wanted]
    if not matches and len(wanted) >= 4:
        matches = [h for h in histories if h.release.version.startswith(wanted)]
    if len(matches) == 1:
        return matches[0].release
    if len(matches) > 1:
        envs = ", ".join(sorted({f"{h.release.service}/{h.release.environment}" for h in matches}))
        raise UsageError(f"release {ref!r} is ambiguous ({envs})", hint="give --service and --env, or the ledger id")
    known = ", ".join(f"#{h.id} {h.release.short_version}" for h in histories[:5])
    raise UsageError(f"no release {ref!r} in the ledger", hint=f"latest releases: {known}")
