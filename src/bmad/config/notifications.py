"""The ``notifications:`` section of an environment: who hears about a run, and how. See docs/notifications.md.

Example::

    environments:
      production:
        notifications:
          report_base_url: https://ci.example.com/bmad-reports
          channels:
            - name: ops-slack
              type: slack
              url: {env: SLACK_WEBHOOK_URL}
              events: [gate_failed, rolled_back, succeeded]
            - name: release-mail
              type: email
              smtp_host: smtp.example.com
              from_address: bmad@example.com
              to: [releases@example.com]
              username: {env: SMTP_USER}
              password: {env: SMTP_PASSWORD}
"""

import re
from typing import Literal, get_args

from bmad.config.base import Model, SecretRef, config_model, setting

NotificationEvent = Literal["run_started", "gate_failed", "rolled_back", "succeeded"]
ChannelType = Literal["slack", "teams", "webhook", "email"]
NOTIFICATION_EVENTS: tuple[NotificationEvent, ...] = get_args(NotificationEvent)
_CHANNEL_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$")


@config_model
class ChannelConfig(Model):
    """One place notifications go: a Slack or Teams webhook, a generic webhook, or e-mail."""

    name: str = setting(description="the channel's name, recorded with each notification (its URL never is)")
    type: ChannelType = setting(description="slack, teams, webhook or email")
    events: list[NotificationEvent] = setting(
        default=list(NOTIFICATION_EVENTS),
        description="the events sent to this channel: run_started, gate_failed, rolled_back, succeeded",
    )
    url: SecretRef | None = setting(
        default=None, description="the webhook URL (slack, teams, webhook), a secret reference: {env: NAME}"
    )
    signing_secret: SecretRef | None = setting(
        default=None, description="webhook: the key of the X-Bmad-Signature HMAC-SHA256, a secret reference"
    )
    smtp_host: str | None = setting(default=None, description="email: the SMTP server")
    smtp_port: int = setting(default=587, description="email: the SMTP port (the submission port, STARTTLS)")
    starttls: bool = setting(default=True, description="email: upgrade the connection with STARTTLS before logging in")
    ca_file: str | None = setting(
        default=None,
        description="email: a CA bundle that verifies the SMTP server's certificate (relative to bmad.yaml)",
    )
    username: SecretRef | None = setting(default=None, description="email: the SMTP login, a secret reference")
    password: SecretRef | None = setting(default=None, description="email: the SMTP password, a secret reference")
    from_address: str | None = setting(default=None, description="email: the sender address")
    to: list[str] = setting(default=[], description="email: the recipients")

    def after_validation(self) -> None:
        if not _CHANNEL_NAME.match(self.name):
            raise ValueError("a channel name is letters, digits, '.', '_' and '-' (at most 63)")
        if self.type == "email":
            if not (self.smtp_host and self.from_address and self.to):
                raise ValueError("an email channel needs smtp_host, from_address and to")
            if (self.username is None) != (self.password is None):
                raise ValueError("give both username and password, or neither")
        elif self.url is None:
            raise ValueError(f"a {self.type} channel needs url: {{env: NAME}}")
        if self.signing_secret is not None and self.type != "webhook":
            raise ValueError("signing_secret is for webhook channels")


@config_model
class NotificationsConfig(Model):
    channels: list[ChannelConfig] = setting(default=[], description="where notifications go (none by default)")
    report_base_url: str | None = setting(
        default=None,
        description="where reports.output_dir is published: messages link <base>/<service>/<env>/<version>/report.html",
    )
    attempt_timeout_seconds: float = setting(default=10.0, description="one delivery attempt gives up after this long")
    delivery_timeout_seconds: float = setting(
        default=30.0, description="all attempts of one notification (retries with back-off included) end within this"
    )
    retries: int = setting(
        default=3, ge=0, le=10, description="retries after a 5xx, 429, timeout or refused connection"
    )

    def after_validation(self) -> None:
        names = [channel.name for channel in self.channels]
        doubled = sorted({name for name in names if names.count(name) > 1})
        if doubled:
            raise ValueError(f"channel names are unique: {', '.join(doubled)} given more than once")
