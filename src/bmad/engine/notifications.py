"""Telling the environment's channels about a run: when it starts and how it ends.

The events are ``run_started`` (before the first phase), and at the end one of ``succeeded``
(every phase asked for passed), ``rolled_back`` (DEPLOY failed and rolled the release back, or
``bmad rollback`` returned the environment to an earlier release) or ``gate_failed`` (a phase did
not pass). Channels are sent to in parallel, each within the
section's ``delivery_timeout_seconds``. Every delivery, sent or not, is recorded with the release in
the ledger; nothing here raises: a notification never fails a release.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from bmad.config.models import BmadConfig
from bmad.config.notifications import ChannelConfig, NotificationEvent, NotificationsConfig
from bmad.core.errors import BmadError
from bmad.core.models import PhaseName, PhaseStatus, Release, utcnow
from bmad.core.redact import redact
from bmad.engine.outcomes import PhaseOutcome, RunOutcome
from bmad.ports.notifications import DeliveryFailed, DeliveryRecord, Notification, Notifier

if TYPE_CHECKING:
    from bmad.ledger.store import Ledger

log = logging.getLogger(__name__)


class RunNotifier:
    """The notifications of one run of ``release``."""

    def __init__(
        self,
        section: NotificationsConfig,
        release: Release,
        ledger: Ledger,
        notifiers: Mapping[str, Notifier],
    ) -> None:
        self._section = section
        self._release = release
        self._ledger = ledger
        self._notifiers = notifiers

    @classmethod
    def for_run(cls, config: BmadConfig, environment: str, release: Release, ledger: Ledger) -> RunNotifier:
        from bmad.adapters.notify import make_notifier, policy_of

        section = config.environment(environment).notifications
        policy = policy_of(section)
        notifiers = {channel.name: make_notifier(channel, policy, config.base_dir) for channel in section.channels}
        return cls(section, release, ledger, notifiers)

    def run_started(self, phases: Sequence[PhaseName]) -> list[DeliveryRecord]:
        names = ", ".join(phase.label for phase in phases)
        return self._send("run_started", f"{self._headline()} started", f"Phases to run: {names}", None, names)

    def run_finished(self, outcome: RunOutcome) -> list[DeliveryRecord]:
        if not outcome.phases:
            return []
        last = outcome.phases[-1]
        ran = ", ".join(phase.phase.label for phase in outcome.phases)
        if outcome.passed:
            done = "deployed" if last.phase is PhaseName.DEPLOY else f"passed {ran}"
            return self._send("succeeded", f"{self._headline()} {done}", outcome.message, True, ran)
        reason = _rollback_reason(last)
        if reason is not None:
            return self._send("rolled_back", f"{self._headline()} rolled back", reason, False, ran)
        title = f"{self._headline()} stopped at {last.phase.label}"
        return self._send("gate_failed", title, outcome.message, False, ran)

    def manual_rollback(self, to_version: str, reason: str) -> list[DeliveryRecord]:
        """``bmad rollback`` returned the environment from this run's release to ``to_version``."""
        title = f"{self._headline()} rolled back to {to_version[:12]}"
        return self._send("rolled_back", title, f"bmad rollback: {reason}", False, "rollback")

    def _headline(self) -> str:
        release = self._release
        return f"{release.service} {release.short_version} in {release.environment}"

    def _send(
        self, event: NotificationEvent, title: str, text: str, good: bool | None, phases: str
    ) -> list[DeliveryRecord]:
        channels = [c for c in self._section.channels if event in c.events and c.name in self._notifiers]
        if not channels:
            return []
        from concurrent.futures import ThreadPoolExecutor  # ~2.5 ms to import: only when a channel is sent to

        notification = self._notification(event, redact(title), redact(text), good, phases)
        with ThreadPoolExecutor(max_workers=len(channels), thread_name_prefix="bmad-notify") as pool:
            records = list(pool.map(lambda channel: self._deliver(channel, notification), channels))
        try:
            self._ledger.record_deliveries(self._release, records)
        except (BmadError, OSError) as exc:
            log.warning("could not record the notifications: %s", exc)
        return records

    def _notification(
        self, event: NotificationEvent, title: str, text: str, good: bool | None, phases: str
    ) -> Notification:
        from bmad.reports.people import ci_actor

        release = self._release
        facts = [("Service", release.service), ("Environment", release.environment)]
        facts += [("Version", release.short_version), ("Phases", phases)]
        actor = ci_actor()
        if actor is not None:
            facts.append(("Started by", redact(actor)))
        return Notification(
            event=event,
            service=release.service,
            environment=release.environment,
            version=release.version,
            title=title,
            text=text,
            facts=tuple(facts),
            report_url=self._report_url(),
            good=good,
        )

    def _report_url(self) -> str | None:
        base = self._section.report_base_url
        if not base:
            return None
        release = self._release
        return f"{base.rstrip('/')}/{release.service}/{release.environment}/{release.short_version}/report.html"

    def _deliver(self, channel: ChannelConfig, notification: Notification) -> DeliveryRecord:
        sent_at = utcnow()
        try:
            attempts = self._notifiers[channel.name].send(notification)
        except DeliveryFailed as exc:
            return _record(channel, notification, sent_at, attempts=exc.attempts, reason=redact(exc.reason))
        except Exception as exc:  # a transport's bug must not fail the release either
            log.warning("notifying %s failed unexpectedly", channel.name, exc_info=True)
            return _record(channel, notification, sent_at, attempts=1, reason=f"internal error ({type(exc).__name__})")
        return _record(channel, notification, sent_at, attempts=attempts, reason="")


def _record(
    channel: ChannelConfig, notification: Notification, sent_at: datetime, *, attempts: int, reason: str
) -> DeliveryRecord:
    return DeliveryRecord(
        channel=channel.name,
        channel_type=channel.type,
        event=notification.event,
        title=notification.title,
        sent_at=sent_at,
        delivered=not reason,
        attempts=attempts,
        reason=reason,
    )


def _rollback_reason(outcome: PhaseOutcome) -> str | None:
    """Why DEPLOY rolled the release back, when it did (its ``rollback`` artifact, recovered)."""
    result = outcome.result
    data = result.artifacts.get("rollback")
    if result.phase is not PhaseName.DEPLOY or result.status is PhaseStatus.PASSED or not isinstance(data, Mapping):
        return None
    if not data.get("recovered_at"):
        return None
    return f"DEPLOY rolled back: {data.get('reason') or 'rollback'}"
