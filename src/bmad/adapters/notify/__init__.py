"""Notification transports, one module each (Slack, Teams, a signed webhook, e-mail), behind
:class:`bmad.ports.notifications.Notifier`; :func:`make_notifier` picks one for a channel.

A transport's module is imported when a channel of its type is made (``smtplib``/``ssl`` for
e-mail, the HTTP client for the others), so a run with no channel of a type pays nothing for it.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from bmad.adapters.notify.delivery import DeliveryPolicy
from bmad.config.base import SecretRef
from bmad.config.notifications import ChannelConfig, NotificationsConfig
from bmad.ports.notifications import Notifier

if TYPE_CHECKING:
    from bmad.adapters.notify.email import SmtpSettings

__all__ = ["DeliveryPolicy", "make_notifier", "policy_of"]


def policy_of(config: NotificationsConfig) -> DeliveryPolicy:
    return DeliveryPolicy(
        attempt_timeout=config.attempt_timeout_seconds,
        total_timeout=config.delivery_timeout_seconds,
        retries=config.retries,
    )


def make_notifier(channel: ChannelConfig, policy: DeliveryPolicy, base_dir: Path) -> Notifier:
    """The transport of ``channel``; its secret references are resolved (and so redacted) here."""
    if channel.type == "email":
        from bmad.adapters.notify.email import EmailNotifier

        return EmailNotifier(_smtp_settings(channel, base_dir), policy)
    assert channel.url is not None  # the config requires it for the webhook types
    url = channel.url.resolve(base_dir)
    if channel.type == "slack":
        from bmad.adapters.notify.slack import SlackNotifier

        return SlackNotifier(url, policy)
    if channel.type == "teams":
        from bmad.adapters.notify.teams import TeamsNotifier

        return TeamsNotifier(url, policy)
    from bmad.adapters.notify.webhook import WebhookNotifier

    return WebhookNotifier(url, policy, secret=_resolved(channel.signing_secret, base_dir))


def _smtp_settings(channel: ChannelConfig, base_dir: Path) -> SmtpSettings:
    from bmad.adapters.notify.email import SmtpSettings

    assert channel.smtp_host is not None and channel.from_address is not None
    ca_file = str(base_dir / channel.ca_file) if channel.ca_file else None
    return SmtpSettings(
        host=channel.smtp_host,
        port=channel.smtp_port,
        from_address=channel.from_address,
        to=tuple(channel.to),
        starttls=channel.starttls,
        ca_file=ca_file,
        username=_resolved(channel.username, base_dir),
        password=_resolved(channel.password, base_dir),
    )


def _resolved(ref: SecretRef | None, base_dir: Path) -> str | None:
    return ref.resolve(base_dir) if ref is not None else None
