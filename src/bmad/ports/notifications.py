"""Telling people about a run: one message, one channel, one delivery record.

The engine builds a :class:`Notification` at each event (run started, gate failed, rolled back,
succeeded) and hands it to a :class:`Notifier` per configured channel (Slack, Teams, a webhook,
e-mail: one adapter each). A notifier raises :class:`DeliveryFailed` when it gives up; the engine
turns every outcome into a :class:`DeliveryRecord`, and a failed delivery never fails a release.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

from bmad.config.notifications import ChannelType, NotificationEvent
from bmad.core.datatypes import datatype


@datatype(frozen=True)
class Notification:
    """What is said: a headline, a line of detail, labelled facts and a link to the report."""

    event: NotificationEvent
    service: str
    environment: str
    version: str
    title: str
    text: str
    facts: tuple[tuple[str, str], ...] = ()
    report_url: str | None = None
    good: bool | None = None  # True: good news, False: bad news, None: neither

    def to_dict(self) -> dict[str, Any]:
        return {
            "event": self.event,
            "service": self.service,
            "environment": self.environment,
            "version": self.version,
            "title": self.title,
            "text": self.text,
            "facts": {label: value for label, value in self.facts},
            "report_url": self.report_url,
        }


class DeliveryFailed(Exception):
    """A notifier gave up: ``reason`` says why (never the channel's URL), ``attempts`` how often it tried."""

    def __init__(self, reason: str, *, attempts: int) -> None:
        super().__init__(reason)
        self.reason = reason
        self.attempts = attempts


class Notifier(Protocol):
    """One channel's transport."""

    def send(self, notification: Notification) -> int:
        """Deliver ``notification``; returns how many attempts it took, raises :class:`DeliveryFailed`."""
        ...


@datatype(frozen=True)
class DeliveryRecord:
    """One notification to one channel: what was sent, where (by name), when, and how it went."""

    channel: str
    channel_type: ChannelType
    event: NotificationEvent
    title: str
    sent_at: datetime
    delivered: bool
    attempts: int
    reason: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "channel": self.channel,
            "channel_type": self.channel_type,
            "event": self.event,
            "title": self.title,
            "sent_at": self.sent_at.isoformat(),
            "delivered": self.delivered,
            "attempts": self.attempts,
            "reason": self.reason,
        }
